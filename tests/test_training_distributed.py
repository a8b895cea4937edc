# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Distributed training (issue 14): the sharded sampler, the reductions, and training under torchrun.

The sampler is checked on its own (no process group needed: every rank's share is a pure
function of seed, epoch, rank and world size). Everything else runs in real gloo process groups
of two processes on localhost, joined through the environment variables torchrun sets: the
reductions; two processes training on a tiny generated two-source dataset (same weights on both
ranks, only rank 0 writes, and the metrics it reports equal a single-process evaluation of the
saved checkpoint); and `torchrun -m training.recipe.train` SIGKILLed mid-epoch, then resumed under
torchrun and by one process.
"""

from collections import Counter
import json
import logging
import os
from pathlib import Path
import socket
import subprocess
import sys
import time

import cv2
import numpy as np
import psutil
import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('timm')
pytest.importorskip('hydra')

from hydra import compose, initialize_config_dir  # noqa: E402
from training_support import CONF_DIR, ROOT, tiny_overrides, write_labels  # noqa: E402

from training.recipe import distributed, evaluate, train  # noqa: E402
from training.recipe.checkpoints import load_checkpoint  # noqa: E402


def _weights(labels) -> np.ndarray:
    """Per-sample probabilities that draw every class equally often."""
    labels = np.asarray(labels)
    counts = np.bincount(labels)
    weights = 1.0 / counts[labels]
    return weights / weights.sum()


LABELS = np.array([0] * 90 + [1] * 8 + [2] * 2)


def _shares(epoch: int, world_size: int, num_samples: int = 101, seed: int = 7) -> list:
    shares = []
    for rank in range(world_size):
        sampler = distributed.BalancedDistributedSampler(_weights(LABELS), num_samples, seed,
                                                         rank, world_size)
        sampler.set_epoch(epoch)
        shares.append(list(sampler))
    return shares


@pytest.mark.parametrize('world_size', [2, 3, 4])
def test_ranks_take_disjoint_shares_of_one_global_draw(world_size):
    reference = distributed.BalancedDistributedSampler(_weights(LABELS), 101, 7, 0, world_size)
    reference.set_epoch(3)
    draw = reference.global_draw().tolist()
    shares = _shares(3, world_size)
    per_rank = -(-101 // world_size)
    assert len(draw) == per_rank * world_size
    assert [len(share) for share in shares] == [per_rank] * world_size
    # Position i of the padded draw belongs to rank i % world_size and to no other rank: the
    # interleaved shares are the draw itself, and together they hold it exactly once.
    interleaved = [shares[i % world_size][i // world_size] for i in range(len(draw))]
    assert interleaved == draw
    assert Counter(sum(shares, [])) == Counter(draw)
    # The padding repeats the start of the draw, at most world_size - 1 positions.
    assert draw[101:] == draw[:len(draw) - 101]


def test_the_shares_together_are_class_balanced():
    shares = _shares(0, 2, num_samples=30000)
    drawn = LABELS[np.concatenate(shares)]
    fractions = np.bincount(drawn, minlength=3) / len(drawn)
    # 90 : 8 : 2 in the data, a third each in the draw (3 sigma of a binomial is 0.008).
    np.testing.assert_allclose(fractions, [1 / 3] * 3, atol=0.01)
    for share in shares:
        per_rank = np.bincount(LABELS[share], minlength=3) / len(share)
        np.testing.assert_allclose(per_rank, [1 / 3] * 3, atol=0.015)


def test_a_new_epoch_reshuffles_and_the_same_epoch_repeats():
    first, second = _shares(0, 2), _shares(1, 2)
    assert first != second
    assert _shares(0, 2) == first
    # The same seed and epoch give the same draw whatever the world size: only the split differs.
    one = distributed.BalancedDistributedSampler(_weights(LABELS), 101, 7)
    one.set_epoch(1)
    assert list(one) == [second[i % 2][i // 2] for i in range(101)]


def test_one_process_gets_the_plain_weighted_draw():
    weights = _weights(LABELS)
    sampler = distributed.BalancedDistributedSampler(weights, 100, seed=5)
    sampler.set_epoch(2)
    plain = torch.multinomial(torch.from_numpy(weights), 100, replacement=True,
                              generator=torch.Generator().manual_seed(7))
    assert list(sampler) == plain.tolist()
    weighted = torch.utils.data.WeightedRandomSampler(
        torch.from_numpy(weights), 100, replacement=True,
        generator=torch.Generator().manual_seed(7))
    assert list(sampler) == list(weighted)
    assert len(sampler) == 100


@pytest.mark.parametrize('kwargs, message', [
    ({'weights': np.array([1.0, -1.0])}, 'non-negative'),
    ({'weights': np.array([0.0, 0.0])}, 'not all zero'),
    ({'weights': np.array([1.0, np.nan])}, 'finite'),
    ({'weights': np.zeros((2, 2))}, '1-D'),
    ({'num_samples': 0}, 'num_samples'),
    ({'rank': 2, 'world_size': 2}, 'rank 2 is not in a world of 2'),
])
def test_bad_sampler_arguments_are_refused(kwargs, message):
    arguments = {'weights': np.ones(4), 'num_samples': 8, 'seed': 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        distributed.BalancedDistributedSampler(**arguments)


def test_the_global_batch_splits_evenly_or_is_refused(caplog):
    assert distributed.local_batch_size(32, 2) == 16
    with pytest.raises(ValueError, match='batch_size=32 is the global batch'):
        distributed.local_batch_size(32, 3)
    with caplog.at_level(logging.INFO, logger='training.recipe.distributed'):
        distributed.log_world_size_change(2, 2, 32)
        assert caplog.text == ''
        distributed.log_world_size_change(1, 4, 32)
    assert 'trained on 1 process(es) with 4: the global batch stays 32 (8 per process)' \
        in caplog.text
    with pytest.raises(ValueError, match='multiple of the 3 processes'):
        distributed.log_world_size_change(2, 3, 32)


def test_one_process_is_rank_0_of_1_without_a_process_group(monkeypatch):
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with distributed.session('cpu') as context:
        assert (context.rank, context.world_size, context.distributed) == (0, 1, False)
        assert distributed.is_main()
        assert not torch.distributed.is_initialized()
        np.testing.assert_array_equal(distributed.all_reduce_sum([1, 2]), [1.0, 2.0])
        assert distributed.shard(3) == range(3)
        assert distributed.launcher() == 'python -m'
        assert distributed.hydra_overrides() == []
        assert distributed.format_throughput(12.34, 1) == '12.3 img/s'


@pytest.mark.parametrize('rank, world_size, local_world_size, launcher, writes', [
    (0, 4, 4, 'torchrun --nproc-per-node 4 -m', True),
    (3, 4, 4, 'torchrun --nproc-per-node 4 -m', False),
    (3, 4, 2, 'torchrun --nnodes 2 --nproc-per-node 2 -m', False),
])
def test_under_torchrun_only_rank_0_gets_a_hydra_folder(monkeypatch, rank, world_size,
                                                        local_world_size, launcher, writes):
    environ = {'RANK': rank, 'WORLD_SIZE': world_size, 'LOCAL_RANK': rank % local_world_size,
               'LOCAL_WORLD_SIZE': local_world_size, 'MASTER_ADDR': 'localhost',
               'MASTER_PORT': 29400}
    for name, value in environ.items():
        monkeypatch.setenv(name, str(value))
    assert distributed.launcher() == launcher
    assert (distributed.hydra_overrides() == []) == writes
    if not writes:
        assert 'hydra/job_logging=stdout' in distributed.hydra_overrides()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _reduce_in_group(rank: int, port: int, out_dir: str) -> None:
    """One of two gloo processes: join as torchrun would, then reduce, gather and average."""
    import os
    os.environ.update({'RANK': str(rank), 'WORLD_SIZE': '2', 'LOCAL_RANK': str(rank),
                       'MASTER_ADDR': '127.0.0.1', 'MASTER_PORT': str(port)})
    with distributed.session('cpu') as context:
        total = 5  # rank 0 holds rows 0, 2, 4 and rank 1 rows 1, 3: uneven shards
        mine = list(distributed.shard(total))
        rows = np.array([[10.0 * i, i + 0.5] for i in mine])
        gathered = distributed.gather_rows(rows, total)
        summed = distributed.all_reduce_sum([1.0, context.rank])
        batchnorm = torch.nn.BatchNorm1d(2)
        batchnorm.running_mean.fill_(float(context.rank))  # 0 on rank 0, 1 on rank 1
        distributed.average_buffers(batchnorm)
        result = {'main': distributed.is_main(), 'gathered': gathered.tolist(),
                  'summed': summed.tolist(), 'mean': batchnorm.running_mean.tolist(),
                  'batches': int(batchnorm.num_batches_tracked)}
    with open(f'{out_dir}/rank{rank}.json', 'w') as file:
        json.dump(result, file)


def test_reductions_in_a_two_process_gloo_group(tmp_path):
    torch.multiprocessing.spawn(_reduce_in_group, args=(_free_port(), str(tmp_path)), nprocs=2,
                                join=True)
    results = [json.loads((tmp_path / f'rank{rank}.json').read_text()) for rank in range(2)]
    assert [result['main'] for result in results] == [True, False]
    expected = [[10.0 * i, i + 0.5] for i in range(5)]
    for result in results:
        assert result['gathered'] == expected
        assert result['summed'] == [2.0, 1.0]
        assert result['mean'] == [0.5, 0.5]
        assert result['batches'] == 0


# A tiny two-source dataset: "studio" uses the project's class names, "floor" its own folder
# names with a class map that also drops a folder.
CLASSES = ('blue', 'green', 'red')
FLOOR_MAP = {'Bluish': 'blue', 'Greenish': 'green', 'Reddish': 'red', 'Unknown': None}
EPOCHS = 2


def _two_sources(root: Path) -> list:
    rng = np.random.default_rng(0)
    layout = {'studio': ({name: name for name in CLASSES}, (8, 3)),
              'floor': (FLOOR_MAP, (5, 2))}
    for source, (folders, counts) in layout.items():
        for split, count in zip(('train', 'val'), counts):
            for folder, target in folders.items():
                (root / source / split / folder).mkdir(parents=True)
                for i in range(count):
                    image = rng.integers(60, 120, size=(40, 48, 3), dtype=np.uint8)
                    channel = CLASSES.index(target) if target else 1
                    image[8:32, 12:36, channel] = 230 if target else 120
                    cv2.imwrite(str(root / source / split / folder / f'{i}.png'), image)
    labels = write_labels(root, CLASSES)
    class_map = ','.join(f'{key}:{value or "null"}' for key, value in FLOOR_MAP.items())
    # The overrides a user would type: the two sources instead of the shipped dataset's.
    return ['dataset=permissive', '~sources.waste7', f'classes_file={labels}',
            f'+sources.studio.root={root / "studio"}', f'+sources.floor.root={root / "floor"}',
            f'+sources.floor.class_map={{{class_map}}}',
            *tiny_overrides(epochs=EPOCHS), 'head_epochs=1']


def _config(overrides):
    with initialize_config_dir(config_dir=CONF_DIR, version_base='1.3'):
        return compose('train', overrides=overrides)


def _train_as_rank(rank: int, port: int, overrides: list, tmp: str) -> None:
    """One of two processes of a gloo group, started as torchrun would start it."""
    os.environ.update({'RANK': str(rank), 'WORLD_SIZE': '2', 'LOCAL_RANK': str(rank),
                       'MASTER_ADDR': '127.0.0.1', 'MASTER_PORT': str(port)})
    result = train.run(_config(overrides), Path(tmp) / f'run{rank}')
    torch.save(result['model'].state_dict(), Path(tmp) / f'weights{rank}.pt')


def test_two_gloo_processes_train_one_model_and_report_single_process_metrics(tmp_path):
    overrides = _two_sources(tmp_path / 'data')
    torch.multiprocessing.spawn(_train_as_rank, args=(_free_port(), overrides, str(tmp_path)),
                                nprocs=2, join=True)
    weights = [torch.load(tmp_path / f'weights{rank}.pt', weights_only=True) for rank in (0, 1)]
    checkpoint = load_checkpoint(tmp_path / 'run0' / 'last.ckpt')
    assert checkpoint['epoch'] == EPOCHS and checkpoint['world_size'] == 2
    assert checkpoint['train']['images_per_s'] > 0
    for key, value in weights[0].items():
        # Parameters by DDP's averaged gradients, BatchNorm statistics by average_buffers.
        assert torch.equal(value, weights[1][key]), f'{key} differs between the ranks'
        assert torch.equal(value, checkpoint['model'][key]), f'{key} differs from last.ckpt'
    assert not (tmp_path / 'run1').exists(), 'rank 1 wrote to its output folder'
    assert (tmp_path / 'run0' / 'best.ckpt').is_file() and (tmp_path / 'run0' / 'tb').is_dir()

    # One process evaluating the saved checkpoint on each source's val split gets exactly the
    # metrics the two processes reported for it.
    single = evaluate.evaluate_sources(
        evaluate.load_classifier(tmp_path / 'run0' / 'last.ckpt'),
        {'studio': (tmp_path / 'data' / 'studio' / 'val', None),
         'floor': (tmp_path / 'data' / 'floor' / 'val', FLOOR_MAP)})
    reported = checkpoint['metrics']['per_source']
    assert set(reported) == {'studio', 'floor'}
    for name in ('studio', 'floor'):
        assert reported[name]['num_images'] == single['per_source'][name]['num_images']
        assert reported[name]['confusion_matrix'] == \
            single['per_source'][name]['confusion_matrix'], name
        for key in ('top1', 'top5', 'macro_f1'):
            assert reported[name][key] == pytest.approx(single['per_source'][name][key],
                                                        abs=1e-12), (name, key)
    assert [reported[name]['num_images'] for name in ('studio', 'floor')] == [9, 6]


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL torchrun and its workers (they run in sessions of their own)."""
    try:
        members = [psutil.Process(process.pid)]
        members += members[0].children(recursive=True)
    except psutil.NoSuchProcess:
        members = []
    for member in members:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(members, timeout=10)
    process.wait(10)


