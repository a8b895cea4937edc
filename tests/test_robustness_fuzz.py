# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Fuzzing sensor_msgs/Image contents: first the node's pipeline in this process, then over DDS.

Hypothesis draws encodings (the supported ones, near misses and random text), declared sizes
from 0 to 2**32 - 1 (100000 x 100000 among them), steps and data lengths around the exact ones.
In this process each message goes through what the node does with it: image_codec.decode, the
ROI crop, the backend (real ONNX Runtime on the tiny model) and the overlay; it must either come
out as probabilities and an overlay or be refused with a CodecError that says why, nothing else.
Over DDS a smaller batch goes to the node process, and each message must show up in its
diagnostics as processed (with a classification carrying its stamp) or as rejected with the
reason the codec gives; afterwards the node is alive and printed no traceback, and a burst of
hugely declared frames leaves its resident memory where it was.
"""

import array

from builtin_interfaces.msg import Time
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from robustness_support import Diagnostics, node_rss, start_classifier, tiny_model
from ros_harness import RosProbe
from sensor_msgs.msg import Image
from tiny_model import CLASSES
from vision_msgs.msg import Classification

from waste_classifier_ros.backends import create_backend, resolve_model_files
from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.overlay import annotate

BYTES_PER_PIXEL = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1, 'uyvy': 2,
                   'yuv422': 2, 'yuyv': 2, 'yuv422_yuy2': 2}
NEAR_MISSES = ['RGB8', 'rgb8 ', ' bgr8', 'rgb16', '16UC1', '32FC1', '8UC3', 'bayer_rggb8',
               'nv12', 'nv21', 'yuv420', 'jpeg', 'yuv422_', 'uyvy\t', '']
HUGE = [100_000, 65_536, 2**31 - 1, 2**32 - 1]
MAX_DATA = 1 << 20  # the bytes a drawn message really carries stay small; declared sizes do not
PATTERN = bytes(range(7, 256, 3)) * 20_000


def _text():
    # DDS strings cannot hold NUL; anything else printable or not is fair game.
    return st.text(st.characters(blacklist_characters='\x00', blacklist_categories=('Cs',)),
                   max_size=12)


def _weighted(draw, *choices):
    # Hypothesis' one_of has no weights; pick a branch by a drawn integer instead.
    pick = draw(st.integers(0, sum(weight for weight, _ in choices) - 1))
    for weight, strategy in choices:
        if pick < weight:
            return draw(strategy)
        pick -= weight


@st.composite
def image_fields(draw, max_side=96):
    """Draw (encoding, height, width, step, data) of an Image, valid in about half the cases."""
    encoding = _weighted(draw, (7, st.sampled_from(sorted(BYTES_PER_PIXEL))),
                         (2, st.sampled_from(NEAR_MISSES)), (1, _text()))
    side = st.integers(0, max_side)
    height = _weighted(draw, (8, side), (1, st.sampled_from(HUGE)),
                       (1, st.integers(0, 2**32 - 1)))
    width = _weighted(draw, (8, side), (1, st.sampled_from(HUGE)),
                      (1, st.integers(0, 2**32 - 1)))
    row = width * BYTES_PER_PIXEL.get(encoding, 3)
    step = _weighted(draw, (5, st.just(row)), (3, st.integers(row + 1, row + 9)),
                     (1, st.integers(0, max(0, row - 1))), (1, st.integers(0, 2**32 - 1)))
    step = min(step, 2**32 - 1)
    exact = step * height
    length = _weighted(draw, (6, st.just(exact)), (1, st.integers(exact - 7, exact - 1)),
                       (1, st.integers(exact + 1, exact + 64)), (1, st.integers(0, 4096)))
    length = max(0, min(length, MAX_DATA))
    return encoding, height, width, step, PATTERN[:length]


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp('model'))


@pytest.fixture(scope='module')
def backend(model):
    return create_backend('onnxruntime', resolve_model_files(str(model)), num_threads=1)


def pipeline(backend, fields, roi=(0.1, 0.2, 0.6, 0.7)):
    """Do to one message what the node does; return (frame, probabilities, overlay) or raise."""
    frame = image_codec.decode(*fields)
    probabilities = backend.classify_frame(image_codec.crop(frame, roi))
    # The node converts into the reused buffer of its overlay message (a uint8[] field, held
    # as array.array), whatever was left in it by the previous frame; the result must be the
    # same as a fresh conversion, or the overlay would show stale pixels.
    buffer = array.array('B', bytes([7])) * (frame.height * frame.width * 3)
    out = np.frombuffer(buffer, np.uint8).reshape(frame.height, frame.width, 3)
    converted = image_codec.to_bgr(frame, out=out)
    assert converted is out or np.shares_memory(converted, out), 'to_bgr ignored out='
    np.testing.assert_array_equal(out, image_codec.to_bgr(frame))
    overlay = annotate(out, 'metal', float(probabilities.max()), 'Mixed recycling',
                       (255, 194, 14), 29.9, roi)
    return frame, probabilities, overlay


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=image_fields())
@example(fields=('rgb8', 100_000, 100_000, 300_000, b''))
@example(fields=('rgb8', 100_000, 100_000, 300_000, PATTERN[:MAX_DATA]))
@example(fields=('mono8', 2**32 - 1, 2**32 - 1, 2**32 - 1, b'\x00' * 16))
@example(fields=('yuyv', 1, 2, 4, b'\x80' * 4))
@example(fields=('bgra8', 1, 1, 4, b'\x01\x02\x03\x04'))
@example(fields=('rgb8', 1, 50_000, 150_000, PATTERN[:150_000]))
@example(fields=('mono8', 50_000, 1, 1, PATTERN[:50_000]))
def test_codec_and_pipeline_classify_or_refuse_with_a_reason(backend, fields):
    encoding, height, width, step, data = fields
    try:
        frame, probabilities, overlay = pipeline(backend, fields)
    except image_codec.CodecError as error:
        assert str(error), 'a refusal must say why'
        return
    assert encoding in BYTES_PER_PIXEL
    assert (frame.height, frame.width) == (height, width)
    assert step * height <= len(data) and step >= width * BYTES_PER_PIXEL[encoding]
    assert probabilities.shape == (len(CLASSES),) and np.isfinite(probabilities).all()
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-3)
    assert overlay.shape == (height, width, 3) and overlay.dtype == np.uint8


def test_a_huge_declared_size_is_refused_without_allocating(backend):
    import tracemalloc
    tracemalloc.start()
    try:
        for encoding in ('rgb8', 'rgba8', 'mono8', 'yuyv'):
            with pytest.raises(image_codec.CodecError, match='less than step'):
                pipeline(backend, (encoding, 100_000, 100_000, 400_000, PATTERN[:4096]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f'refusing a huge declared frame allocated {peak} bytes'


# --- over DDS ---------------------------------------------------------------------------------

NAME = 'rb_fuzz'
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture(scope='module')
def dds(model, ros_context):
    node = start_classifier(NAME, model, params={
        'reliable': True, 'diagnostics_period': 0.05, 'roi': [0.1, 0.2, 0.6, 0.7]})
    probe = RosProbe(rclpy.create_node('rb_fuzz_probe', context=ros_context))
    publisher = probe.node.create_publisher(Image, f'/{NAME}/image', RELIABLE)
    classifications = probe.collect(Classification, f'/{NAME}/classification', qos=RELIABLE)
    overlays = probe.collect(Image, f'/{NAME}/overlay', qos=1)  # so the overlay is drawn too
    diagnostics = Diagnostics(probe, NAME)
    probe.wait_for_subscribers(publisher)
    probe.wait_for(lambda: probe.node.count_subscribers(f'/{NAME}/overlay') and
                   probe.node.count_publishers(f'/{NAME}/overlay'), 10, 'the overlay link')
    diagnostics.wait_until(lambda counts: counts.get('received') == 0, 5, 'first diagnostics')
    state = {'node': node, 'probe': probe, 'publisher': publisher, 'sent': 0,
             'classifications': classifications, 'overlays': overlays,
             'diagnostics': diagnostics}
    yield state
    probe.destroy()
    node.kill()


def _send(dds, fields, frame_id='camera'):
    """Publish one message; return the node's counts once it has accounted for it."""
    encoding, height, width, step, data = fields
    dds['sent'] += 1
    sent = dds['sent']
    msg = Image(encoding=encoding, height=height, width=width, step=step, data=data)
    msg.header.stamp = Time(sec=sent)
    msg.header.frame_id = frame_id
    dds['publisher'].publish(msg)
    return sent, dds['diagnostics'].wait_until(
        lambda c: c.get('received') == sent and
        c['processed'] + c['rejected'] + c.get('failed', 0) == sent,
        5, f'message {sent} {fields[:4]} to be processed or rejected')


