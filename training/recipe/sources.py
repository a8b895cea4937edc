# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Several class-per-folder data sources, each mapped onto the project's classes.

A source is a folder ``<root>/{train,val}/<source class>/*`` plus a class map that sends each
source folder to a project class (or drops it with ``null``); without a map, folder names must
already be project classes. The project's classes and their order are fixed by labels.txt, never
by a source. Everything that could make a run silently train on the wrong labels is an error that
names the source and the folder: a map naming a class the project lacks, a source folder the map
does not mention, a project class that no source provides for training.

The balanced draw gives every project class the same share of each epoch (``balance_power=1``),
splits a class's share between the sources that have it by their weights, and draws uniformly
within a (source, class) pair: trash is rare in one source and common in another, and neither
the rare class nor the large source dominates.
"""

from dataclasses import dataclass, field
import hashlib
import logging
from pathlib import Path
from typing import Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from training.recipe.data import ImageSet, list_classes, load_images, shrink
from waste_classifier_ros.core.atomic_files import is_image
from waste_classifier_ros.core.preprocessing import resize_rgb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """One class-per-folder root, how its folders map to project classes, and its terms."""

    name: str
    root: Path
    class_map: Optional[Mapping[str, Optional[str]]] = None
    weight: float = 1.0
    licence: str = ''
    url: str = ''

    @staticmethod
    def from_config(name: str, entry: Mapping, base: Path = Path('.')) -> 'Source':
        """Build from a config entry {root, class_map, weight, licence, url} named ``name``."""
        unknown = set(entry) - {'root', 'class_map', 'weight', 'licence', 'url'}
        if unknown:
            raise ValueError(f'source {name!r}: unknown key(s) {sorted(unknown)} (expected root, '
                             'class_map, weight, licence, url)')
        if not entry.get('root'):
            raise ValueError(f'source {name!r}: no root given (the folder holding train/ and '
                             'val/)')
        weight = float(entry.get('weight', 1.0))
        if not weight > 0:
            raise ValueError(f'source {name!r}: weight must be > 0, got {weight}')
        class_map = entry.get('class_map')
        root = Path(entry['root'])
        return Source(name=str(name), root=root if root.is_absolute() else base / root,
                      class_map=dict(class_map) if class_map is not None else None,
                      weight=weight, licence=str(entry.get('licence') or ''),
                      url=str(entry.get('url') or ''))


def sources_from_config(sources: Mapping, base: Path = Path('.')) -> list:
    """Turn the ``sources`` mapping of a training config (name -> entry) into Sources."""
    if not sources:
        raise ValueError('no training sources configured (sources is empty)')
    return [Source.from_config(name, entry, base) for name, entry in sources.items()]


def read_class_map(path: Union[str, Path]) -> dict:
    """Read a class map from YAML: a plain mapping, or a source config with ``class_map``."""
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f'{path}: cannot read the class map ({error})') from None
    loaded = loaded.get('class_map', loaded) if isinstance(loaded, dict) else loaded
    if not isinstance(loaded, dict):
        raise ValueError(f'{path}: expected a mapping of folder -> class (or null)')
    return loaded


def parse_named_folder(item: str, option: str, name_optional: bool = False
                       ) -> Tuple[str, Path, Optional[dict]]:
    """Parse ``NAME=DIR[:CLASS_MAP.yaml]`` into (name, folder, class map or None).

    With ``name_optional``, a bare ``DIR`` is named after the folder. A missing part is a
    ValueError naming ``option`` and the expected form.
    """
    name, sep, rest = item.partition('=')
    if not sep and name_optional:
        name, rest = Path(item).resolve().name, item
    if not name or not rest:
        form = '[NAME=]DIR[:CLASS_MAP.yaml]' if name_optional else 'NAME=DIR[:CLASS_MAP.yaml]'
        raise ValueError(f'{option} {item!r}: expected {form}')
    folder, _, class_map = rest.partition(':')
    return name, Path(folder), read_class_map(class_map) if class_map else None


@dataclass
class SourceSplit:
    """The samples of one source's split: (path, project label) and the per-folder counts."""

    source: Source
    split: str
    samples: list
    folders: dict = field(default_factory=dict)   # source folder -> project class or None


def resolve_folders(name: str, split_dir: Path, class_map: Optional[Mapping],
                    classes: Sequence[str]) -> dict:
    """Map each class folder of ``split_dir`` to a project class (None = dropped)."""
    folders = list_classes(split_dir)
    project = set(classes)
    if class_map is None:
        unknown = [f for f in folders if f not in project]
        if unknown:
            raise ValueError(f'source {name!r}: folder {split_dir / unknown[0]} is not a '
                             f'project class {list(classes)}; give the source a class_map')
        return {f: f for f in folders}
    for folder, target in class_map.items():
        if target is not None and target not in project:
            raise ValueError(f'source {name!r}: class_map sends folder {folder!r} to '
                             f'{target!r}, which is not a project class {list(classes)}')
    unmapped = [f for f in folders if f not in class_map]
    if unmapped:
        raise ValueError(f'source {name!r}: folder {split_dir / unmapped[0]} is not in '
                         f'its class_map; map it to a project class or to null to drop it')
    return {f: class_map[f] for f in folders}


def list_mapped(name: str, split_dir: Path, class_map: Optional[Mapping],
                classes: Sequence[str]) -> tuple:
    """(path, project label) of every image under ``split_dir/<folder>/``, and the folder map."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise ValueError(f'source {name!r}: {split_dir} is not a directory of class folders')
    folders = resolve_folders(name, split_dir, class_map, classes)
    index = {cls: i for i, cls in enumerate(classes)}
    samples: list[tuple[Path, int]] = []
    for folder, target in folders.items():
        if target is None:
            continue
        files = sorted(p for p in (split_dir / folder).iterdir()
                       if p.is_file() and is_image(p))
        if not files:
            raise ValueError(f'source {name!r}: class folder {split_dir / folder} has '
                             'no images')
        samples.extend((path, index[target]) for path in files)
    return samples, folders


def list_source_split(source: Source, split: str, classes: Sequence[str]) -> SourceSplit:
    """Every image file of ``source/split`` with its project label, sorted by path."""
    samples, folders = list_mapped(source.name, source.root / split, source.class_map, classes)
    return SourceSplit(source, split, samples, folders)


def check_every_class_provided(splits: Sequence[SourceSplit], classes: Sequence[str]) -> None:
    """Refuse a project class that no training source provides: it could not be learned."""
    provided = {label for split in splits for _, label in split.samples}
    missing = [name for i, name in enumerate(classes) if i not in provided]
    if missing:
        names = ', '.join(split.source.name for split in splits)
        raise ValueError(f'project class(es) {missing} are provided by no training source '
                         f'({names}): add a source with them or map a folder onto them')


def files_sha256(splits: Sequence[SourceSplit]) -> str:
    """Hash of every (source, split, relative path, label) line: pins the exact data seen."""
    lines = sorted(f'{s.source.name}\t{s.split}\t{Path(p).relative_to(s.source.root).as_posix()}'
                   f'\t{label}' for s in splits for p, label in s.samples)
    return hashlib.sha256('\n'.join(lines).encode('utf-8')).hexdigest()


def describe(source: Source, splits: Mapping[str, ImageSet], folders: Mapping) -> dict:
    """Describe one source as the checkpoint and the model card record it."""
    return {
        'name': source.name,
        'root': str(source.root),
        'licence': source.licence,
        'url': source.url,
        'weight': source.weight,
        'class_map': dict(folders),
        **{split: image_set.counts() for split, image_set in splits.items()},
        'skipped_unreadable': {split: len(image_set.skipped)
                               for split, image_set in splits.items()},
    }


def format_counts(described: Sequence[Mapping], classes: Sequence[str]) -> str:
    """Tabulate per-source, per-class image counts for the start of a training log."""
    header = f'{"source":<14}{"split":<7}' + ''.join(f'{c[:9]:>10}' for c in classes) + \
        f'{"total":>8}{"skipped":>9}'
    lines = [header]
    for entry in described:
        for split in ('train', 'val'):
            counts = entry.get(split)
            if counts is None:
                continue
            lines.append(f'{entry["name"][:13]:<14}{split:<7}'
                         + ''.join(f'{counts[c]:>10}' for c in classes)
                         + f'{sum(counts.values()):>8}{entry["skipped_unreadable"][split]:>9}')
    return '\n'.join(lines)


def sample_weights(labels: ArrayLike, source_ids: ArrayLike, source_weights: ArrayLike,
                   num_classes: int, balance_power: float) -> np.ndarray:
    """Per-sample draw probabilities (summing to 1) of the class- and source-balanced draw.

    P(class c) is proportional to n_c ** (1 - balance_power); within c, source s gets
    weight_s / (sum of the weights of the sources that have c); within (s, c) it is uniform.
    """
    label_array = np.asarray(labels, dtype=np.int64)
    source_array = np.asarray(source_ids, dtype=np.int64)
    weights = np.asarray(source_weights, dtype=np.float64)
    num_sources = len(weights)
    pair_counts = np.zeros((num_sources, num_classes))
    np.add.at(pair_counts, (source_array, label_array), 1)
    class_counts = pair_counts.sum(axis=0)
    class_share = np.where(class_counts > 0, class_counts ** (1 - balance_power), 0.0)
    class_share /= class_share.sum()
    has_class = pair_counts > 0
    source_share = np.where(has_class, weights[:, None], 0.0)
    source_share = source_share / np.maximum(source_share.sum(axis=0, keepdims=True), 1e-300)
    pair_probability = class_share[None, :] * source_share / np.maximum(pair_counts, 1)
    probabilities = pair_probability[source_array, label_array]
    return probabilities / probabilities.sum()


@dataclass
class MultiSourceData:
    """Decoded training images of every source, and each source's validation set on its own."""

    train: ImageSet
    train_source_ids: np.ndarray
    val: dict           # source name -> ImageSet in the deployment view
    info: dict          # counts, maps, licences and the file-list hash, for checkpoint and card


def load_sources(sources: Sequence[Source], classes: Sequence[str], cache_short_side: int,
                 input_size: int) -> MultiSourceData:
    """List, check and decode every source's train and val split; print the counts."""
    train_splits = [list_source_split(source, 'train', classes) for source in sources]
    val_splits = [list_source_split(source, 'val', classes) for source in sources]
    check_every_class_provided(train_splits, classes)

    train_images, train_labels, train_ids, skipped, described, val = [], [], [], [], [], {}
    for i, (source, train_split, val_split) in enumerate(zip(sources, train_splits, val_splits)):
        train_set = load_images(train_split.samples, classes,
                                lambda rgb: shrink(rgb, cache_short_side))
        val_set = load_images(val_split.samples, classes,
                              lambda rgb: resize_rgb(rgb, input_size))
        train_images += train_set.images
        train_labels += train_set.labels
        train_ids += [i] * len(train_set.labels)
        skipped += train_set.skipped
        val[source.name] = val_set
        described.append(describe(source, {'train': train_set, 'val': val_set},
                                   train_split.folders | val_split.folders))
    info = {
        'classes': list(classes),
        'sources': described,
        'train': _total(described, 'train', classes),
        'val': _total(described, 'val', classes),
        'files_sha256': files_sha256(train_splits + val_splits),
    }
    log.info('training data per source and class:\n%s', format_counts(described, classes))
    train = ImageSet(train_images, train_labels, list(classes), skipped)
    return MultiSourceData(train, np.asarray(train_ids, dtype=np.int64), val, info)


def _total(described: Sequence[Mapping], split: str, classes: Sequence[str]) -> dict:
    return {name: sum(entry[split][name] for entry in described) for name in classes}
