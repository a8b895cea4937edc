# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The test side of a classifier node over real DDS.

`Camera` publishes frames and finds the node's answers to them (by header stamp), its bin
decisions and its /diagnostics statuses.
"""

from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image
from vision_msgs.msg import Classification

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.nodes.qos import LATCHED


def names(classification):
    return [result.class_id for result in classification.results]


def scores(classification):
    return [result.score for result in classification.results]


class Camera:
    """The test side: publishes frames and finds the answers to them by header stamp."""

    def __init__(self, probe, prefix, topic, status_name):
        """Watch the classifier `prefix` (its node name) fed on `topic`, status `status_name`."""
        self.probe, self.status_name = probe, status_name
        self.publisher = probe.node.create_publisher(Image, topic, 10)
        self.classifications = probe.collect(Classification, f'{prefix}/classification')
        self.bins = probe.collect(Classification, f'{prefix}/bin', LATCHED)
        self.diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
        probe.wait_for_subscribers(self.publisher)
        probe.wait_for(lambda: self.probe.node.count_publishers(f'{prefix}/classification'),
                       10, 'the classifier to publish classifications')

    def publish(self, stamp, encoding='rgb8', height=0, width=0, step=0, data=b'',
                frame_id='camera'):
        msg = Image(encoding=encoding, height=height, width=width, step=step, data=data)
        msg.header.stamp.sec = stamp
        msg.header.frame_id = frame_id
        self.publisher.publish(msg)

    def send(self, stamp, rgb, encoding='rgb8', padding=0, frame_id='camera'):
        """Publish one frame and return the classification of it."""
        step, data = image_codec.encode(rgb, encoding, padding)
        # The node listens best effort: a frame sent while discovery is still settling may be
        # lost, so one unanswered within 2 s is sent again (same stamp), up to 5 times.
        for _ in range(5):
            self.publish(stamp, encoding, rgb.shape[0], rgb.shape[1], step, data, frame_id)
            try:
                return self.answer(self.classifications, stamp, timeout=2.0)
            except AssertionError:
                continue
        return self.answer(self.classifications, stamp, timeout=0.1)

    def answer(self, messages, stamp, timeout=10.0):
        found = []

        def arrived():
            found[:] = [m for m in messages if m.header.stamp.sec == stamp]
            return found
        self.probe.wait_for(arrived, timeout, f'a message stamped {stamp}')
        return found[0]

    def status(self, predicate=lambda values: True, level=None, timeout=10.0):
        """Wait for a /diagnostics status of the classifier that satisfies the predicate."""
        start = len(self.diagnostics)
        found = []

        def arrived():
            for array in self.diagnostics[start:]:
                for status in array.status:
                    values = {kv.key: kv.value for kv in status.values}
                    if status.name == self.status_name and predicate(values) and (
                            level is None or status.level == level):
                        found.append((status, values))
            return found
        self.probe.wait_for(arrived, timeout, f'a diagnostics status at level {level!r}')
        return found[0]
