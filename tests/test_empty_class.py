# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""training.station.empty_class: the `empty` row, its operating point, the export and the card."""

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from training.recipe import data  # noqa: E402
from training.station import empty_class  # noqa: E402
from waste_classifier_ros.backends.onnx_runtime import open_session  # noqa: E402
from waste_classifier_ros.core import model_card  # noqa: E402
from waste_classifier_ros.core.preprocessing import to_tensor  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PERMISSIVE = ROOT / 'model' / 'permissive' / 'waste_classifier.onnx'


def toy(seed=0, items=300, empties=200, dims=16):
    """Items of three classes along three axes, empty scenes along a fourth, with noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(items) % 3
    item_features = np.eye(dims)[labels] * 4 + rng.normal(0, 0.5, (items, dims))
    empty_features = np.eye(dims)[np.full(empties, 3)] * 4 + rng.normal(0, 0.5, (empties, dims))
    layer = (np.eye(dims)[:3].astype(np.float32) * 3, np.zeros(3, np.float32))
    return item_features, labels, empty_features, layer


def test_the_fitted_row_calls_empties_empty_and_leaves_the_item_rows_alone():
    items, labels, empties, layer = toy()
    row = empty_class.fit_empty_row(items, labels, empties, layer)
    new = empty_class.with_row(layer, row)
    assert new[0].shape == (4, 16) and new[1].shape == (4,)
    assert np.array_equal(new[0][:3], layer[0]) and np.array_equal(new[1][:3], layer[1])
    held_items, held_labels, held_empties, _ = toy(seed=1)
    assert empty_class.empty_share(held_empties, new) > 0.99
    figures = empty_class.item_figures(held_items, held_labels, new)
    assert figures['called_empty'] < 0.01
    assert figures['top1'] == pytest.approx(figures['top1_without_empty'], abs=0.01)


def test_the_operating_point_calls_the_asked_share_of_training_items_empty():
    items, labels, empties, layer = toy()
    row = empty_class.fit_empty_row(items, labels, empties, layer)
    for rate in (0.02, 0.1):
        moved = empty_class.at_item_rate(row, items, layer, rate)
        assert np.array_equal(moved[0], row[0])
        share = empty_class.empty_share(items, empty_class.with_row(layer, moved))
        assert share == pytest.approx(rate, abs=1 / len(items))


def test_item_figures_count_empty_answers_as_lost_items():
    layer = (np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], np.float32),
             np.zeros(3, np.float32))
    features = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, -2.0], [-3.0, -1.0]])
    figures = empty_class.item_figures(features, np.array([0, 1, 0, 1]), layer)
    assert figures == {'images': 4, 'top1': 0.5, 'top1_without_empty': 1.0,
                       'called_empty': 0.5}


def test_the_export_appends_empty_and_keeps_the_item_probabilities(tmp_path):
    images = np.concatenate([to_tensor(data.read_rgb(path))
                             for path in sorted((ROOT / 'samples').glob('*.jpg'))[:6]])
    from training.station.last_layer import HeadlessModel

    model = HeadlessModel(PERMISSIVE, PERMISSIVE.with_name('labels.txt'))
    weight, bias = model.head()
    row = (np.random.default_rng(0).normal(0, 0.01, weight.shape[1]).astype(np.float32), -2.0)
    layer = empty_class.with_row((weight, bias), row)
    facts = empty_class.export_with_row(PERMISSIVE, layer, tmp_path, images)
    assert facts['parity_max_abs_diff'] < 1e-4 and facts['items_vs_previous_max_abs_diff'] < 1e-4
    assert not (tmp_path / 'waste_classifier.new.onnx').exists()
    session = open_session(tmp_path / 'waste_classifier.onnx')
    new = session.run(None, {'input_0': images})[0]
    assert new.shape == (6, 8) and np.allclose(new.sum(1), 1, atol=1e-5)

    card = model_card.read_card(PERMISSIVE.with_name('model_card.json'))
    card['reproduce'] = ['python -m training.recipe.train', 'python -m training.recipe.evaluate '
                         '--model model/waste_classifier.onnx --dataset field']
    old_sha = card['onnx_sha256']
    written = empty_class.card_with_empty(card, tmp_path, {'export': facts, 'seed': 1},
                                          'python -m training.station.empty_class --out x',
                                          {'waste7': {'top1': 0.5}})
    assert written['classes'] == card['classes'] + ['empty']
    assert written['onnx_sha256'] == model_card.sha256_file(tmp_path / 'waste_classifier.onnx')
    assert written['empty_class'] == {'seed': 1, 'from_onnx_sha256': old_sha}
    assert written['metrics']['val_per_source'] == {'waste7': {'top1': 0.5}}
    assert {k: v for k, v in written['metrics'].items() if k != 'val_per_source'} == \
        {k: v for k, v in card['metrics'].items() if k != 'val_per_source'}
    assert written['export']['items_vs_previous_max_abs_diff'] == \
        facts['items_vs_previous_max_abs_diff']
    assert written['reproduce'][1:3] == ['python -m training.station.empty_class --out x',
                                         empty_class.SCENES_COMMAND]
    assert written['reproduce'][-1].endswith(f'--data empty_scenes={empty_class.SCENES_DIR}')
    model_card.write_card(tmp_path / 'model_card.json', written)
    model_card.write_labels(tmp_path / 'labels.txt', written['classes'])
    model_card.verify(tmp_path / 'waste_classifier.onnx', written,
                      model_card.read_labels(tmp_path / 'labels.txt'))
    json.dumps(written)  # the card stays plain JSON
