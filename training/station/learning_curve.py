# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
How much labelling buys what: station accuracy against the number of labelled photos, per scope.

    python -m training.station.learning_curve --station my_station/ --dataset permissive \\
        --scopes head,blocks --counts 0,25,50,100,200,all --out outputs/curve

For each scope and each count n, the retrain's method (training.station.retrain's last layer, or
training.station.adapt's last blocks or whole network) learns from the first n of the station's
reviewed training photos (a fixed shuffle, as an operator labels them in no particular order)
plus the base sources, and is scored on the station's held-out val photos, every base source's
val and any ``--eval`` folder. n = 0 is the model as it is (with ``--label-free``: its
normalisation statistics re-estimated on the station's photos, no labels). Photos are decoded
and the frozen part of the network is run once for all counts. Writes ``curve.json``,
``curve.png`` and a Markdown table (``curve.md``), and prints the table.
"""

import argparse
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import shutil
import sys
import time
from typing import Optional, Sequence

import numpy as np
import onnx
import torch
from torch import nn

from training.recipe import calibration, sources
from training.recipe.metrics import compute_metrics
from training.station import adapt, inputs, last_layer
from training.station.settings import (
    HeadSettings,
    Settings,
    adapt_settings,
    parse_set,
    settings_for,
)
from training.station.tool import run_tool
from waste_classifier_ros.core import model_card
from waste_classifier_ros.flywheel.promotion import STATION, Candidate, Guard, choose

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--station', type=Path, required=True)
    parser.add_argument('--dataset', default='field')
    parser.add_argument('--base', action='append', default=[], metavar='NAME=DIR[:MAP]')
    parser.add_argument('--model', type=Path, default=Path('model/waste_classifier.onnx'))
    parser.add_argument('--eval', action='append', default=[], metavar='NAME=DIR[:MAP]')
    parser.add_argument('--scopes', default=adapt.DEFAULT_SCOPE,
                        help='comma-separated; with several, also the curve of the one '
                        "retrain --scope with the same list keeps (default: retrain's)")
    parser.add_argument('--counts', default='0,25,50,100,200,all')
    parser.add_argument('--inbox', type=Path, help='unreviewed captures for --label-free')
    parser.add_argument('--label-free', action='store_true',
                        help='re-estimate the normalisation statistics on the station photos')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                        help="a setting of each scope that has it, by retrain's option name "
                        '(training.station.settings), e.g. --set lr=3e-4')
    parser.add_argument('--variant', action='append', default=[],
                        metavar='NAME:KEY=VALUE[,KEY=VALUE]',
                        help='blocks/all: one more curve with these training settings changed '
                        '(those that do not change the cached trunk: lr, epochs, ...)')
    parser.add_argument('--pooled', action='store_true',
                        help="a count is every labelled photo, the station's val ones included: "
                        'at n the station has the val photos among its first n (as review splits '
                        'them), so its decisions are made on as few photos as a real station has')
    parser.add_argument('--draws', type=int, default=1,
                        help='labelling orders (shuffles) to average; the table gives the range')
    parser.add_argument('--base-per-class', type=int, default=0)
    parser.add_argument('--out', type=Path, default=Path('outputs/curve'))
    parser.add_argument('--title', default='')
    return parser.parse_args(argv)


@dataclass(frozen=True)
class Labelled:
    """Which station photos are labelled at each count, in one labelling order (a shuffle).

    ``order`` ranks the station's photos: index i < len(station_rows) is the train photo at
    ``station_rows[i]`` of photos['train'], a larger one the photo ``i - len(station_rows)`` of
    photos[STATION]. Not pooled, the order holds the train photos only and every val photo is
    labelled; pooled, a count is the first n of train and val photos together, so the station's
    val at n is the share of them that review put there.
    """

    station_id: int
    station_rows: np.ndarray
    order: np.ndarray
    val_count: int
    pooled: bool

    @classmethod
    def draw(cls, train: adapt.Photos, station_id: int, val_count: int, pooled: bool,
             seed: int) -> 'Labelled':
        station_rows = np.flatnonzero(train.source_ids == station_id)
        size = len(station_rows) + (val_count if pooled else 0)
        return cls(station_id, station_rows, np.random.default_rng(seed).permutation(size),
                   val_count, pooled)

    @property
    def total(self) -> int:
        return len(self.order)

    def at(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the labelled rows at count n: of photos['train'] and of photos[STATION]."""
        first = self.order[:n]
        train = self.station_rows[first[first < len(self.station_rows)]]
        if not self.pooled:
            return train, np.arange(self.val_count)
        return train, first[first >= len(self.station_rows)] - len(self.station_rows)

    def train_rows(self, photos: adapt.Photos, n: int) -> np.ndarray:
        """Return the rows a retrain at n learns from: base photos, labelled station ones."""
        return np.concatenate([np.flatnonzero(photos.source_ids != self.station_id),
                               self.at(n)[0]])


def station_val_at(labelled: 'Labelled', n: int) -> np.ndarray:
    """Return the station val rows scored at n: those labelled, or all before any is."""
    rows = labelled.at(n)[1]
    return rows if n and len(rows) else np.arange(labelled.val_count)


def head_features(model_path: Path, photos: dict) -> tuple[dict, tuple]:
    """Every photo's features before the last layer, and that layer (computed once)."""
    parent = last_layer.HeadlessModel(model_path, model_path.with_name('labels.txt'))
    trunk = adapt.Trunk(parent.model, 0, output=parent.features)
    features = {name: trunk(p, 1, 0.0, 0, 64, name)[:, 0].float().numpy()
                for name, p in photos.items()}
    return features, parent.head()


def head_curve(features: dict, start: tuple, photos: dict, counts: list,
               labelled: Labelled, weights: list, classes: list, base_names: list[str],
               settings: HeadSettings) -> dict:
    """Fit the last layer at every count as training.station.retrain does: n -> name -> metrics.

    retrain's fit_head, then its guarded_head (the fit or a mix with the start, within the
    base sources' guard).
    """
    train = photos['train']
    results = {}
    for n in counts:
        tic = time.monotonic()
        val_rows = station_val_at(labelled, n)
        if n == 0:
            weight, bias = start
        else:
            keep = labelled.train_rows(train, n)
            draw = sources.sample_weights(train.labels[keep], train.source_ids[keep], weights,
                                          len(classes), settings.balance_power)
            fitted = last_layer.fit_head(features['train'][keep], train.labels[keep], draw,
                                         *last_layer.start_of(start, settings), settings)
            val = {STATION: (features[STATION][val_rows], photos[STATION].labels[val_rows])}
            val |= {name: (features[name], photos[name].labels) for name in base_names}
            (weight, bias), _, chosen = last_layer.guarded_head(
                start, fitted, val, classes, settings.max_drop, settings.max_class_drop,
                settings.mix_steps, settings.guard_confidence)
        scored = {name: val_rows if name == STATION else slice(None)
                  for name in features if name != 'train'}
        results[n] = {name: compute_metrics(
            calibration.softmax(features[name][rows] @ weight.T + bias),
            photos[name].labels[rows], classes) for name, rows in scored.items()}
        if n:
            results[n]['_fit'] = {'kept_share': chosen.share if chosen else 1.0,
                                  'seconds': round(time.monotonic() - tic, 1)}
    return results


def adapted_curves(model: nn.Module, exported: onnx.ModelProto,
                   variants: dict[str, adapt.Settings], photos: dict[str, adapt.Photos],
                   counts: list[int], draws: list[Labelled], weights: list[float],
                   classes: list[str], base_names: list[str]) -> list[dict]:
    """Per draw, name -> the curve of each variant's settings (the first's trunk cache for all)."""
    settings = next(iter(variants.values()))
    adapter = adapt.Adapter(model, exported, settings, classes, torch.device('cpu'))
    cached = {name: adapter.inputs(p, settings.views if name == 'train' else 1, name)
              for name, p in photos.items()}
    start = {k: v.clone() for k, v in model.state_dict().items()}
    curves: list[dict] = [{} for _ in draws]
    for name, adapter.settings in variants.items():
        for i, labelled in enumerate(draws):
            curves[i][name] = one_curve(adapter, start, cached, photos, counts, labelled,
                                        weights, base_names)
    return curves


def _rows(photos: adapt.Photos, cached: Optional[torch.Tensor],
          rows: np.ndarray) -> tuple[adapt.Photos, Optional[torch.Tensor]]:
    return photos.take(rows), None if cached is None else cached[torch.from_numpy(rows)]


def one_curve(adapter: adapt.Adapter, start: dict, cached: dict,
              photos: dict[str, adapt.Photos], counts: list[int], labelled: Labelled,
              weights: list[float], base_names: list[str]) -> dict:
    """Fit from ``start`` with the first n station photos, for each n: n -> name -> metrics."""
    model = adapter.model
    results = {}
    for n in counts:
        tic = time.monotonic()
        model.load_state_dict(start)
        station_val = _rows(photos[STATION], cached[STATION], station_val_at(labelled, n))
        info = None
        if n:
            info = adapter.fit(*_rows(photos['train'], cached['train'],
                                      labelled.train_rows(photos['train'], n)),
                               weights, station_val,
                               {b: (photos[b], cached[b]) for b in base_names})
        scored = adapter.evaluate({name: (p, cached[name]) for name, p in photos.items()
                                   if name not in ('train', STATION)} | {STATION: station_val})
        results[n] = {name: s.metrics for name, s in scored.items()}
        if info:
            results[n]['_fit'] = {'kept_epoch': info['kept_epoch'],
                                  'kept_share': info['kept_share'],
                                  'epochs_run': len(info['history']) - 1,
                                  'seconds': round(time.monotonic() - tic, 1)}
    return results


def chosen_curve(curves: dict, counts: list[int], base_names: list[str],
                 settings: Settings) -> dict:
    """Return what ``retrain --scope`` with these scopes keeps at each count (n -> metrics).

    training.station.retrain's choice (promotion.choose by Candidate.by_bases): within the base
    sources' guard (promotion.Guard with the settings' limits and confidence), the least
    changed scope the station's val cannot tell from the best (station top-1, then the base
    sources' mean top-1); when none keeps the guard, the same over all.
    """
    guard = Guard(settings.max_drop, settings.max_class_drop, settings.guard_confidence)

    def candidate(scope: str, n: int) -> Candidate:
        return Candidate.scored(curves[scope][0], curves[scope][n], base_names, guard,
                                scope=scope)

    chosen = {}
    for n in counts:
        options = [candidate(scope, n) for scope in curves]
        best = choose(options, key=Candidate.by_bases) or choose(
            options, guarded=False, key=Candidate.by_bases) or options[0]
        chosen[n] = curves[best.scope][n] | {'_fit': {'scope': best.scope}}
    return chosen


def summarise(draws: list[dict], counts: list, names: list) -> dict:
    """Scope -> n -> name -> the mean, lowest and highest top-1 over the draws, and fit time."""
    summary: dict = {}
    for scope in draws[0]:
        summary[scope] = {}
        for n in counts:
            top1 = {name: [d[scope][n][name]['top1'] for d in draws] for name in names}
            seconds = [d[scope][n].get('_fit', {}).get('seconds') for d in draws]
            summary[scope][n] = {name: {'mean': float(np.mean(v)), 'low': min(v),
                                        'high': max(v)} for name, v in top1.items()}
            known = [s for s in seconds if s is not None]
            summary[scope][n]['fit_seconds'] = float(np.mean(known)) if known else None
    return summary


def table(summary: dict, counts: list, names: list, draws: int) -> str:
    lines = ['| scope | labelled photos | ' + ' | '.join(names) + ' | fit time |',
             '|---|---|' + '---|' * (len(names) + 1)]

    def cell(value: dict) -> str:
        text = f'{100 * value["mean"]:.1f}%'
        return text + (f' ({100 * value["low"]:.1f}-{100 * value["high"]:.1f})'
                       if draws > 1 else '')

    for scope, results in summary.items():
        for n in counts:
            seconds = results[n]['fit_seconds']
            lines.append(f'| {scope} | {n} | ' + ' | '.join(
                cell(results[n][name]) for name in names)
                + f' | {"" if seconds is None else f"{seconds / 60:.1f} min"} |')
    return '\n'.join(lines)


def plot(summary: dict, counts: list, names: list, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.8), squeeze=False)
    for axis, name in zip(axes[0], names):
        for scope, results in summary.items():
            line, = axis.plot(counts, [100 * results[n][name]['mean'] for n in counts], 'o-',
                              label=scope)
            # The spread over labelling orders: a band where the draws differ.
            axis.fill_between(counts, [100 * results[n][name]['low'] for n in counts],
                              [100 * results[n][name]['high'] for n in counts],
                              color=line.get_color(), alpha=0.15, linewidth=0)
        axis.set_title(name)
        axis.set_xlabel('labelled station photos')
        axis.set_ylabel('top-1 (%)')
        if counts[-1] > 20 * max(counts[1], 1):
            axis.set_xscale('symlog', linthresh=max(counts[1], 1))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def load_photos(args: argparse.Namespace, classes: list[str],
                bases: list[sources.Source]) -> dict[str, adapt.Photos]:
    """Decode once: the train photos, the station's and each base source's val, ``--eval``."""
    station = sources.Source(STATION, args.station, None)
    splits = [sources.list_source_split(s, 'train', classes) for s in bases + [station]]
    photos = {'train': inputs.train_photos(splits, classes, args.base_per_class)}
    photos |= inputs.val_photos(args.station, bases, classes)
    if STATION not in photos:
        raise ValueError(f'{args.station / "val"}: the curve scores on the station\'s val photos')
    for item in args.eval:
        name, folder, class_map = sources.parse_named_folder(item, '--eval')
        photos[name] = adapt.decode(sources.list_mapped(name, folder, class_map, classes)[0],
                                    classes)
    return photos


