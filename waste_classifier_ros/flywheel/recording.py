# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
MCAP recordings in rosbag2's format: written by the classifier, played by the media source.

What rosbag2's MCAP storage writes, so `ros2 bag play`, Foxglove and the `mcap` CLI open the
files: profile `ros2`, one schema per message type named like `sensor_msgs/msg/Image` with
encoding `ros2msg` (the .msg text and every type it uses, separated by `MSG:` blocks, as
rosbag2 concatenates them), channels with `cdr` messages, each message's data the serialised
CDR exactly as rclpy (`rclpy.serialization`) or a raw subscription gives it, log and publish
time in nanoseconds. `Recorder` writes from a bounded queue on its own thread, so a slow disk
drops recorded messages (counted), never classifier frames. `read_messages` plays one topic of a
recording back as ROS messages. The `mcap` library is imported when a recording is made or read
(extras.py: a missing one raises MissingLibrary naming the package), so importing this module
needs only rclpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import queue
import threading
from typing import Iterator

from ament_index_python.packages import get_package_share_directory
from rclpy.serialization import deserialize_message

from waste_classifier_ros.core.extras import require

PRIMITIVES = frozenset({
    'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32',
    'uint32', 'int64', 'uint64', 'string', 'wstring'})
SEPARATOR = '=' * 80
# What rosbag2 stores as a channel's `offered_qos_profiles` (its YAML, enum values as numbers):
# reliable, volatile, keep last 10, no deadline or lifespan, automatic liveliness. ros2 bag play
# offers it again; a reliable publisher serves best-effort and reliable subscribers alike.
_INFINITE = '{sec: 2147483647, nsec: 4294967295}'
OFFERED_QOS = (f'- history: 1\n  depth: 10\n  reliability: 1\n  durability: 2\n'
               f'  deadline: {_INFINITE}\n  lifespan: {_INFINITE}\n  liveliness: 1\n'
               f'  liveliness_lease_duration: {_INFINITE}\n'
               f'  avoid_ros_namespace_conventions: false\n')


class RecordingError(RuntimeError):
    """A recording that cannot be written or read; the message names the file and why."""


def _msg_file(type_name: str) -> Path:
    package, _, name = type_name.partition('/msg/')
    try:
        return Path(get_package_share_directory(package)) / 'msg' / f'{name}.msg'
    except LookupError:
        raise RecordingError(f'{type_name}: package {package!r} is not installed') from None


def _field_types(text: str, package: str) -> list[str]:
    """List the non-primitive types a .msg text uses, as pkg/msg/Name, in order."""
    found = []
    for line in text.splitlines():
        words = line.split('#', 1)[0].split()
        if not words:
            continue
        base = words[0].split('[', 1)[0].split('<=', 1)[0]
        if base in PRIMITIVES:  # constants are always primitive
            continue
        if base == 'Header':
            base = 'std_msgs/Header'
        parts = base.split('/') if '/' in base else [package, base]
        found.append(f'{parts[0]}/msg/{parts[-1]}')
    return found


def message_definition(type_name: str) -> str:
    """Return the ros2msg schema of a type: its .msg and every type it uses, as rosbag2 does."""
    order, seen = [], set()

    def visit(name: str) -> None:
        for used in _field_types(_msg_file(name).read_text(), name.partition('/')[0]):
            if used not in seen:
                seen.add(used)
                order.append(used)
                visit(used)
    visit(type_name)
    parts = [_msg_file(type_name).read_text().rstrip('\n')]
    for name in order:
        parts.append(f'{SEPARATOR}\nMSG: {name.replace("/msg/", "/")}\n'
                     + _msg_file(name).read_text().rstrip('\n'))
    return '\n'.join(parts) + '\n'


@dataclass
class _Channel:
    id: int
    sequence: int = 0


class Recorder:
    """Write serialised messages of some topics into a new MCAP file, off the caller's thread."""

    def __init__(self, path: Path, topics: dict[str, str], queue_size: int = 64) -> None:
        require('recording')
        from mcap.writer import CompressionType, Writer

        self.path = Path(path)
        if self.path.exists():
            raise RecordingError(f'{self.path}: exists already; recordings are never overwritten')
        try:
            self._file = open(self.path, 'xb')
        except OSError as error:
            raise RecordingError(f'{self.path}: cannot create ({error.strerror})') from None
        self._writer = Writer(self._file, compression=CompressionType.NONE)
        self._writer.start(profile='ros2', library='waste_classifier_ros')
        self._channels = {}
        for topic, type_name in topics.items():
            schema = self._writer.register_schema(
                name=type_name, encoding='ros2msg',
                data=message_definition(type_name).encode('utf-8'))
            self._channels[topic] = _Channel(self._writer.register_channel(
                topic=topic, message_encoding='cdr', schema_id=schema,
                metadata={'offered_qos_profiles': OFFERED_QOS}))
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.counts = {'recorded': 0, 'dropped': 0}
        self._thread = threading.Thread(target=self._run, name='recorder', daemon=True)
        self._thread.start()

    def add(self, topic: str, data: bytes, time_ns: int) -> None:
        """Queue one serialised message of a recorded topic (dropped and counted when full)."""
        try:
            self._queue.put_nowait((topic, bytes(data), time_ns))
        except queue.Full:
            self.counts['dropped'] += 1

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            topic, data, time_ns = item
            channel = self._channels[topic]
            self._writer.add_message(channel_id=channel.id, log_time=time_ns, data=data,
                                     publish_time=time_ns, sequence=channel.sequence)
            channel.sequence += 1
            self.counts['recorded'] += 1

    def close(self) -> None:
        """Write what is queued, the index and the footer; the file is complete after this."""
        self._queue.put(None)
        self._thread.join()
        self._writer.finish()
        self._file.close()


def image_topic(path: Path) -> tuple[str, int, float]:
    """Find the first sensor_msgs/msg/Image topic of a recording: (topic, messages, seconds)."""
    require('recording')
    from mcap.reader import make_reader

    try:
        file = open(path, 'rb')
    except OSError as error:
        raise RecordingError(f'{path}: cannot read ({error.strerror})') from None
    with file:
        try:
            summary = make_reader(file).get_summary()
        except Exception as error:  # noqa: BLE001 - mcap raises many kinds for a bad file
            raise RecordingError(f'{path}: not a readable MCAP file ({error})') from None
    if summary is None:
        raise RecordingError(f'{path}: MCAP file without a summary (recording cut short?)')
    statistics = summary.statistics
    if statistics is None:
        raise RecordingError(f'{path}: MCAP file without statistics (message counts and times)')
    for channel in sorted(summary.channels.values(), key=lambda c: c.id):
        schema = summary.schemas.get(channel.schema_id)
        if schema is not None and schema.name == 'sensor_msgs/msg/Image':
            count = statistics.channel_message_counts.get(channel.id, 0)
            seconds = (statistics.message_end_time - statistics.message_start_time) / 1e9
            return channel.topic, count, seconds
    raise RecordingError(f'{path}: no sensor_msgs/msg/Image topic in this recording')


def read_messages(path: Path, topic: str, message_type: type) -> Iterator:
    """Yield the messages of one topic of a recording as `message_type`, in log-time order."""
    require('recording')
    from mcap.reader import make_reader

    with open(path, 'rb') as file:
        for _, _, message in make_reader(file).iter_messages(topics=[topic]):
            yield deserialize_message(message.data, message_type)
