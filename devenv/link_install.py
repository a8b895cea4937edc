# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Lay this package out in a prefix (.venv) the way `colcon build --symlink-install` does.

`ros2 launch` and `ros2 run` find a package through the ament index and then look in two places:
`<prefix>/share/<package>/`, searched with os.walk (which does not follow directory links), and
`<prefix>/lib/<package>/` for executables. An editable pip install provides neither, so this
script derives both from setup.py, the one place that says what the package installs:

- every file of setup.py's data_files becomes a link in a real directory of the prefix, pointing
  into the checkout: edits to a launch file, parameter file or the model are live, while a new
  file appears when this runs again (`make env` runs it every time);
- every console_scripts entry point gets `<prefix>/lib/<package>/<name>`, a link to the script
  pip wrote in the environment's bin directory.

Links it made earlier that setup.py no longer lists are removed (a deleted launch file must not
linger), as are directory links of the old layout; real files are never touched.

    python devenv/link_install.py [--prefix .venv] [--bin-dir .venv/bin]
"""

import argparse
import os
from pathlib import Path
import re
import runpy
import sys

ROOT = Path(__file__).resolve().parent.parent


class LayoutError(RuntimeError):
    """setup.py lists something that cannot be installed (a missing file, a missing script)."""


def setup_arguments(root: Path) -> dict:
    """Run root/setup.py with setuptools.setup replaced by a recorder; return its arguments."""
    import setuptools
    captured = {}
    original, cwd = setuptools.setup, os.getcwd()
    setuptools.setup = lambda **arguments: captured.update(arguments)
    os.chdir(root)  # setup.py globs relative to its own folder
    try:
        runpy.run_path(str(root / 'setup.py'), run_name='__main__')
    finally:
        setuptools.setup = original
        os.chdir(cwd)
    return captured


def console_scripts(arguments: dict) -> dict[str, str]:
    """Map each console_scripts name of setup() arguments to its 'module:function'."""
    entries = (arguments.get('entry_points') or {}).get('console_scripts', [])
    if isinstance(entries, str):
        entries = entries.splitlines()
    return dict(re.fullmatch(r'\s*(\S+)\s*=\s*(\S+)\s*', entry).groups()
                for entry in entries if entry.strip())


def plan(root: Path, data_files: list) -> dict[Path, Path]:
    """Map each installed path (relative to the prefix) to the checkout file it links to."""
    links = {}
    for entry in data_files:
        if isinstance(entry, str) or len(entry) != 2:
            raise LayoutError(f'setup.py data_files entry {entry!r} is not (directory, [files])')
        directory, files = entry
        for name in files:
            source = root / name
            if not source.is_file():
                raise LayoutError(f'setup.py data_files lists {name}, which is not a file')
            links[Path(directory) / source.name] = source
    return links


def _link(path: Path, target: Path) -> bool:
    """Point `path` at `target` (replacing a link or file there); return True if it changed."""
    if path.is_symlink() and Path(os.readlink(path)) == target:
        return False
    if path.is_dir() and not path.is_symlink():
        raise LayoutError(f'{path} is a directory where a link to {target} belongs')
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f'.{path.name}.link')
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    temporary.replace(path)  # atomic: a running launch sees the old or the new link
    return True


def _real_directories(prefix: Path, relative: Path) -> None:
    """Make every directory on the way to `relative` real, removing links of the old layout."""
    path = prefix
    for part in relative.parent.parts:
        path = path / part
        if path.is_symlink():
            path.unlink()  # the link only; what it pointed to stays
        path.mkdir(exist_ok=True)


def _remove_stale(directory: Path, keep: set, owned: tuple) -> list[Path]:
    """Remove links under `directory` into the `owned` folders (or dangling) not in `keep`."""
    removed = []
    if not directory.is_dir() or directory.is_symlink():
        return removed
    for folder, _, files in os.walk(directory):
        for name in files:
            path = Path(folder) / name
            if path in keep or not path.is_symlink():
                continue
            target = Path(os.path.realpath(path))
            if not path.exists() or any(folder in target.parents for folder in owned):
                path.unlink()
                removed.append(path)
    return removed


def install(root: Path, prefix: Path, bin_dir: Path) -> dict:
    """Make `prefix` a symlink install of the package at `root`; return what was done."""
    arguments = setup_arguments(root)
    package, scripts = arguments['name'], list(console_scripts(arguments))
    links = {prefix / relative: source
             for relative, source in plan(root, arguments.get('data_files', [])).items()}
    missing = [name for name in scripts if not os.access(bin_dir / name, os.X_OK)]
    if missing:
        raise LayoutError(f'console scripts {missing} are in setup.py but not in {bin_dir}: '
                          'the package is not (re)installed there; run make env')
    links.update({prefix / 'lib' / package / name: bin_dir / name for name in scripts})
    for path in links:
        _real_directories(prefix, path.relative_to(prefix))
    changed = [path for path, target in links.items() if _link(path, target)]
    removed = []
    for directory in (prefix / 'share' / package, prefix / 'lib' / package):
        removed += _remove_stale(directory, set(links), (root, bin_dir.resolve()))
    return {'package': package, 'files': len(links) - len(scripts), 'executables': scripts,
            'changed': changed, 'removed': removed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--prefix', type=Path, default=Path(sys.prefix),
                        help='install prefix (default: this Python environment)')
    parser.add_argument('--bin-dir', type=Path, default=None,
                        help="where pip put the console scripts (default: the prefix's bin)")
    parser.add_argument('--root', type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    prefix = args.prefix.absolute()
    try:
        done = install(args.root.resolve(), prefix, (args.bin_dir or prefix / 'bin').absolute())
    except LayoutError as error:
        print(f'link_install: {error}', file=sys.stderr)
        return 1
    for path in done['changed']:
        print(f'linked  {path.relative_to(prefix)}')
    for path in done['removed']:
        print(f'removed {path.relative_to(prefix)}')
    print(f"{done['package']}: {done['files']} share files linked into the checkout, "
          f"executables in lib/{done['package']}/: {', '.join(done['executables'])}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
