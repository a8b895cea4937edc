# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The shipped model's facts in docs/model_card.md, generated from its card and its evaluation.

`python -m training.studies.model_card_doc` rewrites every block between `<!-- generated: NAME -->`
and
`<!-- end generated: NAME -->` in the page from `model/model_card.json` (what the export wrote)
and `model/metrics_val.json` (what `training.recipe.evaluate` wrote); `--check` only says whether
the page is up to date (exit 1 if not). The prose around the blocks is written by hand. Reads JSON
only: no torch, no ROS.
"""

import argparse
import json
from pathlib import Path
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / 'model' / 'model_card.json'
METRICS = ROOT / 'model' / 'metrics_val.json'
PAGE = ROOT / 'docs' / 'model_card.md'
BLOCK = re.compile(r'(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated: \2 -->)', re.S)

Json = Dict[str, Any]


def _pct(value: float) -> str:
    return f'{100 * value:.2f}%'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines) + '\n'


def _lowest_recall(report: Json) -> Tuple[str, float, int, int]:
    """Return the class with the lowest recall: name, recall, photos right, photos."""
    # A class a source has no photos of (``empty`` on an item source) has no recall.
    name, figures = min(((n, f) for n, f in report['per_class'].items() if f['support']),
                        key=lambda item: item[1]['recall'])
    support = int(figures['support'])
    return name, figures['recall'], round(figures['recall'] * support), support


def _recall_text(report: Json) -> str:
    name, recall, right, support = _lowest_recall(report)
    return f'{recall:.3f} ({name}, {right} of {support})'


def facts(card: Json, metrics: Json) -> str:
    """Tabulate what the model is: file, network, input, classes, data, training, export."""
    train_total = sum(card['dataset']['train'].values())
    sources = '; '.join(
        f"{source['name']}: {sum(source['train'].values())} train / "
        f"{sum(source['val'].values())} val photos, {source['licence']}"
        for source in card['sources'])
    training = card['training']
    rows = [
        ('file', f"`model/{card['model_file']}`, {card['onnx_bytes'] / 1e6:.1f} MB, "
                 f"opset {card['opset']}, sha256 `{card['onnx_sha256'][:12]}...`"),
        ('network', f"{card['arch']} at {card['input_size']}x{card['input_size']}"),
        ('input', f"`{card['input_name']}`: {card['preprocessing']['resize']}, "
                  f"{card['preprocessing']['color']}, scale {card['preprocessing']['scale']}, "
                  f"ImageNet mean and std, {card['preprocessing']['layout']}"),
        ('output', f"`{card['output_name']}`: {card['output']}"),
        ('classes', ', '.join(card['classes'])),
        ('training data', f'{train_total} photos from {len(card["sources"])} sources ({sources}); '
                          f"file list sha256 `{card['dataset']['files_sha256'][:12]}...`"),
        ('training', f"{training['epochs']} epochs, kept epoch {training['kept_epoch']} "
                     f"({card['metrics']['selection']['rule']}), "
                     f"{training['duration_s'] / 60:.1f} min, `{training['command']}`"),
        ('export', f"`{card['export']['command']}`; torch and ONNX Runtime agree to "
                   f"{card['export']['parity_max_abs_diff']:.1e} on "
                   f"{card['export']['parity_images']} photos"),
        ('evaluation', f"`{metrics['model']}` on each source's val: "
                       + ', '.join(f'`{folder}`' for folder in metrics['folders'].values())),
    ]
    return _table(('fact', 'value'), rows)


def per_source(card: Json, metrics: Json) -> str:
    """Tabulate top-1, macro-F1, top-5, ECE and lowest class recall per source and combined."""
    reports = dict(metrics['per_source'])
    reports['all, combined'] = metrics['combined']
    rows = [(f"{name} ({report['num_images']} photos)", _pct(report['top1']),
             f"{report['macro_f1']:.3f}", _pct(report['top5']), f"{report['ece']:.3f}",
             _recall_text(report))
            for name, report in reports.items()]
    return _table(('source', 'top-1', 'macro-F1', 'top-5', 'ECE', 'lowest class recall'), rows)


def per_class(card: Json, metrics: Json) -> str:
    """Tabulate recall, then precision, of every class on every source."""
    sources = list(metrics['per_source'])
    header = (['class'] + [f'{name} recall' for name in sources]
              + [f'{name} precision' for name in sources])
    def cell(source: str, name: str, key: str) -> str:
        figures = metrics['per_source'][source]['per_class'][name]
        return f'{figures[key]:.3f}' if figures['support'] else '-'

    rows = [[name] + [cell(s, name, key) for key in ('recall', 'precision') for s in sources]
            for name in card['classes']]
    return _table(header, rows)


EMPTY_SHARE = 0.95      # empty scenes of unseen sites called empty, at least
ITEMS_EMPTY = 0.01      # item photos called empty, less than
TOP1_DROP = 0.01        # top-1 with the empty class within this of the model without it


def _mark(met: bool) -> str:
    return 'yes' if met else '**no**'


def empty_class(card: Json, metrics: Json) -> str:
    """Tabulate what the ``empty`` class costs the items and how it does on empty scenes."""
    facts = card.get('empty_class')
    if facts is None:
        return 'This model has no `empty` class.\n'
    rows = []
    for fold in facts['held_out']:
        shares = fold['empty_called_empty']
        rows.append((f"{fold['fitted_on']} -> {fold['scored_on']}", _pct(shares['floors']),
                     _pct(shares['surfaces']),
                     _mark(min(shares.values()) >= EMPTY_SHARE)))
    held_out = _table(('held out: fitted on -> scored on', 'floors called empty',
                       'surfaces called empty', f'both >= {EMPTY_SHARE:.0%}'), rows)
    items: List[Tuple[str, ...]] = []
    for name, figures in facts['val_items'].items():
        items.append((f"{name}/val ({figures['images']} item photos)",
                     _pct(figures['called_empty']), _pct(figures['top1']),
                     _pct(figures['top1_without_empty']),
                     _mark(figures['called_empty'] < ITEMS_EMPTY and figures['top1']
                           >= figures['top1_without_empty'] - TOP1_DROP)))
    scenes = metrics['per_source'].get('empty_scenes')
    if scenes is not None:
        items.append((f"empty scenes of both vals' floors, all families "
                      f"({scenes['num_images']})", _pct(scenes['top1']), '', '', ''))
    shipped = _table(('shipped model', 'called empty', 'top-1', 'top-1 without empty',
                      f'items < {ITEMS_EMPTY:.0%} empty, top-1 within {TOP1_DROP * 100:g} '
                      'point'), items)
    fitted = (f"Fitted by `{card['export']['command']}` in {facts['duration_s'] / 60:.1f} min "
              f"(from nothing cached) on {facts['scenes']} empty training scenes, seed "
              f"{facts['seed']}, {facts['item_rate']:.1%} of the training item photos allowed "
              'to be called empty.\n')
    return held_out + '\n' + shipped + '\n' + fitted


# The shipped model's targets (the issue that shipped it): source, figure, lower limit.
TARGETS: List[Tuple[str, str, float]] = [
    ('waste7', 'top1', 0.95), ('waste7', 'macro_f1', 0.93), ('waste7', 'trash recall', 0.75),
    ('realwaste', 'top1', 0.90), ('realwaste', 'macro_f1', 0.88),
    ('realwaste', 'lowest class recall', 0.80),
]
TRAINING_MINUTES = 45.0  # the recipe's wall-time budget on the idle 2-core machine


def _figure(report: Json, figure: str) -> Tuple[float, str]:
    """Return a figure of one source's report and how the page shows it."""
    if figure == 'top1':
        return report['top1'], _pct(report['top1'])
    if figure == 'lowest class recall':
        return _lowest_recall(report)[1], _recall_text(report)
    if figure.endswith(' recall'):
        figures = report['per_class'][figure.split()[0]]
        right = round(figures['recall'] * figures['support'])
        return figures['recall'], f"{figures['recall']:.3f} ({right} of {figures['support']})"
    return report[figure], f'{report[figure]:.3f}'