def _torchrun(overrides, *more) -> list:
    return [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node',
            '2', '-m', 'training.recipe.train', *overrides, *more]


def test_torchrun_killed_mid_epoch_resumes_to_the_configured_epoch(tmp_path, caplog):
    overrides = _two_sources(tmp_path / 'data')
    first_dir = tmp_path / 'killed'
    checkpoint = first_dir / 'last.ckpt'
    log_path = tmp_path / 'killed.log'
    with open(log_path, 'w') as log:
        first = subprocess.Popen(_torchrun(overrides, f'hydra.run.dir={first_dir}'), cwd=ROOT,
                                 stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            # A bounded poll: rank 0 renames the checkpoint into place whole, once per epoch.
            while not checkpoint.exists() and first.poll() is None and \
                    time.monotonic() < deadline:
                time.sleep(0.02)
            assert checkpoint.exists(), (
                f'no checkpoint after epoch 1 (exit code {first.poll()}):\n'
                f'{log_path.read_text()[-3000:]}')
        finally:
            _kill_tree(first)
    assert 'training finished' not in log_path.read_text(), 'the run finished before the kill'
    assert load_checkpoint(checkpoint)['epoch'] == 1, 'the kill came after epoch 2 was saved'

    resumed = subprocess.run(
        _torchrun(overrides, f'resume={checkpoint}', f'hydra.run.dir={tmp_path / "resumed"}'),
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, output[-3000:]
    assert 'after epoch 1' in output, output[-3000:]
    assert f'epoch 1/{EPOCHS} size' not in output, 'epoch 1 was trained again'
    assert output.count(f'epoch {EPOCHS}/{EPOCHS} size') == 1, 'not one copy of the epoch line'
    assert '2 processes x' in output, 'no throughput per process in the epoch line'
    assert f'training finished: {EPOCHS} epochs' in output
    final = load_checkpoint(tmp_path / 'resumed' / 'last.ckpt')
    assert final['epoch'] == EPOCHS and final['world_size'] == 2
    assert final['command'].startswith('torchrun --nproc-per-node 2 -m training.recipe.train ')
    assert final['resumes'][-1]['world_size'] == 2

    # The same checkpoint resumed by one process: the log says what changes; same end.
    with caplog.at_level(logging.INFO):
        alone = train.run(_config([*overrides, f'resume={checkpoint}']), tmp_path / 'alone')
    assert 'trained on 2 process(es) with 1: the global batch stays 4' in caplog.text
    assert load_checkpoint(alone['last'])['epoch'] == EPOCHS
