# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
sensor_msgs/Image fields <-> numpy, without ROS and without copying the frame.

`decode` checks the plain message fields and returns a `Frame`: a view of the message buffer in
the camera's own layout (row padding skipped by strides, nothing converted). Colour conversion
is deferred to `to_rgb`, which stretches first and converts the small result, so a 1280x720
frame costs one resize instead of a full-frame conversion plus a resize. `encode` goes the other
way for publishers and tests.
"""

from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

from waste_classifier_ros.core.preprocessing import resize_rgb

# What a sensor_msgs/Image's data may be: bytes, array.array('B') (rclpy), a memoryview, an
# ndarray; anything with the buffer protocol (typing's Buffer needs Python 3.12).
Buffer = Any

# Canonical name -> bytes per pixel. YUV 4:2:2 packs two pixels in four bytes.
_BYTES_PER_PIXEL = {
    'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1, 'uyvy': 2, 'yuyv': 2,
}
# ROS spells the packed YUV forms in two ways (sensor_msgs image_encodings.hpp).
_ALIASES = {'yuv422': 'uyvy', 'yuv422_yuy2': 'yuyv'}
ENCODINGS = tuple(_BYTES_PER_PIXEL) + tuple(_ALIASES)

# Conversions applied after the stretch; absent means the pixels are already RGB.
_TO_RGB = {
    'bgr8': cv2.COLOR_BGR2RGB, 'rgba8': cv2.COLOR_RGBA2RGB, 'bgra8': cv2.COLOR_BGRA2RGB,
    'mono8': cv2.COLOR_GRAY2RGB, 'uyvy': cv2.COLOR_YUV2RGB_UYVY, 'yuyv': cv2.COLOR_YUV2RGB_YUY2,
}
_TO_BGR = {
    'rgb8': cv2.COLOR_RGB2BGR, 'rgba8': cv2.COLOR_RGBA2BGR, 'bgra8': cv2.COLOR_BGRA2BGR,
    'mono8': cv2.COLOR_GRAY2BGR, 'uyvy': cv2.COLOR_YUV2BGR_UYVY, 'yuyv': cv2.COLOR_YUV2BGR_YUY2,
}
_FROM_RGB = {
    'bgr8': cv2.COLOR_RGB2BGR, 'rgba8': cv2.COLOR_RGB2RGBA, 'bgra8': cv2.COLOR_RGB2BGRA,
    'mono8': cv2.COLOR_RGB2GRAY, 'uyvy': cv2.COLOR_RGB2YUV_UYVY, 'yuyv': cv2.COLOR_RGB2YUV_YUY2,
}


class CodecError(ValueError):
    """A frame that cannot be decoded; the message says why."""


@dataclass(frozen=True)
class Frame:
    """Pixels in the sender's layout: HxW for mono8, HxWx2 for YUV 4:2:2, HxWxC otherwise."""

    pixels: np.ndarray
    encoding: str

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]


def canonical_encoding(encoding: str) -> str:
    """Map an encoding name to the one this module uses, or raise CodecError."""
    name = _ALIASES.get(encoding, encoding)
    if name not in _BYTES_PER_PIXEL:
        raise CodecError(f"unsupported encoding '{encoding}' (supported: {', '.join(ENCODINGS)})")
    return name


def decode(encoding: str, height: int, width: int, step: int, data: Buffer) -> Frame:
    """View the bytes of a sensor_msgs/Image as a Frame; raise CodecError if they are malformed."""
    name = canonical_encoding(encoding)
    if height <= 0 or width <= 0:
        raise CodecError(f'empty image ({width}x{height})')
    row_bytes = width * _BYTES_PER_PIXEL[name]
    if step < row_bytes:
        raise CodecError(f'step {step} is smaller than a row of {width} {encoding} pixels '
                         f'({row_bytes} bytes)')
    if name in ('uyvy', 'yuyv') and width % 2:
        raise CodecError(f'{encoding} needs an even width, got {width}')
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size < step * height:
        raise CodecError(f'data has {buffer.size} bytes, less than step*height = '
                         f'{step}*{height} = {step * height}')
    rows = buffer[:step * height].reshape(height, step)[:, :row_bytes]
    if name == 'mono8':
        return Frame(rows, name)
    return Frame(rows.reshape(height, width, _BYTES_PER_PIXEL[name]), name)


