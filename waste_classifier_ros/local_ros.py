# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The environment for every ROS process this project starts itself (tests, demo, benchmarks).

By construction nothing leaves the machine: discovery is limited to localhost, each run gets its
own domain id so parallel runs never see each other, and Fast DDS uses only its shared-memory
transport with a 32 MB segment (the default 512 KB segment silently drops best-effort 720p
frames). Deployments on a robot use their own DDS settings; this is for runs we own.
"""

import fcntl
import os
from pathlib import Path
import shutil
import subprocess
import tempfile

from waste_classifier_ros.paths import share_path

# Fast DDS maps domain ids to ports; 1..100 stays inside the range every platform accepts,
# 0 is left to the user's default domain.
_DOMAIN_IDS = 100
_RESERVATIONS = Path(tempfile.gettempdir()) / 'waste_classifier_ros-domains'
_held = []  # open, locked reservation files: released when this process ends


def fastdds_profile() -> Path:
    return share_path('config', 'fastdds_shm.xml')


def unique_domain_id() -> int:
    """Reserve a domain id that no other live run on this machine holds, for this process.

    A process id alone can collide between concurrent runs; a lock per id cannot. The lock lives
    as long as this process, whose children inherit the id through the environment.
    """
    _RESERVATIONS.mkdir(exist_ok=True)
    first = os.getpid() % _DOMAIN_IDS
    for offset in range(_DOMAIN_IDS):
        domain_id = 1 + (first + offset) % _DOMAIN_IDS
        reservation = open(_RESERVATIONS / f'{domain_id}.lock', 'w')
        try:
            fcntl.flock(reservation, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            reservation.close()
            continue
        _held.append(reservation)
        return domain_id
    raise RuntimeError(f'all {_DOMAIN_IDS} ROS domain ids are held by other runs on this machine')


def local_ros_environ(base=None, domain_id=None) -> dict:
    """Return a copy of `base` (default os.environ) set up for a machine-local ROS graph."""
    environ = dict(os.environ if base is None else base)
    environ.update({
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
        'ROS_DOMAIN_ID': str(unique_domain_id() if domain_id is None else domain_id),
        'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp',
        'FASTDDS_DEFAULT_PROFILES_FILE': str(fastdds_profile()),
    })
    # Variables that would widen discovery or replace the profile must not leak in.
    for name in ('ROS_STATIC_PEERS', 'ROS_LOCALHOST_ONLY', 'FASTDDS_BUILTIN_TRANSPORTS',
                 'ROS_DISCOVERY_SERVER'):
        environ.pop(name, None)
    return environ


def apply_local_ros_environ(domain_id=None) -> dict:
    """Set up this process's own environment (before rclpy.init) and return it."""
    environ = local_ros_environ(domain_id=domain_id)
    os.environ.update(environ)
    return environ


def clean_stale_shared_memory() -> None:
    """Remove Fast DDS shared-memory ports and segments left by processes that were killed.

    A SIGKILLed participant leaves its port behind; senders then wait on it until its health
    check gives up, which slowed discovery and startups by seconds in long test sessions.
    `fastdds shm clean` removes only ports and segments no live process holds.
    """
    tool = shutil.which('fastdds')
    if tool:
        subprocess.run([tool, 'shm', 'clean'], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30, check=False)
