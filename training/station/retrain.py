# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Retrain the deployed model on a station's reviewed photos; install it only when it is better.

    python -m training.station.retrain --station my_station/ [--dataset field] \
        [--scope blocks,head] [--promote]

`--scope` says what learns, on the base sources plus the station's `train/` photos with the
class- and source-balanced draw of training.recipe.sources (the station is one more source,
`--station-weight`):

* `head`: a new classifier layer on features cached from the current model (the 1280 pooled
  features before the last layer, computed once per image with ONNX Runtime), started from the
  current layer and pulled back towards it (`--anchor`);
* `blocks`: the last stages of the network with its head (training.station.adapt, on weights
  rebuilt from the ONNX file by training.station.onnx_weights), the frozen stages run once per
  photo;
* `all`: the whole network (training.station.adapt), slow on a CPU.

Several scopes (the default `blocks,head`) each train, and the new model is the candidate within
the base sources' guard with the best top-1 on the station's val (ties: the one that kept more of
the base sources, then the first listed).

A station it cannot learn from (one class, fewer photos than a batch, a photo that cannot be
decoded, an unknown or empty class folder) is refused before anything is written. The new
model's temperature is fitted on the station's val and folded in. Then the current and the new
ONNX model are both evaluated, as files, through training.recipe.evaluate on the station's held-out
`val/` photos, on every base source's `val/`, and on any `--eval` folder; the per-class recalls
are printed side by side and written with everything else to `comparison.json` (the result a
caller reads). The new model is installed into `--install-dir` only with `--promote`, or when it
wins by the rule: better top-1 on the station's val, no more than `--max-drop` (1 point) worse on
any base source's val and no class of one more than `--max-class-drop` (10 points) (the rule and
the atomic install are waste_classifier_ros.flywheel.promotion's); a running classifier
(`--node`) is then told to switch to it. Its model card records the parent's sha256, the data it
saw and the comparison (docs/flywheel.md).
"""

import argparse
from dataclasses import dataclass, replace
import datetime
import json
import logging
from pathlib import Path
import shutil
import sys
import time
from typing import Any, Sequence

import numpy as np
import onnx
from torch import nn

from training.recipe import calibration, evaluate, export, sources
from training.recipe.train import resolve_device
from training.station import adapt, inputs, last_layer
from training.station.tool import run_tool
from waste_classifier_ros.core import model_card
from waste_classifier_ros.flywheel.promotion import (
    STATION,
    Candidate,
    choose,
    install,
    notify_running_node,
    promote_decision,
)

log = logging.getLogger(__name__)


def side_by_side(current: dict, new: dict, classes: list) -> str:
    """Per evaluation set: top-1 and per-class recall of the current and the new model."""
    lines = []
    for name in current:
        lines.append(f'== {name} ({current[name]["num_images"]} images)')
        lines.append(f'{"class":<12}{"current":>9}{"new":>9}{"change":>9}{"images":>8}')
        rows = [(c, current[name]['per_class'][c]['recall'], new[name]['per_class'][c]['recall'],
                 current[name]['per_class'][c]['support']) for c in classes]
        rows.append(('top-1', current[name]['top1'], new[name]['top1'],
                     current[name]['num_images']))
        for label, before, after, support in rows:
            if support:
                lines.append(f'{label:<12}{100 * before:>8.1f}%{100 * after:>8.1f}%'
                             f'{100 * (after - before):>+8.1f}{support:>8}')
    return '\n'.join(lines)


def plot(current: dict, new: dict, classes: list, path: Path) -> None:
    """Bars of per-class recall and top-1, current vs new, one panel per evaluation set."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = list(current)
    figure, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    labels = classes + ['top-1']
    x = np.arange(len(labels))
    for axis, name in zip(axes[0], names):
        for offset, (title, result) in zip((-0.2, 0.2), (('current', current), ('new', new))):
            values = [result[name]['per_class'][c]['recall'] for c in classes]
            axis.bar(x + offset, values + [result[name]['top1']], 0.4,
                     label=f'{title} ({100 * result[name]["top1"]:.1f}%)')
        axis.set_xticks(x, labels, rotation=45, ha='right')
        axis.set_ylim(0, 1.2)
        axis.set_yticks(np.linspace(0, 1, 6))
        axis.set_title(f'{name}: recall per class')
        axis.legend(loc='upper left', ncol=2, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--station', type=Path, required=True,
                        help='reviewed photos: DIR/train/<class>/ and DIR/val/<class>/ '
                        '(what waste-review writes)')
    parser.add_argument('--dataset', default='field',
                        help='the base sources: a dataset config of training/conf/dataset/')
    parser.add_argument('--base', action='append', default=[], metavar='NAME=DIR[:MAP]',
                        help='a base source folder (train/ and val/) with an optional class map '
                        'YAML, instead of --dataset; repeat for several')
    parser.add_argument('--model', type=Path, default=Path('model/waste_classifier.onnx'),
                        help='the current model (labels.txt and model_card.json beside it)')
    parser.add_argument('--out', type=Path, help='output folder (default outputs/retrain/<time>)')
    parser.add_argument('--install-dir', type=Path,
                        help="where a promoted model goes (default: the current model's folder)")
    parser.add_argument('--promote', action='store_true',
                        help='install the new model whatever the comparison says')
    parser.add_argument('--node', default='/waste_classifier',
                        help='the running classifier told to switch to an installed model '
                        "(a parameter set); '' = tell none")
    parser.add_argument('--max-drop', type=float, default=1.0,
                        help='points of top-1 a base source may lose for the rule (default 1)')
    parser.add_argument('--eval', action='append', default=[], metavar='NAME=DIR[:MAP]',
                        help='one more evaluation folder of class folders, with an optional '
                        'class map YAML; shown, not used by the rule')
    parser.add_argument('--station-weight', type=float, default=1.0,
                        help="the station source's weight in the balanced draw")
    parser.add_argument('--max-class-drop', type=float, default=10.0,
                        help="points of recall any class of a base source's val may lose for "
                        'the rule (default 10: two photos of waste7 trash pass, three block)')
    parser.add_argument('--scope', type=scopes_of, default=scopes_of(adapt.DEFAULT_SCOPE),
                        help='what learns: the last layer (head), the last stages with the head '
                        '(blocks) or the whole network (all); several, comma-separated, each '
                        'train and the one within the guard best on the station val is kept '
                        '(ties: the one better on the base sources, then the first listed); '
                        f'default {adapt.DEFAULT_SCOPE}')
    parser.add_argument('--device', default='auto', choices=('auto', 'cpu', 'cuda'),
                        help='where blocks/all train: auto = CUDA when torch sees a GPU')
    parser.add_argument('--label-free', action='store_true',
                        help="blocks/all: re-estimate the normalisation statistics on the "
                        "station's unlabelled photos (--inbox and its reviewed photos) first")
    parser.add_argument('--inbox', type=Path,
                        help='unreviewed captures (class folders) for --label-free')
    parser.add_argument('--balance-power', type=float, default=0.5)
    parser.add_argument('--batch-size', type=int, default=32,
                        help='photos per step; the station needs at least this many')
    parser.add_argument('--lr', type=float,
                        help='learning rate (default: head 3e-3, blocks 1e-3, all 3e-4)')
    parser.add_argument('--epochs', type=int, default=8,
                        help='blocks/all: at most this many epochs (early stopping on the '
                        "station's val)")
    parser.add_argument('--patience', type=int, default=2,
                        help='blocks/all: stop after this many epochs without a better '
                        'station top-1')
    parser.add_argument('--samples-per-epoch', type=int, default=0,
                        help="blocks/all: photos drawn per epoch (0 = twice the station's "
                        'training photos, at least 512)')
    parser.add_argument('--blocks-from', type=int, default=4,
                        help='blocks: the first trained stage (EfficientNet-Lite has 0..6)')
    parser.add_argument('--views', type=int, default=2,
                        help='blocks: cached views per photo (1 = the deployment view only, '
                        'more = plus augmented ones)')
    parser.add_argument('--mix-steps', type=int, default=adapt.Settings.mix_steps,
                        help='also try the weights start + i/N of the way to the trained '
                        "ones (blocks/all: the best epoch's; WiSE-FT), i = 1..N-1, kept when "
                        "within the guard and better on the station's val (0 = off)")
    parser.add_argument('--base-per-class', type=int, default=0,
                        help='blocks/all: at most this many training photos per class of each '
                        'base source (0 = all)')
    parser.add_argument('--steps', type=int, default=last_layer.HEAD_STEPS,
                        help='head: optimiser steps')
    parser.add_argument('--anchor', type=float, default=last_layer.HEAD_ANCHOR,
                        help='head: pull of the new layer towards the current one (L2)')
    parser.add_argument('--init', choices=('parent', 'fresh'), default='parent',
                        help='start from the current layer (default) or from zero weights; '
                        'fresh also drops the pull towards the current layer')
    parser.add_argument('--png', type=Path, help='write the side-by-side bars here too')
    parser.add_argument('--cache', default='outputs/retrain/features',
                        help="cached training features (reused while model and files are the "
                        "same); '' to turn off")
    return parser.parse_args(argv)


