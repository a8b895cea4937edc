# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The page's model panel: the model in use, a retrained one waiting, its promotion and roll back.

The model in use is the one the classifier reports on /diagnostics (path and sha256); its card
beside it says when it was trained, on which sources and, for an adapted model, its parent. A
retrain result is waiting when a folder under `retrain_dir` (training.station.retrain's output,
`outputs/retrain/<time>/`) holds a model whose card names the model in use as its parent.
Promoting it applies the rule and the install of training.station.retrain, both from
flywheel/promotion.py: `judge_comparison` on the comparison it wrote (per-class counts of photos
each model got right where the other did not, with the node's limits and guard confidence for
--max-drop, --max-class-drop and --guard-confidence), `install` into the folder
of the model in use (retrain's default --install-dir), then `notify_running_node` so the
classifier switches without a restart. The install keeps the model it replaced in `previous/`
beside it: the panel offers it back (`roll_back`, then the same notice). With the result goes
the retrain's `trade_off` (promotion.trade_off: each candidate it tried, each base source's
change with its interval, the verdicts of the guard in use and the other, which each keeps), so
the owner sees what the guard costs the station. No path of this machine goes to the page.
"""

import datetime
import json
from pathlib import Path
import re

from waste_classifier_ros.core.model_card import ModelCardError, read_card, sha256_file
from waste_classifier_ros.flywheel import promotion
from waste_classifier_ros.station_web import guard

CARD, LABELS, COMPARISON = 'model_card.json', 'labels.txt', 'comparison.json'


def _date(path: Path) -> str:
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime)
    return f'{stamp:%Y-%m-%d %H:%M} (file date)'


def card_summary(model: Path, sha256: str) -> dict:
    """Summarise a model for the page: sha256, when trained, sources, parent."""
    try:
        card = read_card(model.with_name(CARD))
    except ModelCardError:
        card = {}
    retrain = card.get('retrain') or {}
    sources = [s.get('name', '?') for s in (retrain.get('data') or {}).get('sources', [])] or \
        [s.get('name', '?') for s in card.get('sources', [])]
    trained = retrain.get('date') or (_date(model) if model.is_file() else 'unknown')
    return {'sha256': sha256, 'sha256_short': sha256[:12], 'trained': trained,
            'sources': sources, 'name': model.name,
            'parent': ((card.get('parent') or {}).get('onnx_sha256') or '')[:12]}


class ModelDesk:
    """Finds a waiting retrain result for the model in use, promotes it by the rule, rolls back."""

    def __init__(self, retrain_dir: str, classifier: str, max_drop_points: float,
                 max_class_drop_points: float = 10.0,
                 guard_confidence: float = promotion.GUARD_CONFIDENCE):
        """`classifier`: the node told to switch after an install ('' = none).

        The limits are points, as retrain's --max-drop and --max-class-drop; the confidence is
        its --guard-confidence (0: the strict guard).
        """
        self.retrain_dir = Path(retrain_dir).expanduser().resolve() if retrain_dir else None
        self.classifier = classifier
        self.guard = promotion.Guard(max_drop_points / 100, max_class_drop_points / 100,
                                     guard_confidence)

    def view(self, model: str, sha256: str) -> dict:
        if not model:
            return {'live': None, 'candidate': None, 'previous': None,
                    'problem': 'waiting for the classifier to report its model'}
        found = self._waiting(sha256)
        return {'live': card_summary(Path(model), sha256), 'problem': '',
                'candidate': None if found is None else found[1],
                'previous': self._previous(Path(model))}

    def _previous(self, model: Path) -> dict | None:
        """Summarise the model the last install beside `model` replaced, if it was kept."""
        folder = model.parent / promotion.PREVIOUS
        try:
            kept = folder / read_card(folder / CARD).get('model_file', model.name)
        except ModelCardError:
            kept = folder / model.name
        return card_summary(kept, sha256_file(kept)) if kept.is_file() else None

    def _waiting(self, live_sha256: str) -> tuple[Path, dict] | None:
        """(folder, view) of the newest retrain result whose parent is the live model."""
        if self.retrain_dir is None or not self.retrain_dir.is_dir():
            return None
        for folder in sorted(self.retrain_dir.iterdir(), reverse=True):
            try:
                card = read_card(folder / CARD)
                report = json.loads((folder / COMPARISON).read_text(encoding='utf-8'))
            except (ModelCardError, OSError, ValueError):
                continue
            sha256 = card.get('onnx_sha256', '')
            if (card.get('parent') or {}).get('onnx_sha256') != live_sha256 or \
                    sha256 == live_sha256 or not (folder / card.get('model_file', '')).is_file():
                continue
            return folder, self._judge(card, report)
        return None

    def _judge(self, card: dict, report: dict) -> dict:
        comparison = report.get('comparison') or {}
        bases = [s.get('name') for s in card['retrain']['data']['sources']
                 if s.get('name') != promotion.STATION]
        try:
            wins, reason = promotion.judge_comparison(comparison, bases, self.guard)
        except KeyError as missing:
            wins, reason = False, (f'{COMPARISON} has no {missing} to judge by (written by an '
                                   'older retrain? run it again)')
        return {'sha256': card['onnx_sha256'], 'sha256_short': card['onnx_sha256'][:12],
                'date': card['retrain'].get('date', ''), 'wins': wins, 'decision': reason,
                'comparison': [{'name': name, 'live': row['current']['top1'],
                                'new': row['new']['top1']} for name, row in comparison.items()],
                'guard': str(self.guard), 'trade_off': report.get('trade_off')}

    def promote(self, model: str, live_sha256: str, wanted: object) -> dict:
        """Install the waiting model `wanted` (its sha256) when the rule says it wins."""
        found = self._waiting(live_sha256) if model else None
        if found is None or not isinstance(wanted, str) or found[1]['sha256'] != wanted:
            raise guard.PageError(409, 'no such retrained model waiting for the model in use '
                                       '(promoted or replaced meanwhile?); reload the page')
        folder, view = found
        if not view['wins']:
            raise guard.PageError(409, f'the rule says no: {view["decision"]}')
        card = read_card(folder / CARD)
        target = Path(model).parent
        try:
            promotion.install([folder / card['model_file'], folder / LABELS, folder / CARD],
                              target)
        except OSError as error:
            raise guard.PageError(409, f'could not install the model: {error.strerror}') from None
        switched, said = self._switch(target / card['model_file'])
        return {'installed': view['sha256_short'], 'switched': switched,
                'message': f'installed {view["sha256_short"]} ({view["decision"]}); {said}'}

    def roll_back(self, model: str, wanted: object) -> dict:
        """Put back the model (sha256 `wanted`) the last install beside `model` replaced."""
        previous = self._previous(Path(model)) if model else None
        if previous is None or not isinstance(wanted, str) or previous['sha256'] != wanted:
            raise guard.PageError(409, 'no such previous model beside the model in use (rolled '
                                       'back or replaced meanwhile?); reload the page')
        try:
            now = promotion.roll_back(Path(model))
        except OSError as error:
            raise guard.PageError(409, 'could not roll back: '
                                       f'{error.strerror or "nothing kept"}') from None
        switched, said = self._switch(now)
        return {'rolled_back_to': previous['sha256_short'], 'switched': switched,
                'message': f'rolled back to {previous["sha256_short"]}; {said}'}

    def _switch(self, model: Path) -> tuple[bool, str]:
        """Ask the classifier to switch to `model`: (switched, what it said, paths hidden)."""
        if not self.classifier:
            return False, 'no classifier node to tell; it loads the model when it starts'
        answer = promotion.notify_running_node(model, node=self.classifier)
        return answer.switched, re.sub(r'(?<![\w.])/[\w.-]+/\S*', '<path>', str(answer))
