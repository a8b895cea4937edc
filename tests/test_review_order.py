# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The review order: what to label first (review_order), its features (review_features), skips."""

import json
import logging
from pathlib import Path
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.tiny_model import COLOURS, GREY, write_model_dir
from waste_classifier_ros.core import onnx_head
from waste_classifier_ros.flywheel import review_order
from waste_classifier_ros.flywheel.review import SKIPPED, ReviewError, ReviewSession
from waste_classifier_ros.flywheel.review_features import CACHE, ModelFeatures

CLASSES = ['cardboard', 'glass', 'metal', 'organic', 'paper', 'plastic', 'trash']


def test_uncertainty_is_one_minus_the_margin_and_bad_topk_is_refused_clearly():
    assert review_order.uncertainty([{'score': 0.9}, {'score': 0.05}]) == pytest.approx(0.15)
    assert review_order.uncertainty([{'score': 0.4}, {'score': 0.4}]) == 1.0
    assert review_order.uncertainty([{'score': 0.7}]) == pytest.approx(0.3)  # one class
    for bad, message in (([], 'not a non-empty list'), ({'score': 1}, 'not a non-empty list'),
                         ([{'class': 'glass'}], 'score unreadable'),
                         ([{'score': 'high'}], 'score unreadable'),
                         ([{'score': float('nan')}], 'not finite')):
        with pytest.raises(ValueError, match=message):
            review_order.uncertainty(bad)


def test_without_features_every_class_first_then_the_most_unsure_ties_in_capture_order():
    order = review_order.rank([0.1, 0.9, 0.5, 0.0, 0.5], ['a', 'a', 'a', 'b', 'a'])
    # a's most unsure (1), then b's only one (3), then by uncertainty, 2 before 4 (capture order)
    assert order == [1, 3, 2, 4, 0]


def test_the_second_capture_of_an_item_waits_for_the_other_items():
    # Captures 0-2 are one item seen three times, 3 and 4 two other items; all equally unsure.
    rng = np.random.default_rng(0)
    item = rng.standard_normal((3, 64))
    features = np.stack([item[0], item[0] + 0.01, item[0] - 0.01, item[1], item[2]])
    order = review_order.rank([0.5] * 5, ['glass'] * 5, features)
    assert set(order[:3]) == {order[0], 3, 4} and order[0] in (0, 1, 2)
    assert sorted(order) == [0, 1, 2, 3, 4]


def test_at_the_same_distance_the_unsure_capture_comes_first():
    labelled = np.array([[1.0, 0.0, 0.0]])
    features = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # both as far from the labelled
    assert review_order.rank([0.1, 0.8], ['a', 'a'], features, labelled)[0] == 1
    assert review_order.rank([0.8, 0.1], ['a', 'a'], features, labelled)[0] == 0


def test_near_duplicates_of_labelled_photos_go_last_however_unsure():
    labelled = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    features = np.array([[1.0, 0.01, 0.0],   # a repeat of a labelled photo, very unsure
                         [0.0, 0.0, 1.0], [0.6, 0.0, 0.8], [0.0, 1.0, 0.02]])
    order = review_order.rank([1.0, 0.1, 0.2, 0.9], ['a', 'a', 'b', 'a'], features, labelled)
    assert order[2:] == [3, 0]  # the two repeats, the more unsure first
    assert set(order[:2]) == {1, 2}


def test_every_predicted_class_is_in_the_first_picks():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((60, 32))
    predicted = ['glass'] * 50 + ['metal'] * 9 + ['trash']
    uncertain = [0.9] * 50 + [0.0] * 10  # glass is the unsure one
    order = review_order.rank(uncertain, predicted, features)
    assert {predicted[i] for i in order[:3]} == {'glass', 'metal', 'trash'}
    assert sorted(order) == list(range(60))


def test_a_large_inbox_is_ranked_completely():
    rng = np.random.default_rng(2)
    count = review_order.GREEDY_PICKS + 300
    features = rng.standard_normal((count, 1280)).astype(np.float32)
    order = review_order.rank(rng.uniform(size=count), [str(i % 7) for i in range(count)],
                              features, features[:100])
    assert sorted(order) == list(range(count))
    assert not set(order[:count - 100]) & set(range(100))  # the labelled ones' copies last


