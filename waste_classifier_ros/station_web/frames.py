# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The live view without ROS: the newest overlay frame in, one JPEG per tick out for every viewer.

The subscription callback only stores a reference to the newest frame (`put`), as it came (the
node puts the serialised message); the web side decodes and encodes it at most `max_rate` times
a second (`decode`, `encode_jpeg`, off its event loop) and sends the same bytes to every browser,
so ten viewers cost one encode and frames nobody sees cost no deserialising. `FrameHub` also
counts viewers and reports when the first arrives and the last leaves, so the node subscribes
to ~/overlay (which makes the classifier draw it) only while somebody watches.
"""

from collections.abc import Callable
from dataclasses import dataclass
import threading

import cv2

from waste_classifier_ros import image_codec

JPEG_QUALITY = 80
MAX_WIDTH = 960  # wider frames are scaled down before encoding: a phone or tablet shows no more


@dataclass(frozen=True)
class RawFrame:
    """The fields of a sensor_msgs/Image, as received."""

    encoding: str
    height: int
    width: int
    step: int
    data: object


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

    def __init__(self, decode: Callable[[object], RawFrame] = lambda frame: frame):
        self.decode = decode
        self._lock = threading.Lock()
        self._frame = None
        self._sequence = 0
        self._viewers = 0
        self.on_frame: Callable[[], None] = lambda: None
        self.on_watching: Callable[[bool], None] = lambda watching: None

    def put(self, frame) -> None:
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
