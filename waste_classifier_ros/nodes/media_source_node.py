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
again); a missing or unreadable resource is an error and a non-zero exit.

The reading side (`parse_resource`, `open_source`, `play`) is plain Python and OpenCV, so it is
testable without ROS; `MediaSource` only paces and publishes.
"""

from dataclasses import dataclass
from pathlib import Path
import sys
from typing import TYPE_CHECKING, Iterator, Union

import cv2
import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange
import rclpy
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from waste_classifier_ros.core.atomic_files import IMAGE_SUFFIXES
from waste_classifier_ros.core.extras import MissingLibraryError
from waste_classifier_ros.flywheel.recording import RecordingError, image_topic, read_messages
from waste_classifier_ros.nodes.parameter_table import declare_all, read_only
from waste_classifier_ros.nodes.shutdown import ros_session

if TYPE_CHECKING:  # builtin_interfaces comes with std_msgs
    from builtin_interfaces.msg import Time

_UNSUPPORTED_SCHEMES = ('csi', 'rtp', 'rtsp', 'webrtc', 'http', 'https')
# Still images have no pace of their own; rate 0 shows each for a second.
_STILL_RATE = 1.0
_ACK_TIMEOUT = Duration(seconds=5)
# A BGR frame, or a recording's Image message as recorded.
Frame = Union[np.ndarray, Image]


class ResourceError(RuntimeError):
    """The resource is missing, of an unknown kind, or cannot be decoded."""


@dataclass(frozen=True)
class Resource:
    """What a resource URI names: kind is 'images', 'video', 'recording' or 'camera'."""

    kind: str
    location: str
    images: tuple[str, ...] = ()


def parse_resource(uri: str) -> Resource:
    """Resolve a video_source-style URI to image files, a video file or a V4L2 device."""
    text = uri.strip()
    if not text:
        raise ResourceError('the resource parameter is empty; give an image, folder, video '
                            'file or /dev/videoN')
    scheme, sep, rest = text.partition('://')
    if sep:
        if scheme == 'v4l2':
            text = rest
        elif scheme == 'file':
            text = rest
        elif scheme in _UNSUPPORTED_SCHEMES:
            raise ResourceError(f'{uri}: {scheme}:// streams need ros_deep_learning video_source '
                                '(launch/stream.launch.py); this node reads files and V4L2')
        else:
            raise ResourceError(f'{uri}: unknown scheme {scheme}://')
    path = Path(text).expanduser()
    if text.startswith('/dev/video'):
        if not path.exists():
            raise ResourceError(f'{uri}: no such camera device')
        return Resource('camera', str(path))
    if path.is_dir():
        images = tuple(sorted(str(p) for p in path.iterdir()
                              if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        if not images:
            raise ResourceError(f'{uri}: folder has no images '
                                f'({", ".join(sorted(IMAGE_SUFFIXES))})')
        return Resource('images', str(path), images)
    if not path.is_file():
        raise ResourceError(f'{uri}: no such file or folder')
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return Resource('images', str(path), (str(path),))
    if path.suffix.lower() == '.mcap':
        return Resource('recording', str(path))
    return Resource('video', str(path))


def _read_image(path: str) -> np.ndarray:
    frame = cv2.imread(path, cv2.IMREAD_COLOR)
    if frame is None:
        raise ResourceError(f'{path}: cannot read or decode image')
    return frame


def _open_capture(resource: Resource, width: int, height: int) -> cv2.VideoCapture:
    if resource.kind == 'camera':
        capture = cv2.VideoCapture(resource.location, cv2.CAP_V4L2)
        if width and height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
    else:
        capture = cv2.VideoCapture(resource.location)
    if not capture.isOpened():
        what = 'camera' if resource.kind == 'camera' else 'video (unknown format or codec?)'
        raise ResourceError(f'{resource.location}: cannot open {what}')
    return capture


def _one_pass(resource: Resource, width: int, height: int) -> Iterator[Frame]:
    if resource.kind == 'images':
        for path in resource.images:
            yield _read_image(path)
        return
    if resource.kind == 'recording':
        yield from read_messages(Path(resource.location), _recorded(resource)[0], Image)
        return
    capture = _open_capture(resource, width, height)
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                if resource.kind == 'camera':
                    raise ResourceError(f'{resource.location}: camera stopped delivering frames')
                return
            yield frame
    finally:
        capture.release()


def _recorded(resource: Resource) -> tuple[str, int, float]:
    try:
        return image_topic(Path(resource.location))
    except (RecordingError, MissingLibraryError) as error:
        raise ResourceError(str(error)) from None


def play(resource: Resource, loop: int = 0, width: int = 0,
         height: int = 0) -> Iterator[Frame]:
    """Yield BGR frames (Image messages for a recording).

    One pass, then `loop` more (-1 forever); a camera runs until it stops.
    """
    passes = 0
    while True:
        for frame in _one_pass(resource, width, height):
            if width and height and isinstance(frame, np.ndarray) and \
                    frame.shape[:2] != (height, width):
                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            yield frame
        passes += 1
        if resource.kind == 'camera' or 0 <= loop < passes:
            return


def open_source(resource: Resource, loop: int = 0, width: int = 0,
                height: int = 0) -> Iterator[Frame]:
    """Check the resource can be read now (first frame decoded), then return its frame iterator."""
    if resource.kind == 'images':
        _read_image(resource.images[0])
    elif resource.kind == 'recording':
        topic, count, _ = _recorded(resource)
        if count == 0:
            raise ResourceError(f'{resource.location}: no messages on {topic}')
        if width or height:
            raise ResourceError(f'{resource.location}: a recording plays as recorded; '
                                'width and height do not apply')
    else:
        _open_capture(resource, width, height).release()
    return play(resource, loop, width, height)


def natural_rate(resource: Resource) -> float:
    """Frames per second when the rate parameter is 0: the video's own, as-delivered, or 1 Hz."""
    if resource.kind == 'images':
        return _STILL_RATE
    if resource.kind == 'camera':
        return 0.0
    if resource.kind == 'recording':
        _, count, seconds = _recorded(resource)
        return (count - 1) / seconds if count > 1 and seconds > 0 else _STILL_RATE
    capture = cv2.VideoCapture(resource.location)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return fps if fps > 0 else 30.0


def loop_count(value: object) -> int:
    """Map the loop parameter (bool or int) to a count: false 0, true -1 (forever), N N."""
    if isinstance(value, bool):
        return -1 if value else 0
    if isinstance(value, int) and value >= -1:
        return value
    raise ResourceError(f'loop must be true, false or an integer >= -1, not {value!r}')


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
        self.frames = open_source(resource, loop_count(params['loop']), params['width'],
                                  params['height'])
        rate = params['rate'] or natural_rate(resource)
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=10 if reliable else 2,
            reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT)
        self.publisher = self.create_publisher(Image, 'image', qos)
        self.published = 0
        self.finished = False
        self.timer = self.create_timer(1.0 / rate if rate else 0.0, self.on_timer)
        self.get_logger().info(
            f'{resource.kind} {resource.location} at '
            f'{f"{rate:g} Hz" if rate else "the camera rate"} on {self.publisher.topic_name}'
            + (f', waiting for {self.wait_for} subscriber(s)' if self.wait_for else ''))

    def on_timer(self) -> None:
        if self.publisher.get_subscription_count() < self.wait_for:
            return
        frame = next(self.frames, None)
        if frame is None:
            self.timer.cancel()
            self.finished = True
            return
        if not isinstance(frame, Image):
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
