# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The media source's reading side: image files, folders, videos, MCAP recordings, V4L2 cameras.

`parse_resource` takes ros_deep_learning `video_source`'s URI style: `photo.jpg`, `photos/`,
`clip.mp4`, `file:///abs/path`, `/dev/video0` or `v4l2:///dev/video0`, and `day.mcap` (a
recording in rosbag2's format, e.g. written by the classifier's `record_path`). `open_source`
checks that the resource can be read now (the first frame decodes) and returns its frames: BGR
arrays, or a recording's messages as recorded; `play` is that iterator unchecked. `natural_rate`
is the pace a resource has of its own. Every failure is a ResourceError naming the resource.

Still images can be played as a drop zone sees items (`Staging`): each photo held for
`item_frames` frames, with `gap_frames` frames of an empty floor (`empty_floor`) before each
photo and after the last, so that a classifier with the camera's smoothing and presence gate
decides each photo as an item of its own and sees the zone empty between them. Videos, cameras
and recordings play as they come.

Plain Python and OpenCV: a recording's messages are ROS messages, so reading one needs ROS, which
core does not import; whoever plays recordings passes a `RecordingReader` (the media source node
passes flywheel/recording.py's).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from waste_classifier_ros.core.atomic_files import IMAGE_SUFFIXES

_UNSUPPORTED_SCHEMES = ('csi', 'rtp', 'rtsp', 'webrtc', 'http', 'https')
# Still images have no pace of their own; rate 0 shows each for a second.
_STILL_RATE = 1.0
# A BGR frame, or a recording's message as recorded (the type its RecordingReader gives).
Frame = Any


class ResourceError(RuntimeError):
    """The resource is missing, of an unknown kind, or cannot be decoded."""


@dataclass(frozen=True)
class Staging:
    """How still images are played: each held `item_frames`, `gap_frames` of floor around."""

    item_frames: int = 1
    gap_frames: int = 0


def empty_floor(height: int, width: int) -> np.ndarray:
    """Return a plain grey floor (BGR) of this size: the drop zone with no item in it.

    Smooth blotches of a fixed pattern stretched to the size, so that floors of any size look
    alike to a presence gate taught on one of them (its cells average the frame).
    """
    blotches = np.random.default_rng(0).normal(0.0, 10.0, (6, 8)).astype(np.float32)
    grey = cv2.resize(blotches, (width, height), interpolation=cv2.INTER_CUBIC) + 128.0
    tint = np.asarray((0.92, 0.98, 1.0), np.float32)  # B, G, R: a slightly warm grey
    return np.clip(grey[..., np.newaxis] * tint, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Resource:
    """What a resource URI names: kind is 'images', 'video', 'recording' or 'camera'."""

    kind: str
    location: str
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordingReader:
    """How recordings are read: their image topic, its messages, and what the two raise."""

    image_topic: Callable[[Path], tuple[str, int, float]]  # (topic, messages, seconds)
    messages: Callable[[Path, str], Iterator[Any]]  # that topic's messages in recorded order
    errors: tuple[type[Exception], ...]  # a bad or unreadable recording, a missing library


def parse_resource(uri: str) -> Resource:
    """Resolve a video_source-style URI to image files, a video file or a V4L2 device."""
    text = uri.strip()
    if not text:
        raise ResourceError('the resource parameter is empty; give an image, folder, video '
                            'file or /dev/videoN')
    scheme, sep, rest = text.partition('://')
    if sep:
        if scheme in ('v4l2', 'file'):
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


def loop_count(value: object) -> int:
    """Map the loop parameter (bool or int) to a count: false 0, true -1 (forever), N N."""
    if isinstance(value, bool):
        return -1 if value else 0
    if isinstance(value, int) and value >= -1:
        return value
    raise ResourceError(f'loop must be true, false or an integer >= -1, not {value!r}')


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


def _reader(resource: Resource, recordings: RecordingReader | None) -> RecordingReader:
    if recordings is None:
        raise ResourceError(f'{resource.location}: recordings cannot be played here')
    return recordings


def _recorded(resource: Resource, recordings: RecordingReader | None) -> tuple[str, int, float]:
    reader = _reader(resource, recordings)
    try:
        return reader.image_topic(Path(resource.location))
    except reader.errors as error:
        raise ResourceError(str(error)) from None


def _staged(paths: tuple[str, ...], staging: Staging) -> Iterator[np.ndarray]:
    """Each image held item_frames, floor gap_frames before each and after the last."""
    image = None
    for path in paths:
        image = _read_image(path)
        yield from [empty_floor(*image.shape[:2])] * staging.gap_frames
        yield from [image] * staging.item_frames
    if image is not None:
        yield from [empty_floor(*image.shape[:2])] * staging.gap_frames


def _one_pass(resource: Resource, width: int, height: int,
              recordings: RecordingReader | None, staging: Staging) -> Iterator[Frame]:
    if resource.kind == 'images':
        yield from _staged(resource.images, staging)
        return
    if resource.kind == 'recording':
        reader = _reader(resource, recordings)
        yield from reader.messages(Path(resource.location), _recorded(resource, reader)[0])
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


def play(resource: Resource, loop: int = 0, width: int = 0, height: int = 0,
         recordings: RecordingReader | None = None,
         staging: Staging = Staging()) -> Iterator[Frame]:
    """Yield BGR frames (a recording's messages for a recording).

    One pass, then `loop` more (-1 forever); a camera runs until it stops.
    """
    passes = 0
    while True:
        for frame in _one_pass(resource, width, height, recordings, staging):
            if width and height and isinstance(frame, np.ndarray) and \
                    frame.shape[:2] != (height, width):
                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            yield frame
        passes += 1
        if resource.kind == 'camera' or 0 <= loop < passes:
            return


def open_source(resource: Resource, loop: int = 0, width: int = 0, height: int = 0,
                recordings: RecordingReader | None = None,
                staging: Staging = Staging()) -> Iterator[Frame]:
    """Check the resource can be read now (first frame decoded), then return its frame iterator."""
    if staging.item_frames < 1 or staging.gap_frames < 0:
        raise ResourceError(f'item_frames must be at least 1 and gap_frames at least 0, not '
                            f'{staging.item_frames} and {staging.gap_frames}')
    if resource.kind == 'images':
        _read_image(resource.images[0])
    elif resource.kind == 'recording':
        topic, count, _ = _recorded(resource, recordings)
        if count == 0:
            raise ResourceError(f'{resource.location}: no messages on {topic}')
        if width or height:
            raise ResourceError(f'{resource.location}: a recording plays as recorded; '
                                'width and height do not apply')
    else:
        _open_capture(resource, width, height).release()
    return play(resource, loop, width, height, recordings, staging)


def natural_rate(resource: Resource, recordings: RecordingReader | None = None) -> float:
    """Frames per second when the rate parameter is 0: the video's own, as-delivered, or 1 Hz."""
    if resource.kind == 'images':
        return _STILL_RATE
    if resource.kind == 'camera':
        return 0.0
    if resource.kind == 'recording':
        _, count, seconds = _recorded(resource, recordings)
        return (count - 1) / seconds if count > 1 and seconds > 0 else _STILL_RATE
    capture = cv2.VideoCapture(resource.location)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return fps if fps > 0 else 30.0
