# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The current and a new model compared as files, and the promote rule's verdict on them.

`compare` evaluates both ONNX models through training.recipe.evaluate on the same folders (the
station's val, each base source's val, any ``--eval`` folder) and asks
waste_classifier_ros.flywheel.promotion's rule; its `summary` is what comparison.json and the
model card keep (top-1, macro F1, ECE, per-class recall and val photos per class, so that
promotion.judge_comparison reaches the same verdict from the file alone: the per-class counts of
photos each model got right where the other did not, which the guard's paired interval needs).
`statements` says per base source what the guard found. `side_by_side` and `plot` show it.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.recipe import evaluate
from waste_classifier_ros.flywheel.promotion import (
    STATION,
    Candidate,
    Guard,
    Paired,
    promote_decision,
    trade_off,
    unjudged,
)


@dataclass
class Comparison:
    """The current and the new model evaluated on the same folders, and the rule's verdict."""

    current: dict
    new: dict
    wins: bool
    reason: str
    summary: dict  # name -> top-1, macro F1, ECE, per-class recall, support, paired counts
    not_judged: dict  # base source -> classes without val photos there, which the guard skips
    statements: list  # per base source, the guard's one-line statement (promotion.Guard.judge)
    guard: Guard

    def trade_off(self, tried: list[Candidate], kept: Candidate) -> dict:
        """Return promotion.trade_off of the candidates a retrain tried and the one kept.

        The current model's station top-1 is what a candidate must beat to be chosen.
        """
        start = self.current.get(STATION)
        return trade_off(tried, kept, self.guard, start and start['top1'])


def compare(current_model: Path, new_model: Path, labels: Path,
            folders: dict[str, tuple[Path, evaluate.ClassMap]], base_names: list[str],
            guard: Guard) -> Comparison:
    """Evaluate both ONNX files on ``folders`` and judge the new one by the rule and `guard`."""
    current, new = (evaluate.evaluate_sources(evaluate.OnnxClassifier(path, labels),
                                              folders)['per_source']
                    for path in (current_model, new_model))
    wins, reason = promote_decision(current, new, base_names, guard, STATION)
    return Comparison(current, new, wins, reason, summary(current, new),
                      unjudged(current, base_names),
                      [guard.judge(name, Paired.of(current[name], new[name]))[1]
                       for name in base_names], guard)


def summary(current: dict, new: dict) -> dict:
    """Per evaluation set: both models' figures, per-class recalls and val photos per class.

    With the paired counts per class (promotion.Paired.counts), which judge_comparison reads.
    """
    keep = ('num_images', 'top1', 'macro_f1', 'ece')

    def per_class(result: dict, field: str) -> dict:
        return {c: row[field] for c, row in result['per_class'].items()}

    return {name: {'current': {k: current[name][k] for k in keep},
                   'new': {k: new[name][k] for k in keep},
                   'recall_current': per_class(current[name], 'recall'),
                   'recall_new': per_class(new[name], 'recall'),
                   'support': per_class(current[name], 'support'),
                   'paired': Paired.of(current[name], new[name]).counts()}
            for name in current}


def side_by_side(current: dict, new: dict, classes: list, not_judged: dict) -> str:
    """Per evaluation set: top-1 and per-class recall of the current and the new model.

    A base source's classes without val photos (``not_judged``) are named: the guard skips them.
    """
    lines = []
    for name in current:
        lines.append(f'== {name} ({current[name]["num_images"]} images)')
        if not_judged.get(name):
            lines.append(f'(no val photos of {", ".join(not_judged[name])}: '
                         'not judged by the guard)')
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
