# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""training.station.retrain on the tiny ONNX model and photo folders: the whole run, as files."""

import json
from pathlib import Path
import shutil

import cv2
import numpy as np
import onnx
import pytest
from tiny_model import COLOURS, GREY, solid, write_model_dir

from training.station import last_layer, retrain
from waste_classifier_ros.core import model_card
from waste_classifier_ros.flywheel import promotion

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
    assert last_layer.find_head(model) == ('features', 'weights', 'bias', False)
    without_softmax = onnx.load(str(write_model_dir(tmp_path / 'b', softmax=False)))
    with pytest.raises(ValueError, match='does not end in Gemm -> Softmax'):
        last_layer.find_head(without_softmax)


def test_the_last_layer_keeps_the_guard_with_a_mix_of_the_fit_and_the_start():
    # Start: class c reads feature c. The fit learnt the station's photo (1, 0) is class 1 by
    # raising class 1's bias so far that the base source's (2, 0) goes wrong too.
    start = (np.eye(2, dtype=np.float32), np.zeros(2, np.float32))
    fitted = (np.eye(2, dtype=np.float32), np.array([0.0, 3.0], np.float32))
    val = {'station': (np.array([[1.0, 0.0]]), np.array([1])),
           'base': (np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([0, 1]))}
    # The strict guard (confidence 0): one base photo of two lost is beyond the 1-point limit.
    (weight, bias), rows, kept = last_layer.guarded_head(start, fitted, val, ['a', 'b'], 0.01,
                                                         0.10, 4, 0.0)
    assert [row.share for row in rows] == [1.0, 0.75, 0.5, 0.25]
    assert [row.guard != '' for row in rows] == [True, True, False, False]
    assert [row is kept for row in rows] == [False, False, True, False]  # 0.25: nothing learnt
    assert np.allclose(bias, [0.0, 1.5]) and np.allclose(weight, start[0])
    assert rows[0].guard == 'base top-1 100.0% -> 50.0% (-50.0 over 2 photos): beyond the ' \
        '1-point limit'
    # The noise-aware guard: two photos cannot show a loss, so every share keeps the guard;
    # one fit's shares are equally changed, so the best on the station is kept: the fit (the
    # same top-1 as the half mix, a higher log-likelihood).
    _, rows, kept = last_layer.guarded_head(start, fitted, val, ['a', 'b'], 0.01, 0.10, 4)
    assert [row.guard for row in rows] == [''] * 4 and rows[0].other_guard.startswith('base')
    assert kept is rows[0] and kept.share == 1.0
    # Without mixes or a station val, the fit.
    assert last_layer.guarded_head(start, fitted, val, ['a', 'b'], 0.01, 0.10, 0)[0] is fitted
    assert last_layer.guarded_head(start, fitted, {'base': val['base']}, ['a', 'b'], 0.01,
                                   0.10, 4) == (fitted, [], None)


def test_retrain_learns_the_station_compares_and_installs_by_the_rule(setup, capsys):
    tmp_path, model, base, station = setup
    install_dir = tmp_path / 'installed'
    args = ['--station', str(station), '--base', f'base={base}', '--model', str(model),
            '--install-dir', str(install_dir), '--steps', '400', '--lr', '0.05', '--anchor', '0',
            '--scope', 'head', '--batch-size', '8', '--node', '',
            '--station-weight', '4', '--png', str(tmp_path / 'bars.png'),
            '--cache', str(tmp_path / 'cache')]
    assert retrain.main([*args, '--out', str(tmp_path / 'out')]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / 'out' / 'comparison.json').read_text())
    station_result, base_result = report['comparison']['station'], report['comparison']['base']
    assert station_result['current']['top1'] < 0.7 < station_result['new']['top1']
    assert base_result['new']['top1'] >= base_result['current']['top1'] - 0.01
    assert report['wins_by_rule'] and 'installed into' in printed
    # The station page judges a comparison.json alone, by the same rule: retrain's verdict.
    assert promotion.judge_comparison(report['comparison'], report['bases'], promotion.Guard(
        0.01, 0.10)) == (report['wins_by_rule'], report['decision'])
    assert report['decision'].startswith('+') and 'base top-1' in report['decision']
    assert report['guard'][0].startswith('base top-1 ') and '95% interval' in report['guard'][0]
    # What the guard cost: the mixes tried, each judged by both guards, the kept one marked.
    trade = report['trade_off']
    assert [row['candidate'] for row in trade['candidates']] == [
        'head fit', 'head mix 0.75', 'head mix 0.5', 'head mix 0.25']
    assert sum(row['kept'] for row in trade['candidates']) == 1
    assert trade['lines'][0].startswith('noise-aware guard (95%) (in use): head ')
    assert trade['lines'][0] in printed and trade['lines'][1] in printed
    assert report['comparison']['base']['support'] == dict.fromkeys(COLOURS, 3)
    assert '== station (9 images)' in printed and 'top-1' in printed
    card = model_card.read_card(install_dir / 'model_card.json')
    assert card['parent']['onnx_sha256'] == model_card.sha256_file(model)
    assert card['retrain']['train'] == {'base': 42, 'station': 18}
    # The new layer's temperature is fitted on the station's val and folded in.
    station_ece = card['calibration']['per_source']['station']
    assert station_ece['nll_after'] <= station_ece['nll_before']
    assert report['comparison']['station']['new']['ece'] >= 0
    assert card['retrain']['comparison']['station']['new']['top1'] == pytest.approx(
        station_result['new']['top1'])
    # The installed files are a model the node accepts: sha256 and classes match the card.
    model_card.verify(install_dir / 'waste_classifier.onnx', card,
                      model_card.read_labels(install_dir / 'labels.txt'))
    assert (tmp_path / 'bars.png').stat().st_size > 1000
    assert not list(install_dir.glob('.*.tmp'))
    # A second run reads the training features from the cache, unchanged, and learns the same.
    cached = {p: p.stat().st_mtime_ns for p in (tmp_path / 'cache').iterdir()}
    assert len(cached) == 4  # base train and val, station train and val
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
            '--install-dir', str(tmp_path / 'installed'), '--steps', '20', '--cache', '',
            '--scope', 'head', '--batch-size', '8', '--node', '']
    assert retrain.main([*args, '--out', str(tmp_path / 'a')]) == 0
    assert 'no station val photos to judge on' in capsys.readouterr().out
    assert not (tmp_path / 'installed').exists()
    assert retrain.main([*args, '--out', str(tmp_path / 'b'), '--promote']) == 0
    assert (tmp_path / 'installed' / 'waste_classifier.onnx').read_bytes() == (
        tmp_path / 'b' / 'waste_classifier.onnx').read_bytes()