def scopes_of(text: str) -> list[str]:
    """Parse ``--scope``: one or more of adapt.SCOPES, comma-separated, each once."""
    scopes = [scope.strip() for scope in text.split(',')]
    if not all(scope in adapt.SCOPES for scope in scopes) or len(set(scopes)) < len(scopes):
        raise argparse.ArgumentTypeError(f'{text!r}: one or more of {", ".join(adapt.SCOPES)}, '
                                         'comma-separated, each once')
    return scopes


def retrain_head(args: argparse.Namespace, parent: last_layer.HeadlessModel,
                 train_splits: list[sources.SourceSplit], weights: list[float]
                 ) -> tuple[onnx.ModelProto, dict, dict | None]:
    """Learn the last layer on cached features: (new ONNX graph, facts, calibration)."""
    classes = parent.classes
    folders = {split.source.name: (split.source.root / split.split, split.source.class_map)
               for split in train_splits}
    if (args.station / 'val').is_dir():
        folders['station val'] = (args.station / 'val', None)
    for split in train_splits[:-1]:  # the base sources' val, for the guard
        folders[f'{split.source.name} val'] = (split.source.root / 'val', split.source.class_map)
    cached = last_layer.features_of(parent, folders, Path(args.cache) if args.cache else None)
    names = [split.source.name for split in train_splits]
    x = np.concatenate([cached[n][0] for n in names])
    y = np.concatenate([cached[n][1] for n in names])
    ids = np.concatenate([np.full(len(cached[n][1]), i) for i, n in enumerate(names)])
    draw = sources.sample_weights(y, ids, weights, len(classes), args.balance_power)
    start = parent.head()
    if args.init == 'fresh':
        start = (np.zeros_like(start[0]), np.zeros_like(start[1]))
    lr = args.lr or last_layer.HEAD_LR
    fitted = last_layer.fit_head(x, y, draw, *start, args.steps, lr,
                      args.anchor if args.init == 'parent' else 0.0)
    val = {name: cached[f'{name} val'][:2] for name in names[:-1]}
    if 'station val' in cached:
        val[STATION] = cached['station val'][:2]
    (weight, bias), mixes, chosen = last_layer.guarded_head(
        parent.head(), fitted, val, classes, args.max_drop / 100, args.max_class_drop / 100,
        args.mix_steps)
    report = None
    if 'station val' in cached:
        features, labels_val = cached['station val'][:2]
        logits = {STATION: features @ weight.T + bias}
        temperature = calibration.fit_temperature(logits, {STATION: labels_val})
        report = calibration.calibration_report(logits, {STATION: labels_val}, temperature)
        weight, bias = weight / temperature, bias / temperature
    method = {'scope': 'head',
              'method': "new classifier layer on the parent's cached features, "
                        + ("started from and anchored to the parent's layer"
                           if args.init == 'parent' else 'started from zero'),
              'steps': args.steps, 'lr': lr, 'anchor': args.anchor,
              'mixes': [c.row(c is chosen) for c in mixes],
              'kept_share': chosen.share if chosen else 1.0,
              'kept': chosen or (mixes[0] if mixes else Candidate(None, {})),
              'train': {n: int(len(cached[n][1])) for n in names}}
    return parent.with_head(weight, bias), method, report


