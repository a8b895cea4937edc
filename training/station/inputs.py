# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The photos a station adaptation learns from and is scored on, and the plan of a retrain.

The base sources (a dataset config of training/conf/dataset/, or folders), the station's
reviewed ``train/`` and ``val/`` photos (refused, naming the problem, when a retrain cannot
learn from them), the evaluation folders both models are scored on, and the station's
unlabelled photos for the label-free statistics.
"""

from dataclasses import dataclass
import logging
from pathlib import Path

import numpy as np

from training.recipe import data, evaluate, sources
from training.station import adapt, last_layer
from waste_classifier_ros.core import model_card
from waste_classifier_ros.core.atomic_files import is_image
from waste_classifier_ros.core.bins import EMPTY
from waste_classifier_ros.core.preprocessing import INPUT_SIZE, resize_rgb
from waste_classifier_ros.flywheel.promotion import STATION

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """What a retrain starts from: the current model and the photos it learns from."""

    parent: last_layer.HeadlessModel
    parent_card: dict
    labels: Path
    bases: list[sources.Source]
    station: sources.Source
    train_splits: list[sources.SourceSplit]  # the base sources' train splits, then the station's

    @property
    def classes(self) -> list[str]:
        return self.parent.classes

    @property
    def weights(self) -> list[float]:
        return [s.weight for s in self.bases + [self.station]]

    @property
    def station_val(self) -> Path | None:
        val = self.station.root / 'val'
        return val if val.is_dir() else None


def plan(model: Path, bases: list[sources.Source], station_root: Path, station_weight: float,
         batch_size: int) -> Plan:
    """Read the current model and list the photos; refuse a station it cannot learn from."""
    labels = model.with_name('labels.txt')
    card_path = model.with_name('model_card.json')
    parent = last_layer.HeadlessModel(model, labels)
    station = sources.Source(STATION, station_root, None, station_weight,
                             "the station's own photos")
    check_empty_frames(station_root, parent.classes)
    splits = [sources.list_source_split(s, 'train', parent.classes) for s in bases + [station]]
    check_station(splits[-1], parent.classes, batch_size)
    if (station_root / 'val').is_dir():
        sources.list_mapped(STATION, station_root / 'val', None, parent.classes)  # names checked
    return Plan(parent, model_card.read_card(card_path) if card_path.exists() else {}, labels,
                bases, station, splits)


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


def eval_folders(station: Path, bases: list[sources.Source],
                 evals: list[str]) -> dict[str, tuple[Path, evaluate.ClassMap]]:
    """Folders both models are scored on: station val, each base source's val, ``--eval``."""
    folders: dict[str, tuple[Path, evaluate.ClassMap]] = {}
    if (station / 'val').is_dir():
        folders[STATION] = (station / 'val', None)
    for source in bases:
        folders[source.name] = (source.root / 'val', source.class_map)
    for item in evals:
        name, folder, class_map = sources.parse_named_folder(item, '--eval')
        folders[name] = (folder, class_map)
    return folders


def train_photos(splits: list[sources.SourceSplit], classes: list[str],
                 base_per_class: int = 0) -> adapt.Photos:
    """Decode the train splits (base sources', then the station's), each its own source id.

    ``base_per_class``: at most this many photos per class of each base source (0: all).
    """
    return adapt.concat([adapt.decode(capped(split.samples, base_per_class)
                                      if i < len(splits) - 1 else split.samples, classes,
                                      source_id=i)
                         for i, split in enumerate(splits)])


def val_photos(station: Path, bases: list[sources.Source],
               classes: list[str]) -> dict[str, adapt.Photos]:
    """Decode the station's val photos (when it has a val folder) and each base source's."""
    photos = {}
    if (station / 'val').is_dir():
        photos[STATION] = adapt.decode(sources.list_mapped(STATION, station / 'val', None,
                                                           classes)[0], classes)
    for source in bases:
        photos[source.name] = adapt.decode(
            sources.list_source_split(source, 'val', classes).samples, classes)
    return photos


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


def check_empty_frames(station_root: Path, classes: list[str]) -> None:
    """Refuse reviewed empty frames for a model without the `empty` class, saying why.

    An older (seven-class) model has no row to learn the station's floor into; dropping the
    folder quietly would leave the floor called an item, so the operator chooses instead.
    """
    if EMPTY in classes:
        return
    for split in ('train', 'val'):
        folder = station_root / split / EMPTY
        if folder.is_dir():
            raise ValueError(f'{folder}: reviewed empty frames, but the current model has no '
                             f'{EMPTY!r} class ({len(classes)} classes: an older model) and '
                             'cannot learn them; retrain from a model with the class, or move '
                             'the folder out of the station folder')


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
