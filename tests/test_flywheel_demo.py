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
