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

# One OpenMP thread per process (torch's intra-op pool): two workers share two cores, and torch's
# default of a thread per core left each worker's OpenMP barriers waiting on the other worker's
# threads (test_adapt's six heaviest tests on a busy 2-core machine: 216 s, 71 s with one thread).
# Set before any test module imports torch; the processes the tests start inherit it.
os.environ.setdefault('OMP_NUM_THREADS', '1')
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

# The modules that take longest, longest first (seconds each, alone on one worker of a busy 2-core
# machine, with one OpenMP thread, 2026-12-07). With --dist loadfile a module is one unit of work,
# handed to whichever worker is free next; a long one handed out last leaves the other worker idle
# until it ends, so these go first (PYTEST_ARGS in the Makefile keep this order with
# --no-loadscope-reorder; xdist would otherwise order modules by their number of tests). The rest
# keep their order.
LONGEST_FIRST = (
    'test_benchmarks.py',  # 95 s
    'test_adapt.py',  # 80 s
    'test_station_web_browser.py',  # 80 s
    'test_training_distributed.py',  # 70 s
    'test_closure.py',  # 25 s
    'test_classifier_node.py',  # 20 s
    'test_training.py',  # 18 s
)


def pytest_collection_modifyitems(items):
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files stay whole


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
