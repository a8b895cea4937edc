# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The media source node: image files, folders, videos, MCAP recordings, V4L2 -> sensor_msgs/Image.

For machines without ros_deep_learning's `video_source`; the `resource` parameter takes the same
URI style: `photo.jpg`, `photos/`, `clip.mp4`, `file:///abs/path`, `/dev/video0` or
`v4l2:///dev/video0`. Frames are published as bgr8 on `image` with the header stamped now and the
`frame_id` parameter. An MCAP recording (`day.mcap`, rosbag2's format, e.g. written by the
classifier's `record_path`) is played as recorded: the Image messages of its first image topic,
pixels and headers unchanged, at the recorded average rate unless `rate` says otherwise.
At the end of a file input the node exits 0 (unless `loop` says to play
again); a missing or unreadable resource is an error and a non-zero exit. Still images can be
played as items in a drop zone: each held for `item_frames` frames, with `gap_frames` frames of
an empty floor before each and after the last (core/media_reader.py's `Staging`).

Wiring only: the reading is core/media_reader.py (ROS-free; recordings through
flywheel/recording.py); `MediaSource` paces and publishes.
"""

import sys
from typing import TYPE_CHECKING

import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange
import rclpy
from rclpy.duration import Duration
from rclpy.node import Node
from sensor_msgs.msg import Image

from waste_classifier_ros.core.extras import MissingLibraryError
from waste_classifier_ros.core.media_reader import (
    RecordingReader,
    ResourceError,
    Staging,
    loop_count,
    natural_rate,
    open_source,
    parse_resource,
)
from waste_classifier_ros.flywheel.recording import RecordingError, image_topic, read_messages
from waste_classifier_ros.nodes import qos
from waste_classifier_ros.nodes.parameter_table import declare_all, read_only
from waste_classifier_ros.nodes.shutdown import ros_session

if TYPE_CHECKING:  # builtin_interfaces comes with std_msgs
    from builtin_interfaces.msg import Time

_ACK_TIMEOUT = Duration(seconds=5)


# Recordings are played as the Image messages they hold.
RECORDINGS = RecordingReader(image_topic, lambda path, topic: read_messages(path, topic, Image),
                             (RecordingError, MissingLibraryError))


def to_image_msg(frame: np.ndarray, stamp: 'Time', frame_id: str) -> Image:
    """Fill a bgr8 sensor_msgs/Image from an HxWx3 uint8 array (what cv_bridge would do)."""
    msg = Image()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = frame.shape[:2]
    msg.encoding = 'bgr8'
    msg.is_bigendian = 0
    msg.step = msg.width * 3
    msg.data = np.ascontiguousarray(frame).tobytes()
    return msg


# Every parameter the node declares: name -> (default, descriptor). Tests check params files
# against this table.
PARAMETERS = {
    'resource': ('', read_only(
        'image file, folder of images, video file, file://..., /dev/videoN or '
        'v4l2:///dev/videoN')),
    'rate': (0.0, read_only(
        "frames per second; 0 = the video's own rate, as fast as a camera delivers, "
        '1 Hz for still images',
        floating_point_range=[FloatingPointRange(from_value=0.0, to_value=1000.0)])),
    'loop': (0, read_only(
        'file inputs: false/0 play once, true/-1 forever, N play N more times',
        dynamic_typing=True)),
    'item_frames': (1, read_only(
        'still images: frames each photo is held for (an item lying in the drop zone)',
        integer_range=[IntegerRange(from_value=1, to_value=10000)])),
    'gap_frames': (0, read_only(
        'still images: frames of an empty floor before each photo and after the last (the '
        'zone empty between items); 0 = photo after photo. Other inputs play as they come',
        integer_range=[IntegerRange(from_value=0, to_value=10000)])),
    'frame_id': ('camera', read_only('header.frame_id of every published image')),
    'width': (0, read_only(
        'output width in pixels, 0 = as read (resizes only when height is set too)',
        integer_range=[IntegerRange(from_value=0, to_value=8192)])),
    'height': (0, read_only(
        'output height in pixels, 0 = as read (resizes only when width is set too)',
        integer_range=[IntegerRange(from_value=0, to_value=8192)])),
    'reliable': (False, read_only(
        'publish RELIABLE (no frame lost to a matched subscriber) instead of best effort')),
    'wait_for_subscribers': (0, read_only(
        'hold the first frame until this many subscribers are matched',
        integer_range=[IntegerRange(from_value=0, to_value=100)])),
}


class MediaSource(Node):
    """Publishes the frames of one resource on `image` at a fixed rate."""

    def __init__(self) -> None:
        super().__init__('media_source')
        params = declare_all(self, PARAMETERS)
        self.frame_id = params['frame_id']
        self.wait_for = params['wait_for_subscribers']
        self.reliable = reliable = params['reliable']
        resource = parse_resource(params['resource'])
        staging = Staging(params['item_frames'], params['gap_frames'])
        self.frames = open_source(resource, loop_count(params['loop']), params['width'],
                                  params['height'], RECORDINGS, staging)
        rate = params['rate'] or natural_rate(resource, RECORDINGS)
        self.publisher = self.create_publisher(
            Image, 'image', qos.queued(10 if reliable else 2, reliable))
        self.published = 0
        self.finished = False
        self.timer = self.create_timer(1.0 / rate if rate else 0.0, self.on_timer)
        self.get_logger().info(
            f'{resource.kind} {resource.location} at '
            f'{f"{rate:g} Hz" if rate else "the camera rate"} on {self.publisher.topic_name}'
            + (f', each photo {staging.item_frames} frames with {staging.gap_frames} of an '
               'empty floor between' if resource.kind == 'images' and staging != Staging()
               else '')
            + (f', waiting for {self.wait_for} subscriber(s)' if self.wait_for else ''))

    def on_timer(self) -> None:
        if self.publisher.get_subscription_count() < self.wait_for:
            return
        frame = next(self.frames, None)
        if frame is None:
            self.timer.cancel()
            self.finished = True
            return
        if isinstance(frame, np.ndarray):
            frame = to_image_msg(frame, self.get_clock().now().to_msg(), self.frame_id)
        self.publisher.publish(frame)
        self.published += 1

    def flush(self) -> None:
        """Give reliable subscribers the last frames before the process ends."""
        if self.reliable and not self.publisher.wait_for_all_acked(_ACK_TIMEOUT):
            self.get_logger().warning('not every subscriber acknowledged the last frames')
        self.get_logger().info(f'end of input after {self.published} frames')


def main(args: list[str] | None = None) -> int:
    # SIGINT/SIGTERM end it with 0 (waste_classifier_ros.nodes.shutdown).
    with ros_session(args) as executor:
        try:
            node = MediaSource()
            executor.add_node(node)
            while not node.finished:
                executor.spin_once()
            node.flush()
        except ResourceError as error:
            rclpy.logging.get_logger('media_source').fatal(str(error))
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
