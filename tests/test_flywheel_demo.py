# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The flywheel demo's own logic: which model has not seen the style, which photos it plays."""

import argparse

import pytest

from waste_classifier_ros.core.model_card import write_card
from waste_classifier_ros.demos.flywheel import DemoError, choose_photos, has_seen, unseen_model


def card(folder, **fields):
    folder.mkdir(parents=True)
    (folder / 'waste_classifier.onnx').write_bytes(b'onnx')
    write_card(folder / 'model_card.json', {'classes': ['glass'], **fields})
    return folder / 'waste_classifier.onnx'


def test_a_model_whose_card_lists_the_style_is_passed_over(tmp_path):
    style, root = tmp_path / 'realwaste.yaml', tmp_path / 'data' / 'realwaste'
    field = card(tmp_path / 'field', sources=[{'name': 'waste7'}, {'name': 'realwaste'}])
    by_root = card(tmp_path / 'root', dataset={'root': str(root)})
    permissive = card(tmp_path / 'permissive', sources=[{'name': 'waste7'}])
    assert has_seen(field, style, root) and has_seen(by_root, style, root)
    assert not has_seen(permissive, style, root)
    assert unseen_model(argparse.Namespace(model=permissive, style=style), root) == permissive
    with pytest.raises(DemoError, match='no model that has not seen'):
        unseen_model(argparse.Namespace(model=field, style=style), root)


def test_photos_are_spread_over_each_class_and_interleaved(tmp_path):
    train = tmp_path / 'train'
    for name in ('Glass', 'Food Organics', 'Vegetation'):
        (train / name).mkdir(parents=True)
        for i in range(10):
            (train / name / f'{name}_{i:02d}.jpg').write_bytes(b'jpeg')
    truth = choose_photos(train, {'Glass': 'glass', 'Food Organics': 'organic',
                                  'Vegetation': 'organic'}, 4, tmp_path / 'played')
    assert sorted(truth) == [f'{i:05d}.jpg' for i in range(12)]
    assert sorted(truth.values()).count('organic') == 8
    targets = [(tmp_path / 'played' / name).resolve() for name in sorted(truth)]
    assert len(set(targets)) == 12
    assert {t.name for t in targets if t.parent.name == 'Glass'} == {
        'Glass_00.jpg', 'Glass_02.jpg', 'Glass_04.jpg', 'Glass_06.jpg'}
    played_classes = [truth[name] for name in sorted(truth)]
    assert played_classes != sorted(played_classes)  # not one class after another


def test_a_training_step_runs_as_a_module_call_and_a_failure_names_it(tmp_path):
    from waste_classifier_ros.demos.flywheel import run_module

    log = tmp_path / 'step.log'
    # A module that does not import torch: the demo's own steps take seconds each to start.
    run_module('training.studies.model_card_doc', ['--help'], log, '6. model card')
    assert '--card' in log.read_text()
    with pytest.raises(DemoError, match=r'3\. retrain: training.station.retrain failed \(2\)'):
        run_module('training.station.retrain', ['--station', str(tmp_path / 'none')], log,
                   '3. retrain')


def test_the_afternoon_reads_the_next_step_off_the_published_curve(tmp_path):
    import json

    from waste_classifier_ros.demos.flywheel import CURVE, afternoon, next_step

    means = {'0': 0.4, '250': 0.6, '1000': 0.75}
    curve = {'summary': {CURVE[1]: {n: {CURVE[2]: {'mean': m}} for n, m in means.items()}}}
    assert next_step(curve, 250) == pytest.approx((0.6, 0.65))
    assert next_step(curve, 800) is None  # past the last count: nothing measured to read
    path = tmp_path / 'curve.json'
    path.write_text(json.dumps(curve))
    text = afternoon(250, 300.0, 0.367, 0.6, path)
    assert '250 photos labelled, about 6 operator minutes' in text
    assert 'the retrain 5.0 min; held-out top-1 36.7% -> 60.0%' in text
    assert 'label 250 more (about 6 minutes) for about +5 points' in text
    assert 'Next' not in afternoon(250, 300.0, 0.367, 0.6, None)
