# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The machine-local ROS environment: localhost discovery, SHM profile, domains never shared."""

import os
from pathlib import Path
import subprocess
import sys

from waste_classifier_ros.demos import local_ros


def test_environment_keeps_dds_on_this_machine():
    environ = local_ros.local_ros_environ(
        base={'ROS_STATIC_PEERS': '10.0.0.7', 'FASTDDS_BUILTIN_TRANSPORTS': 'UDPv4'},
        domain_id=42)
    assert environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    assert environ['ROS_DOMAIN_ID'] == '42'
    assert environ['RMW_IMPLEMENTATION'] == 'rmw_fastrtps_cpp'
    profile = environ['FASTDDS_DEFAULT_PROFILES_FILE']
    assert os.path.isfile(profile)
    text = open(profile).read()
    assert '<type>SHM</type>' in text and '<segment_size>33554432</segment_size>' in text
    assert '<useBuiltinTransports>false</useBuiltinTransports>' in text
    assert 'ROS_STATIC_PEERS' not in environ and 'FASTDDS_BUILTIN_TRANSPORTS' not in environ


def test_live_processes_never_share_a_domain_id():
    code = 'from waste_classifier_ros.demos import local_ros; print(local_ros.unique_domain_id())'
    # Each child holds its reservation while it waits for input, so all are alive together.
    children = [subprocess.Popen(
        [sys.executable, '-c', code + '; import sys; sys.stdout.flush(); sys.stdin.read()'],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    ids = [int(child.stdout.readline()) for child in children]
    for child in children:
        child.communicate('', timeout=10)
    mine = int(os.environ['ROS_DOMAIN_ID'])  # this test run's own, held by conftest
    assert len(set(ids + [mine])) == 5, f'domain ids shared: {ids} and this run {mine}'
    assert all(1 <= domain_id <= 100 for domain_id in ids)


ROS_ENV = Path(__file__).resolve().parent.parent / 'devenv' / 'ros_env.sh'


def shell(script: str) -> subprocess.Popen:
    """Start a bash that sources devenv/ros_env.sh, runs `script` and lives until stdin closes."""
    return subprocess.Popen(['bash', '-c', f'source {ROS_ENV} && {script} && read -r _'],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_a_shell_keeps_its_domain_id_as_long_as_it_lives():
    first = shell('echo "$ROS_DOMAIN_ID"')
    first_id = int(first.stdout.readline())
    # The python that chose the id has ended; the shell's reservation holds it.
    assert local_ros.domain_id_is_reserved(first_id)
    others = [shell('echo "$ROS_DOMAIN_ID"') for _ in range(3)]
    other_ids = [int(other.stdout.readline()) for other in others]
    for other in others:
        other.communicate('', timeout=10)
    mine = int(os.environ['ROS_DOMAIN_ID'])
    assert len({first_id, mine, *other_ids}) == 5, (
        f'shared: first shell {first_id}, others {other_ids}, this run {mine}')
    first.communicate('', timeout=10)
    # Once the shell has ended its id is free (unless another run has taken it since).
    owner = (local_ros._RESERVATIONS / f'{first_id}.owner').read_text()
    assert not owner.startswith(f'{first.pid} ') or not local_ros.domain_id_is_reserved(first_id)


def test_sourcing_again_in_the_same_shell_keeps_its_id():
    twice = shell(f'echo "$ROS_DOMAIN_ID" && source {ROS_ENV} && echo "$ROS_DOMAIN_ID"')
    ids = [twice.stdout.readline(), twice.stdout.readline()]
    twice.communicate('', timeout=10)
    assert ids[0] == ids[1], ids


def test_an_owner_counts_only_while_that_very_process_lives(tmp_path, monkeypatch):
    monkeypatch.setattr(local_ros, '_RESERVATIONS', tmp_path)
    child = subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read()'],
                             stdin=subprocess.PIPE)
    domain_id = local_ros.unique_domain_id(owner_pid=child.pid)
    local_ros._held.pop().close()  # as when the reserving python has exited
    assert local_ros.domain_id_is_reserved(domain_id)
    assert local_ros.unique_domain_id(owner_pid=os.getpid()) != domain_id
    local_ros._held.pop().close()
    owner = tmp_path / f'{domain_id}.owner'
    started = owner.read_text().split()[1]
    owner.write_text(f'{child.pid} {int(started) + 1}')  # the same pid, a later process
    assert not local_ros.domain_id_is_reserved(domain_id)
    owner.write_text(f'{child.pid} {started}')
    child.communicate(b'', timeout=10)
    assert not local_ros.domain_id_is_reserved(domain_id)