def scope_curves(args: argparse.Namespace, scope: str, photos: dict, counts: list[int],
                 draws: list[Labelled], weights: list[float], classes: list[str],
                 base_names: list[str]) -> tuple[list[dict], dict]:
    """Return one scope's curves (its variants' too), one per draw, and its fit facts."""
    tic = time.monotonic()
    values = parse_set(args.set)
    settings = settings_for(scope, values)
    train = photos['train']
    unlabelled = inputs.unlabelled_photos(args.inbox, train, len(base_names)) \
        if args.label_free else None
    base_stats = [train.images[i] for i in np.flatnonzero(train.source_ids < len(base_names))[::4]]
    model, exported = adapt.rebuild(args.model, unlabelled, base_stats)
    if isinstance(settings, HeadSettings):
        path = args.model
        if args.label_free:
            path = args.out / 'label_free' / args.model.name
            path.parent.mkdir(parents=True, exist_ok=True)
            last_layer.save_model(exported, path)
            shutil.copyfile(args.model.with_name('labels.txt'), path.with_name('labels.txt'))
        features, start = head_features(path, photos)
        curves = [{scope: head_curve(features, start, photos, counts, labelled, weights,
                                     classes, base_names, settings)} for labelled in draws]
    else:
        variants = {scope: adapt_settings(scope, values)} | {
            f'{scope} {v.partition(":")[0]}': adapt_settings(
                scope, values | parse_set(v.partition(':')[2].split(','))) for v in args.variant}
        curves = adapted_curves(model, exported, variants, photos, counts, draws, weights,
                                classes, base_names)
    log.info('%s done in %.0f s', scope, time.monotonic() - tic)
    return curves, {'seconds': round(time.monotonic() - tic, 1), 'settings': vars(settings)}


