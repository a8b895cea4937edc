# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Helpers shared by the robustness and soak tests: a classifier node process and its diagnostics.

`start_classifier` runs the real node (`python -m waste_classifier_ros.nodes.classifier_node`)
on the tiny ONNX model from tiny_model.py under its own name and image topic, so modules never hear
each other. `Diagnostics` keeps the latest /diagnostics status of one node as a dict, so a test
can wait for a counter instead of sleeping. `Camera` publishes frames while the test
spins. `node_rss` reads a process's resident memory.
"""

import os
from pathlib import Path
import time

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
import psutil
from rclpy.qos import qos_profile_sensor_data
from ros_harness import NodeProcess
from sensor_msgs.msg import Image
from tiny_model import COLOURS, solid, write_model_dir

from waste_classifier_ros.core import image_codec

MODULE = 'waste_classifier_ros.nodes.classifier_node'
STANDINS = Path(__file__).resolve().parent / 'standins'
LEVELS = {0: 'OK', 1: 'WARN', 2: 'ERROR', 3: 'STALE'}


def tiny_model(directory) -> Path:
    """Write the tiny 7-class model with labels and a matching card; return the .onnx path."""
    return write_model_dir(directory)


def classifier(name, model, *, params=None, env=None, log_level=None) -> NodeProcess:
    """Make (not start) a classifier node named `name` whose image topic is /<name>/image."""
    return NodeProcess(
        MODULE, name=name, remaps={'image': f'/{name}/image'}, env=env, log_level=log_level,
        params={'model': str(model), 'backend': 'onnxruntime', 'num_threads': 1,
                **(params or {})})


def start_classifier(name, model, **options) -> NodeProcess:
    """Start a classifier node and wait until it says it is ready."""
    node = classifier(name, model, **options).start()
    try:
        node.wait_for_output('ready:', timeout=20)
    except AssertionError:
        node.kill()
        raise
    return node


def env_with_pythonpath(*folders) -> dict:
    """Return this process's environment with `folders` in front of PYTHONPATH."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [*map(str, folders), *filter(None, [env.get('PYTHONPATH')])])
    return env


def image_msg(rgb, encoding='rgb8', frame_id='bin_camera', stamp=None, padding=0) -> Image:
    """Pack an HxWx3 RGB array as a sensor_msgs/Image of `encoding`."""
    step, data = image_codec.encode(rgb, encoding, padding)
    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding=encoding, step=step,
                data=data)
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    return msg


class Camera:
    """
    A camera on the test's own node: a timer that publishes frames at `rate` Hz.

    It sends a solid `metal` frame, or cycles through `msgs`, each `repeat` times in a row.

    It publishes only while the test spins (waits for something) and while `on` is set, so a
    test switches the camera off and on without threads or sleeps.
    """

    def __init__(self, probe, topic, rate=20.0, msgs=None, qos=qos_profile_sensor_data,
                 repeat=1, stamp_with_count=False):
        self.on = True
        self.sent = 0
        self.last_sent = None
        self._msgs = msgs or [image_msg(solid(COLOURS['metal']), 'bgr8')]
        self._repeat = repeat  # frames in a row of each message before the next one
        self._stamp_with_count = stamp_with_count  # stamp.sec = 1, 2, 3, ... instead of the time
        self._publisher = probe.node.create_publisher(Image, topic, qos)
        self._clock = probe.node.get_clock()
        probe.node.create_timer(1.0 / rate, self._tick)
        self.publisher = self._publisher

    def _tick(self):
        if self.on:
            msg = self._msgs[self.sent // self._repeat % len(self._msgs)]
            if self._stamp_with_count:
                msg.header.stamp = Time(sec=self.sent + 1)
            else:
                msg.header.stamp = self._clock.now().to_msg()
            self._publisher.publish(msg)
            self.sent += 1
            self.last_sent = time.monotonic()


class Diagnostics:
    """The latest /diagnostics status of one classifier node, its values as a dict."""

    def __init__(self, probe, node_name):
        self.probe = probe
        self.prefix = f'{node_name}: '
        self.statuses = []
        probe.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_array, 50)

    def _on_array(self, array):
        for status in array.status:
            if self.prefix in status.name:
                self.statuses.append(status)

    @property
    def latest(self):
        return self.statuses[-1] if self.statuses else None

    @property
    def level(self) -> str:
        return LEVELS.get(self.latest.level[0], '?') if self.latest else 'none'

    def values(self) -> dict:
        return {kv.key: kv.value for kv in self.latest.values} if self.latest else {}

    def counts(self) -> dict:
        """Frame counters of the latest status: received, processed, skipped, rejected."""
        return {key[len('frames_'):]: int(value) for key, value in self.values().items()
                if key.startswith('frames_')}

    def wait_until(self, predicate, timeout, what):
        """Spin until predicate(counts) holds for a status received after this call."""
        seen = len(self.statuses)

        def done():
            return len(self.statuses) > seen and predicate(self.counts())
        try:
            self.probe.wait_for(done, timeout, what)
        except AssertionError as error:
            raise AssertionError(f'{error}; latest diagnostics: {self.level} '
                                 f'{self.latest and self.latest.message!r} {self.values()}') \
                from None
        return self.counts()

    def wait_for_level(self, level, timeout, what):
        seen = len(self.statuses)

        def done():
            return len(self.statuses) > seen and self.level == level
        try:
            self.probe.wait_for(done, timeout, what)
        except AssertionError as error:
            raise AssertionError(f'{error}; latest diagnostics: {self.level} '
                                 f'{self.latest and self.latest.message!r}') from None
        return self.latest


# Only a hang takes this long; how long an exit takes is a figure of `make bench`
# (benchmarks/lifecycle.py), measured against its target there, not asserted on a busy machine.
HANG_S = 30.0


def assert_clean_exit(node: NodeProcess, sig):
    """Send `sig`; the node must exit 0 (not hang) without a traceback."""
    code = node.stop(sig, timeout=HANG_S)
    assert code == 0, f'exit code {code} after {sig.name}; output:\n{node.output}'
    assert 'Traceback' not in node.output, node.output


def node_rss(node: NodeProcess) -> int:
    """Resident set size of the node's process, in bytes."""
    return psutil.Process(node.process.pid).memory_info().rss
