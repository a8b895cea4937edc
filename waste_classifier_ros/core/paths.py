# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Where the package's installed files (config, launch, model) live, and ROS's own folder."""

import os
from pathlib import Path

PACKAGE = 'waste_classifier_ros'
_SOURCE_TREE = Path(__file__).resolve().parents[2]


def share_dir() -> Path:
    """Return the package's share directory, or the source checkout when not installed.

    ament_index finds an installed package (colcon, apt, our venv's symlinked share); a plain
    checkout on PYTHONPATH still works so tools run straight from a clone.
    """
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(PACKAGE))
    # OSError: ament_index refuses to look anywhere when AMENT_PREFIX_PATH is unset.
    except (ImportError, LookupError, ValueError, OSError):
        return _SOURCE_TREE


def share_path(*parts: str) -> Path:
    return share_dir().joinpath(*parts)


def ros_home() -> Path:
    """Return $ROS_HOME, or ~/.ros where it is unset (where ROS 2 keeps logs and state)."""
    return Path(os.environ.get('ROS_HOME') or Path.home() / '.ros')