def all_curves(args: argparse.Namespace, photos: dict, counts: list[int],
               draws: list[Labelled], weights: list[float], classes: list[str],
               base_names: list[str]) -> tuple[list[dict], dict]:
    """Per draw, scope -> n -> name -> metrics, with the default's choice; and the fit facts."""
    curves: list[dict] = [{} for _ in draws]
    fits = {}
    scopes = args.scopes.split(',')
    for scope in scopes:
        scoped, fits[scope] = scope_curves(args, scope, photos, counts, draws, weights, classes,
                                           base_names)
        for mine, theirs in zip(curves, scoped):
            mine |= theirs
    if len(scopes) > 1:
        for curve in curves:
            curve[args.scopes] = chosen_curve({s: curve[s] for s in scopes}, counts, base_names,
                                              settings_for(scopes[-1], parse_set(args.set)))
    return curves, fits


def run(args: argparse.Namespace) -> dict:
    started = time.monotonic()
    classes = model_card.read_labels(args.model.with_name('labels.txt'))
    bases = inputs.base_sources(args.dataset, args.base)
    base_names = [s.name for s in bases]
    photos = load_photos(args, classes, bases)
    draws = [Labelled.draw(photos['train'], len(bases), len(photos[STATION]), args.pooled, seed)
             for seed in range(args.draws)]
    total = draws[0].total
    # n = 0, the model as it is, always: the guard and the gains are measured against it.
    counts = sorted({0} | {total if c == 'all' else min(int(c), total)
                           for c in args.counts.split(',')})
    weights = [s.weight for s in bases] + [1.0]
    names = [n for n in photos if n != 'train']
    curves, fits = all_curves(args, photos, counts, draws, weights, classes, base_names)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = summarise(curves, counts, names)
    text = table(summary, counts, names, args.draws)
    report = {'command': 'python -m training.station.learning_curve ' + ' '.join(sys.argv[1:]),
              'counts': counts, 'pooled': args.pooled, 'draws': args.draws,
              'label_free': args.label_free, 'fits': fits,
              # The first draw in full (per-class recalls, what each fit kept) ...
              'curves': {scope: {str(n): {name: {'top1': r[name]['top1'],
                                                 'recall': {c: r[name]['per_class'][c]['recall']
                                                            for c in classes}}
                                          for name in names} | {'fit': r.get('_fit')}
                                 for n, r in results.items()}
                         for scope, results in curves[0].items()},
              # ... and every draw's top-1 as mean, lowest and highest.
              'summary': {scope: {str(n): row for n, row in results.items()}
                          for scope, results in summary.items()},
              'table': text, 'seconds': round(time.monotonic() - started, 1)}
    (args.out / 'curve.json').write_text(json.dumps(report, indent=1) + '\n')
    (args.out / 'curve.md').write_text(text + '\n')
    plot(summary, counts, names, args.out / 'curve.png', args.title)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_tool('learning_curve', run, args)
    if report is None:
        return 2
    print(report['table'])
    print(f'{args.out / "curve.png"}, {args.out / "curve.json"} ({report["seconds"]:.0f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
