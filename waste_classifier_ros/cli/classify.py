# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
waste-classify: classify image files without ROS, on the node's own backend and bins code.

    waste-classify photo.jpg folder/ [--top-k 3] [--annotate OUTDIR] [--model FILE]

Prints one line per image with the top-K classes and the bin, decided as the node decides one
frame: `empty` (no item) where the model has the `empty` class and gives it at least
EMPTY_MAJORITY, else the bin of the classes' summed probabilities (shared among the item
classes, given that an item is there), `unknown` when no bin reaches --threshold. --annotate
writes a copy of each image with the node's overlay. Exit code 0 when every image was
classified, 1 when some could not be read, 2 when the model, labels, card or bins file is
unusable.
"""

import argparse
from pathlib import Path
import sys
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np

from waste_classifier_ros.backends import (
    BACKENDS,
    BackendError,
    create_backend,
    resolve_model_files,
    top_k,
)
from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.atomic_files import is_image
from waste_classifier_ros.core.bins import (
    EMPTY,
    EMPTY_BIN,
    UNKNOWN_BIN,
    Bin,
    BinMap,
    BinsError,
    load_bins,
)
from waste_classifier_ros.core.items import EMPTY_MAJORITY
from waste_classifier_ros.core.model_card import ModelCardError
from waste_classifier_ros.core.overlay import annotate
from waste_classifier_ros.core.paths import share_path


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='waste-classify', description=__doc__.strip().splitlines()[0])
    parser.add_argument('paths', nargs='+', type=Path, metavar='PATH',
                        help='image files or folders (searched recursively)')
    parser.add_argument('--top-k', type=int, default=3, help='classes to print (default 3)')
    parser.add_argument('--annotate', type=Path, metavar='OUTDIR',
                        help='write annotated copies of the images into OUTDIR')
    parser.add_argument('--model', default='',
                        help='ONNX model (default: the shipped model/waste_classifier.onnx)')
    parser.add_argument('--labels', default='', help='labels.txt (default: beside the model)')
    parser.add_argument('--model-card', default='',
                        help='model_card.json (default: beside the model, checked if present)')
    parser.add_argument('--bins', default='', help='bins YAML (default: config/bins.yaml)')
    parser.add_argument('--backend', default='auto', choices=BACKENDS)
    parser.add_argument('--threshold', type=float, default=0.5,
                        help='minimum bin probability, else the bin is unknown (default 0.5)')
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error('--top-k must be at least 1')
    return args


def image_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield the given files and the images under the given folders, in name order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob('*') if is_image(p))
        else:
            yield path


def decide(bins: BinMap, probabilities: np.ndarray, threshold: float) -> tuple[Bin, str]:
    """Return the bin of one photo and the words after `-> bin` (module docstring)."""
    empty = bins.empty_probability(probabilities)
    if empty is not None and empty >= EMPTY_MAJORITY:
        return EMPTY_BIN, f'{EMPTY} (no item)'
    bin_scores = bins.item_probabilities(probabilities)  # as the node
    chosen = int(np.argmax(bin_scores))
    likeliest = f'{bins.bins[chosen].name} {100 * bin_scores[chosen]:.1f}%'
    if bin_scores[chosen] >= threshold:
        return bins.bins[chosen], likeliest
    return UNKNOWN_BIN, (f'{UNKNOWN_BIN.name} (no bin reaches {100 * threshold:g}%; best '
                         f'{likeliest})')


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        files = resolve_model_files(args.model, args.labels, args.model_card)
        backend = create_backend(args.backend, files,
                                 log=lambda line: print(line, file=sys.stderr))
        bins = load_bins(args.bins or share_path('config', 'bins.yaml'), files.labels)
    except (ModelCardError, BackendError, BinsError) as error:
        print(f'waste-classify: {error}', file=sys.stderr)
        return 2
    if bins.empty_index is None:
        print(f'waste-classify: the model has no "{EMPTY}" class: a photo without an item gets '
              'a bin too', file=sys.stderr)
    if args.annotate:
        args.annotate.mkdir(parents=True, exist_ok=True)
    failures = 0
    for path in image_files(args.paths):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            print(f'{path}: cannot read as an image', file=sys.stderr)
            failures += 1
            continue
        probabilities = backend.classify_frame(image_codec.Frame(bgr, 'bgr8'))
        best = top_k(probabilities, args.top_k)
        shown, verdict = decide(bins, probabilities, args.threshold)
        classes = '  '.join(f'{files.labels[i]} {100 * p:.1f}%' for i, p in best)
        print(f'{path}: {classes}  -> bin {verdict}')
        if args.annotate:
            label, score = files.labels[best[0][0]], best[0][1]
            annotated = annotate(bgr, label, score, shown.label, shown.colour)
            cv2.imwrite(str(args.annotate / f'{path.stem}_annotated.png'), annotated)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
