# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
A labelled source's train photos laid out as a station's reviewed photos, to measure a station.

    python -m training.station.source_as_station --source ../shared/data/realwaste/train:\
        training/conf/source/realwaste.yaml --out outputs/rw_station [--first 1000]

Each photo is linked (a symbolic link, nothing copied) into ``OUT/<split>/<class>/``, the split
by review's own rule (flywheel.review.split_for: a fifth to val by a hash of the name), so the
station looks as if an operator had reviewed these photos. ``--first N``: only the first N of
a fixed shuffle, as a station that has labelled N photos so far. The README's and
docs/flywheel.md's curves and retrain times of "a new station" are measured on such folders.
"""

import argparse
import logging
from pathlib import Path
import sys
from typing import Sequence

import numpy as np

from training.recipe import sources
from training.station.tool import run_tool
from waste_classifier_ros.core.model_card import read_labels
from waste_classifier_ros.flywheel.review import split_for


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--source', required=True, metavar='DIR[:MAP]',
                        help="a split's class folders, with the source config mapping them")
    parser.add_argument('--labels', type=Path, default=Path('model/permissive/labels.txt'),
                        help="the station model's classes")
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument('--first', type=int, default=0, help='0: every photo')
    parser.add_argument('--seed', type=int, default=0, help='of the shuffle --first takes from')
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    if args.out.exists():
        raise ValueError(f'{args.out} exists: give a new folder (nothing is overwritten)')
    _, folder, class_map = sources.parse_named_folder(args.source, '--source',
                                                      name_optional=True)
    classes = read_labels(args.labels)
    # Each photo's place in the station, in the order of those places: the shuffle is of that.
    places = sorted((f'{split_for(name)}/{name}', path) for path, name in (
        (path, f'{classes[label]}/{Path(path).name}')
        for path, label in sources.list_mapped('source', folder, class_map, classes)[0]))
    order = np.random.default_rng(args.seed).permutation(len(places))
    counts: dict[str, int] = {}
    for place, path in (places[i] for i in (order[:args.first] if args.first else sorted(order))):
        target = args.out / place
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(Path(path).resolve())
        counts[place.split('/')[0]] = counts.get(place.split('/')[0], 0) + 1
    logging.info('%d photos linked into %s: %s', sum(counts.values()), args.out, counts)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    return 0 if run_tool('source_as_station', run, parse_args(argv)) is not None else 2


if __name__ == '__main__':
    sys.exit(main())