def retrain_adapted(args: argparse.Namespace, scope: str, classes: list[str],
                    train_splits: list[sources.SourceSplit], weights: list[float],
                    bases: list[sources.Source]) -> tuple[nn.Module, dict, dict | None]:
    """Fine-tune the last blocks or the whole network (adapt): (model, facts, temperature)."""
    device = resolve_device(args.device)
    train = adapt.concat([adapt.decode(inputs.capped(split.samples, args.base_per_class)
                                       if i < len(bases) else split.samples, classes,
                                       source_id=i)
                          for i, split in enumerate(train_splits)])
    station_val = None
    if (args.station / 'val').is_dir():
        station_val = adapt.decode(sources.list_mapped(STATION, args.station / 'val', None,
                                                       classes)[0], classes)
    base_val = {s.name: adapt.decode(sources.list_source_split(s, 'val', classes).samples,
                                     classes) for s in bases}
    unlabelled = (inputs.unlabelled_photos(args.inbox, train, len(bases)) if args.label_free
                  else None)
    base_images = [train.images[i] for i in np.flatnonzero(train.source_ids < len(bases))]
    model, exported = adapt.rebuild(args.model, unlabelled, base_images[::4], args.batch_size)
    settings = adapt.Settings(
        scope=scope, blocks_from=args.blocks_from, views=args.views, epochs=args.epochs,
        patience=args.patience, batch_size=args.batch_size,
        lr=args.lr or adapt.DEFAULT_LR[scope], station_weight=args.station_weight,
        balance_power=args.balance_power, max_drop=args.max_drop / 100,
        max_class_drop=args.max_class_drop / 100, samples_per_epoch=args.samples_per_epoch,
        mix_steps=args.mix_steps)
    adapter = adapt.Adapter(model, exported, settings, classes, device)
    cached = adapter.inputs(train, settings.views, 'train')
    station_set = (station_val, adapter.inputs(station_val, 1, 'station val')) \
        if station_val else None
    base_sets = {n: (p, adapter.inputs(p, 1, f'{n} val')) for n, p in base_val.items()}
    fit = adapter.fit(train, cached, weights, station_set, base_sets)
    report = None
    if station_set:
        report = adapt.fold_new_temperature(model, adapter.evaluate({STATION: station_set}))
    model.cpu()
    method = {'scope': scope,
              'method': {'blocks': f'stages {args.blocks_from}.. of the network, the head '
                                   'convolution and the classifier layer fine-tuned on cached '
                                   'outputs of the frozen stages',
                         'all': 'the whole network fine-tuned (BatchNorm statistics frozen)'}
              [scope] + (", normalisation statistics re-estimated on the station's "
                              'unlabelled photos' if args.label_free else ''),
              'settings': vars(settings), 'device': str(device),
              'label_free': bool(args.label_free),
              'train': {split.source.name: int((train.source_ids == i).sum())
                        for i, split in enumerate(train_splits)},
              'history': fit['history'], 'kept_epoch': fit['kept_epoch'],
              'kept_share': fit['kept_share'], 'mixes': fit['mixes'],
              'kept_within_guard': fit['within_guard'], 'kept': fit['kept']}
    return model, method, report


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


