# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
Does the review order matter? The last layer learnt from the first n captures of three orders.

    python -m training.station.review_order --out outputs/review_order

RealWaste's train is a new station for the waste7-only model (which never saw RealWaste), as a
capture stream: items arrive in a random sequence and each yields 1 to 3 captures while it sits
in the zone (the node keeps every unsure frame, at most one per ``capture_min_interval``), the
first the photo itself, the others the same photo with a small jitter (a crop of 85-100 % of each
side at a random place, brightness x0.85-1.15), so consecutive captures are near-duplicates as
at a station. Three orders of the same stream are labelled: capture order, a uniform random
draw, and flywheel.review_order's (uncertainty-weighted k-center on the model's features, every
class early). For the first n of each (``--counts``) and each of ``--draws`` streams (the stream
and the random draw seeded per draw), the last layer is fitted as training.station.retrain fits
it (last_layer.fit_head from the model's layer, waste7's train mixed in with the balanced draw;
the guard's mixes are left out: they would need a station val, and RealWaste's val is only
scored) and scored top-1 on RealWaste's val, never labelled. Every photo goes through the
deployment preprocessing once (features cached under ``--out``). Prints the table (mean and
min-max over draws), writes ``review_order.json`` and ``review_order.png``.
"""

import argparse
import json
import logging
from pathlib import Path
import sys
import time
from typing import Sequence

import numpy as np

from training.recipe import calibration, data, sources
from training.recipe.metrics import compute_metrics
from training.station import last_layer
from training.station.settings import HeadSettings
from training.station.tool import run_tool
from waste_classifier_ros.core import model_card
from waste_classifier_ros.core.atomic_files import atomic_write
from waste_classifier_ros.core.preprocessing import normalize_chw, resize_rgb
from waste_classifier_ros.flywheel import review_order

log = logging.getLogger(__name__)
REALWASTE = '../shared/data/realwaste'
MAP = 'training/conf/source/realwaste.yaml'
COPIES = 3  # the most captures one item yields


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--model', type=Path,
                        default=Path('model/permissive/waste_classifier.onnx'))
    parser.add_argument('--station', default=f'realwaste={REALWASTE}/train:{MAP}',
                        metavar='NAME=DIR[:MAP]', help='the photos the stream is made of')
    parser.add_argument('--eval', default=f'realwaste val={REALWASTE}/val:{MAP}',
                        metavar='NAME=DIR[:MAP]', help='held-out photos to score on')
    parser.add_argument('--base', default='../shared/data/waste7/train',
                        help="a base source's train folder, mixed in as the retrain does")
    parser.add_argument('--counts', default='50,100,250')
    parser.add_argument('--draws', type=int, default=3)
    parser.add_argument('--out', type=Path, default=Path('outputs/review_order'))
    return parser.parse_args(argv)


def jitter(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the item a moment later: a crop of 85-100 % of each side, brightness x0.85-1.15."""
    height, width = rgb.shape[:2]
    h, w = (int(round(side * rng.uniform(0.85, 1.0))) for side in (height, width))
    top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
    crop = rgb[top:top + h, left:left + w].astype(np.float32) * rng.uniform(0.85, 1.15)
    return np.clip(crop, 0, 255).astype(np.uint8)


