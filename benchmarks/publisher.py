# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The benchmark's camera: publishes one prebuilt rgb8 frame at a steady rate, or as fast as it can.

    python -m benchmarks.publisher --width 1280 --height 720 --rate 30 --stamps stamps.npy

The Image message is built once (the pixels become bytes once); each publish only restamps it
with the system clock, which is ROS time here, so a receiver's latency is `now - header.stamp`.
Frames follow an absolute schedule (frame i is due at start + i / rate), so a late frame does not
shift the ones after it. It starts when `--subscribers` readers have matched and runs until
SIGINT/SIGTERM or `--duration`; then it saves every stamp (int64 ns) to `--stamps` and prints
a one-line JSON summary.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import Callable, Sequence

from builtin_interfaces.msg import Time
import numpy as np
import rclpy
from rclpy.event_handler import PublisherEventCallbacks
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import qos_profile_sensor_data
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import Image

from waste_classifier_ros.core.image_codec import encode
from waste_classifier_ros.demos.local_ros import apply_local_ros_environ

READY = 'publisher matched'


def test_pattern(height: int, width: int) -> np.ndarray:
    """A deterministic image with edges and colour, so the frame is not a trivial solid block."""
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    rgb = np.stack([np.broadcast_to(cols, (height, width)),
                    np.broadcast_to(rows, (height, width)),
                    (rows + cols) % 256], axis=-1)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 32, size=(height, width, 3), dtype=np.uint8)
    return (rgb.astype(np.uint8) // 8 * 7 + noise).astype(np.uint8)


def build_image(height: int, width: int, frame_id: str = 'bench_camera') -> Image:
    message = Image()
    message.header.frame_id = frame_id
    message.height, message.width = height, width
    message.encoding = 'rgb8'
    message.is_bigendian = 0
    message.step, message.data = encode(test_pattern(height, width), 'rgb8')
    return message


def wait_for_match(node: Node, publisher_matched: Callable[[], int], count: int, timeout: float,
                   stopping: threading.Event) -> None:
    """Spin until `count` readers matched (the event callback counts them), bounded."""
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    deadline = time.monotonic() + timeout
    while publisher_matched() < count and not stopping.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f'no {count} subscriber(s) matched on image within {timeout} s')
        executor.spin_once(timeout_sec=min(remaining, 0.2))
    executor.remove_node(node)
    executor.shutdown()


def publish(publisher: Publisher[Image], message: Image, rate: float, duration: float,
            stopping: threading.Event) -> np.ndarray:
    """Publish until `stopping` is set or `duration` seconds pass; return the stamps, in ns."""
    stamps: list[int] = []
    period = 1.0 / rate if rate > 0 else 0.0
    start = time.monotonic()
    end = start + duration
    index = 0
    while not stopping.is_set():
        now = time.monotonic()
        if now >= end:
            break
        due = start + index * period
        if due > now and stopping.wait(due - now):
            break
        stamp_ns = time.time_ns()
        message.header.stamp = Time(sec=stamp_ns // 1_000_000_000,
                                    nanosec=stamp_ns % 1_000_000_000)
        publisher.publish(message)
        stamps.append(stamp_ns)
        index += 1
    return np.asarray(stamps, dtype=np.int64)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--rate', type=float, default=30.0,
                        help='frames per second; 0 = as fast as possible')
    parser.add_argument('--duration', type=float, default=600.0, help='upper bound, seconds')
    parser.add_argument('--topic', default='image')
    parser.add_argument('--subscribers', type=int, default=1)
    parser.add_argument('--match-timeout', type=float, default=30.0)
    parser.add_argument('--stamps', required=True, help='.npy file for the published stamps')
    parser.add_argument('--nice', type=int, default=0,
                        help='add this to the process niceness (19: use only CPU nobody else '
                        'wants, so that a flood measures the receiver, not a fight for cores)')
    args = parser.parse_args(rclpy.utilities.remove_ros_args(argv if argv else sys.argv)[1:])
    if args.nice:
        os.nice(args.nice)

    # Stay on the domain the orchestrator chose; a fresh id would isolate this process.
    inherited = os.environ.get('ROS_DOMAIN_ID')
    apply_local_ros_environ(domain_id=int(inherited) if inherited else None)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    message = build_image(args.height, args.width)
    # rclpy's own handlers would shut the context down under a publish in flight.
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_publisher')
    matched = [0]
    events = PublisherEventCallbacks(
        matched=lambda info: matched.__setitem__(0, info.current_count))
    # The node's own default: best effort, so a slow reader never holds the camera back.
    publisher = node.create_publisher(Image, args.topic, qos_profile_sensor_data,
                                      event_callbacks=events)
    try:
        wait_for_match(node, lambda: matched[0], args.subscribers, args.match_timeout,
                       stopping)
        print(READY, flush=True)
        cpu_before = time.process_time()
        stamps = publish(publisher, message, args.rate, args.duration, stopping)
        cpu = time.process_time() - cpu_before
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    np.save(args.stamps, stamps)
    seconds = (stamps[-1] - stamps[0]) / 1e9 if stamps.size > 1 else 0.0
    print(json.dumps({
        'published': int(stamps.size),
        'seconds': round(seconds, 3),
        'fps': round((stamps.size - 1) / seconds, 2) if seconds else 0.0,
        'cpu_s': round(cpu, 3),
    }), flush=True)


if __name__ == '__main__':
    main()
