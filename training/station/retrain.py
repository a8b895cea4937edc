# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Retrain the deployed model on a station's reviewed photos; install it only when it is better.

    python -m training.station.retrain --station my_station/ [--dataset field] \
        [--scope blocks,head] [--promote]

Plan: the current model and the base sources' and station's ``train/`` photos (inputs; a
station it cannot learn from is refused before anything is written). Train each ``--scope``
(settings): ``head`` a new last layer on cached features (last_layer), ``blocks`` the last stages
and ``all`` the whole network (adapt); keep the candidate within the base sources' guard best on
the station's val (promotion.choose: the cheapest its val cannot tell from the best),
its temperature fitted there. Compare both ONNX files (comparison) on the station's, each base
source's and ``--eval``'s val, written to ``comparison.json``. Install with ``--promote`` or when
the rule says it wins (promotion: better on the station's val, at most ``--max-drop`` points
worse on a base source, no class more than ``--max-class-drop``) and tell the running classifier
(``--node``). The card records lineage, data and comparison.
"""

import argparse
from dataclasses import dataclass, field, replace
import datetime
import json
import logging
from pathlib import Path
import shutil
import sys
import time
from typing import Any, Sequence

import onnx
from torch import nn

from training.recipe import export, sources
from training.recipe.train import resolve_device
from training.station import adapt, comparison, inputs, last_layer
from training.station.settings import HeadSettings, settings_for
from training.station.tool import run_tool
from waste_classifier_ros.core import model_card
from waste_classifier_ros.flywheel import promotion
from waste_classifier_ros.flywheel.promotion import STATION, Candidate, Guard, choose

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    group = parser.add_argument_group('photos and models')
    group.add_argument('--station', type=Path, required=True,
                       help="the station's reviewed photos: DIR/train/<class>/, DIR/val/<class>/")
    group.add_argument('--dataset', default='field', help='base sources: a training/conf/dataset')
    group.add_argument('--base', action='append', default=[], metavar='NAME=DIR[:MAP]',
                       help='a base source folder instead of --dataset (repeatable)')
    group.add_argument('--model', type=Path, default=Path('model/waste_classifier.onnx'),
                       help='the current model (labels.txt and model_card.json beside it)')
    group.add_argument('--eval', action='append', default=[], metavar='NAME=DIR[:MAP]',
                       help='one more folder both models are scored on (not by the rule)')
    group.add_argument('--out', type=Path, help='output folder (default outputs/retrain/<time>)')
    group.add_argument('--png', type=Path, help='the side-by-side bars here too')
    group.add_argument('--cache', default='outputs/retrain/features',
                       help='head: cached features, reused while model and files are the same')
    group = parser.add_argument_group('the rule and the install')
    group.add_argument('--max-drop', type=float, default=1.0,
                       help='points of top-1 a base source may lose (default 1)')
    group.add_argument('--max-class-drop', type=float, default=10.0,
                       help="points of recall a class of a base source's val may lose (10)")
    group.add_argument('--guard-confidence', type=float, default=promotion.GUARD_CONFIDENCE,
                       help='a loss counts where its paired interval shows it (0: strict)')
    group.add_argument('--promote', action='store_true', help='install whatever the rule says')
    group.add_argument('--install-dir', type=Path, help="default: the current model's folder")
    group.add_argument('--node', default='/waste_classifier',
                       help="the running classifier told to switch ('' = none)")
    _scope_options(parser)
    return parser.parse_args(argv)


def _scope_options(parser: argparse.ArgumentParser) -> None:
    """Add the training options, grouped by scope (their fields: training.station.settings)."""
    group = parser.add_argument_group('every scope')
    group.add_argument('--scope', type=adapt.scopes_of,
                       default=adapt.scopes_of(adapt.DEFAULT_SCOPE),
                       help='head, blocks and/or all, comma-separated; each trains, the best '
                       f'within the guard is kept (default {adapt.DEFAULT_SCOPE})')
    group.add_argument('--lr', type=float, help='head 3e-3, blocks 1e-3, all 3e-4 by default')
    group.add_argument('--batch-size', type=int, default=32,
                       help='photos per step; the station needs at least this many')
    group.add_argument('--station-weight', type=float, default=1.0,
                       help="the station source's weight in the balanced draw")
    group.add_argument('--balance-power', type=float, default=0.5,
                       help='class balance of the draw (0 as found, 1 equal classes)')
    group.add_argument('--mix-steps', type=int, default=HeadSettings.mix_steps,
                       help='WiSE-FT: also try start + i/N of the change, i = 1..N-1 (0 = off)')
    group = parser.add_argument_group('head')
    group.add_argument('--steps', type=int, default=HeadSettings.steps, help='optimiser steps')
    group.add_argument('--anchor', type=float, default=HeadSettings.anchor,
                       help='L2 pull of the new layer towards the current one')
    group.add_argument('--init', choices=('parent', 'fresh'), default='parent',
                       help='start from the current layer, or from zeros with no pull')
    group = parser.add_argument_group('blocks and all')
    group.add_argument('--device', default='auto', choices=('auto', 'cpu', 'cuda'),
                       help='auto = CUDA when torch sees a GPU')
    group.add_argument('--epochs', type=int, default=adapt.Settings.epochs,
                       help="at most this many (early stopping on the station's val)")
    group.add_argument('--patience', type=int, default=adapt.Settings.patience,
                       help='epochs without a better station top-1 before stopping')
    group.add_argument('--samples-per-epoch', type=int, default=0,
                       help="0 = twice the station's training photos, at least 512")
    group.add_argument('--blocks-from', type=int, default=adapt.Settings.blocks_from,
                       help='blocks: the first trained stage (EfficientNet-Lite has 0..6)')
    group.add_argument('--views', type=int, default=adapt.Settings.views,
                       help='blocks: cached views per photo (1 = the deployment view only)')
    group.add_argument('--base-per-class', type=int, default=0,
                       help='at most this many photos per class of each base source (0 = all)')
    group.add_argument('--label-free', action='store_true',
                       help='re-estimate the normalisation statistics on unlabelled photos')
    group.add_argument('--inbox', type=Path, help='unreviewed captures for --label-free')
    group.add_argument('--work', default='outputs/retrain/work', help='blocks/all: epochs kept '
                       "here; the same command again resumes after the last ('' = off)")


@dataclass
class Trained:
    """The new network: its ONNX graph, the PyTorch network (blocks/all), how it was made."""

    graph: onnx.ModelProto
    network: nn.Module | None
    method: dict
    calibration: dict | None
    kept: Candidate  # its scope's kept candidate, as the station's val scored it
    tried: list[Candidate] = field(default_factory=list)  # every scope's epochs and mixes


def plan_retrain(args: argparse.Namespace) -> inputs.Plan:
    """Read the current model and list the photos; refuse a station it cannot learn from."""
    return inputs.plan(args.model, inputs.base_sources(args.dataset, args.base), args.station,
                       args.station_weight, args.batch_size)


def train_scope(args: argparse.Namespace, plan: inputs.Plan, scope: str) -> Trained:
    """Learn one scope's weights with its settings: the last layer, or training.station.adapt."""
    values = vars(args) | {'max_drop': args.max_drop / 100,
                           'max_class_drop': args.max_class_drop / 100}
    settings = settings_for(scope, values)
    if isinstance(settings, HeadSettings):
        graph, method, report, kept = last_layer.train_head(
            plan.parent, plan.train_splits, plan.weights, plan.station_val, settings,
            Path(args.cache) if args.cache else None)
        return Trained(graph, None, method, report, kept)
    train = inputs.train_photos(plan.train_splits, plan.classes, args.base_per_class)
    val = inputs.val_photos(args.station, plan.bases, plan.classes)
    unlabelled = inputs.unlabelled_photos(args.inbox, train, len(plan.bases)) \
        if args.label_free else None
    network, method, report, kept = adapt.adapt_to_station(
        args.model, settings, plan.classes, train, plan.weights, val.pop(STATION, None), val,
        resolve_device(args.device), unlabelled, Path(args.work) if args.work else None)
    method['train'] = {split.source.name: int((train.source_ids == i).sum())
                       for i, split in enumerate(plan.train_splits)}
    return Trained(adapt.to_onnx(network), network, method, report, kept)


