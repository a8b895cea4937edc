# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The live view without ROS: the newest overlay frame in, one JPEG per tick out for every viewer.

The subscription callback only stores a reference to the newest frame (`put`), as it came (the
node puts the serialised message); the web side decodes and encodes it at most `max_rate` times
a second (`decode`, `encode_jpeg`, off its event loop) and sends the same bytes to every browser,
so ten viewers cost one encode; the node takes a frame from DDS only when the web side `want`s
the next one, so frames nobody sees are not even copied. `FrameHub` also
counts viewers and reports when the first arrives and the last leaves, so the node subscribes
to ~/overlay (which makes the classifier draw it) only while somebody watches.
"""

from collections.abc import Callable
from dataclasses import dataclass
import struct
import threading
from typing import Any

import cv2

from waste_classifier_ros.core import image_codec

JPEG_QUALITY = 80
# Wider frames are scaled down before encoding: the page's live box is at most about 700 px
# wide, and a 1280x720 frame halves exactly (the cheapest scaling).
MAX_WIDTH = 640


@dataclass(frozen=True)
class RawFrame:
    """The fields of a sensor_msgs/Image, as received."""

    encoding: str
    height: int
    width: int
    step: int
    data: object


def image_from_cdr(message: bytes) -> RawFrame:
    """Read a serialised sensor_msgs/Image (CDR, as DDS carries it) without copying its pixels.

    rclpy's deserialize_message copies the pixels into a Python array element by element
    (at 1280x720, half the station page's CPU time); here the pixels stay a view of the bytes
    the subscription took. Raises image_codec.CodecError for a message that is not an Image.
    """
    view = memoryview(message)
    if len(view) < 4 or view[0] != 0 or view[1] not in (0, 1):
        raise image_codec.CodecError('not a CDR-encoded message')
    order = '<' if view[1] == 1 else '>'
    position = 4  # CDR aligns each field to its size, counted from after these 4 bytes

    def uint32() -> int:
        nonlocal position
        position += -(position - 4) % 4
        value, = struct.unpack_from(order + 'I', view, position)
        position += 4
        return value

    def sequence() -> memoryview:
        nonlocal position
        length = uint32()
        if position + length > len(view):
            raise image_codec.CodecError('a serialised Image shorter than its fields say')
        position += length
        return view[position - length:position]

    try:
        uint32(), uint32()  # header.stamp
        sequence()  # header.frame_id
        height, width = uint32(), uint32()
        encoding = bytes(sequence()).rstrip(b'\0').decode('ascii')
        position += 1  # is_bigendian
        step = uint32()
        return RawFrame(encoding, height, width, step, sequence())
    except (struct.error, UnicodeDecodeError) as error:
        raise image_codec.CodecError(f'not a serialised Image ({error})') from None


def encode_jpeg(raw: RawFrame) -> bytes:
    """Encode one frame for browsers; raises image_codec.CodecError for a malformed one."""
    frame = image_codec.decode(raw.encoding, raw.height, raw.width, raw.step, raw.data)
    bgr = image_codec.to_bgr(frame)
    if bgr.shape[1] > MAX_WIDTH:
        height = round(bgr.shape[0] * MAX_WIDTH / bgr.shape[1])
        bgr = cv2.resize(bgr, (MAX_WIDTH, max(1, height)), interpolation=cv2.INTER_AREA)
    return image_codec.to_jpeg(bgr, JPEG_QUALITY)


class FrameHub:
    """Thread-safe meeting point of the overlay subscription and the browsers."""

    def __init__(self, decode: Callable[[Any], RawFrame] = lambda frame: frame):
        self.decode = decode
        self._lock = threading.Lock()
        self._frame = None
        self._sequence = 0
        self._viewers = 0
        self.on_frame: Callable[[], None] = lambda: None
        self.on_watching: Callable[[bool], None] = lambda watching: None
        # Called by the web side when it is ready for the next frame: the node takes frames
        # only then (frame_intake.Gate), not every one the classifier draws.
        self.want: Callable[[], None] = lambda: None

    def put(self, frame: Any) -> None:
        """Keep `frame` (what `decode` turns into a RawFrame) as the newest."""
        with self._lock:
            self._frame = frame
            self._sequence += 1
        self.on_frame()

    def newest(self) -> tuple:
        """Return (sequence number, the newest frame as put, or None)."""
        with self._lock:
            return self._sequence, self._frame

    @property
    def viewers(self) -> int:
        with self._lock:
            return self._viewers

    @property
    def watching(self) -> bool:
        return self.viewers > 0

    def add_viewer(self) -> None:
        with self._lock:
            self._viewers += 1
            first = self._viewers == 1
        if first:
            self.on_watching(True)

    def remove_viewer(self) -> None:
        with self._lock:
            self._viewers -= 1
            last = self._viewers == 0
            if last:
                self._frame = None  # a returning viewer must not see a stale frame first
        if last:
            self.on_watching(False)