def crop(frame: Frame, roi: Sequence[float]) -> Frame:
    """Cut the normalised region (x, y, w, h) out of a frame as a view, at least one pixel."""
    x, y, w, h = roi
    left, right = _span(x, w, frame.width)
    top, bottom = _span(y, h, frame.height)
    if frame.encoding in ('uyvy', 'yuyv'):
        # A YUV 4:2:2 pixel pair shares its chroma, so the cut must not split a pair.
        left -= left % 2
        right = min(frame.width, right + right % 2)
        if right - left < 2:
            left, right = (left, left + 2) if left + 2 <= frame.width else (right - 2, right)
    if (left, top, right, bottom) == (0, 0, frame.width, frame.height):
        return frame
    return Frame(frame.pixels[top:bottom, left:right], frame.encoding)


def _span(start: float, length: float, size: int) -> tuple[int, int]:
    first = min(size - 1, max(0, int(round(start * size))))
    last = min(size, max(first + 1, int(round((start + length) * size))))
    return first, last


def to_rgb(frame: Frame, size: int | None = None) -> np.ndarray:
    """
    Return the frame as uint8 RGB, stretched to size x size first when size is given.

    Stretching before converting gives the same pixels as converting first: exactly for every
    layout but YUV 4:2:2, where the chroma is interpolated rather than repeated per pixel pair,
    a difference of a few code values on colour edges.
    """
    pixels, encoding = frame.pixels, frame.encoding
    if size is not None:
        if encoding in ('rgb8', 'bgr8'):
            pixels = resize_rgb(pixels, size)
        elif encoding in ('uyvy', 'yuyv'):
            return _stretch_yuv422_to_rgb(pixels, encoding, size)
        else:
            pixels = _stretch(pixels, size, size)
    if encoding == 'rgb8':
        return pixels
    return cv2.cvtColor(pixels, _TO_RGB[encoding])


def _stretch(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    # The stretch of preprocessing.resize_rgb, for the layouts it does not take (1, 2, 4 channels).
    if pixels.shape[1] == width and pixels.shape[0] == height:
        return pixels
    return cv2.resize(pixels, (width, height), interpolation=cv2.INTER_LINEAR)


def _stretch_yuv422_to_rgb(pixels: np.ndarray, encoding: str, size: int) -> np.ndarray:
    # Stretched as 2-byte pixels the luma lands where it should but U and V get mixed; stretched
    # as 4-byte pairs U and V come out for every output pixel but luma is shifted. So take luma
    # from the first pass, chroma from the second, and convert pairs of identical pixels.
    height, width = pixels.shape[:2]
    luma = 1 if encoding == 'uyvy' else 0
    pairs = _stretch(pixels.reshape(height, width // 2, 4), size, size)
    luma_plane = _stretch(pixels, size, size)[..., luma]
    pairs[..., luma] = luma_plane
    pairs[..., luma + 2] = luma_plane
    doubled = cv2.cvtColor(pairs.reshape(size, 2 * size, 2), _TO_RGB[encoding])
    return np.ascontiguousarray(doubled[:, ::2])


def to_bgr(frame: Frame, out: np.ndarray | None = None) -> np.ndarray:
    """Return a full-size BGR copy of the frame for OpenCV drawing, written into `out` if given."""
    if frame.encoding == 'bgr8':
        if out is None:
            return frame.pixels.copy()
        np.copyto(out, frame.pixels)
        return out
    return cv2.cvtColor(frame.pixels, _TO_BGR[frame.encoding], dst=out)


def to_jpeg(bgr: np.ndarray, quality: int) -> bytes:
    """Encode a BGR image as JPEG of the given quality (1..100); CodecError if OpenCV cannot."""
    ok, jpeg = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise CodecError('OpenCV could not encode the frame as JPEG')
    return jpeg.tobytes()


def encode(rgb: np.ndarray, encoding: str, padding: int = 0) -> tuple[int, bytes]:
    """Pack an HxWx3 RGB image as (step, bytes) in the given encoding, rows padded by `padding`."""
    name = canonical_encoding(encoding)
    pixels = rgb if name == 'rgb8' else cv2.cvtColor(rgb, _FROM_RGB[name])
    height = rgb.shape[0]
    rows = np.ascontiguousarray(pixels).reshape(height, -1)
    if padding:
        rows = np.hstack([rows, np.zeros((height, padding), dtype=np.uint8)])
    return rows.shape[1], rows.tobytes()
