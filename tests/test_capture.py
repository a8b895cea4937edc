# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Capture without ROS: which frames are kept, and the bounded, atomic writer."""

import json
import threading

import cv2
import numpy as np
import pytest

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.flywheel import capture
from waste_classifier_ros.flywheel.capture import (
    BIN_CHANGE,
    EMPTY_ZONE,
    REQUEST,
    UNSURE,
    CapturePolicy,
    CaptureWriter,
    Thresholds,
    list_captures,
    make_sidecar,
    recover,
)
from waste_classifier_ros.flywheel.review import ReviewSession

CLASSES = ['cardboard', 'glass', 'metal', 'organic', 'paper', 'plastic', 'trash']
LIMITS = Thresholds(min_score=0.6, min_margin=0.2, min_interval=2.0)


def test_policy_keeps_unsure_frames_bin_changes_and_requests_within_the_rate_limit():
    policy = CapturePolicy()
    assert policy.reason(0.0, [0.9, 0.05], False, LIMITS) is None
    assert policy.reason(0.0, [0.55, 0.2], False, LIMITS) == UNSURE      # low top-1
    assert policy.reason(1.0, [0.7, 0.6], False, LIMITS) is None          # margin, rate limited
    assert policy.rate_limited == 1
    assert policy.reason(2.5, [0.7, 0.6], False, LIMITS) == UNSURE        # low margin
    assert policy.reason(3.0, [0.99, 0.01], True, LIMITS) is None         # limited again
    assert policy.reason(4.6, [0.99, 0.01], True, LIMITS) == BIN_CHANGE
    policy.request()
    assert policy.reason(4.7, [0.99, 0.01], False, LIMITS) == REQUEST     # not rate limited
    assert policy.reason(4.8, [0.99, 0.01], False, LIMITS) is None        # once per request
    assert policy.rate_limited == 2
    assert CapturePolicy().reason(0.0, [1.0], False, LIMITS) is None      # one class


def test_the_empty_zone_is_kept_only_at_its_own_low_rate_and_never_as_unsure():
    policy = CapturePolicy()
    limits = Thresholds(min_score=0.6, min_margin=0.2, min_interval=2.0, empty_interval=60.0)
    unsure = [0.4, 0.3]  # a bare floor the model is unsure of
    assert policy.reason(0.0, unsure, False, limits, empty=True) == EMPTY_ZONE
    assert [policy.reason(t, unsure, True, limits, empty=True) for t in range(1, 60)] == \
        [None] * 59
    assert policy.reason(60.0, unsure, False, limits, empty=True) == EMPTY_ZONE
    assert policy.reason(60.1, unsure, False, limits) == UNSURE  # an item: as before
    policy.request()
    assert policy.reason(60.2, unsure, False, limits, empty=True) == REQUEST
    never = Thresholds(empty_interval=0.0)
    assert CapturePolicy().reason(0.0, unsure, False, never, empty=True) is None


def frame(seed=0, height=120, width=160, smooth=False) -> image_codec.Frame:
    """Noise (large JPEGs) or, smooth, a colour gradient that JPEG keeps almost exactly."""
    if smooth:
        y, x = np.mgrid[0:height, 0:width]
        rgb = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 40 * seed)], -1)
        return image_codec.Frame(rgb.astype(np.uint8), 'rgb8')
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
    return image_codec.Frame(rgb, 'rgb8')


def sidecar(index=0, reason=UNSURE):
    probabilities = np.full(7, 0.1, np.float32)
    probabilities[index] = 0.4
    return make_sidecar((12, 34), 'cam', 'ab' * 32, CLASSES, probabilities, reason, 'glass',
                        (0.0, 0.0, 1.0, 1.0), frame())


