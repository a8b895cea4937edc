# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The multi-process harness itself, over real DDS: messages cross processes, shutdown is clean."""

import json
from pathlib import Path
import signal

import pytest
from ros_harness import NodeProcess, write_params_file
from vision_msgs.msg import Classification

TALKER = Path(__file__).parent / 'ros_programs' / 'classification_talker.py'
CLASSIFICATION_HASH = 'RIHS01_f74db28d0eaef3afb78f48bf2161cd709a1383a0309d3454383b25be11345143'

pytestmark = pytest.mark.ros


@pytest.fixture
def talker(tmp_path):
    params = write_params_file(tmp_path / 'talker.yaml', '/**', {'frame_id': 'bin_camera'})
    with NodeProcess(TALKER, params_file=params, params={'class_id': 'metal'},
                     remaps={'classification': '/harness/classification'}) as process:
        process.wait_for_output('talker ready')
        yield process


def test_classification_crosses_processes(talker, probe):
    received = probe.collect(Classification, '/harness/classification')
    probe.wait_for_messages(received, 1, timeout=10, what='Classification from the talker')
    message = received[0]
    assert message.header.frame_id == 'bin_camera'  # from the params file
    assert [r.class_id for r in message.results] == ['metal', 'glass']  # -p override
    assert [r.score for r in message.results] == [0.75, 0.25]
    assert talker.stop(signal.SIGINT) == 0, talker.output


def test_sigterm_also_ends_cleanly(talker):
    assert talker.stop(signal.SIGTERM) == 0, talker.output


def test_classification_type_hash_on_the_graph(talker, probe):
    probe.wait_for_publishers('/harness/classification', timeout=10)
    endpoints = probe.node.get_publishers_info_by_topic('/harness/classification')
    assert endpoints[0].topic_type == 'vision_msgs/msg/Classification'
    assert str(endpoints[0].topic_type_hash) == CLASSIFICATION_HASH


def test_generated_type_description_hash():
    from ament_index_python.packages import get_package_share_directory
    share = Path(get_package_share_directory('vision_msgs'))
    description = json.loads((share / 'msg' / 'Classification.json').read_text())
    assert description['type_hashes'][0]['hash_string'] == CLASSIFICATION_HASH


def test_output_wait_fails_with_a_clear_message(talker):
    with pytest.raises(AssertionError, match='did not print .never printed.'):
        talker.wait_for_output('never printed', timeout=0.5)