# A beige floor: the 8-class tiny model calls it paper (about 0.85), not empty.
FLOOR = (200, 180, 120)


def test_the_station_floor_teaches_the_empty_class_and_the_guard_skips_it_on_bases(tmp_path,
                                                                                 capsys):
    model = write_model_dir(tmp_path / 'model', empty=True)
    base = photos(tmp_path / 'base', COLOURS)  # item photos only, like waste7 and RealWaste
    station = photos(tmp_path / 'station', {'empty': FLOOR, 'glass': COLOURS['glass'],
                                            'metal': COLOURS['metal']}, seed=1)
    args = ['--station', str(station), '--base', f'base={base}', '--model', str(model),
            '--install-dir', str(tmp_path / 'installed'), '--steps', '400', '--lr', '0.05',
            '--anchor', '0', '--scope', 'head', '--batch-size', '8', '--node', '',
            '--station-weight', '4', '--cache', '', '--out', str(tmp_path / 'out')]
    assert retrain.main(args) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / 'out' / 'comparison.json').read_text())
    station_result, base_result = report['comparison']['station'], report['comparison']['base']
    # The station's own empty frames taught the empty row its floor.
    assert station_result['recall_current']['empty'] == 0.0
    assert station_result['recall_new']['empty'] == 1.0
    assert station_result['support']['empty'] == 3
    # The base source has no empty scenes: the guard skips that class there, and says so.
    assert base_result['support'] == dict.fromkeys(COLOURS, 3) | {'empty': 0}
    assert report['not_judged'] == {'base': ['empty']}
    assert '(no val photos of empty: not judged by the guard)' in printed
    assert base_result['new']['top1'] >= base_result['current']['top1'] - 0.01
    assert report['wins_by_rule'] and report['installed']
    assert promotion.judge_comparison(report['comparison'], report['bases'], promotion.Guard(
        0.01, 0.10)) == (report['wins_by_rule'], report['decision'])
    assert model_card.read_labels(tmp_path / 'installed' / 'labels.txt')[-1] == 'empty'


def corrupt(station: Path) -> str:
    path = station / 'train' / 'glass' / 'broken.jpg'
    path.write_bytes(b'\xff\xd8\xff\xe0 not a JPEG after all')
    return 'broken.jpg'


def one_class(station: Path) -> str:
    for folder in (station / 'train').iterdir():
        if folder.name != 'glass':
            shutil.rmtree(folder)
    return 'photos of 1 class(es) only (glass)'


def too_few(station: Path) -> str:
    shutil.rmtree(station / 'train' / 'trash')
    for photo in (station / 'train').glob('*/[2-9].png'):
        photo.unlink()
    return '4 reviewed photos, fewer than one batch (8)'


def unknown_class(station: Path) -> str:
    (station / 'train' / 'banana').mkdir()
    shutil.copyfile(station / 'train' / 'glass' / '0.png', station / 'train' / 'banana' / '0.png')
    return 'station/train/banana'


def empty_class(station: Path) -> str:
    (station / 'train' / 'paper').mkdir()
    return 'class folder'


def empty_frames(station: Path) -> str:
    # Reviewed empty frames for the seven-class model: it has no row to learn them into.
    (station / 'val' / 'empty').mkdir()
    shutil.copyfile(station / 'val' / 'glass' / '0.png', station / 'val' / 'empty' / '0.png')
    return "station/val/empty: reviewed empty frames, but the current model has no 'empty' class"


@pytest.mark.parametrize('spoil', [corrupt, one_class, too_few, unknown_class, empty_class,
                                   empty_frames])
@pytest.mark.parametrize('scope', ['head', 'blocks'])
def test_bad_station_input_is_refused_before_anything_is_written(setup, capsys, spoil, scope):
    tmp_path, model, base, station = setup
    expected = spoil(station)
    before = {p.name: p.read_bytes() for p in model.parent.iterdir()}
    assert retrain.main(['--station', str(station), '--base', f'base={base}',
                         '--model', str(model), '--out', str(tmp_path / 'out'), '--promote',
                         '--cache', '', '--scope', scope, '--batch-size', '8']) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()
    assert {p.name: p.read_bytes() for p in model.parent.iterdir()} == before