def capture_features(model: last_layer.HeadlessModel, station: str, classes: list[str],
                     cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features [items, COPIES, F], probabilities [items, COPIES, C], labels) of every item."""
    name, folder, class_map = sources.parse_named_folder(station, '--station')
    key = f'{model_card.sha256_file(model.path)[:16]}_{name}_copies{COPIES}'.replace(' ', '_')
    stored = cache / f'{key}.npz'
    if stored.is_file():
        with np.load(stored) as saved:
            return saved['features'], saved['probabilities'], saved['labels']
    images = data.load_images(sources.list_mapped(name, folder, class_map, classes)[0], classes,
                              lambda rgb: rgb)
    rng = np.random.default_rng(0)
    rows = []
    for first in range(0, len(images.images), 32):
        batch = [copy for rgb in images.images[first:first + 32]
                 for copy in [rgb] + [jitter(rgb, rng) for _ in range(COPIES - 1)]]
        rows.append(model(np.stack([normalize_chw(resize_rgb(rgb, model.input_size))
                                    for rgb in batch])))
        log.info('%s: %d of %d items', name, min(first + 32, len(images.images)),
                 len(images.images))
    out = np.concatenate(rows).reshape(len(images.images), COPIES, -1)
    count = len(classes)
    features, probabilities = out[..., count:], out[..., :count]
    labels = np.asarray(images.labels)
    cache.mkdir(parents=True, exist_ok=True)
    atomic_write(stored, lambda file: np.savez(file, features=features,
                                               probabilities=probabilities, labels=labels))
    return features, probabilities, labels


def stream(items: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(item, copy) of each capture in capture order: items shuffled, 1..COPIES copies each."""
    rng = np.random.default_rng(seed)
    arrival = rng.permutation(items)
    copies = rng.integers(1, COPIES + 1, items)
    return (np.repeat(arrival, copies[arrival]),
            np.concatenate([np.arange(copies[i]) for i in arrival]))


def orders(probabilities: np.ndarray, features: np.ndarray, classes: list[str],
           seed: int) -> dict[str, tuple[np.ndarray, float]]:
    """Name -> (capture indices in that order, seconds the order took)."""
    top = np.sort(probabilities, axis=1)[:, ::-1]
    uncertain = [review_order.uncertainty([{'score': a}, {'score': b}]) for a, b in top[:, :2]]
    predicted = [classes[i] for i in probabilities.argmax(1)]
    tic = time.perf_counter()
    useful = np.asarray(review_order.rank(uncertain, predicted, features))
    seconds = time.perf_counter() - tic
    count = len(probabilities)
    return {'capture': (np.arange(count), 0.0),
            'random': (np.random.default_rng(1000 + seed).permutation(count), 0.0),
            'useful': (useful, seconds)}


def fit_and_score(model: last_layer.HeadlessModel, base: tuple, labelled: tuple,
                  evaluation: tuple, classes: list[str]) -> float:
    """Top-1 on ``evaluation`` of the last layer fitted on base + labelled (as retrain fits)."""
    settings = HeadSettings()
    x = np.concatenate([base[0], labelled[0]])
    y = np.concatenate([base[1], labelled[1]])
    ids = np.concatenate([np.zeros(len(base[1]), int), np.ones(len(labelled[1]), int)])
    draw = sources.sample_weights(y, ids, [1.0, 1.0], len(classes), settings.balance_power)
    weight, bias = last_layer.fit_head(x, y, draw, *last_layer.start_of(model.head(), settings),
                                       settings)
    probabilities = calibration.softmax(evaluation[0] @ weight.T + bias)
    return float(compute_metrics(probabilities, evaluation[1], classes)['top1'])


def curves(model: last_layer.HeadlessModel, cached: dict, captures: tuple, counts: list[int],
           draws: int, classes: list[str]) -> dict:
    """Order -> count -> per-draw {top1, items, classes}; and the order's time per draw."""
    features, probabilities, labels = captures
    results: dict = {}
    for seed in range(draws):
        item, copy = stream(len(labels), seed)
        x, p, y = features[item, copy], probabilities[item, copy], labels[item]
        for name, (order, seconds) in orders(p, x, classes, seed).items():
            entry = results.setdefault(name, {'seconds': [], 'counts': {}})
            entry['seconds'].append(round(seconds, 3))
            for n in counts:
                picked = order[:n]
                top1 = fit_and_score(model, cached['base'][:2], (x[picked], y[picked]),
                                     cached['eval'][:2], classes)
                entry['counts'].setdefault(n, []).append(
                    {'top1': top1, 'items': int(len(set(item[picked]))),
                     'classes': int(len(set(y[picked])))})
                log.info('draw %d, %s order, %d labelled: %.1f %%', seed, name, n, 100 * top1)
    return results


