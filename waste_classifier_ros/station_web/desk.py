# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The page's review inbox: one review.ReviewSession, opened on first use and held, calls in turn.

All moves go through review.py, the module `waste-review` uses, so the page has the same rules:
nothing overwritten, a changed or vanished capture refused, one reviewer per inbox (while the
page holds the inbox, `waste-review` on it is refused, and the reverse). The classes, in the
order keys 1..7 pick them, are the running classifier's (its ~/label_info).
"""

from collections.abc import Callable
from pathlib import Path
import threading
from typing import Any
from urllib.parse import quote

from waste_classifier_ros.flywheel.review import Capture, ReviewError, ReviewSession
from waste_classifier_ros.station_web import guard


class ReviewDesk:
    """Thread-safe; every public method returns what the page shows next."""

    def __init__(self, inbox: str, dataset: str, classes: Callable[[], list]):
        self.inbox = Path(inbox).expanduser().resolve() if inbox else None
        self.dataset = Path(dataset).expanduser().resolve() if dataset else None
        self._classes = classes
        self._lock = threading.Lock()
        self._session: ReviewSession | None = None

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
            self._session = ReviewSession(self.inbox, self.dataset, classes)
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
        return self._act(lambda session: session.label(self._waiting(capture_id), label),
                         lambda action: f'{action.capture_id} -> '
                                        f'{self.scrub(str(action.destination))}')

    def discard(self, capture_id: str) -> dict:
        return self._act(lambda session: session.discard(self._waiting(capture_id)),
                         lambda action: f'{action.capture_id} discarded (kept in '
                                        f'{self.scrub(str(action.destination.parent))})')

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
        return self._act(lambda session: session.undo(),
                         lambda action: 'nothing to undo' if action is None else
                         f'undone: {action.capture_id} back in the inbox')

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


def _capture_view(capture: Capture) -> dict:
    sidecar = capture.sidecar
    return {'id': capture.id, 'predicted': capture.predicted, 'score': capture.score,
            'suggested': capture.suggested, 'reason': capture.reason,
            'stamp': sidecar.get('stamp'), 'bin': sidecar.get('bin'),
            'top_k': sidecar.get('topk', []), 'image': '/captures/' + quote(capture.id)}
