# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The libraries of optional features, imported only when a feature is switched on.

The core (classifying camera frames) needs what setup.py's install_requires and package.xml
declare. Each optional feature names its library here, and its code calls `require(feature)`
where it starts: a missing library is then one MissingLibraryError error whose message names the
feature, the package and how to install it, and the caller decides what stops (the classifier
keeps classifying without a recording; a media source asked to play a recording cannot start).
setup.py's extras_require has one extra per entry with a `extra` name (tests/test_closure.py
checks that they agree).
"""

from dataclasses import dataclass
import importlib
from types import ModuleType


@dataclass(frozen=True)
class Extra:
    what: str  # the feature, as a user switches it on
    module: str  # import name
    pip: str  # PyPI name
    apt: str = ''  # Debian/Ubuntu package (a rosdep key) where one exists
    extra: str = ''  # setup.py extras_require name where the library is optional


EXTRAS = {
    'recording': Extra('recording (record_path) and MCAP playback', 'mcap', 'mcap',
                       extra='recording'),
    'web': Extra('the station web page (station_web, web:=true)', 'aiohttp', 'aiohttp',
                 apt='python3-aiohttp', extra='web'),
    # Core on a PC, but not needed by the jetson backend (a Jetson image may lack it).
    'onnxruntime': Extra('the onnxruntime backend', 'onnxruntime', 'onnxruntime'),
}


class MissingLibraryError(ImportError):
    """An optional feature is on, but its library is not installed; the message says how."""


def install_hint(extra: Extra) -> str:
    commands = [f'pip install {extra.pip}']
    if extra.apt:
        commands.insert(0, f'sudo apt install {extra.apt}')
    hint = ' or '.join(f'`{command}`' for command in commands)
    if extra.extra:
        hint += f" (this package's '{extra.extra}' extra)"
    return hint


def require(feature: str) -> ModuleType:
    """Import the library `feature` needs; raise MissingLibraryError saying how to install it."""
    extra = EXTRAS[feature]
    try:
        return importlib.import_module(extra.module)
    except ImportError as error:
        raise MissingLibraryError(
            f'{extra.what} needs the Python package {extra.pip}, which is not installed here '
            f'({error}); install it with {install_hint(extra)}') from None
