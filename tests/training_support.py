# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Shared by the training tests: the recipe shrunk to seconds on a tiny dataset of their own."""

from pathlib import Path

from waste_classifier_ros.core import model_card

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = str(ROOT / 'training' / 'conf')


def write_labels(directory: Path, classes) -> Path:
    """Write a labels.txt of the tiny dataset's classes (in a real run: the project's)."""
    path = Path(directory) / 'labels.txt'
    model_card.write_labels(path, classes)
    return path


def tiny_overrides(size: int = 64, epochs: int = 1, batch_size: int = 4) -> list:
    """Hydra overrides that make the recipe run in seconds: random init, one size, no warm-up.

    No EMA either: a few steps cannot fill the recipe's ~500-step average.
    """
    return ['pretrained=false', f'epochs={epochs}', 'head_epochs=0', 'warmup_epochs=0',
            f'batch_size={batch_size}', f'input_size={size}', f'min_train_size={size}',
            'cache_short_side=64', 'threads=1', 'workers=0', 'device=cpu', 'ema_decay=0']


def single_source_overrides(dataset_root: Path, classes, name: str = 'shapes') -> list:
    """Command-line overrides training on ``dataset_root`` as the only source, as a user would."""
    labels = write_labels(Path(dataset_root).parent, classes)
    return ['dataset=permissive', '~sources.waste7', f'+sources.{name}.root={dataset_root}',
            f'classes_file={labels}']