def test_bad_feature_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match='non-finite'):
        review_order.rank([0.5, 0.5], ['a', 'a'], np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match='one of each per capture'):
        review_order.rank([0.5], ['a', 'a'], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r'labelled photos: .*shape \(3,\)'):
        review_order.rank([0.5], ['a'], np.ones((1, 3)), np.ones(3))


def test_with_output_reads_the_features_beside_the_probabilities(tmp_path):
    import onnxruntime

    data = write_model_dir(tmp_path).read_bytes()
    assert onnx_head.find_head(data) == ('features', 'weights', 'bias', False)
    session = onnxruntime.InferenceSession(onnx_head.with_output(data, 'features'),
                                           providers=['CPUExecutionProvider'])
    batch = np.full((2, 3, 224, 224), 0.5, np.float32)
    probabilities, features = session.run(None, {'input_0': batch})
    assert probabilities.shape == (2, 7) and np.allclose(features, 0.5)
    with pytest.raises(ValueError, match='not an ONNX model'):
        onnx_head.find_head(b'\x0f\x00')


def put_photo(inbox: Path, predicted: str, name: str, colour, scores=(0.5, 0.3)) -> str:
    """Write a capture with a real JPEG of one colour and the given top-2 scores; its id."""
    folder = inbox / predicted
    folder.mkdir(parents=True, exist_ok=True)
    bgr = np.full((48, 64, 3), colour[::-1], np.uint8)
    assert cv2.imwrite(str(folder / f'{name}.jpg'), bgr)
    sidecar = {'topk': [{'class': predicted, 'score': scores[0]},
                        {'class': 'trash', 'score': scores[1]}],
               'reason': 'unsure', 'bin': 'recycling', 'roi': [0, 0, 1, 1]}
    (folder / f'{name}.json').write_text(json.dumps(sidecar))
    return f'{predicted}/{name}.jpg'