@dataclass
class Trained:
    """The new network: its ONNX graph, the PyTorch network (blocks/all), how it was made."""

    graph: onnx.ModelProto
    network: nn.Module | None
    method: dict
    calibration: dict | None


@dataclass
class Comparison:
    """The current and the new model evaluated on the same folders, and the rule's verdict."""

    current: dict
    new: dict
    wins: bool
    reason: str
    summary: dict  # name -> top-1, macro F1, ECE and per-class recall of both models


def plan_retrain(args: argparse.Namespace) -> Plan:
    """Read the current model and list the photos; refuse a station it cannot learn from."""
    labels = args.model.with_name('labels.txt')
    card_path = args.model.with_name('model_card.json')
    parent = last_layer.HeadlessModel(args.model, labels)
    bases = inputs.base_sources(args.dataset, args.base)
    station = sources.Source(STATION, args.station, None, args.station_weight,
                             "the station's own photos")
    splits = [sources.list_source_split(s, 'train', parent.classes) for s in bases + [station]]
    inputs.check_station(splits[-1], parent.classes, args.batch_size)
    if (args.station / 'val').is_dir():
        sources.list_mapped(STATION, args.station / 'val', None, parent.classes)  # names checked
    return Plan(parent, model_card.read_card(card_path) if card_path.exists() else {}, labels,
                bases, station, splits)