@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(fields=image_fields(max_side=40), frame_id=_text())
@example(fields=('rgb8', 100_000, 100_000, 300_000, PATTERN[:4096]), frame_id='')
@example(fields=('bayer_rggb8', 4, 4, 4, PATTERN[:16]), frame_id='camera')
@example(fields=('yuyv', 2, 2, 4, PATTERN[:8]), frame_id='bin camera/ü\u2603')
def test_over_dds_each_message_is_classified_or_rejected_and_counted(dds, fields, frame_id):
    before = dds['diagnostics'].counts()
    sent, counts = _send(dds, fields, frame_id)
    assert counts['skipped'] == before['skipped'], 'one message at a time: nothing to skip'
    assert counts.get('failed', 0) == before.get('failed', 0), dds['node'].output[-2000:]
    try:
        image_codec.decode(*fields)
    except image_codec.CodecError as error:
        assert counts['rejected'] == before['rejected'] + 1, counts
        reason = dds['diagnostics'].values()['last_rejection']
        assert reason == str(error), f'diagnostics gave {reason!r}, the codec says {error}'
        return
    assert counts['processed'] == before['processed'] + 1, counts
    assert counts.get('overlaid') == before.get('overlaid') + 1, 'the overlay was not drawn'
    answers = []
    dds['probe'].wait_for(
        lambda: answers.extend(m for m in dds['classifications'] if m.header.stamp.sec == sent)
        or answers, 5, f'the classification of message {sent}')
    assert answers[0].header.frame_id == frame_id, 'the header must be copied as it came'
    assert answers[0].results and answers[0].results[0].class_id in CLASSES


def test_after_fuzzing_the_node_is_alive_and_printed_no_traceback(dds):
    dds['probe'].wait_for(lambda: dds['overlays'], 5, 'at least one overlay during the fuzzing')
    assert dds['node'].process.poll() is None, dds['node'].output
    assert 'Traceback' not in dds['node'].output, dds['node'].output
    assert 'dropped a frame' in dds['node'].output, 'rejections must be logged'


def test_hugely_declared_frames_do_not_grow_the_node(dds):
    fields = ('rgb8', 100_000, 100_000, 300_000, PATTERN[:MAX_DATA])
    _send(dds, fields)  # the first one may allocate buffers once
    before = node_rss(dds['node'])
    for _ in range(20):
        _, counts = _send(dds, fields)
    grown = node_rss(dds['node']) - before
    assert grown < 16 << 20, f'RSS grew by {grown >> 20} MiB over 20 rejected 100000x100000 frames'
    assert dds['node'].process.poll() is None, dds['node'].output
