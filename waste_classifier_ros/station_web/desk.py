# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The page's review inbox: one review.ReviewSession, opened on first use and held, calls in turn.

All moves go through review.py, the module `waste-review` uses, so the page has the same rules:
nothing overwritten, a changed or vanished capture refused, one reviewer per inbox (while the
page holds the inbox, `waste-review` on it is refused, and the reverse). The classes, in the
order keys 1..7 pick them, are the running classifier's (its ~/label_info).

The batch view labels a grid of captures the model calls the same class in one call
(`label_batch`): all of them or, when one is refused, none. Undo takes back the last step, a
single move or a whole batch, through the session's own undo, one move at a time in reverse.
"""

from collections import Counter
from collections.abc import Callable
from pathlib import Path
import threading
from typing import Any
from urllib.parse import quote

from waste_classifier_ros.flywheel.review import (
    DEFAULT_ORDER,
    ORDERS,
    Capture,
    ReviewError,
    ReviewSession,
)
from waste_classifier_ros.station_web import guard

GRID = 12  # captures in the batch view's grid at most: a phone shows them in three screens
MAX_BATCH = 100  # a batch larger than any grid is not the page's


class ReviewDesk:
    """Thread-safe; every public method returns what the page shows next."""

    def __init__(self, inbox: str, dataset: str, classes: Callable[[], list],
                 order: str = DEFAULT_ORDER, model: str = ''):
        """`order` and `model`: ReviewSession's (the order captures are offered in)."""
        self.inbox = Path(inbox).expanduser().resolve() if inbox else None
        self.dataset = Path(dataset).expanduser().resolve() if dataset else None
        if order not in ORDERS:
            raise ValueError(f'review order {order!r}: one of {", ".join(ORDERS)}')
        self.order, self.model = order, Path(model).expanduser() if model else None
        self._classes = classes
        self._lock = threading.Lock()
        self._session: ReviewSession | None = None
        # The session moves of each undoable step, oldest first: 1 for a single move, n for a
        # batch, so that undo takes a batch back whole (the session undoes one move at a time).
        self._steps: list[int] = []

    @property
    def enabled(self) -> bool:
        return self.inbox is not None and self.dataset is not None

    def _open(self) -> ReviewSession:
        """Return the held session, (re)opened for the classifier's current classes."""
        if not self.enabled:
            raise guard.PageError(404, 'review is off: start station_web with the inbox and '
                                       'dataset parameters')
        classes = self._classes()
        if not classes:
            raise guard.PageError(503, "waiting for the classifier's classes (~/label_info)")
        if self._session is not None and self._session.classes != classes:
            self._session.close()
            self._session = None
        if self._session is None:
            assert self.inbox is not None and self.dataset is not None  # enabled
            self.inbox.mkdir(parents=True, exist_ok=True)
            self._session = ReviewSession(self.inbox, self.dataset, classes, self.order,
                                          self.model)
            self._steps = []
        return self._session

    def view(self) -> dict:
        """Classes, progress and the capture to review now (None when the inbox is empty)."""
        with self._lock:
            return self._view()

    def _view(self) -> dict:
        if not self.enabled:
            return {'enabled': False, 'problem': 'review is off (no inbox and dataset given)'}
        try:
            session = self._open()
        except (ReviewError, guard.PageError) as error:
            return {'enabled': True, 'problem': self.scrub(str(error)),
                    'classes': self._classes()}
        pending = session.pending()
        progress = session.progress()
        return {'enabled': True, 'problem': '', 'classes': session.classes,
                'progress': progress,
                'current': _capture_view(pending[0]) if pending else None,
                'batch': _batch_view(pending),
                'next_image': '/captures/' + quote(pending[1].id) if len(pending) > 1 else None,
                'unreadable': [self.scrub(problem) for problem in session.problems[:5]]}

    def scrub(self, text: str) -> str:
        """`text` with the inbox's and the dataset's place on this machine left out."""
        roots = sorted((root for root in (self.inbox, self.dataset) if root), key=lambda r:
                       -len(str(r)))
        for root in roots:
            text = text.replace(str(root), '<inbox>' if root == self.inbox else '<dataset>')
        return text

    def label(self, capture_id: str, label: str) -> dict:
        # Where it went, without the file name again: the whole path was cut on a phone.
        return self._act(lambda session: self._step(session.label(self._waiting(capture_id),
                                                                  label)),
                         lambda action: f'{action.capture_id} -> '
                                        f'{self.scrub(str(action.destination.parent))}/')

    def discard(self, capture_id: str) -> dict:
        return self._act(lambda session: self._step(session.discard(self._waiting(capture_id))),
                         lambda action: f'{action.capture_id} discarded (kept in '
                                        f'{self.scrub(str(action.destination.parent))})')

    def _step(self, action: Any) -> Any:
        self._steps.append(1)
        return action

    def label_batch(self, moves: object) -> dict:
        """Label each (id, class) of `moves`: all of them, or none and a PageError naming why.

        Checked before any move (a list of {'id', 'label'}, known classes, each id once and
        waiting in the inbox: 400 or 404); a move the session refuses (a capture changed or gone
        meanwhile: 409) takes back the moves of the batch done before it.
        """
        with self._lock:
            session = self._open()
            pairs = self._batch_pairs(moves, session.classes)
            done = 0
            for capture_id, label in pairs:
                try:
                    session.label(capture_id, label)
                except ReviewError as error:
                    self._take_back(session, done)
                    raise guard.PageError(409, f'{self.scrub(str(error))}; none of the '
                                               f'{len(pairs)} in the batch was labelled '
                                               f'(refused: {capture_id})') from None
                done += 1
            self._steps.append(done)
            labels = Counter(label for _, label in pairs)
            said = ', '.join(f'{count} {label}' for label, count in labels.most_common())
            return dict(self._view(), done=f'{done} labelled: {said} -> <dataset>')

    def _batch_pairs(self, moves: object, classes: list) -> list[tuple[str, str]]:
        if not isinstance(moves, list) or not 0 < len(moves) <= MAX_BATCH:
            raise guard.PageError(400, f"'labels' must be a list of 1 to {MAX_BATCH} "
                                       '{"id": capture id, "label": class}')
        pairs = []
        for move in moves:
            if not isinstance(move, dict):
                raise guard.PageError(400, f'batch entry {str(move)[:80]!r} is not '
                                           '{"id": capture id, "label": class}')
            capture_id, label = self._waiting(move.get('id')), move.get('label')
            if label not in classes:
                raise guard.PageError(400, f'label {str(label)[:80]!r} of {capture_id} is not '
                                           f'one of the classes {", ".join(classes)}')
            pairs.append((capture_id, str(label)))
        seen = Counter(capture_id for capture_id, _ in pairs)
        twice = [capture_id for capture_id, count in seen.items() if count > 1]
        if twice:
            raise guard.PageError(400, f'{twice[0]} is in the batch {seen[twice[0]]} times')
        return pairs

    def _take_back(self, session: ReviewSession, moves: int) -> None:
        """Undo the last `moves` session moves; what could not be undone stays one step."""
        for undone in range(moves):
            try:
                session.undo()
            except ReviewError as error:
                self._steps.append(moves - undone)
                raise guard.PageError(409, f'{self.scrub(str(error))}; {moves - undone} of the '
                                           'batch stay labelled (undo them with U)') from None

    def skip(self, capture_id: str) -> dict:
        return self._act(lambda session: session.skip(self._waiting(capture_id)),
                         lambda _: f'{capture_id} skipped (back at the end)')

    def _waiting(self, capture_id: object) -> str:
        """Return a well-formed id of a capture in the inbox; PageError 404 when there is none."""
        capture_id = guard.capture_id(capture_id)
        assert self.inbox is not None  # a step's: _open found review on
        image = self.inbox / capture_id
        if not (image.is_file() and image.with_suffix('.json').is_file()):
            raise guard.PageError(404, f'no capture {capture_id} in the inbox (reviewed or '
                                       'removed meanwhile?)')
        return capture_id

    def undo(self) -> dict:
        """Take back the last step: a single move, or every move of a batch (newest first)."""
        return self._act(self._undo_step,
                         lambda actions: 'nothing to undo' if not actions else
                         f'undone: {actions[0].capture_id} back in the inbox'
                         if len(actions) == 1 else
                         f'undone: the batch of {len(actions)} back in the inbox')

    def _undo_step(self, session: ReviewSession) -> list:
        moves = self._steps.pop() if self._steps else 1
        actions = []
        for undone in range(moves):
            try:
                action = session.undo()
            except ReviewError:
                self._steps.append(moves - undone)  # the rest stays one step
                raise
            if action is None:
                break
            actions.append(action)
        return actions

    def _act(self, step: Callable[[ReviewSession], Any],
             describe: Callable[[Any], str]) -> dict:
        with self._lock:
            done = describe(step(self._open()))
            return dict(self._view(), done=done)

    def stamps(self) -> dict:
        """{(sec, nanosec): capture id} of the pending captures whose frame had a stamp."""
        with self._lock:
            try:
                pending = self._open().pending() if self.enabled else []
            except (ReviewError, guard.PageError):
                return {}
        found = {}
        for capture in pending:
            stamp = capture.sidecar.get('stamp')
            if isinstance(stamp, dict) and (stamp.get('sec') or stamp.get('nanosec')):
                found[(stamp.get('sec'), stamp.get('nanosec'))] = capture.id
        return found

    def image(self, capture_id: str) -> Path:
        """Return the JPEG of a pending capture, checked to lie inside the inbox."""
        with self._lock:
            session = self._open()
            return guard.inside(session.inbox, session.get(guard.capture_id(capture_id)).image)

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None


def _batch_view(pending: list[Capture]) -> dict | None:
    """Return the grid: the first GRID captures suggested as the first pending one is, in order."""
    if not pending:
        return None
    suggested = pending[0].suggested
    same = [capture for capture in pending if capture.suggested == suggested]
    return {'suggested': suggested, 'waiting': len(same),
            'captures': [_capture_view(capture) for capture in same[:GRID]]}


def _capture_view(capture: Capture) -> dict:
    sidecar = capture.sidecar
    return {'id': capture.id, 'predicted': capture.predicted, 'score': capture.score,
            'suggested': capture.suggested, 'reason': capture.reason,
            'stamp': sidecar.get('stamp'), 'bin': sidecar.get('bin'),
            'top_k': sidecar.get('topk', []), 'image': '/captures/' + quote(capture.id)}
