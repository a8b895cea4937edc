# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Image fields to pixels: every encoding, row padding, ROI, resize-before-convert, bad frames."""

import cv2
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.image_codec import CodecError
from waste_classifier_ros.core.preprocessing import resize_rgb

YUV = ('yuv422', 'uyvy', 'yuv422_yuy2', 'yuyv')
EXACT = ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8')


def smooth_rgb(height=60, width=80, seed=0):
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def decoded(rgb, encoding, padding):
    step, data = image_codec.encode(rgb, encoding, padding)
    return image_codec.decode(encoding, rgb.shape[0], rgb.shape[1], step, data)


@pytest.mark.parametrize('padding', [0, 6])
@pytest.mark.parametrize('encoding', EXACT)
def test_lossless_encodings_round_trip_with_padding(encoding, padding):
    rgb = smooth_rgb()
    expected = rgb if encoding != 'mono8' else cv2.cvtColor(
        cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    frame = decoded(rgb, encoding, padding)
    np.testing.assert_array_equal(image_codec.to_rgb(frame), expected)
    np.testing.assert_array_equal(image_codec.to_bgr(frame), expected[..., ::-1])


@pytest.mark.parametrize('padding', [0, 6])
@pytest.mark.parametrize('encoding', YUV)
def test_yuv422_decodes_like_opencv(encoding, padding):
    rgb = smooth_rgb()
    step, data = image_codec.encode(rgb, encoding, padding)
    assert step == 80 * 2 + padding
    packed = np.frombuffer(data, np.uint8).reshape(60, step)[:, :160].reshape(60, 80, 2)
    code = cv2.COLOR_YUV2RGB_UYVY if encoding in ('yuv422', 'uyvy') else cv2.COLOR_YUV2RGB_YUY2
    frame = image_codec.decode(encoding, 60, 80, step, data)
    np.testing.assert_array_equal(image_codec.to_rgb(frame), cv2.cvtColor(packed, code))
    assert np.abs(image_codec.to_rgb(frame).astype(int) - rgb).mean() < 4


@pytest.mark.parametrize('encoding', EXACT)
def test_resizing_before_converting_changes_nothing(encoding):
    frame = decoded(smooth_rgb(120, 160), encoding, 3)
    np.testing.assert_array_equal(image_codec.to_rgb(frame, 32),
                                  resize_rgb(image_codec.to_rgb(frame), 32))


@pytest.mark.parametrize('encoding', ['uyvy', 'yuyv'])
def test_yuv_resized_first_stays_close_to_converted_first(encoding):
    frame = decoded(smooth_rgb(360, 640), encoding, 4)
    small = image_codec.to_rgb(frame, 224).astype(int)
    reference = resize_rgb(image_codec.to_rgb(frame), 224).astype(int)
    assert small.shape == (224, 224, 3)
    assert np.abs(small - reference).mean() < 1.5


@pytest.mark.parametrize('encoding', ['bgr8', 'rgba8', 'mono8', 'yuyv'])
def test_to_bgr_can_write_into_a_given_buffer(encoding):
    frame = decoded(smooth_rgb(), encoding, 2)
    out = np.empty((60, 80, 3), np.uint8)
    assert np.shares_memory(image_codec.to_bgr(frame, out=out), out)
    np.testing.assert_array_equal(out, image_codec.to_bgr(frame))


def test_decode_is_a_view_of_the_message_buffer():
    data = bytearray(image_codec.encode(smooth_rgb(), 'bgr8', 8)[1])
    frame = image_codec.decode('bgr8', 60, 80, 80 * 3 + 8, data)
    assert np.shares_memory(frame.pixels, np.frombuffer(data, np.uint8))


@pytest.mark.parametrize('fields, reason', [
    (('rgb8', 4, 4, 12, bytes(47)), r'less than step\*height'),
    (('rgb8', 4, 4, 11, bytes(48)), 'smaller than a row'),
    (('rgb8', 0, 4, 12, b''), 'empty image'),
    (('rgb8', 4, 0, 12, bytes(48)), 'empty image'),
    (('16UC1', 4, 4, 8, bytes(32)), "unsupported encoding '16UC1'"),
    (('yuyv', 4, 3, 6, bytes(24)), 'even width'),
])
def test_malformed_frames_are_rejected_with_a_reason(fields, reason):
    with pytest.raises(CodecError, match=reason):
        image_codec.decode(*fields)


@settings(max_examples=300, deadline=None)
@given(encoding=st.sampled_from(image_codec.ENCODINGS + ('32FC1', '')),
       height=st.integers(-1, 9), width=st.integers(-1, 9), step=st.integers(-1, 40),
       size=st.integers(0, 400))
def test_any_field_combination_decodes_or_raises_codec_error(encoding, height, width, step,
                                                             size):
    try:
        frame = image_codec.decode(encoding, height, width, step, bytes(size))
    except CodecError:
        return
    assert (frame.height, frame.width) == (height, width)
    assert image_codec.to_rgb(frame, 8).shape == (8, 8, 3)


def test_roi_crops_a_view_in_normalised_coordinates():
    rgb = smooth_rgb(100, 200)
    frame = decoded(rgb, 'rgb8', 0)
    assert image_codec.crop(frame, (0.0, 0.0, 1.0, 1.0)) is frame
    cut = image_codec.crop(frame, (0.25, 0.5, 0.5, 0.5))
    np.testing.assert_array_equal(cut.pixels, rgb[50:100, 50:150])
    assert image_codec.crop(frame, (0.999, 0.999, 0.0001, 0.0001)).pixels.shape == (1, 1, 3)


def test_roi_on_yuv_keeps_pixel_pairs_whole():
    rgb = smooth_rgb(10, 20)
    frame = decoded(rgb, 'yuyv', 2)
    cut = image_codec.crop(frame, (0.15, 0.0, 0.1, 1.0))
    assert cut.width % 2 == 0 and cut.width >= 2
    full = image_codec.to_rgb(frame)
    left = int(round(0.15 * 20)) // 2 * 2
    np.testing.assert_array_equal(image_codec.to_rgb(cut), full[:, left:left + cut.width])
