# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Shared fixtures. Importing this module confines ROS to this machine for the whole test run.

The environment is set before any test imports rclpy, so the test process and every node it
starts use localhost-only discovery, this run's own domain id and shared-memory-only Fast DDS.
"""

import os
from pathlib import Path
import sys
import tempfile

import pytest

from waste_classifier_ros.demos.local_ros import apply_local_ros_environ, clean_stale_shared_memory

ROS_ENVIRON = apply_local_ros_environ()
clean_stale_shared_memory()
# What nodes keep under $ROS_HOME by default (logs, capture inbox, TensorRT engine cache) goes
# to a folder of this run, never into the user's ~/.ros.
os.environ['ROS_HOME'] = tempfile.mkdtemp(prefix='waste_classifier_ros-tests-ros_home-')

sys.path.insert(0, str(Path(__file__).parent))
# devenv/link_install.py: what setup.py installs, read the one way make env reads it.
sys.path.insert(0, str(Path(__file__).parent.parent / 'devenv'))

from ros_harness import RosProbe, init_context  # noqa: E402
from tiny_model import write_model_dir  # noqa: E402


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """Write a tiny ONNX model folder (model, labels.txt, model_card.json), one per module."""
    return write_model_dir(tmp_path_factory.mktemp('model'))


@pytest.fixture(scope='session')
def ros_context():
    context = init_context()
    yield context
    context.try_shutdown()


@pytest.fixture
def probe(ros_context, request):
    """Give the test its own rclpy node with bounded waits (see ros_harness.RosProbe)."""
    import rclpy
    name = 'probe_' + ''.join(c if c.isalnum() else '_' for c in request.node.name)[:60]
    probe = RosProbe(rclpy.create_node(name, context=ros_context))
    yield probe
    probe.destroy()
