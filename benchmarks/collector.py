# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The benchmark's listener: records when each Classification arrives, and the node's diagnostics.

It lives in the orchestrator's process on its own executor thread and subscribes only to small
messages (Classification, DiagnosticArray), so it costs the shared cores little. Latency is the
arrival time on the system clock minus the header stamp the node copied from the image, which the
publisher took from the same clock. The overlay, when a phase asks for a viewer, is taken as
serialized bytes: the node pays for producing it, the benchmark does not pay to decode it.
"""

import threading
import time
from typing import Callable

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.event_handler import QoSSubscriptionMatchedInfo, SubscriptionEventCallbacks
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.subscription import Subscription
from sensor_msgs.msg import Image
from vision_msgs.msg import Classification

# Best effort matches a reliable or a best-effort publisher; the deep queue keeps a burst of
# results while this thread waits for the GIL.
_RESULTS_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=200,
                          reliability=ReliabilityPolicy.BEST_EFFORT)
# Returns '' while the node under test runs, else why it cannot answer any more.
Alive = Callable[[], str]


class Collector:
    """Subscribes to the node's outputs; query it from another thread while it spins."""

    def __init__(self, context: Context, node_name: str = 'waste_classifier') -> None:
        self.node = rclpy.create_node('bench_collector', context=context)
        self.classification_topic = f'/{node_name}/classification'
        self.overlay_topic = f'/{node_name}/overlay'
        self._node_name = node_name
        self._lock = threading.Lock()
        self._stamps: list[int] = []
        self._arrivals: list[int] = []
        self._diagnostics: dict = {}
        self._overlay_frames = 0
        self._overlay: Subscription | None = None
        self._matched = threading.Event()
        self._received = threading.Event()
        self.node.create_subscription(
            Classification, self.classification_topic, self._on_classification, _RESULTS_QOS,
            event_callbacks=SubscriptionEventCallbacks(matched=self._on_matched))
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                      _RESULTS_QOS)
        self._executor = SingleThreadedExecutor(context=context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._executor.spin, daemon=True)
        self._thread.start()

    def _on_matched(self, info: QoSSubscriptionMatchedInfo) -> None:
        if info.current_count > 0:
            self._matched.set()
        else:
            self._matched.clear()

    def _on_classification(self, message: Classification) -> None:
        arrival = time.time_ns()
        stamp = message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec
        with self._lock:
            self._stamps.append(stamp)
            self._arrivals.append(arrival)
        self._received.set()

    def _on_diagnostics(self, message: DiagnosticArray) -> None:
        for status in message.status:
            if self._node_name in status.name:
                values = {item.key: item.value for item in status.values}
                with self._lock:
                    self._diagnostics = {'name': status.name, 'message': status.message,
                                         'values': values, 'time_ns': time.time_ns()}

    def _on_overlay(self, serialized: bytes) -> None:
        with self._lock:
            self._overlay_frames += 1

    def strangers(self) -> list[str]:
        """Name the nodes on this domain that are not the benchmark's own three.

        Domain ids are derived from process ids, so another run on this machine can share ours;
        its frames would then reach the node under test and spoil the figures.
        """
        own = {self.node.get_name(), self._node_name, 'bench_publisher'}
        return sorted(f'{namespace.rstrip("/")}/{name}'
                      for name, namespace in self.node.get_node_names_and_namespaces()
                      if name not in own)

    @staticmethod
    def _wait(event: threading.Event, timeout: float, alive: Alive, what: str) -> None:
        # The node may die instead (a bad model, say): check on it between bounded waits.
        deadline = time.monotonic() + timeout
        while not event.wait(min(0.5, max(0.0, deadline - time.monotonic()))):
            problem = alive()
            if problem:
                raise RuntimeError(f'{problem} while waiting for {what}')
            if time.monotonic() >= deadline:
                raise TimeoutError(f'no {what} within {timeout} s')

    def wait_for_node(self, timeout: float, alive: Alive = lambda: '') -> None:
        """Block until the node's Classification publisher matched this subscriber.

        `alive()` returns '' while the node runs, else why it cannot match any more.
        """
        self._wait(self._matched, timeout, alive, f'a publisher on {self.classification_topic}')

    def wait_for_result(self, timeout: float, alive: Alive = lambda: '') -> None:
        """Block until a Classification arrived since the last reset()."""
        self._wait(self._received, timeout, alive, f'a message on {self.classification_topic}')

    def wait_quiet(self, quiet: float, timeout: float) -> None:
        """Block until no Classification arrived for `quiet` seconds (at most `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._received.clear()
            if not self._received.wait(quiet):
                return

    def reset(self) -> None:
        with self._lock:
            self._stamps, self._arrivals = [], []
            self._diagnostics = {}
            self._overlay_frames = 0
        self._received.clear()

    def results(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (stamps, arrivals) in ns, as int64 arrays, in arrival order."""
        with self._lock:
            return (np.asarray(self._stamps, dtype=np.int64),
                    np.asarray(self._arrivals, dtype=np.int64))

    @property
    def diagnostics(self) -> dict:
        with self._lock:
            return dict(self._diagnostics)

    @property
    def overlay_frames(self) -> int:
        with self._lock:
            return self._overlay_frames

    def watch_overlay(self, watching: bool) -> None:
        """Subscribe to the overlay (as a viewer would) or drop that subscription."""
        if watching and self._overlay is None:
            self._overlay = self.node.create_subscription(
                Image, self.overlay_topic, self._on_overlay, qos_profile_sensor_data, raw=True)
        elif not watching and self._overlay is not None:
            self.node.destroy_subscription(self._overlay)
            self._overlay = None

    def close(self) -> None:
        self._executor.shutdown()
        self._thread.join(5)
        self.node.destroy_node()