def targets(card: Json, metrics: Json) -> str:
    """Tabulate each target with the measured value and whether it is met."""
    rows = []
    for source, figure, limit in TARGETS:
        value, shown = _figure(metrics['per_source'][source], figure)
        rows.append((f'{source}/val {figure}'.replace('top1', 'top-1').replace('macro_f1',
                                                                             'macro-F1'),
                     shown, '>= ' + (_pct(limit) if figure == 'top1' else f'{limit:.2f}'),
                     'yes' if value >= limit else '**no**'))
    minutes = card['training']['duration_s'] / 60
    met = 'yes' if minutes <= TRAINING_MINUTES else '**no**'
    rows.append(('training wall time, idle 2-core machine', f'{minutes:.1f} min',
                 f'<= {TRAINING_MINUTES:g} min', met))
    return _table(('figure', 'value', 'target', 'met'), rows)


def calibration(card: Json, metrics: Json) -> str:
    """Tabulate the fitted temperature's effect on each source's ECE and NLL."""
    fitted = card['calibration']
    rows = [(name, f"{c['ece_before']:.3f}", f"{c['ece_after']:.3f}",
             f"{c['nll_before']:.3f}", f"{c['nll_after']:.3f}")
            for name, c in fitted['per_source'].items()]
    return (f"Temperature T = {fitted['temperature']:.3f}, ECE over {fitted['bins']} bins.\n\n"
            + _table(('source', 'ECE before', 'ECE after', 'NLL before', 'NLL after'), rows))


BLOCKS: Dict[str, Callable[[Json, Json], str]] = {
    'facts': facts, 'per_source': per_source, 'per_class': per_class, 'targets': targets,
    'calibration': calibration, 'empty_class': empty_class,
}


def render(page: str, card: Json, metrics: Json) -> str:
    """Rewrite every generated block of the page; an unknown block name is an error."""
    def block(match: 're.Match[str]') -> str:
        name = match.group(2)
        if name not in BLOCKS:
            raise ValueError(f'docs block {name!r} is not one of {sorted(BLOCKS)}')
        return match.group(1) + BLOCKS[name](card, metrics) + match.group(4)
    return BLOCK.sub(block, page)


def read_json(path: Path) -> Json:
    return json.loads(path.read_text(encoding='utf-8'))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--card', type=Path, default=CARD)
    parser.add_argument('--metrics', type=Path, default=METRICS)
    parser.add_argument('--page', type=Path, default=PAGE)
    parser.add_argument('--check', action='store_true', help='exit 1 if the page is out of date')
    args = parser.parse_args(argv)
    page = args.page.read_text(encoding='utf-8')
    new = render(page, read_json(args.card), read_json(args.metrics))
    if args.check:
        if new != page:
            print(f'{args.page} is out of date: run python -m training.studies.model_card_doc',
                  file=sys.stderr)
            return 1
        return 0
    args.page.write_text(new, encoding='utf-8')
    return 0


if __name__ == '__main__':
    sys.exit(main())
