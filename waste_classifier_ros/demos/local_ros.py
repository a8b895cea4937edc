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
from typing import IO, Mapping

from waste_classifier_ros.core.paths import share_path

# Fast DDS maps domain ids to ports; 1..100 stays inside the range every platform accepts,
# 0 is left to the user's default domain.
_DOMAIN_IDS = 100
_RESERVATIONS = Path(tempfile.gettempdir()) / 'waste_classifier_ros-domains'
_held: list[IO[str]] = []  # open, locked reservation files: released when this process ends


def fastdds_profile() -> Path:
    return share_path('config', 'fastdds_shm.xml')


def _owner_token(pid: int) -> str:
    """Name process `pid` for good: its pid and start time (a reused pid has another one)."""
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return f'{pid} gone'
    return f'{pid} {stat.rpartition(")")[2].split()[19]}'  # field 22; the name may hold spaces


def _owner_of(domain_id: int) -> str:
    try:
        return (_RESERVATIONS / f'{domain_id}.owner').read_text()
    except OSError:
        return ''


def _alive(owner: str) -> bool:
    pid, _, started = owner.partition(' ')
    return pid.isdigit() and started != 'gone' and _owner_token(int(pid)) == owner


def _claim(domain_id: int, owner: str) -> IO[str] | None:
    """Lock the id's file and name `owner` in it, unless a live process or owner holds it."""
    reservation = open(_RESERVATIONS / f'{domain_id}.lock', 'w')
    try:
        fcntl.flock(reservation, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        reservation.close()
        return None
    current = _owner_of(domain_id)
    if current != owner and _alive(current):
        reservation.close()
        return None
    temporary = _RESERVATIONS / f'{domain_id}.owner.{os.getpid()}'
    temporary.write_text(owner)
    temporary.replace(_RESERVATIONS / f'{domain_id}.owner')
    return reservation


def unique_domain_id(owner_pid: int | None = None) -> int:
    """Reserve a domain id that no other live run or shell on this machine holds.

    The reservation lasts as long as process `owner_pid` lives (default: this process, whose
    children inherit the id through the environment). Two records make it: a lock on the id's
    file, held by this process while it lives (of two concurrent reservations only one wins),
    and an owner file naming `owner_pid` and its start time, which keeps the id taken while that
    process lives, also after this one has ended. devenv/ros_env.sh passes its shell's pid: the
    shell keeps its id as long as it lives, and gets the same one when it sources the script
    again.
    """
    _RESERVATIONS.mkdir(exist_ok=True)
    owner = _owner_token(os.getpid() if owner_pid is None else owner_pid)
    first = os.getpid() % _DOMAIN_IDS
    candidates = [1 + (first + offset) % _DOMAIN_IDS for offset in range(_DOMAIN_IDS)]
    mine = [domain_id for domain_id in candidates if _owner_of(domain_id) == owner]
    for domain_id in mine + candidates:
        reservation = _claim(domain_id, owner)
        if reservation is not None:
            _held.append(reservation)
            return domain_id
    raise RuntimeError(f'all {_DOMAIN_IDS} ROS domain ids are held by other runs on this machine')


def domain_id_is_reserved(domain_id: int) -> bool:
    """Whether a live process holds `domain_id`'s lock or a live process owns it."""
    with open(_RESERVATIONS / f'{domain_id}.lock', 'w') as reservation:
        try:
            fcntl.flock(reservation, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return _alive(_owner_of(domain_id))


def local_ros_environ(base: Mapping[str, str] | None = None, domain_id: int | None = None,
                      owner_pid: int | None = None) -> dict[str, str]:
    """Return a copy of `base` (default os.environ) set up for a machine-local ROS graph.

    Without `domain_id` it reserves one for this process, or for process `owner_pid`.
    """
    environ = dict(os.environ if base is None else base)
    environ.update({
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
        'ROS_DOMAIN_ID': str(unique_domain_id(owner_pid) if domain_id is None else domain_id),
        'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp',
        'FASTDDS_DEFAULT_PROFILES_FILE': str(fastdds_profile()),
    })
    # Variables that would widen discovery or replace the profile must not leak in.
    for name in ('ROS_STATIC_PEERS', 'ROS_LOCALHOST_ONLY', 'FASTDDS_BUILTIN_TRANSPORTS',
                 'ROS_DISCOVERY_SERVER'):
        environ.pop(name, None)
    return environ


def apply_local_ros_environ(domain_id: int | None = None) -> dict[str, str]:
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
