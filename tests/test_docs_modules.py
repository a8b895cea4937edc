# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
docs/developing.md's layout tables list every module of `training/` and `waste_classifier_ros/`.

A table row whose first cell is a folder in backticks (`training/`, `core/`, `training/station/`:
from the repository root, or inside `waste_classifier_ros/` or `training/`) lists its modules as
`stem` in backticks. Every .py file under those two folders (but `__init__.py`) must be named in
the row of its nearest folder that has one, and every bare name such a row gives must be a module
or package under its folder. The checker is tried on a made-up tree first, so a pass means
something.
"""

from pathlib import Path
import re
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / 'docs' / 'developing.md'
PACKAGES = ('training', 'waste_classifier_ros')

ROW = re.compile(r'^\|(.*)\|\s*$', re.M)
CODE = re.compile(r'`([^`\n]+)`')
MODULE_NAME = re.compile(r'[a-z_][a-z0-9_]*')


def _folder(cell: str, root: Path) -> Path | None:
    """Return the folder (inside a package) a first cell names in backticks, if any."""
    for name in CODE.findall(cell):
        if not name.endswith('/'):
            continue
        for base in (root, *(root / package for package in PACKAGES)):
            folder = base / name
            inside = any(folder.is_relative_to(root / package) for package in PACKAGES)
            if inside and folder.is_dir():
                return folder
    return None


def layout_rows(text: str, root: Path) -> Dict[Path, Set[str]]:
    """Return the module names each folder's table row gives in backticks."""
    rows: Dict[Path, Set[str]] = {}
    for match in ROW.finditer(text):
        cells = match.group(1).split('|')
        folder = _folder(cells[0], root) if len(cells) > 1 else None
        if folder is not None:
            names = {name for name in CODE.findall(cells[1]) if MODULE_NAME.fullmatch(name)}
            rows.setdefault(folder, set()).update(names)
    return rows


def modules(root: Path) -> List[Path]:
    """Return every module of the two packages (their .py files but `__init__.py`)."""
    return sorted(path for package in PACKAGES for path in (root / package).rglob('*.py')
                  if path.name != '__init__.py')


def unlisted(text: str, root: Path) -> List[str]:
    """Return each module not named in the row of its nearest folder that has a row."""
    rows = layout_rows(text, root)
    missing = []
    for path in modules(root):
        folder = next((parent for parent in path.parents if parent in rows), None)
        if folder is None or path.stem not in rows[folder]:
            where = f'the `{folder.relative_to(root)}/` row' if folder else 'any row'
            missing.append(f'{path.relative_to(root)} (not in {where})')
    return missing


def listed_but_absent(text: str, root: Path) -> List[str]:
    """Return each name a folder's row gives that is neither a module nor a package there."""
    absent = []
    for folder, names in layout_rows(text, root).items():
        for name in sorted(names):
            if not (any(folder.rglob(f'{name}.py')) or any(folder.rglob(f'{name}/__init__.py'))):
                absent.append(f'{name} (in the `{folder.relative_to(root)}/` row)')
    return absent


def test_the_checker_finds_unlisted_and_absent_modules(tmp_path):
    for path in ('training/train.py', 'training/station/retrain.py', 'training/station/plan.py',
                 'training/__init__.py', 'waste_classifier_ros/core/bins.py',
                 'waste_classifier_ros/demos/station_web.py',
                 'waste_classifier_ros/station_web/app.py'):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()
    page = (
        '| path | what |\n|---|---|\n'
        '| `training/` | `train` (Hydra; `conf/`), `gone`, `make train` |\n'
        '| `training/station/` | `retrain` |\n'
        '| `devenv/` | `vision_msgs` |\n\n'
        '| room | what | may import |\n|---|---|---|\n'
        '| `core/` | `bins` | `demos` |\n'
        '| `demos/` | `station_web` (`make demo-web`) | anything |\n'
        '| `station_web/` | the aiohttp app | `core` |\n')
    assert unlisted(page, tmp_path) == [
        'training/station/plan.py (not in the `training/station/` row)',
        'waste_classifier_ros/station_web/app.py (not in the '
        '`waste_classifier_ros/station_web/` row)']
    assert listed_but_absent(page, tmp_path) == ['gone (in the `training/` row)']


def test_every_module_is_listed_in_developing_md():
    missing = unlisted(PAGE.read_text(encoding='utf-8'), ROOT)
    assert missing == [], 'modules docs/developing.md does not list:\n' + '\n'.join(missing)


def test_every_module_developing_md_lists_exists():
    absent = listed_but_absent(PAGE.read_text(encoding='utf-8'), ROOT)
    assert absent == [], 'modules docs/developing.md lists that do not exist:\n' + \
        '\n'.join(absent)
