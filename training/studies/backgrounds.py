# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The backgrounds probe: a model scored on photos whose plain backdrop is replaced by new surfaces.

Six of waste7's seven classes are TrashNet photos of one object on white posterboard. The probe
finds such a backdrop in each photo of a class-per-folder set (training.recipe.backdrops) and
paints a surface of another family than training uses (wood, tiles, dark speckled plastic) in its
place, then scores a model on the result:

    python -m training.studies.backgrounds --model model/waste_classifier.onnx \
        --data ../shared/data/waste7/val --json probe.json --png probe.png
"""

import argparse
import json
from pathlib import Path
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from training.recipe.backdrops import PROBE_FAMILIES, replace_backdrop
from training.recipe.data import read_rgb
from training.recipe.evaluate import load_classifier
from training.recipe.sources import list_mapped
from waste_classifier_ros.core.preprocessing import normalize_chw, resize_rgb


def probe(model_path: Path, data_dir: Path, seed: int = 0,
          sheet_skip: Sequence[str] = ()) -> Tuple[dict, List[Tuple[np.ndarray, str, str]]]:
    """Score a model on `data_dir` with backdrops replaced by probe surfaces.

    Returns (metrics, examples): per-class accuracy on the images whose backdrop was found,
    how often each class was called organic, and a few (image, truth, prediction) triples from
    classes not in `sheet_skip`.
    """
    classify = load_classifier(model_path)
    labels = classify.classes
    # Separate generators, so that which images make the sheet never changes the surfaces.
    rng, picks = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    per_class: Dict[str, Dict[str, int]] = {}
    examples: List[Tuple[np.ndarray, str, str]] = []
    for path, index in list_mapped(Path(data_dir).name, Path(data_dir), None, labels)[0]:
        name = labels[index]
        counts = per_class.setdefault(name, {'images': 0, 'replaced': 0, 'correct': 0,
                                             'called_organic': 0})
        rgb = read_rgb(path)
        if rgb is None:
            continue
        counts['images'] += 1
        replaced = replace_backdrop(rgb, rng, PROBE_FAMILIES)
        if replaced is not None:
            tensor = normalize_chw(resize_rgb(replaced, classify.input_size))[None]
            probabilities = classify(tensor)[0]
            predicted = int(np.argmax(probabilities))
            counts['replaced'] += 1
            counts['correct'] += int(predicted == index)
            counts['called_organic'] += int(labels[predicted] == 'organic')
            if name not in sheet_skip and len(examples) < 40 and picks.random() < 0.2:
                examples.append((replaced, name, labels[predicted]))
    total = sum(c['replaced'] for c in per_class.values())
    correct = sum(c['correct'] for c in per_class.values())
    metrics = {'model': str(model_path), 'data': str(data_dir), 'surfaces': PROBE_FAMILIES,
               'replaced': total, 'top1': correct / total if total else None,
               'per_class': per_class}
    return metrics, examples


def contact_sheet(examples: Sequence[Tuple[np.ndarray, str, str]], columns: int = 8,
                  tile: Tuple[int, int] = (160, 120)) -> np.ndarray:
    """BGR sheet of probe images captioned truth -> prediction (red when wrong)."""
    tiles = []
    for rgb, truth, predicted in examples:
        image = cv2.resize(np.ascontiguousarray(rgb[..., ::-1]), tile)
        colour = (0, 150, 0) if truth == predicted else (0, 0, 220)
        cv2.rectangle(image, (0, 0), (tile[0], 14), (255, 255, 255), -1)
        cv2.putText(image, f'{truth} -> {predicted}', (3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                    colour, 1, cv2.LINE_AA)
        tiles.append(image)
    while len(tiles) % columns or not tiles:
        tiles.append(np.zeros((tile[1], tile[0], 3), np.uint8))
    return np.vstack([np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)])


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--model', required=True,
                        help='ONNX model (labels.txt beside it) or training checkpoint')
    parser.add_argument('--data', required=True, help='class-per-folder images')
    parser.add_argument('--json', help='write the figures here')
    parser.add_argument('--png', help='write a contact sheet of probe images here')
    parser.add_argument('--sheet-skip', nargs='*', default=[], metavar='CLASS',
                        help="classes left out of the sheet (waste7's organic photos may not "
                        'be redistributed)')
    args = parser.parse_args(argv)
    metrics, examples = probe(Path(args.model), Path(args.data), sheet_skip=args.sheet_skip)
    for name, counts in metrics['per_class'].items():
        if counts['replaced']:
            print(f'{name:10s} {counts["correct"]:4d}/{counts["replaced"]:<4d} correct, '
                  f'{counts["called_organic"]} called organic '
                  f'({counts["images"] - counts["replaced"]} without a plain backdrop)')
    top1 = metrics['top1']
    print(f'top-1 on {metrics["replaced"]} images with new backgrounds: '
          f'{"n/a" if top1 is None else f"{100 * top1:.1f}%"}')
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2) + '\n', encoding='utf-8')
    if args.png:
        cv2.imwrite(args.png, contact_sheet(examples))
    return 0


if __name__ == '__main__':
    sys.exit(main())