def train_scope(args: argparse.Namespace, plan: Plan, scope: str) -> Trained:
    """Learn one scope's weights: the last layer on cached features, or training.station.adapt."""
    if scope == 'head':
        graph, method, calibrated = retrain_head(args, plan.parent, plan.train_splits,
                                                 plan.weights)
        return Trained(graph, None, method, calibrated)
    network, method, calibrated = retrain_adapted(args, scope, plan.classes, plan.train_splits,
                                                  plan.weights, plan.bases)
    return Trained(adapt.to_onnx(network), network, method, calibrated)


def train_new_model(args: argparse.Namespace, plan: Plan) -> Trained:
    """Train each ``--scope``; keep the one within the guard best on the station's val.

    Neither scope is ahead at every count of labelled photos (docs/flywheel.md, "Which scope
    is the default"); the station's val chooses, as it chooses among epochs. A tie there goes
    to the one that kept more of the base sources (their mean top-1), then to the first listed.
    """
    candidates = [train_scope(args, plan, scope) for scope in args.scope]
    kept = [replace(t.method['kept'], scope=t.method['scope']) for t in candidates]
    best = choose(kept, key=Candidate.by_bases) or choose(
        kept, guarded=False, key=Candidate.by_bases) or kept[0]
    chosen = candidates[next(i for i, c in enumerate(kept) if c is best)]
    for trained in candidates:  # the kept candidate, as a report row
        trained.method['kept'] = trained.method['kept'].row()
    if len(candidates) > 1:
        chosen.method['candidates'] = [c.row() for c in kept]
        log.info('kept the %s scope (%s)', chosen.method['scope'], '; '.join(
            f"{row['scope']}: station val {100 * (row['station_top1'] or 0):.1f}%"
            + (f", guard: {row['guard']}" if row['guard'] else '')
            for row in chosen.method['candidates']))
    return chosen


def write_new_model(args: argparse.Namespace, plan: Plan, trained: Trained, out: Path) -> Path:
    """Write the new ONNX file and labels into ``out``; an export off PyTorch is refused."""
    new_path = out / args.model.name
    last_layer.save_model(trained.graph, new_path)
    if trained.network is not None:
        check = adapt.normalised(adapt.decode(plan.train_splits[-1].samples[:16],
                                              plan.classes).images)
        difference = export.parity(trained.network, new_path, check.numpy())
        if not difference <= 1e-4:
            new_path.unlink()
            raise ValueError(f'the exported model differs from PyTorch by {difference:.1e}')
        trained.method['export_parity_max_abs_diff'] = difference
    shutil.copyfile(plan.labels, out / 'labels.txt')
    return new_path


def compare_models(args: argparse.Namespace, plan: Plan, new_path: Path) -> Comparison:
    """Evaluate both ONNX files on the station's, every base source's and --eval's val."""
    folders = inputs.eval_folders(args, plan.bases)
    current, new = (evaluate.evaluate_sources(evaluate.OnnxClassifier(path, plan.labels),
                                              folders)['per_source']
                    for path in (args.model, new_path))
    wins, reason = promote_decision(current, new, [s.name for s in plan.bases],
                                    args.max_drop / 100, STATION, args.max_class_drop / 100)
    keep = ('num_images', 'top1', 'macro_f1', 'ece')
    summary = {name: {'current': {k: current[name][k] for k in keep},
                      'new': {k: new[name][k] for k in keep},
                      'recall_current': {c: current[name]['per_class'][c]['recall']
                                         for c in plan.classes},
                      'recall_new': {c: new[name]['per_class'][c]['recall']
                                     for c in plan.classes},
                      'support': {c: current[name]['per_class'][c]['support']
                                  for c in plan.classes}}
               for name in folders}
    return Comparison(current, new, wins, reason, summary)