def duplicate_distances(features: np.ndarray, labels: np.ndarray) -> dict:
    """Return how far a copy is from its photo, and the nearest other photo of its class.

    Medians over 500 items, on unit-length features: what review_order.DUPLICATE_DISTANCE
    sits between.
    """
    unit = features / np.linalg.norm(features, axis=2, keepdims=True)
    rows = np.random.default_rng(0).permutation(len(labels))[:500]
    copy = np.linalg.norm(unit[rows, 1] - unit[rows, 0], axis=1)
    other = []
    for row in rows:
        same = np.flatnonzero((labels == labels[row]) & (np.arange(len(labels)) != row))
        other.append(np.linalg.norm(unit[same, 0] - unit[row, 0], axis=1).min())
    return {'copy_to_photo': float(np.median(copy)),
            'nearest_other_photo_same_class': float(np.median(other)),
            'copies_under_threshold': float(np.mean(copy < review_order.DUPLICATE_DISTANCE)),
            'others_under_threshold': float(np.mean(np.asarray(other)
                                                    < review_order.DUPLICATE_DISTANCE))}


def table(results: dict, counts: list[int], start: float) -> str:
    """Markdown: top-1 mean (min-max over draws) per order and count; distinct items labelled."""
    lines = [f'| order | {" | ".join(f"{n} labelled" for n in counts)} |',
             '|---|' + '---|' * len(counts)]
    for name, entry in results.items():
        cells = []
        for n in counts:
            top1 = [100 * r['top1'] for r in entry['counts'][n]]
            items = np.mean([r['items'] for r in entry['counts'][n]])
            cells.append(f'{np.mean(top1):.1f} % ({min(top1):.1f}-{max(top1):.1f}), '
                         f'{items:.0f} items')
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    lines.append(f'| none (the model as it is) | {100 * start:.1f} % |'
                 + ' |' * (len(counts) - 1))
    return '\n'.join(lines)


def plot(results: dict, counts: list[int], start: float, path: Path) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    for name, entry in results.items():
        top1 = np.array([[100 * r['top1'] for r in entry['counts'][n]] for n in counts])
        axis.errorbar(counts, top1.mean(1), [top1.mean(1) - top1.min(1),
                                             top1.max(1) - top1.mean(1)],
                      fmt='o-', capsize=3, label=f'{name} order')
    axis.axhline(100 * start, color='grey', linestyle=':', label='before (no labels)')
    axis.set_xlabel('captures labelled')
    axis.set_ylabel('top-1 on RealWaste val (%)')
    axis.set_title('Last layer, waste7-only model, RealWaste as the station', fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def run(args: argparse.Namespace) -> dict:
    started = time.monotonic()
    classes = model_card.read_labels(args.model.with_name('labels.txt'))
    model = last_layer.HeadlessModel(args.model, args.model.with_name('labels.txt'))
    name, folder, class_map = sources.parse_named_folder(args.eval, '--eval')
    cached = last_layer.features_of(model, {'base': (Path(args.base), None),
                                            'eval': (folder, class_map)}, args.out / 'features')
    captures = capture_features(model, args.station, classes, args.out / 'features')
    counts = [int(c) for c in args.counts.split(',')]
    start = float(compute_metrics(cached['eval'][2], cached['eval'][1], classes)['top1'])
    results = curves(model, cached, captures, counts, args.draws, classes)
    text = table(results, counts, start)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {'command': 'python -m training.station.review_order ' + ' '.join(sys.argv[1:]),
              'eval': name, 'start_top1': start, 'orders': results, 'table': text,
              'duplicates': duplicate_distances(captures[0], captures[2]),
              'captures_per_draw': [int(len(stream(len(captures[2]), s)[0]))
                                    for s in range(args.draws)],
              'seconds': round(time.monotonic() - started, 1)}
    (args.out / 'review_order.json').write_text(json.dumps(report, indent=1) + '\n')
    plot(results, counts, start, args.out / 'review_order.png')
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_tool('review_order', run, args)
    if report is None:
        return 2
    print(report['table'])
    print(f'useful order of {report["captures_per_draw"]} captures: '
          f'{report["orders"]["useful"]["seconds"]} s; duplicates: {report["duplicates"]}')
    print(f'{args.out / "review_order.png"}, {args.out / "review_order.json"} '
          f'({report["seconds"]:.0f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
