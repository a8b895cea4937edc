# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The QoS profiles of this package's topics, one place for every node (and the tests' subscribers).

`LATCHED`: the classifier's `~/label_info` and `~/bin` hold their last message for whoever joins
later (a page opened after the bin decision still shows it); a subscriber must ask for the same.
`newest(reliable)`: keep last 1 for camera frames that a node takes when it is ready, each
newer one replacing the older inside DDS. `queued(depth, reliable)`: keep last `depth`, for a
reader or writer that must not lose a frame to a short hold-up (the recorder, the media source).
"""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


def reliability(reliable: bool) -> ReliabilityPolicy:
    """RELIABLE or BEST_EFFORT; best effort is what every camera driver's publisher matches."""
    return ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT


def queued(depth: int, reliable: bool) -> QoSProfile:
    """Keep the last `depth` messages, reliable or best effort."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=reliability(reliable))


def newest(reliable: bool = False) -> QoSProfile:
    """Keep last 1: a reader that wants the newest frame, never a queue of old ones."""
    return queued(1, reliable)
