# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The machine-local ROS environment: localhost discovery, SHM profile, domains never shared."""

import os
import subprocess
import sys

from waste_classifier_ros import local_ros


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
    code = 'from waste_classifier_ros import local_ros; print(local_ros.unique_domain_id())'
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
