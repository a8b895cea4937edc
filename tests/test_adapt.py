# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Adapting the shipped network: weights rebuilt from ONNX, scopes, label-free statistics, kills.

The network is the repository's own waste7 model (model/permissive/, EfficientNet-Lite0); the
stations are tiny generated folders of coloured photos, so each retrain runs in seconds.
"""

import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
import pytest

torch = pytest.importorskip('torch')

from test_retrain import photos  # noqa: E402
from tiny_model import COLOURS, GREY  # noqa: E402

from training.recipe import data  # noqa: E402
from training.station import adapt, retrain  # noqa: E402
from training.station.onnx_weights import model_from_onnx, unfold_batchnorm  # noqa: E402
from waste_classifier_ros.core.preprocessing import to_tensor  # noqa: E402
from waste_classifier_ros.flywheel import promotion  # noqa: E402
from waste_classifier_ros.flywheel.promotion import Candidate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = [ROOT / 'model' / 'waste_classifier.onnx',
          ROOT / 'model' / 'permissive' / 'waste_classifier.onnx']


def sample_batch() -> np.ndarray:
    return np.concatenate([to_tensor(data.read_rgb(path))
                           for path in sorted((ROOT / 'samples').glob('*.jpg'))])


@pytest.mark.parametrize('path', MODELS, ids=['shipped', 'permissive'])
def test_rebuilt_weights_give_the_onnx_outputs_on_the_samples(path):
    import onnxruntime

    images = sample_batch()
    expected = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider']).run(
        None, {'input_0': images})[0]
    model = model_from_onnx(path)
    with torch.no_grad():
        rebuilt = model(torch.from_numpy(images)).softmax(1).numpy()
    assert np.abs(rebuilt - expected).max() < 1e-4
    # Statistics measured back into the BatchNorms: the same function.
    assert unfold_batchnorm(model, [torch.from_numpy(images)]) == len(images)
    with torch.no_grad():
        unfolded = model(torch.from_numpy(images)).softmax(1).numpy()
    assert np.abs(unfolded - expected).max() < 1e-4
    assert not torch.allclose(model.bn1.running_var, torch.ones_like(model.bn1.running_var))


def test_label_free_step_changes_only_normalisation_statistics():
    model = model_from_onnx(MODELS[1])
    images = sample_batch()
    unfold_batchnorm(model, [torch.from_numpy(images)])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rgb = [np.full((224, 224, 3), colour, np.uint8) for colour in COLOURS.values()] * 5
    assert adapt.reestimate_statistics(model, rgb, 8, torch.device('cpu')) == 32
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    statistics = {k for k in before if k.endswith(('running_mean', 'running_var',
                                                   'num_batches_tracked'))}
    assert changed and changed <= statistics
    assert 'bn1.running_mean' in changed and 'conv_head.weight' not in changed
    with pytest.raises(ValueError, match='too few'):
        adapt.reestimate_statistics(model, rgb[:3], 8, torch.device('cpu'))


def copy_model(folder: Path, model: Path = MODELS[1]) -> Path:
    folder.mkdir(parents=True)
    for name in ('waste_classifier.onnx', 'labels.txt', 'model_card.json'):
        shutil.copyfile(model.with_name(name), folder / name)
    return folder / 'waste_classifier.onnx'


def test_interpolated_weights_lie_between_the_start_and_the_end():
    start = {'w': torch.zeros(3), 'b': torch.tensor([1.0, 2.0]), 'n': torch.tensor(5)}
    end = {'w': torch.tensor([4.0, -4.0, 8.0]), 'b': torch.tensor([3.0, 2.0]),
           'n': torch.tensor(9)}
    mixed = adapt.interpolated(start, end, 0.25)
    assert torch.equal(mixed['w'], torch.tensor([1.0, -1.0, 2.0]))
    assert torch.equal(mixed['b'], torch.tensor([1.5, 2.0]))
    assert mixed['n'].item() == 9  # counters (num_batches_tracked) are not mixed
    assert torch.equal(adapt.interpolated(start, end, 1.0)['w'], end['w'])


@pytest.fixture(scope='module')
def station(tmp_path_factory):
    root = tmp_path_factory.mktemp('adapt')
    base = photos(root / 'base', COLOURS, per_class=(4, 2))
    station = photos(root / 'station', {'trash': GREY, 'glass': COLOURS['glass'],
                                        'metal': COLOURS['metal']}, per_class=(6, 3), seed=1)
    return root, base, station


def weights(path: Path) -> dict:
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def conv_weights(path: Path) -> dict:
    graph = onnx.load(str(path)).graph
    values = weights(path)
    return {node.name: values[node.input[1]] for node in graph.node if node.op_type == 'Conv'}


FAST = ['--batch-size', '8', '--epochs', '2', '--samples-per-epoch', '16', '--views', '1',
        '--max-class-drop', '100', '--node', '', '--cache', '', '--work', '']


@pytest.mark.parametrize('scope', ['head', 'blocks', 'all'])
def test_each_scope_adapts_end_to_end(station, tmp_path, scope, capsys):
    root, base, station_dir = station
    model = copy_model(tmp_path / 'model')
    out = tmp_path / 'out'
    assert retrain.main(['--station', str(station_dir), '--base', f'base={base}',
                         '--model', str(model), '--out', str(out), '--scope', scope,
                         '--promote', *FAST]) == 0
    report = json.loads((out / 'comparison.json').read_text())
    assert report['scope'] == scope and report['installed'] == str(model.parent)
    card = json.loads((model.parent / 'model_card.json').read_text())
    assert card['retrain']['scope'] == scope and card['parent']['onnx_sha256']
    # Temperature fitted on the station's val, ECE before and after reported.
    assert card['calibration']['per_source']['station']['ece_after'] >= 0
    parent, new = conv_weights(MODELS[1]), conv_weights(out / 'waste_classifier.onnx')
    # Weights the scope did not train come back through the export up to float rounding.
    changed = {name for name in parent
               if not np.allclose(parent[name], new[name], rtol=1e-4, atol=1e-6)}
    if scope == 'head':
        assert not changed  # only the classifier layer moved
        assert set(weights(MODELS[1])) == set(weights(out / 'waste_classifier.onnx'))
    elif scope == 'blocks':
        assert '/model/conv_stem/Conv' not in changed and '/model/conv_head/Conv' in changed
        # WiSE-FT candidates (--mix-steps 4 by default): three mixes scored, at most one kept.
        mixes = card['retrain']['mixes']
        assert [m['share'] for m in mixes] == [0.75, 0.5, 0.25]
        kept = [m['share'] for m in mixes if m['kept']]
        assert kept == ([card['retrain']['kept_share']] if kept else []) and len(kept) <= 1
        assert all(not m['guard'] for m in mixes if m['kept'])
        assert not any('blocks.3' in name for name in changed)  # stages 0-3 stay frozen
        assert any('blocks.4' in name for name in changed)
    else:
        assert '/model/conv_stem/Conv' in changed and '/model/conv_head/Conv' in changed
    assert 'station' in capsys.readouterr().out


def test_the_default_trains_blocks_and_head_and_keeps_the_better_on_the_station(station,
                                                                                tmp_path):
    root, base, station_dir = station
    model = copy_model(tmp_path / 'model')
    out = tmp_path / 'out'
    assert retrain.main(['--station', str(station_dir), '--base', f'base={base}',
                         '--model', str(model), '--out', str(out), *FAST]) == 0
    card = json.loads((out / 'model_card.json').read_text())['retrain']
    rows = card['candidates']
    assert [row['scope'] for row in rows] == ['blocks', 'head']
    # Of the scopes within the guard, the best on the station's val or the last layer where
    # the 9 station val photos cannot tell it from the best: never below it beyond the noise.
    scopes = [Candidate.from_row(row) for row in rows]
    qualify = [c for c in scopes if not c.guard] or scopes
    best = max(qualify, key=Candidate.by_bases)
    kept = next(c for c in scopes if c.scope == card['scope'])
    assert kept in qualify and kept.within_noise(best, 0.95)
    assert kept is best or kept.scope == 'head'
    assert json.loads((out / 'comparison.json').read_text())['scope'] == kept.scope
    # The kept model is the chosen candidate: its station top-1 is the one measured in training
    # (the exported file may differ from PyTorch on one borderline photo at most).
    station = card['comparison']['station']['new']
    assert abs(station['top1'] - kept.station_top1) <= 1 / station['num_images'] + 1e-9


def test_the_default_retrain_of_the_shipped_model_learns_from_the_station_floor(station,
                                                                                tmp_path):
    root, base, _ = station
    # The shipped model has the empty class; the base source has no empty scenes.
    station_dir = photos(tmp_path / 'station', {'empty': (200, 180, 120),
                                                'glass': COLOURS['glass'],
                                                'metal': COLOURS['metal']}, seed=2)
    model = copy_model(tmp_path / 'model', MODELS[0])
    out = tmp_path / 'out'
    assert retrain.main(['--station', str(station_dir), '--base', f'base={base}',
                         '--model', str(model), '--out', str(out), *FAST]) == 0
    report = json.loads((out / 'comparison.json').read_text())
    card = json.loads((out / 'model_card.json').read_text())['retrain']
    assert [row['scope'] for row in card['candidates']] == ['blocks', 'head']
    assert card['train'] == {'base': 28, 'station': 18}  # the floor's photos among them
    assert report['comparison']['station']['support']['empty'] == 3
    assert set(report['comparison']['station']['recall_new']) >= {'empty', 'glass'}
    assert report['not_judged'] == {'base': ['empty']}
    assert promotion.judge_comparison(report['comparison'], report['bases'], promotion.Guard(
        0.01, 1.0)) == (report['wins_by_rule'], report['decision'])


@pytest.mark.parametrize('scope', ['blocks,blocks', 'head,layers', ''])
def test_a_scope_list_it_cannot_train_is_refused(scope, capsys):
    with pytest.raises(SystemExit) as exit_status:
        retrain.parse_args(['--station', 'anywhere', '--scope', scope])
    assert exit_status.value.code == 2
    assert 'one or more of head, blocks, all' in capsys.readouterr().err


def test_a_killed_retrain_leaves_the_installed_model_byte_identical(station, tmp_path):
    root, base, station_dir = station
    model = copy_model(tmp_path / 'model')
    before = {p.name: p.read_bytes() for p in model.parent.iterdir()}
    log = tmp_path / 'retrain.log'
    with open(log, 'w') as stream:
        process = subprocess.Popen(
            [sys.executable, '-m', 'training.station.retrain', '--station', str(station_dir),
             '--base', f'base={base}', '--model', str(model), '--out', str(tmp_path / 'out'),
             '--scope', 'all', '--promote', *FAST[:4], '--epochs', '20', *FAST[6:]],
            stdout=stream, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, 'PYTHONPATH': str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        while 'all epoch 1/20' not in log.read_text():
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, 'the retrain never reached its first epoch'
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(30)
    assert {p.name: p.read_bytes() for p in model.parent.iterdir()} == before
    assert not (tmp_path / 'out' / 'waste_classifier.onnx').exists()


def test_a_killed_retrain_resumes_after_its_last_finished_epoch(station, tmp_path):
    root, base, station_dir = station
    model = copy_model(tmp_path / 'model')

    def command(out: str, work: str) -> list[str]:
        return [sys.executable, '-m', 'training.station.retrain', '--station', str(station_dir),
                '--base', f'base={base}', '--model', str(model), '--out', str(tmp_path / out),
                '--scope', 'blocks', *FAST[:2], '--epochs', '4', '--patience', '9',
                *FAST[4:12], '--work', work, '--install-dir', str(tmp_path / out / 'installed')]

    environ = {**os.environ, 'PYTHONPATH': str(ROOT)}
    log = tmp_path / 'killed.log'
    with open(log, 'w') as stream:
        process = subprocess.Popen(command('killed', str(tmp_path / 'work')), stdout=stream,
                                   stderr=subprocess.STDOUT, cwd=ROOT, env=environ)
    try:
        deadline = time.monotonic() + 120
        while 'blocks epoch 2/4' not in log.read_text():
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, 'the retrain never reached its second epoch'
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(30)
    assert list((tmp_path / 'work').glob('*/last_epoch.pt')), 'no epoch kept to resume from'
    resumed = subprocess.run(command('resumed', str(tmp_path / 'work')), capture_output=True,
                             text=True, cwd=ROOT, env=environ, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert 'resumed after epoch' in resumed.stderr and 'blocks epoch 1/4' not in resumed.stderr
    assert not list((tmp_path / 'work').glob('*/*.pt'))  # a finished fit leaves nothing behind
    whole = subprocess.run(command('whole', ''), capture_output=True, text=True, cwd=ROOT,
                           env=environ, timeout=300)
    assert whole.returncode == 0, whole.stderr[-2000:]
    # The resumed run trained the same epochs as one never interrupted: the same weights.
    assert (weights(tmp_path / 'resumed' / 'waste_classifier.onnx').keys()
            == weights(tmp_path / 'whole' / 'waste_classifier.onnx').keys())
    for name, value in weights(tmp_path / 'whole' / 'waste_classifier.onnx').items():
        assert np.allclose(weights(tmp_path / 'resumed' / 'waste_classifier.onnx')[name], value,
                           atol=1e-6), name


def test_the_learning_curve_scores_every_count_per_scope(station, tmp_path):
    from training.station import learning_curve

    root, base, station_dir = station
    model = copy_model(tmp_path / 'model')
    out = tmp_path / 'curve'
    assert learning_curve.main(['--station', str(station_dir), '--base', f'base={base}',
                                '--model', str(model), '--scopes', 'head,blocks',
                                '--counts', '0,6,all', '--out', str(out), '--set', 'epochs=2',
                                '--set', 'batch_size=8', '--set', 'samples_per_epoch=32',
                                '--set', 'views=1', '--set', 'max_drop=1',
                                '--set', 'max_class_drop=1']) == 0
    report = json.loads((out / 'curve.json').read_text())
    assert report['counts'] == [0, 6, 18]
    for scope in ('head', 'blocks'):
        curve = report['curves'][scope]
        assert set(curve) == {'0', '6', '18'}
        # n = 0 is the model as it is: the same for every scope.
        assert curve['0']['station']['top1'] == report['curves']['head']['0']['station']['top1']
        assert curve['18']['station']['top1'] > curve['0']['station']['top1']
    # The curve of the default retrain: at each count the scope it would keep.
    chosen = report['curves']['head,blocks']
    for n in ('6', '18'):
        scope = chosen[n]['fit']['scope']
        assert scope in ('head', 'blocks')
        assert chosen[n]['station'] == report['curves'][scope][n]['station']
        # With a guard nothing breaks, the last layer unless the blocks are better on the
        # station's val (beyond the noise, which 9 photos seldom show).
        other = report['curves']['blocks' if scope == 'head' else 'head'][n]
        assert scope == 'head' or chosen[n]['station']['top1'] > other['station']['top1']
    assert (out / 'curve.png').stat().st_size > 5000
    assert '| blocks | 18 |' in (out / 'curve.md').read_text()