def test_a_capture_is_a_decodable_jpeg_and_its_sidecar_in_the_inbox_layout(tmp_path):
    writer = CaptureWriter(tmp_path / 'inbox', 10 ** 9)
    source = frame(1, smooth=True)
    assert writer.submit(source, sidecar(5), 'plastic', quality=95)
    assert writer.wait_idle(10.0)
    writer.close()
    [(name, image, size)] = list_captures(tmp_path / 'inbox')
    assert image.parent == tmp_path / 'inbox' / 'plastic' and image.suffix == '.jpg'
    assert len(name.split('_')[0]) == 15 and name.split('_')[1] == '000001'
    data = json.loads(image.with_suffix('.json').read_text())
    assert data['topk'][0] == {'class': 'plastic', 'score': pytest.approx(0.4)}
    assert len(data['topk']) == 5 and data['reason'] == UNSURE and data['bin'] == 'glass'
    assert data['stamp'] == {'sec': 12, 'nanosec': 34} and data['frame_id'] == 'cam'
    assert (data['width'], data['height'], data['encoding']) == (160, 120, 'rgb8')
    decoded = cv2.imread(str(image))[..., ::-1]
    assert np.abs(decoded.astype(int) - source.pixels).mean() < 3  # the whole frame, RGB
    assert size == image.stat().st_size + image.with_suffix('.json').stat().st_size
    assert list((tmp_path / 'inbox' / '.tmp').iterdir()) == []
    assert writer.counts == {'written': 1, 'dropped_queue_full': 0, 'evicted': 0, 'failed': 0}


def test_a_full_queue_drops_captures_and_counts_them(tmp_path, monkeypatch):
    release = threading.Event()
    encode = capture.cv2.imencode

    def slow_encode(*args):
        release.wait(10.0)
        return encode(*args)
    monkeypatch.setattr(capture.cv2, 'imencode', slow_encode)
    writer = CaptureWriter(tmp_path / 'inbox', 10 ** 9, queue_size=2)
    accepted = [writer.submit(frame(i), sidecar(), 'glass') for i in range(6)]
    # One is being encoded (blocked), two wait in the queue, the rest are dropped.
    assert accepted.count(True) in (2, 3) and accepted[:2] == [True, True]
    assert writer.counts['dropped_queue_full'] == accepted.count(False)
    release.set()
    assert writer.wait_idle(10.0)
    writer.close()
    assert writer.counts['written'] == accepted.count(True)
    assert len(list_captures(tmp_path / 'inbox')) == accepted.count(True)


def test_the_disk_bound_removes_the_oldest_unreviewed_captures_first(tmp_path):
    inbox = tmp_path / 'inbox'
    writer = CaptureWriter(inbox, 10 ** 9)
    for i in range(5):
        writer.submit(frame(i), sidecar(i), CLASSES[i])
        assert writer.wait_idle(10.0)
    writer.close()
    before = list_captures(inbox)
    assert len(before) == 5
    sizes = [size for _, _, size in before]
    # Room for the three newest and a copy of the newest (same size); a new writer scans the
    # inbox, so it must remove exactly the two oldest.
    bounded = CaptureWriter(inbox, sum(sizes[2:]) + sizes[4])
    bounded.submit(frame(4), sidecar(4), 'trash')
    assert bounded.wait_idle(10.0)
    bounded.close()
    after = [image for _, image, _ in list_captures(inbox)]
    assert after[:3] == [image for _, image, _ in before[2:]]
    assert not before[0][1].exists() and not before[0][1].with_suffix('.json').exists()
    assert bounded.counts['evicted'] == 2 and len(after) == 4
    assert bounded.stored_bytes() <= bounded.max_bytes


def test_an_interrupted_write_is_cleaned_up_and_review_never_sees_a_half_pair(tmp_path):
    inbox = tmp_path / 'inbox'
    (inbox / '.tmp').mkdir(parents=True)
    (inbox / '.tmp' / '20261130T101500_000001.jpg').write_bytes(b'\xff\xd8 half')
    (inbox / 'glass').mkdir()
    (inbox / 'glass' / '20261130T101500_000002.jpg').write_bytes(b'\xff\xd8 no sidecar came')
    with ReviewSession(inbox, tmp_path / 'dataset', CLASSES) as session:
        assert session.pending() == []
    assert recover(inbox) == 2
    assert not (inbox / '.tmp').exists()
    assert not (inbox / 'glass' / '20261130T101500_000002.jpg').exists()


def test_a_failed_write_is_counted_and_leaves_nothing_half_written(tmp_path):
    inbox = tmp_path / 'inbox'
    inbox.mkdir()
    (inbox / 'glass').write_text('a file where the class folder should be')
    writer = CaptureWriter(inbox, 10 ** 9, log=lambda message: None)
    assert writer.submit(frame(), sidecar(1), 'glass')
    assert writer.submit(frame(), sidecar(2), 'metal')
    assert writer.wait_idle(10.0)
    writer.close()
    assert writer.counts['failed'] == 1 and writer.counts['written'] == 1
    assert 'glass' in writer.last_failure
    assert list((inbox / '.tmp').iterdir()) == []
    assert [image.parent.name for _, image, _ in list_captures(inbox)] == ['metal']
