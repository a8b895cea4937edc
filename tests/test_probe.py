# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""training.station.probe on the tiny ONNX model and generated folders: the linear-probe limit."""

import json

import numpy as np
import pytest
from test_retrain import photos
from tiny_model import COLOURS, GREY, write_model_dir

pytest.importorskip('torch')

from training.station import probe  # noqa: E402


def test_the_probe_learns_what_the_features_separate_and_counts_what_it_drew(tmp_path):
    model = write_model_dir(tmp_path / 'model')
    # Mid-grey trash is a style the tiny model's own layer calls paper; its pooled features
    # (the channel means) still tell it apart, so a probe on them is right on every val photo.
    station = photos(tmp_path / 'station', {'trash': GREY, 'glass': COLOURS['glass'],
                                            'metal': COLOURS['metal']}, per_class=(6, 3))
    out = tmp_path / 'out'
    assert probe.main(['--trunk', str(model),
                       '--train', f'station={station / "train"}',
                       '--eval', f'station_val={station / "val"}',
                       '--labels', str(model.with_name('labels.txt')), '--counts', '2/class,5,all',
                       '--seeds', '2', '--out', str(out)]) == 0
    report = json.loads((out / 'probe.json').read_text())
    results = report['trunks'][str(model)]
    assert [results[c]['photos'] for c in ('2/class', '5', 'all')] == [6, 5, 18]
    assert len(results['2/class']['top1']) == 2 and len(results['all']['top1']) == 1
    assert results['all']['mean_top1'] == 1.0
    assert results['2/class']['mean_top1'] == 1.0


def test_draw_per_class_and_at_random():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 5)
    rows = probe.draw(labels, '4/class', 3, seed=0)
    assert sorted(np.bincount(labels[rows]).tolist()) == [3, 4, 4]  # class 1 has only 3
    assert len(set(probe.draw(labels, '7', 3, seed=1).tolist())) == 7
    assert probe.draw(labels, 'all', 3, seed=0).tolist() == list(range(18))


def test_an_unknown_trunk_is_refused_by_name(tmp_path, capsys):
    station = photos(tmp_path / 'station', {'glass': COLOURS['glass']}, per_class=(1, 1))
    model = write_model_dir(tmp_path / 'model')
    labels = model.with_name('labels.txt')
    assert probe.main(['--trunk', 'resnet50', '--train', f's={station / "train"}',
                       '--eval', f'v={station / "val"}', '--labels', str(labels),
                       '--out', str(tmp_path / 'out')]) == 2
    assert "--trunk 'resnet50'" in capsys.readouterr().err