def train_new_model(args: argparse.Namespace, plan: inputs.Plan) -> Trained:
    """Train each ``--scope``; keep one within the guard by the station's val (choose).

    Neither scope is ahead at every count of labelled photos (docs/flywheel.md, "Which scope
    is the default"): of those its val cannot tell from the best, the cheapest scope is kept.
    """
    trained = [train_scope(args, plan, scope) for scope in args.scope]
    kept = [replace(t.kept, scope=scope) for t, scope in zip(trained, args.scope)]
    best = choose(kept, key=Candidate.by_bases) or choose(
        kept, guarded=False, key=Candidate.by_bases) or kept[0]
    chosen = trained[kept.index(best)]
    chosen.method['kept'], chosen.kept = best.row(), best
    chosen.tried = [replace(Candidate.from_row(row), scope=scope) for t, scope in
                    zip(trained, args.scope) for row in t.method.get('history', [])[1:]
                    + t.method['mixes']]  # history[0] is the start
    if len(trained) > 1:
        chosen.method['candidates'] = [c.row() for c in kept]
    return chosen


def write_new_model(args: argparse.Namespace, plan: inputs.Plan, trained: Trained,
                    out: Path) -> Path:
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


def new_card(args: argparse.Namespace, plan: inputs.Plan, trained: Trained, new_path: Path,
             compared: comparison.Comparison, stamp: datetime.datetime,
             duration: float) -> dict:
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
            'comparison': compared.summary, 'not_judged': compared.not_judged,
            'rule': f'better top-1 on the station val; {compared.guard}',
            'wins_by_rule': compared.wins, 'decision': compared.reason,
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
    promotion.install([new_path, out / 'labels.txt', out / 'model_card.json'], installed)
    result: dict[str, Any] = {'installed': str(installed)}
    if args.node:
        answer = promotion.notify_running_node(installed / new_path.name, node=args.node)
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
    log.info('new model written (%.0f s); comparing it', time.monotonic() - started)
    compared = comparison.compare(args.model, new_path, plan.labels,
                                  inputs.eval_folders(args.station, plan.bases, args.eval),
                                  [s.name for s in plan.bases], Guard(
                                      args.max_drop / 100, args.max_class_drop / 100,
                                      args.guard_confidence))
    trained.method['trade_off'] = compared.trade_off(trained.tried, trained.kept)
    duration = round(time.monotonic() - started, 1)
    model_card.write_card(out / 'model_card.json',
                          new_card(args, plan, trained, new_path, compared, stamp, duration))
    report = {'out': str(out), 'model': str(new_path), 'scope': trained.method['scope'],
              'wins_by_rule': compared.wins, 'decision': compared.reason,
              'bases': [s.name for s in plan.bases], 'comparison': compared.summary,
              'guard': compared.statements, 'trade_off': trained.method['trade_off'],
              'not_judged': compared.not_judged, 'calibration': trained.calibration,
              'duration_s': duration, 'table': comparison.side_by_side(
                  compared.current, compared.new, plan.classes, compared.not_judged)}
    for png in filter(None, (out / 'comparison.png', args.png)):
        comparison.plot(compared.current, compared.new, plan.classes, png)
    report |= install_if_chosen(args, out, new_path, compared.wins)
    (out / 'comparison.json').write_text(json.dumps(report, indent=1) + '\n')
    took = time.monotonic() - started
    log.info('retrain finished in %.1f min (%.0f s)', took / 60, took)
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
    print(report['table'], *report['trade_off']['lines'], sep='\n')
    print(f'rule: {"wins" if report["wins_by_rule"] else "does not win"} '
          f'({report["decision"]}); new model and card in {report["out"]}')
    print(f'installed into {report["installed"]}' if report['installed'] else
          'not installed (pass --promote to install anyway)')
    if 'node' in report:
        print(report['node']['message'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
