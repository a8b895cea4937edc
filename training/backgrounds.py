# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Plain photo backdrops, found and replaced: a training augmentation and a robustness probe.

Six of waste7's seven classes are TrashNet photos of one object on white posterboard, while a
camera over a bin sees the item against whatever lies in the bin. `NewBackground` finds such a
backdrop (grown from the image border over pixels of the border's own pale, unsaturated colour,
which follows shading) and paints a synthetic surface in its place, so that "white posterboard"
cannot stand in for "not organic". Photos without a plain backdrop (the web photos) pass through.

The probe does the same to a class-per-folder set with other surface families than training
uses (wood, tiles, dark speckled plastic) and scores a model on the result:

    python -m training.backgrounds --model model/waste_classifier.onnx \
        --data ../shared/data/waste7/val --json probe.json --png probe.png
"""

import argparse
import json
from pathlib import Path
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from training.data import read_rgb
from training.evaluate import load_classifier
from training.sources import list_mapped
from waste_classifier_ros.core.preprocessing import normalize_chw, resize_rgb

# Training and probe surfaces are different families, so that the probe is not scored on the
# very surfaces the model was trained on.
TRAIN_FAMILIES = ('colour', 'gradient', 'noise')
PROBE_FAMILIES = ('wood', 'tiles', 'speckle')

_BORDER = 0.04          # fraction of each side whose pixels describe the backdrop
_MIN_PLAIN = 0.6        # share of border pixels that must look like the backdrop
_MAX_SATURATION = 60    # HSV saturation (0..255) of a pale backdrop
_MIN_VALUE = 90         # HSV value (0..255) of a pale backdrop
_FLOOD_STEP = 6         # per-step colour difference the flood fill may cross (follows shading)


def backdrop_mask(rgb: np.ndarray) -> Optional[np.ndarray]:
    """Return a float mask (1 = backdrop) of a plain pale backdrop, or None if there is none."""
    height, width = rgb.shape[:2]
    band = max(2, round(_BORDER * min(height, width)))
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    border = np.ones((height, width), bool)
    border[band:-band, band:-band] = False
    pale = (hsv[..., 1] <= _MAX_SATURATION) & (hsv[..., 2] >= _MIN_VALUE)
    if pale[border].mean() < _MIN_PLAIN:
        return None
    smooth = cv2.GaussianBlur(np.ascontiguousarray(rgb), (5, 5), 0)
    flood = np.zeros((height + 2, width + 2), np.uint8)
    step = (_FLOOD_STEP,) * 3
    seeds = [(x, y) for x in np.linspace(0, width - 1, 9).astype(int) for y in (0, height - 1)]
    seeds += [(x, y) for y in np.linspace(0, height - 1, 7).astype(int) for x in (0, width - 1)]
    for x, y in seeds:
        if pale[y, x] and not flood[y + 1, x + 1]:
            cv2.floodFill(smooth, flood, (int(x), int(y)), 0, step, step,
                          4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8))
    mask = (flood[1:-1, 1:-1] > 0) & pale
    share = mask.mean()
    # Nearly all backdrop means the object was lost in it; nearly none means no backdrop.
    if not 0.15 <= share <= 0.95:
        return None
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return cv2.GaussianBlur(opened.astype(np.float32), (0, 0), 1.5)


def surface(height: int, width: int, family: str, rng: np.random.Generator) -> np.ndarray:
    """Paint a synthetic HxWx3 uint8 surface of one family."""
    if family == 'colour':
        return np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8)
    if family == 'gradient':
        start, end = rng.integers(0, 256, (2, 3)).astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        t = (xs / width) * np.cos(angle) + (ys / height) * np.sin(angle)
        t = (t - t.min()) / max(1e-6, float(np.ptp(t)))
        return (start + (end - start) * t[..., None]).astype(np.uint8)
    if family == 'noise':
        return _noise(height, width, rng, rng.integers(30, 226, 3), rng.uniform(40, 140))
    if family == 'wood':
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        warp = cv2.resize(rng.normal(0, 1, (max(2, height // 16), max(2, width // 16)))
                          .astype(np.float32), (width, height))
        grain = (np.sin(ys * rng.uniform(0.05, 0.2) + warp * 4 + xs * 0.01) + 1) / 2
        dark = rng.uniform([80, 45, 20], [140, 95, 55])
        light = dark + rng.uniform([50, 40, 30], [90, 70, 50])
        return (dark + (light - dark) * grain[..., None]).clip(0, 255).astype(np.uint8)
    if family == 'tiles':
        size = int(rng.integers(max(8, min(height, width) // 8), max(9, min(height, width) // 3)))
        tile = rng.integers(60, 240, 3).astype(np.float32)
        out = np.empty((height, width, 3), np.float32)
        out[:] = tile
        out[(np.arange(height) % size) < max(2, size // 12)] = tile * 0.45
        out[:, (np.arange(width) % size) < max(2, size // 12)] = tile * 0.45
        return out.astype(np.uint8)
    if family == 'speckle':
        return _noise(height, width, rng, rng.integers(15, 70, 3), rng.uniform(20, 60), fine=True)
    raise ValueError(f'unknown surface family {family!r}')


def _noise(height: int, width: int, rng: np.random.Generator, base: np.ndarray,
           contrast: float, fine: bool = False) -> np.ndarray:
    texture = np.zeros((height, width, 3), np.float32)
    for scale in ((1, 2, 4) if fine else (4, 16, 64)):
        grid = rng.normal(0, 1, (max(2, height // scale), max(2, width // scale), 3))
        texture += cv2.resize(grid.astype(np.float32), (width, height),
                              interpolation=cv2.INTER_CUBIC) * scale ** 0.5
    texture /= max(1e-6, float(texture.std()))
    return np.clip(base + texture * contrast / 3, 0, 255).astype(np.uint8)


def replace_backdrop(rgb: np.ndarray, rng: np.random.Generator,
                     families: Sequence[str]) -> Optional[np.ndarray]:
    """`rgb` with its plain backdrop replaced by a surface of one of `families`, else None."""
    mask = backdrop_mask(rgb)
    if mask is None:
        return None
    height, width = rgb.shape[:2]
    new = surface(height, width, families[int(rng.integers(len(families)))], rng)
    blended = rgb * (1 - mask[..., None]) + new * mask[..., None]
    return blended.astype(np.uint8)


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
