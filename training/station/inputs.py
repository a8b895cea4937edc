# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The photos a station adaptation learns from and is scored on.

The base sources (a dataset config of training/conf/dataset/, or folders), the station's
reviewed ``train/`` and ``val/`` photos (refused, naming the problem, when a retrain cannot
learn from them), the evaluation folders both models are scored on, and the station's
unlabelled photos for the label-free statistics.
"""

import argparse
import logging
from pathlib import Path

import numpy as np

from training.recipe import data, evaluate, sources
from training.station import adapt
from waste_classifier_ros.core.atomic_files import is_image
from waste_classifier_ros.core.preprocessing import INPUT_SIZE, resize_rgb
from waste_classifier_ros.flywheel.promotion import STATION

log = logging.getLogger(__name__)


def base_sources(dataset: str, folders: list) -> list:
    if folders:
        return [sources.Source(name, root, class_map)
                for name, root, class_map in
                (sources.parse_named_folder(folder, '--base') for folder in folders)]
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(Path(__file__).parents[1] / 'conf'),
                               version_base='1.3'):
        cfg = compose('train', overrides=[f'dataset={dataset}'])
    return sources.sources_from_config(cfg.sources)


def eval_folders(args: argparse.Namespace,
                 bases: list[sources.Source]) -> dict[str, tuple[Path, evaluate.ClassMap]]:
    """Folders both models are scored on: station val, each base source's val, --eval."""
    folders: dict[str, tuple[Path, evaluate.ClassMap]] = {}
    if (args.station / 'val').is_dir():
        folders[STATION] = (args.station / 'val', None)
    for source in bases:
        folders[source.name] = (source.root / 'val', source.class_map)
    for item in args.eval:
        name, folder, class_map = sources.parse_named_folder(item, '--eval')
        folders[name] = (folder, class_map)
    return folders


def capped(samples: list, per_class: int) -> list:
    """At most ``per_class`` samples of each label, spread evenly over the sorted files."""
    if not per_class:
        return samples
    out = []
    for label in sorted({label for _, label in samples}):
        mine = [sample for sample in samples if sample[1] == label]
        step = max(1, len(mine) / per_class)
        out += [mine[int(i * step)] for i in range(min(per_class, len(mine)))]
    return out


def check_station(split: sources.SourceSplit, classes: list, batch_size: int) -> None:
    """Refuse a station the retrain cannot learn from, naming the problem, before any work."""
    found = sorted({classes[label] for _, label in split.samples})
    root = split.source.root / split.split
    if len(found) < 2:
        raise ValueError(f'{root}: photos of {len(found)} class(es) only ({", ".join(found)}); '
                         'a retrain needs reviewed photos of at least two classes')
    if len(split.samples) < batch_size:
        raise ValueError(f'{root}: {len(split.samples)} reviewed photos, fewer than one batch '
                         f'({batch_size}); review more captures (or pass a smaller '
                         '--batch-size)')
    corrupt = [str(path) for path, _ in split.samples if data.read_rgb(path) is None]
    if corrupt:
        raise ValueError(f'{len(corrupt)} station photo(s) cannot be decoded, e.g. '
                         f'{corrupt[0]}: remove or replace them, then retrain')
    missing = [c for c in classes if c not in found]
    if missing:
        log.info('the station has no reviewed photos of %s: the base sources alone teach '
                 'them', ', '.join(missing))


def unlabelled_photos(inbox: Path | None, train: adapt.Photos, station_id: int) -> list:
    """Collect the station's camera photos without labels: inbox captures and train photos."""
    photos = [train.images[i] for i in np.flatnonzero(train.source_ids == station_id)]
    if inbox is not None:
        files = sorted(p for p in Path(inbox).glob('*/*')
                       if is_image(p) and not p.parent.name.startswith('.'))
        decoded = [data.read_rgb(path) for path in files]
        photos += [resize_rgb(rgb, INPUT_SIZE) for rgb in decoded if rgb is not None]
        log.info('label-free: %d inbox captures (%d unreadable skipped) and %d reviewed photos',
                 sum(rgb is not None for rgb in decoded),
                 sum(rgb is None for rgb in decoded), len(photos) - len(files))
    return photos
