# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Review captured frames: move them from the capture inbox into a class-per-folder dataset.

The inbox is what `capture.py` writes: `<inbox>/<predicted class>/<stamp>_<seq>.jpg` and a
same-stem `.json` sidecar. A capture exists once its sidecar does (the writer renames the JPEG
into place first, the sidecar last), so a JPEG without a sidecar is never offered. A person
confirms or corrects the class and the pair moves to `<dataset>/<split>/<class>/`, where the
split is fixed by a hash of the capture's name (`split_for`), so a station keeps held-out photos
to judge models on. Discarded captures move to `<inbox>/.discarded/`; nothing is deleted.

Every move is a hard link to the new name (which fails rather than replace an existing file)
followed by removing the old name, so a file is in one place or, after a crash in between, in
both; never in none and never over another. Before moving, the files are checked against what
the reviewer was shown (inode, size, modification time): a capture replaced or removed meanwhile
is refused with a `ReviewError` that says so. One reviewer at a time per inbox: a session holds
an advisory lock on `<inbox>/.review.lock` until `close()`.

The terminal UI (`waste-review`, cli/review.py) and the station web page both use this module.
The classes a capture can be labelled with are the model's (its labels.txt or ~/label_info): with
a model that has the `empty` class, a frame of the empty zone is labelled `empty`, which teaches
the class the station's own floor, and such a capture (the node filed it with bin `empty`) is
suggested as `empty` whatever the model's top class was. A model without the class offers no
`empty` label: a retrain could not learn a class its model does not have.
"""

from __future__ import annotations

from dataclasses import dataclass
import errno
import fcntl
import hashlib
import json
import logging
import math
import os
from pathlib import Path, PurePosixPath
import stat
from typing import Sequence

import numpy as np

from waste_classifier_ros.core.atomic_files import (
    atomic_write,
    is_image,
    temporary_name,
    write_durably,
)
from waste_classifier_ros.core.bins import EMPTY
from waste_classifier_ros.flywheel import review_order
from waste_classifier_ros.flywheel.review_features import ModelFeatures, Photo, photo_key

DISCARDED = '.discarded'
LOCK_NAME = '.review.lock'
SIDECAR_SUFFIX = '.json'
CAPTURE_SUFFIX = '.jpg'
SKIPPED = '.skipped'
VAL_PERCENT = 20  # share of reviewed captures kept for validation (by a hash of the name)
ORDERS = ('capture', 'useful')
DEFAULT_ORDER = 'capture'
log = logging.getLogger(__name__)


class ReviewError(Exception):
    """A review step that was refused; the message says why and nothing was lost."""


class CaptureChangedError(ReviewError):
    """The capture's files differ from what the reviewer was shown; look again first."""


@dataclass(frozen=True)
class Capture:
    """One captured frame waiting in the inbox.

    `predicted` and `score`: the model's top class; `suggested`: the label to offer first.
    """

    id: str
    image: Path
    predicted: str
    score: float
    reason: str
    sidecar: dict
    suggested: str


@dataclass(frozen=True)
class Action:
    """One done move, what `ReviewSession.undo` reverses."""

    kind: str
    capture_id: str
    label: str | None
    destination: Path


def split_for(capture_id: str) -> str:
    """'val' for VAL_PERCENT % of captures and 'train' for the rest, fixed by the file name."""
    name = PurePosixPath(capture_id).name
    digest = hashlib.sha256(name.encode('utf-8')).digest()
    return 'val' if int.from_bytes(digest[:4], 'big') % 100 < VAL_PERCENT else 'train'


def sidecar_of(image: Path) -> Path:
    """Return the JSON sidecar path beside a captured JPEG."""
    return image.with_suffix(SIDECAR_SUFFIX)