def files(root: Path) -> dict:
    """Every file under root but the review's own dot-files, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*'))
            if p.is_file() and not p.relative_to(root).as_posix().startswith('.')}


@pytest.fixture
def useful_station(tmp_path):
    """Make an inbox of solid-colour captures, a dataset of one glass photo, a tiny model."""
    inbox, dataset = tmp_path / 'inbox', tmp_path / 'dataset'
    model = write_model_dir(tmp_path / 'model')
    put_photo(dataset / 'train', 'glass', '20261207T090000_000001', COLOURS['glass'])
    ids = [put_photo(inbox, 'glass', '20261207T100000_000001', COLOURS['glass'], (0.4, 0.4)),
           put_photo(inbox, 'metal', '20261207T100000_000002', COLOURS['metal'], (0.9, 0.05)),
           put_photo(inbox, 'plastic', '20261207T100000_000003', COLOURS['plastic'], (0.5, 0.4)),
           put_photo(inbox, 'plastic', '20261207T100000_000004', COLOURS['plastic'], (0.5, 0.4)),
           put_photo(inbox, 'paper', '20261207T100000_000005', GREY, (0.35, 0.3))]
    return inbox, dataset, model, ids


def test_the_useful_order_puts_repeats_last_and_caches_without_touching_captures(
        useful_station):
    inbox, dataset, model, ids = useful_station
    before = files(inbox)
    with ReviewSession(inbox, dataset, CLASSES, order='useful', model=model) as session:
        order = [c.id for c in session.pending()]
    # Every class first (the unsure grey paper, far from the labelled glass, leads), the second
    # plastic after them, the glass that repeats the labelled glass photo last though it is the
    # most unsure.
    assert order[0] == ids[4] and set(order[:3]) == {ids[4], ids[1], ids[2]}
    assert order[3:] == [ids[3], ids[0]]
    assert files(inbox) == before  # the cache is beside the captures, never in them
    cached = list((inbox / CACHE).iterdir())
    assert [p.suffix for p in cached] == ['.npz']
    features = ModelFeatures(model, inbox)  # a new session reads them back
    keys = [f'{Path(i).name}:{(inbox / i).stat().st_size}' for i in ids]
    assert set(features.known(keys)) == set(keys)
    with ReviewSession(inbox, dataset, CLASSES, order='useful', model=model) as session:
        assert [c.id for c in session.pending()] == order


def test_without_a_model_the_useful_order_says_so_and_uses_the_scores(useful_station, caplog):
    inbox, dataset, _, ids = useful_station
    caplog.set_level(logging.INFO)
    with ReviewSession(inbox, dataset, CLASSES, order='useful',
                       model=inbox.parent / 'missing.onnx') as session:
        order = [c.id for c in session.pending()]
    assert 'useful without model features' in caplog.text and 'missing.onnx' in caplog.text
    # One per class, most unsure first: glass 1.0, paper .95, plastic .9, metal; then plastic.
    assert order == [ids[0], ids[4], ids[2], ids[1], ids[3]]
    with pytest.raises(ReviewError, match='one of capture, useful'):
        ReviewSession(inbox, dataset, CLASSES, order='best')


def test_a_bad_second_score_is_a_problem_not_a_failure(useful_station):
    inbox, dataset, model, ids = useful_station
    side = (inbox / ids[1]).with_suffix('.json')
    sidecar = json.loads(side.read_text())
    sidecar['topk'][1] = {'class': 'trash'}
    side.write_text(json.dumps(sidecar))
    with ReviewSession(inbox, dataset, CLASSES, order='useful') as session:
        assert len(session.pending()) == 5
        assert any(ids[1] in p and 'score unreadable' in p for p in session.problems)


def test_skips_survive_a_new_session_and_leave_with_the_capture(useful_station):
    inbox, dataset, _, ids = useful_station
    with ReviewSession(inbox, dataset, CLASSES) as session:
        session.skip(ids[0])
        session.skip(ids[3])
    assert json.loads((inbox / SKIPPED).read_text()) == [ids[0], ids[3]]
    with ReviewSession(inbox, dataset, CLASSES) as session:  # the page's node restarted
        assert [c.id for c in session.pending()][-2:] == [ids[0], ids[3]]
        assert session.progress()['skipped'] == 2
        session.label(ids[0], 'glass')
    assert json.loads((inbox / SKIPPED).read_text()) == [ids[3]]
    (inbox / SKIPPED).write_text('{not json')
    with ReviewSession(inbox, dataset, CLASSES) as session:  # unreadable: nothing skipped
        assert [c.id for c in session.pending()] == ids[1:]


def test_waste_review_takes_the_order_and_the_model(useful_station):
    inbox, dataset, model, ids = useful_station
    run = subprocess.run(
        [sys.executable, '-m', 'waste_classifier_ros.cli.review', str(inbox), '--dataset',
         str(dataset), '--labels', str(model.with_name('labels.txt')), '--order', 'useful',
         '--no-preview'], input='q\n', capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert f'[5 left] {ids[4]}: predicted paper' in run.stdout
    bad = subprocess.run(
        [sys.executable, '-m', 'waste_classifier_ros.cli.review', str(inbox), '--dataset',
         str(dataset), '--order', 'best'], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "invalid choice: 'best'" in bad.stderr


def test_a_capture_that_does_not_decode_is_still_offered_after_the_others(useful_station,
                                                                          caplog):
    inbox, dataset, model, ids = useful_station
    broken = put_photo(inbox, 'trash', '20261207T100000_000006', GREY, (0.3, 0.3))
    (inbox / broken).write_bytes(b'not a jpeg')
    with ReviewSession(inbox, dataset, CLASSES, order='useful', model=model) as session:
        order = [c.id for c in session.pending()]
        assert order[-1] == broken and sorted(order[:-1]) == sorted(ids)
        assert caplog.text.count('does not decode') == 1
        session.pending()
        assert caplog.text.count('does not decode') == 1  # said once, not tried again


def test_the_measured_stream_gives_each_item_one_to_three_consecutive_captures():
    from training.station.review_order import jitter, stream

    item, copy = stream(200, seed=0)
    assert sorted(set(item.tolist())) == list(range(200))
    starts = np.flatnonzero(np.r_[True, item[1:] != item[:-1]])
    assert len(starts) == 200  # each item's captures in one run
    assert set(np.diff(np.r_[starts, len(item)]).tolist()) == {1, 2, 3}
    assert (copy[starts] == 0).all() and not np.array_equal(item, stream(200, seed=1)[0])
    photo = np.full((100, 80, 3), 100, np.uint8)
    moved = jitter(photo, np.random.default_rng(0))
    assert 85 <= moved.shape[0] <= 100 and 68 <= moved.shape[1] <= 80
    assert 85 <= int(moved[0, 0, 0]) <= 115
