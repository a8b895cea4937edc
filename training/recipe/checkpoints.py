# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Training checkpoints: written atomically, read with ``weights_only=True``, turned into models.

A checkpoint carries everything needed to rebuild and describe its model (architecture, classes,
input size, preprocessing, config, sources, metrics, calibration) as tensors and plain
containers, so reading one never runs code from the file. Evaluation and export import this
module, not the training loop.
"""

from pathlib import Path
from typing import Union

import torch
from torch import nn

from training.recipe import models
from waste_classifier_ros.core.atomic_files import atomic_write

CHECKPOINT_FORMAT = 'waste_classifier_ros.training/2'


def save_checkpoint(path: Path, state: dict) -> None:
    """Write then rename, so an interrupted save never leaves a half-written checkpoint."""
    atomic_write(Path(path), lambda out: torch.save(state, out))


def load_checkpoint(path: Union[str, Path]) -> dict:
    """Read a checkpoint without running code from it; a foreign file is a ValueError."""
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except OSError:
        raise  # a missing or unreadable file says so itself
    except Exception as error:  # noqa: BLE001 - torch: UnpicklingError, RuntimeError, EOFError
        # torch's text for a foreign file advises weights_only=False, which would run code from
        # the file: say what the file is not, with only the unpickler's reason from torch.
        reason = (str(error).partition('WeightsUnpickler error:')[2].strip() or str(error)
                  or type(error).__name__)
        raise ValueError(f'{path}: not a readable waste_classifier_ros training checkpoint '
                         f'({reason.splitlines()[0]})') from error
    if not isinstance(checkpoint, dict) or checkpoint.get('format') != CHECKPOINT_FORMAT:
        raise ValueError(f'{path}: not a waste_classifier_ros training checkpoint')
    return checkpoint


def model_from_checkpoint(checkpoint: dict) -> nn.Module:
    """Rebuild the network in eval mode; it outputs logits (see ``temperature``)."""
    model = models.create_model(checkpoint['arch'], len(checkpoint['classes']), pretrained=False)
    model.load_state_dict(checkpoint['model'])
    return model.eval()




def temperature(checkpoint: dict) -> float:
    """Return the calibration temperature fitted after training (1.0 when none was)."""
    return float((checkpoint.get('calibration') or {}).get('temperature', 1.0))