def _fingerprint(path: Path) -> tuple[int, int, int]:
    """(inode, size, mtime) of a regular file; ReviewError when it is gone or not a plain file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ReviewError(f'{path}: gone (moved or removed by someone else meanwhile)') from None
    if not stat.S_ISREG(info.st_mode):
        raise ReviewError(f'{path}: not a regular file (links and folders are not captures)')
    return info.st_ino, info.st_size, info.st_mtime_ns


def _place(source: Path, target: Path) -> bool:
    """Give `source` the new name `target` too, never replacing an existing `target`.

    True when it is the same file (a hard link); False when it had to be copied because the
    target is on another file system (copied under a temporary name, synced, then linked).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target, follow_symlinks=False)
        return True
    except FileExistsError:
        raise ReviewError(f'{target} already exists; not overwriting it with {source} '
                          '(rename or move one of them, then try again)') from None
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
    temporary = temporary_name(target)
    try:
        write_durably(temporary, Path(source))
        _place(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return False


def _move_pair(image: Path, target: Path, expected: tuple) -> tuple:
    """Move a JPEG and its sidecar to `target` (and its sidecar): all or nothing, no overwrite.

    `expected` holds the (inode, size, mtime) of both files as the reviewer saw them; a file
    that differs now was changed or replaced meanwhile and nothing moves. Returns the same
    for the moved files (for a later move back).
    """
    sources = (image, sidecar_of(image))
    targets = (target, sidecar_of(target))
    if tuple(_fingerprint(source) for source in sources) != expected:
        raise CaptureChangedError(f'{image}: changed since it was shown (replaced, or size or '
                                  'time differ); look at it again before deciding')
    placed = []
    try:
        for source, destination, (inode, _, _) in zip(sources, targets, expected):
            linked = _place(source, destination)
            placed.append(destination)
            if linked and os.lstat(destination).st_ino != inode:
                raise CaptureChangedError(f'{source}: replaced while being moved; left in place')
    except FileNotFoundError as error:
        for destination in placed:
            destination.unlink()
        raise ReviewError(f'{error.filename}: gone (moved or removed meanwhile)') from None
    except BaseException:
        for destination in placed:
            destination.unlink()
        raise
    # Both files have both names now. Drop the sidecar first: the inbox never shows a capture
    # whose JPEG is already gone.
    # missing_ok: the capture writer may evict an unreviewed pair at any moment.
    sources[1].unlink(missing_ok=True)
    sources[0].unlink(missing_ok=True)
    try:  # an empty class folder would stop training from reading the folder as a dataset
        image.parent.rmdir()
    except OSError:
        pass
    return tuple(_fingerprint(destination) for destination in targets)


class ReviewSession:
    """A reviewer's pass over one inbox into one dataset; holds the inbox lock until close()."""

    def __init__(self, inbox: Path, dataset: Path, classes: Sequence[str],
                 order: str = DEFAULT_ORDER, model: Path | None = None) -> None:
        """Open a review of `inbox` into `dataset`, listing captures in `order` (ORDERS).

        `model`: the ONNX model whose features the useful order spreads captures by (None: by
        the sidecars' scores alone).
        """
        if order not in ORDERS:
            raise ReviewError(f'order {order!r}: one of {", ".join(ORDERS)}')
        self.inbox = Path(inbox).resolve()
        self.dataset = Path(dataset).resolve()
        self.classes = list(classes)
        bad = [c for c in self.classes
               if not c or c.startswith('.') or '/' in c or '\\' in c or c in ('train', 'val')]
        if bad or len(set(self.classes)) != len(self.classes) or not self.classes:
            raise ReviewError(f'bad class list {self.classes}: names must be unique, non-empty, '
                              'without / and not start with a dot')
        if not self.inbox.is_dir():
            raise ReviewError(f'{self.inbox}: inbox is not a directory')
        if self.dataset == self.inbox or self.inbox in self.dataset.parents:
            raise ReviewError(f'{self.dataset}: the dataset must not be inside the inbox')
        self._lock = open(self.inbox / LOCK_NAME, 'a+')
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.seek(0)
            holder = self._lock.read().strip() or 'another process'
            self._lock.close()
            raise ReviewError(f'{self.inbox}: another reviewer is working on this inbox '
                              f'({holder}); finish there first') from None
        self._lock.truncate(0)
        self._lock.write(f'pid {os.getpid()}\n')
        self._lock.flush()
        self._shown: dict[str, tuple | None] = {}
        self._skipped: list[str] = self._load_skipped()
        self.order = order
        self._features = self._open_features(model) if order == 'useful' else None
        self._done: list[tuple[Action, Path, tuple]] = []
        self._counts = {'labelled': 0, 'discarded': 0}
        self.problems: list[str] = []

    def close(self) -> None:
        """Release the inbox lock; the session refuses further moves."""
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def __enter__(self) -> ReviewSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _image_path(self, capture_id: str) -> Path:
        """Return the inbox JPEG of an id; ReviewError unless it is `<class>/<name>.jpg`."""
        parts = PurePosixPath(capture_id).parts
        if (len(parts) != 2 or any(p in ('', '.', '..') or p.startswith('.') for p in parts)
                or '\\' in capture_id or '\0' in capture_id
                or not capture_id.endswith(CAPTURE_SUFFIX)):
            raise ReviewError(f'{capture_id!r}: not a capture id '
                              '(<class>/<name>.jpg in the inbox)')
        path = self.inbox / parts[0] / parts[1]
        if path.resolve().parent.parent != self.inbox:
            raise ReviewError(f'{capture_id!r}: leads outside the inbox {self.inbox}')
        return path

    def _read(self, capture_id: str, shown: bool) -> Capture:
        """Read a capture; `shown` records it as what the reviewer sees now.

        Listing (shown False) records it only when it is new to this session or was refused as
        changed: a page or prompt that lists captures shows them.
        """
        image = self._image_path(capture_id)
        side = sidecar_of(image)
        prints = (_fingerprint(image), _fingerprint(side))
        try:
            sidecar = json.loads(side.read_text(encoding='utf-8'))
            top = sidecar['topk'][0]
            predicted, score = str(top['class']), float(top['score'])
        except FileNotFoundError:
            raise ReviewError(f'{side}: gone (moved or removed meanwhile)') from None
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ReviewError(f'{side}: not a capture sidecar ({error!r})') from None
        if shown or self._shown.get(capture_id) is None:
            self._shown[capture_id] = prints
        # The zone was empty when the node kept it (its bin), whatever the model's top class.
        zone_empty = sidecar.get('bin') == EMPTY and EMPTY in self.classes
        return Capture(id=capture_id, image=image, predicted=predicted,
                       score=score if math.isfinite(score) else 0.0,
                       reason=str(sidecar.get('reason', '')), sidecar=sidecar,
                       suggested=EMPTY if zone_empty else predicted)

    def pending(self) -> list[Capture]:
        """Unreviewed captures in the session's order (capture: oldest first), skipped ones last.

        Oldest first is by name: stamp, then sequence. Skipped ones come last in the order they
        were skipped.
        """
        self.problems = []
        found = []
        for folder in sorted(self.inbox.iterdir()):
            if folder.name.startswith('.') or not folder.is_dir() or folder.is_symlink():
                continue
            for side in folder.glob('*' + SIDECAR_SUFFIX):
                capture_id = f'{folder.name}/{side.stem}{CAPTURE_SUFFIX}'
                if side.name.startswith('.'):
                    continue
                try:
                    found.append(self._read(capture_id, shown=False))
                except ReviewError as error:
                    self.problems.append(str(error))
        found.sort(key=lambda c: (c.image.name, c.id))
        skipped = {capture_id: i for i, capture_id in enumerate(self._skipped)}
        waiting = [c for c in found if c.id not in skipped]
        if self.order == 'useful':
            waiting = self._useful(waiting)
        return waiting + sorted((c for c in found if c.id in skipped),
                                key=lambda c: skipped[c.id])

    def _useful(self, captures: list[Capture]) -> list[Capture]:
        """Order captures by flywheel.review_order (given in capture order, for its ties)."""
        uncertain = []
        for capture in captures:
            try:
                uncertain.append(review_order.uncertainty(capture.sidecar.get('topk')))
            except ValueError as error:
                self.problems.append(f'{capture.id}: sidecar {error}; taken as sure')
                uncertain.append(0.0)
        predicted = [capture.suggested for capture in captures]
        order = None
        if self._features is not None:
            try:
                order = self._by_features(captures, uncertain, predicted, self._features)
            except (OSError, ValueError) as error:
                log.warning("review order: no features (%s); by the sidecars' scores and "
                            'capture order alone', error)
                self._features = None
        if order is None:
            order = review_order.rank(uncertain, predicted)
        return [captures[i] for i in order]

    def _by_features(self, captures: list[Capture], uncertain: list[float],
                     predicted: list[str], features: ModelFeatures) -> list[int]:
        """Rank with the model's features: computed ones first, most unsure computed first."""
        photos = [(photo_key(c.image), c.image, c.sidecar.get('roi')) for c in captures]
        labelled = self._dataset_photos()
        by_need = sorted(range(len(photos)), key=lambda i: -uncertain[i])
        missing = features.compute([photos[i] for i in by_need] + labelled)
        if missing:
            log.info('review order: features of %d photos still to compute (next time); the '
                     'captures without them follow the others, most unsure first', missing)
        known = features.known([key for key, _, _ in photos + labelled])
        have = [i for i, (key, _, _) in enumerate(photos) if key in known]
        without = sorted(set(range(len(photos))) - set(have))
        seen = [known[key] for key, _, _ in labelled if key in known]
        ranked = [have[i] for i in review_order.rank(
            [uncertain[i] for i in have], [predicted[i] for i in have],
            np.stack([known[photos[i][0]] for i in have]) if have else None,
            np.stack(seen) if seen else None)]
        return ranked + [without[i] for i in review_order.rank(
            [uncertain[i] for i in without], [predicted[i] for i in without])]

    def _dataset_photos(self) -> list[Photo]:
        """Every photo already in the dataset, with its region of interest where it has one."""
        photos = []
        for image in sorted(self.dataset.glob('*/*/*')):
            if not is_image(image) or image.name.startswith('.'):
                continue
            try:
                roi = json.loads(sidecar_of(image).read_text(encoding='utf-8')).get('roi')
            except (OSError, ValueError, AttributeError):
                roi = None  # a photo added by hand: the whole photo
            try:
                photos.append((photo_key(image), image, roi))
            except FileNotFoundError:
                continue
        return photos

    def _open_features(self, model: Path | None) -> ModelFeatures | None:
        """Return the model's features for the useful order; None (logged) without them."""
        reason = 'no model given'
        if model is not None:
            try:
                return ModelFeatures(model, self.inbox)
            except OSError as error:
                reason = f'{model}: {error.strerror or error}'
        log.warning('review order: useful without model features (%s): every class first, then '
                    'the most unsure, ties in capture order', reason)
        return None

    def _load_skipped(self) -> list[str]:
        """Return the skips of earlier sessions (<inbox>/.skipped); none if missing or bad."""
        path = self.inbox / SKIPPED
        try:
            skipped = json.loads(path.read_text(encoding='utf-8'))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            log.warning('%s: unreadable (%s); no capture counts as skipped', path, error)
            return []
        if not isinstance(skipped, list) or not all(isinstance(i, str) for i in skipped):
            log.warning('%s: not a list of capture ids; no capture counts as skipped', path)
            return []
        return skipped

    def _save_skipped(self) -> None:
        """Write the skips that are still in the inbox, replacing the file whole."""
        self._skipped = [i for i in self._skipped
                         if sidecar_of(self.inbox / i).is_file()]
        text = json.dumps(self._skipped, indent=0) + '\n'
        atomic_write(self.inbox / SKIPPED, text.encode('utf-8'))

    def get(self, capture_id: str) -> Capture:
        """One capture by id, as the reviewer is shown it now (a later move checks it is the same).

        ReviewError when unknown, gone, broken or outside the inbox.
        """
        return self._read(capture_id, shown=True)

    def _check_open(self) -> None:
        if self._lock.closed:
            raise ReviewError('this review session is closed')

    def _move(self, kind: str, capture_id: str, label: str | None, target: Path) -> Action:
        self._check_open()
        image = self._image_path(capture_id)
        if capture_id not in self._shown:
            self._read(capture_id, shown=True)
        shown = self._shown[capture_id]
        if shown is None:
            raise CaptureChangedError(f'{image}: changed since it was shown; look at it again '
                                      'before deciding')
        try:
            moved = _move_pair(image, target, shown)
        except CaptureChangedError:
            self._shown[capture_id] = None  # refused until listed or shown again
            raise
        del self._shown[capture_id]
        if capture_id in self._skipped:
            self._skipped.remove(capture_id)
            self._save_skipped()
        action = Action(kind, capture_id, label, target)
        self._done.append((action, image, moved))
        self._counts['labelled' if kind == 'label' else 'discarded'] += 1
        return action

    def label(self, capture_id: str, label: str) -> Action:
        """Confirm (label == predicted) or correct a capture: it moves into the dataset."""
        if label not in self.classes:
            raise ReviewError(f'{label!r} is not a class; one of {", ".join(self.classes)}')
        name = PurePosixPath(capture_id).name
        target = self.dataset / split_for(capture_id) / label / name
        return self._move('label', capture_id, label, target)

    def discard(self, capture_id: str) -> Action:
        """Move a capture to <inbox>/.discarded/ (never deleted; undo brings it back)."""
        target = self.inbox / DISCARDED / capture_id
        return self._move('discard', capture_id, None, target)

    def skip(self, capture_id: str) -> None:
        """Leave a capture in the inbox and put it at the end of pending().

        Kept in <inbox>/.skipped, so it stays at the end in the next sessions too.
        """
        self._check_open()
        self._image_path(capture_id)
        if capture_id in self._skipped:
            self._skipped.remove(capture_id)
        self._skipped.append(capture_id)
        self._save_skipped()

    def undo(self) -> Action | None:
        """Move the last labelled or discarded capture back into the inbox; None if nothing."""
        self._check_open()
        if not self._done:
            return None
        action, origin, moved = self._done[-1]
        _move_pair(action.destination, origin, moved)
        self._done.pop()
        self._counts['labelled' if action.kind == 'label' else 'discarded'] -= 1
        return action

    def progress(self) -> dict:
        """Count pending captures in the inbox and this session's labelled, discarded, skipped."""
        pending = self.pending()
        waiting = {c.id for c in pending}
        return {'pending': len(pending), 'labelled': self._counts['labelled'],
                'discarded': self._counts['discarded'],
                'skipped': len([c for c in self._skipped if c in waiting])}
