# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Training killed mid-epoch with SIGKILL resumes from its last checkpoint to the configured end.

tests/test_training.py covers corrupt images, an empty class, a class only in val and a resume
after a run that ended normally. Here the run really dies: `python -m training.recipe.train` runs
as its own process, is SIGKILLed early in epoch 2 (as soon as epoch 1's checkpoint exists, so no
handler or finally block can tidy up), and a second run, in this process, resumes from the
checkpoint left behind. The checkpoint must be whole, the resumed run must start after epoch 1,
train only the remaining epoch and end at the same final epoch count as an uninterrupted run.
"""

import logging
from pathlib import Path
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('timm')
pytest.importorskip('hydra')

from hydra import compose, initialize_config_dir  # noqa: E402
from training_support import CONF_DIR, single_source_overrides, tiny_overrides  # noqa: E402

from training.recipe import train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ('blue', 'green', 'red')
EPOCHS = 2


def _dataset(root: Path, per_class=(8, 2)) -> Path:
    rng = np.random.default_rng(0)
    for split, count in zip(('train', 'val'), per_class):
        for index, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                image = rng.integers(60, 120, size=(40, 48, 3), dtype=np.uint8)
                image[8:32, 12:36, index] = 230
                cv2.imwrite(str(folder / f'{i}.png'), image)
    return root


def _overrides(dataset):
    return [*single_source_overrides(dataset, CLASSES), *tiny_overrides(epochs=EPOCHS)]


def _config(dataset, *overrides):
    with initialize_config_dir(config_dir=CONF_DIR, version_base='1.3'):
        return compose('train', overrides=[*_overrides(dataset), *overrides])


def _epoch(checkpoint: Path) -> int:
    return torch.load(checkpoint, map_location='cpu', weights_only=True)['epoch']


def test_sigkill_mid_epoch_then_resume_reaches_the_configured_epoch(tmp_path, caplog):
    dataset = _dataset(tmp_path / 'data')
    first_dir, second_dir = tmp_path / 'killed', tmp_path / 'resumed'
    checkpoint = first_dir / 'last.ckpt'
    with open(tmp_path / 'killed.log', 'w') as log:
        command = [sys.executable, '-m', 'training.recipe.train', *_overrides(dataset),
                   f'hydra.run.dir={first_dir}']
        first = subprocess.Popen(command, cwd=ROOT, stdout=log,
                                 stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            # A bounded poll: the checkpoint is renamed into place whole, once per epoch.
            while not checkpoint.exists() and first.poll() is None and \
                    time.monotonic() < deadline:
                time.sleep(0.02)
            assert checkpoint.exists(), (
                f'no checkpoint after epoch 1 (exit code {first.poll()}):\n'
                f'{(tmp_path / "killed.log").read_text()[-3000:]}')
            first.kill()
            assert first.wait(10) == -9, 'the run ended before it could be killed mid-epoch'
        finally:
            first.kill()
    output = (tmp_path / 'killed.log').read_text()
    assert 'training finished' not in output, 'the run finished before the kill'
    assert _epoch(checkpoint) == 1, 'the kill came after epoch 2 was saved, not mid-epoch'

    # The resumed run goes in this process (torch is imported once for the training tests).
    with caplog.at_level(logging.INFO, logger='training.recipe.train'):
        result = train.run(_config(dataset, f'resume={checkpoint}'), second_dir)
    log = caplog.text
    assert 'after epoch 1' in log, f'the run did not resume from epoch 1:\n{log[-3000:]}'
    assert f'epoch 1/{EPOCHS} size' not in log, 'epoch 1 was trained again'
    assert f'epoch {EPOCHS}/{EPOCHS} size' in log
    assert f'training finished: {EPOCHS} epochs' in log
    assert _epoch(Path(result['last'])) == EPOCHS
    assert Path(result['checkpoint']).name == 'best.ckpt' and Path(result['checkpoint']).exists()
