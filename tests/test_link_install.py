# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The development environment is laid out where `ros2 launch` and `ros2 run` look (no ros2 needed).

ros2launch finds a launch file with os.walk over the package's share directory, which does not
follow directory links; launch_ros and ros2run take executables from `<prefix>/lib/<package>/`;
both find the prefix through the ament index. The first test checks exactly that in the
environment `make env` built; the others run devenv/link_install.py on a small package of their
own, to show that it picks up new files and entry points, drops removed ones, replaces the old
directory links and refuses what it cannot install.
"""

import os
from pathlib import Path
import subprocess
import sys
import textwrap

from ament_index_python.packages import get_package_prefix
import link_install
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = 'waste_classifier_ros'


def walked(directory: Path) -> set:
    """Files under `directory` as ros2launch's os.walk sees them (directory links not followed)."""
    return {Path(folder, name).relative_to(directory)
            for folder, _, names in os.walk(directory) for name in names}


def test_the_environment_has_what_ros2_launch_and_run_look_up():
    prefix = Path(get_package_prefix(PACKAGE))
    assert prefix == Path(sys.prefix), (
        f'ament index finds {PACKAGE} in {prefix}, not in this environment: run make env')
    assert (prefix / 'share/ament_index/resource_index/packages' / PACKAGE).is_file()
    arguments = link_install.setup_arguments(ROOT)
    share = prefix / 'share' / PACKAGE
    found = walked(share)
    for relative, source in link_install.plan(ROOT, arguments['data_files']).items():
        if relative.parts[:2] != ('share', PACKAGE):
            continue
        in_share = relative.relative_to(Path('share', PACKAGE))
        assert in_share in found, f'os.walk of {share} does not find {in_share}: run make env'
        # A link into the checkout: an edited launch or parameter file is live at once.
        assert (share / in_share).resolve() == source.resolve(), f'{in_share} is a copy'
    launch_files = {path.name for path in found if path.parts[0] == 'launch'}
    assert launch_files >= {'classifier.launch.py', 'demo.launch.py', 'stream.launch.py'}
    for name in link_install.console_scripts(arguments):
        executable = prefix / 'lib' / PACKAGE / name
        assert executable.is_file() and os.access(executable, os.X_OK), (
            f'no executable {executable} for the entry point {name}: run make env')
    run = subprocess.run([str(prefix / 'lib' / PACKAGE / 'waste-classify'), '--help'],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and 'usage' in run.stdout.lower(), run.stdout + run.stderr


def write_package(root: Path, scripts: list, launch_files: list, configs: list) -> None:
    """Write a tiny ament_python package whose setup.py globs launch/ and config/ like ours."""
    for folder, names in (('launch', launch_files), ('config', configs)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            (root / folder / name).write_text(f'# {name}\n')
    (root / 'resource').mkdir(exist_ok=True)
    (root / 'resource' / 'tiny_pkg').write_text('')
    (root / 'package.xml').write_text('<package format="3"><name>tiny_pkg</name></package>\n')
    (root / 'setup.py').write_text(textwrap.dedent(f'''\
        from glob import glob
        from setuptools import setup
        setup(
            name='tiny_pkg',
            data_files=[
                ('share/ament_index/resource_index/packages', ['resource/tiny_pkg']),
                ('share/tiny_pkg', ['package.xml']),
                ('share/tiny_pkg/launch', glob('launch/*.launch.py')),
                ('share/tiny_pkg/config', glob('config/*.yaml')),
            ],
            entry_points={{'console_scripts': {[f'{s} = tiny_pkg.{s}:main' for s in scripts]}}},
        )
        '''))


def write_scripts(bin_dir: Path, names: list) -> None:
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        (bin_dir / name).write_text('#!/bin/sh\necho hello\n')
        (bin_dir / name).chmod(0o755)


@pytest.fixture
def tiny(tmp_path):
    source, prefix, bin_dir = tmp_path / 'src', tmp_path / 'prefix', tmp_path / 'bin'
    write_package(source, ['talker'], ['a.launch.py'], ['old.yaml'])
    write_scripts(bin_dir, ['talker'])
    # The layout of the earlier set-up: whole directories linked, a plain index marker.
    share = prefix / 'share' / 'tiny_pkg'
    share.mkdir(parents=True)
    for folder in ('launch', 'config'):
        (share / folder).symlink_to(source / folder, target_is_directory=True)
    marker = prefix / 'share/ament_index/resource_index/packages/tiny_pkg'
    marker.parent.mkdir(parents=True)
    marker.write_text('')
    return source, prefix, bin_dir


def test_replaces_directory_links_with_a_link_per_file(tiny):
    source, prefix, bin_dir = tiny
    link_install.install(source, prefix, bin_dir)
    share = prefix / 'share' / 'tiny_pkg'
    assert not (share / 'launch').is_symlink() and (share / 'launch').is_dir()
    assert walked(share) == {Path('package.xml'), Path('launch/a.launch.py'),
                             Path('config/old.yaml')}
    assert (share / 'launch/a.launch.py').resolve() == source / 'launch/a.launch.py'
    assert (prefix / 'lib/tiny_pkg/talker').resolve() == bin_dir / 'talker'
    assert subprocess.run([prefix / 'lib/tiny_pkg/talker'], capture_output=True,
                          text=True).stdout == 'hello\n'
    marker = prefix / 'share/ament_index/resource_index/packages/tiny_pkg'
    assert marker.resolve() == source / 'resource/tiny_pkg'
    assert (source / 'launch').is_dir() and (source / 'config/old.yaml').is_file(), (
        'removing the old directory links touched the checkout')


def test_a_second_run_adds_new_files_and_entry_points_and_drops_removed_ones(tiny):
    source, prefix, bin_dir = tiny
    link_install.install(source, prefix, bin_dir)
    share = prefix / 'share' / 'tiny_pkg'
    (share / 'notes.txt').write_text('mine')  # a real file someone put there stays
    write_package(source, ['talker', 'listener'], ['b.launch.py'], ['new.yaml'])
    (source / 'config/old.yaml').unlink()
    write_scripts(bin_dir, ['listener'])
    done = link_install.install(source, prefix, bin_dir)
    assert walked(share) == {Path('package.xml'), Path('notes.txt'), Path('launch/a.launch.py'),
                             Path('launch/b.launch.py'), Path('config/new.yaml')}
    assert share / 'config/old.yaml' in done['removed']
    assert sorted(os.listdir(prefix / 'lib/tiny_pkg')) == ['listener', 'talker']
    assert link_install.install(source, prefix, bin_dir)['changed'] == [], 'not idempotent'


def test_refuses_an_entry_point_without_its_script_and_a_missing_data_file(tiny):
    source, prefix, bin_dir = tiny
    write_package(source, ['talker', 'ghost'], ['a.launch.py'], ['old.yaml'])
    with pytest.raises(link_install.LayoutError, match=r"\['ghost'\].*run make env"):
        link_install.install(source, prefix, bin_dir)
    with pytest.raises(link_install.LayoutError, match='lists config/gone.yaml'):
        link_install.plan(source, [('share/tiny_pkg/config', ['config/gone.yaml'])])