def new_card(args: argparse.Namespace, plan: Plan, trained: Trained, new_path: Path,
             comparison: Comparison, stamp: datetime.datetime, duration: float) -> dict:
    """Return the new model's card: the parent's, with lineage, data, comparison, decision."""
    card = {key: value for key, value in plan.parent_card.items()
            if key not in ('metrics', 'training', 'reproduce', 'export', 'calibration',
                           'retrain')}
    card.update({
        'model_file': new_path.name,
        'onnx_sha256': model_card.sha256_file(new_path),
        'onnx_bytes': new_path.stat().st_size,
        'classes': plan.classes,
        'parent': {'onnx_sha256': model_card.sha256_file(args.model), 'path': str(args.model),
                   'retrain': plan.parent_card.get('retrain', {}).get('command')},
        'calibration': trained.calibration,
        'retrain': {
            **trained.method,
            'command': 'python -m training.station.retrain ' + ' '.join(sys.argv[1:]),
            'balance_power': args.balance_power, 'station_weight': args.station_weight,
            'data': {'files_sha256': sources.files_sha256(plan.train_splits),
                     'sources': [{'name': s.name, 'root': str(s.root), 'licence': s.licence}
                                 for s in plan.bases + [plan.station]]},
            'comparison': comparison.summary,
            'rule': f'better top-1 on the station val, at most {args.max_drop:g} point(s) worse '
                    f'on any base source val and no class of one more than '
                    f'{args.max_class_drop:g} points',
            'wins_by_rule': comparison.wins, 'decision': comparison.reason,
            'date': stamp.isoformat(timespec='seconds'),
            'duration_s': duration,
        },
    })
    return card


def install_if_chosen(args: argparse.Namespace, out: Path, new_path: Path, wins: bool) -> dict:
    """Install model, labels and card when the rule (or --promote) says so; tell the node."""
    if not (args.promote or wins):
        return {'installed': None}
    installed = args.install_dir or args.model.parent
    install([new_path, out / 'labels.txt', out / 'model_card.json'], installed)
    result: dict[str, Any] = {'installed': str(installed)}
    if args.node:
        answer = notify_running_node(installed / new_path.name, node=args.node)
        result['node'] = {'switched': answer.switched, 'message': str(answer)}
    return result


def run(args: argparse.Namespace) -> dict:
    """Plan, train, write, compare, card, install: the retrain's steps; returns the report."""
    started = time.monotonic()
    plan = plan_retrain(args)
    trained = train_new_model(args, plan)
    stamp = datetime.datetime.now(datetime.timezone.utc)
    out = args.out or Path('outputs/retrain') / f'{stamp:%Y-%m-%d_%H-%M-%S}'
    out.mkdir(parents=True, exist_ok=True)
    new_path = write_new_model(args, plan, trained, out)
    log.info('new model written (%.0f s so far); evaluating the current and the new model',
             time.monotonic() - started)
    comparison = compare_models(args, plan, new_path)
    duration = round(time.monotonic() - started, 1)
    model_card.write_card(out / 'model_card.json',
                          new_card(args, plan, trained, new_path, comparison, stamp, duration))
    report = {'out': str(out), 'model': str(new_path), 'scope': trained.method['scope'],
              'wins_by_rule': comparison.wins, 'decision': comparison.reason,
              'bases': [s.name for s in plan.bases],
              'comparison': comparison.summary, 'calibration': trained.calibration,
              'duration_s': duration,
              'table': side_by_side(comparison.current, comparison.new, plan.classes)}
    for png in filter(None, (out / 'comparison.png', args.png)):
        plot(comparison.current, comparison.new, plan.classes, png)
    report |= install_if_chosen(args, out, new_path, comparison.wins)
    (out / 'comparison.json').write_text(json.dumps(report, indent=1) + '\n')
    log.info('retrain finished in %.1f min (%.0f s)', (time.monotonic() - started) / 60,
             time.monotonic() - started)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    try:
        report = run_tool('retrain', run, parse_args(argv))
    except KeyboardInterrupt:
        print('retrain: interrupted; the install folder holds the old model, or the whole new '
              'one if its install had begun (all or nothing; the next install completes it)',
              file=sys.stderr)
        return 130
    if report is None:
        return 2
    print(report['table'])
    print(f'rule: {"wins" if report["wins_by_rule"] else "does not win"} '
          f'({report["decision"]}); new model and card in {report["out"]}')
    print(f'installed into {report["installed"]}' if report['installed'] else
          'not installed (pass --promote to install anyway)')
    if 'node' in report:
        print(report['node']['message'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
