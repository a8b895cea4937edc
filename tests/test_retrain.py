# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""training.retrain on the tiny ONNX model and tiny photo folders: the whole run, as files."""

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from tiny_model import COLOURS, GREY, solid, write_model_dir

from training import retrain
from waste_classifier_ros import model_card

pytest.importorskip('torch')


def photos(root: Path, colours: dict, per_class=(6, 3), seed=0) -> Path:
    """root/{train,val}/<class>/*.png of the given colour per class, with a little noise."""
    rng = np.random.default_rng(seed)
    for split, count in zip(('train', 'val'), per_class):
        for name, colour in colours.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                rgb = np.clip(solid(colour, 32, 32).astype(int)
                              + rng.integers(-8, 9, (32, 32, 3)), 0, 255).astype(np.uint8)
                cv2.imwrite(str(folder / f'{i}.png'), rgb[..., ::-1])
    return root


@pytest.fixture
def setup(tmp_path):
    model = write_model_dir(tmp_path / 'model')
    base = photos(tmp_path / 'base', COLOURS)
    # The station's trash looks mid-grey, which the current model calls paper (a new style);
    # its glass and metal look like the base's.
    station = photos(tmp_path / 'station', {'trash': GREY, 'glass': COLOURS['glass'],
                                            'metal': COLOURS['metal']}, seed=1)
    return tmp_path, model, base, station


def test_find_head_names_the_last_layer_and_refuses_other_graphs(tmp_path):
    model = onnx.load(str(write_model_dir(tmp_path / 'a')))
    assert retrain.find_head(model) == ('features', 'weights', 'bias', False)
    without_softmax = onnx.load(str(write_model_dir(tmp_path / 'b', softmax=False)))
    with pytest.raises(ValueError, match='does not end in Gemm -> Softmax'):
        retrain.find_head(without_softmax)


def test_the_promote_rule():
    def result(top1):
        return {'top1': top1}
    base = {'station': result(0.5), 'waste7': result(0.95)}
    assert retrain.promote_decision(base, {'station': result(0.6), 'waste7': result(0.941)},
                                    ['waste7'], 0.01)[0]
    lost, reason = retrain.promote_decision(
        base, {'station': result(0.6), 'waste7': result(0.93)}, ['waste7'], 0.01)
    assert not lost and '2.0 points worse on waste7' in reason
    same, reason = retrain.promote_decision(
        base, {'station': result(0.5), 'waste7': result(0.95)}, ['waste7'], 0.01)
    assert not same and 'not better on the station' in reason
    assert not retrain.promote_decision({'waste7': result(0.9)}, {'waste7': result(0.9)},
                                        ['waste7'], 0.01)[0]


def test_retrain_learns_the_station_compares_and_installs_by_the_rule(setup, capsys):
    tmp_path, model, base, station = setup
    install_dir = tmp_path / 'installed'
    args = ['--station', str(station), '--base', f'base={base}', '--model', str(model),
            '--install-dir', str(install_dir), '--steps', '400', '--lr', '0.05', '--anchor', '0',
            '--station-weight', '4', '--png', str(tmp_path / 'bars.png'),
            '--cache', str(tmp_path / 'cache')]
    assert retrain.main([*args, '--out', str(tmp_path / 'out')]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / 'out' / 'comparison.json').read_text())
    station_result, base_result = report['comparison']['station'], report['comparison']['base']
    assert station_result['current']['top1'] < 0.7 < station_result['new']['top1']
    assert base_result['new']['top1'] >= base_result['current']['top1'] - 0.01
    assert report['wins_by_rule'] and 'installed into' in printed
    assert '== station (9 images)' in printed and 'top-1' in printed
    card = model_card.read_card(install_dir / 'model_card.json')
    assert card['parent']['onnx_sha256'] == model_card.sha256_file(model)
    assert card['retrain']['data']['train'] == {'base': 42, 'station': 18}
    assert card['retrain']['comparison']['station']['new']['top1'] == pytest.approx(
        station_result['new']['top1'])
    # The installed files are a model the node accepts: sha256 and classes match the card.
    model_card.verify(install_dir / 'waste_classifier.onnx', card,
                      model_card.read_labels(install_dir / 'labels.txt'))
    assert (tmp_path / 'bars.png').stat().st_size > 1000
    assert not list(install_dir.glob('.*.tmp'))
    # A second run reads the training features from the cache, unchanged, and learns the same.
    cached = {p: p.stat().st_mtime_ns for p in (tmp_path / 'cache').iterdir()}
    assert len(cached) == 2
    assert retrain.main([*args, '--out', str(tmp_path / 'again')]) == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / 'cache').iterdir()} == cached
    assert (tmp_path / 'again' / 'waste_classifier.onnx').read_bytes() == (
        tmp_path / 'out' / 'waste_classifier.onnx').read_bytes()


def test_without_station_val_only_promote_installs(setup, capsys):
    tmp_path, model, base, station = setup
    for folder in (station / 'val').iterdir():
        for photo in folder.iterdir():
            photo.rename(station / 'train' / folder.name / f'v{photo.name}')
        folder.rmdir()
    (station / 'val').rmdir()
    args = ['--station', str(station), '--base', f'base={base}', '--model', str(model),
            '--install-dir', str(tmp_path / 'installed'), '--steps', '20', '--cache', '']
    assert retrain.main([*args, '--out', str(tmp_path / 'a')]) == 0
    assert 'no station val photos to judge on' in capsys.readouterr().out
    assert not (tmp_path / 'installed').exists()
    assert retrain.main([*args, '--out', str(tmp_path / 'b'), '--promote']) == 0
    assert (tmp_path / 'installed' / 'waste_classifier.onnx').read_bytes() == (
        tmp_path / 'b' / 'waste_classifier.onnx').read_bytes()


def test_a_station_class_that_is_not_a_project_class_is_refused(setup, capsys):
    tmp_path, model, base, station = setup
    (station / 'train' / 'banana').mkdir()
    assert retrain.main(['--station', str(station), '--base', f'base={base}',
                         '--model', str(model), '--out', str(tmp_path / 'out'),
                         '--cache', '']) == 2
    assert 'station/train/banana' in capsys.readouterr().err
