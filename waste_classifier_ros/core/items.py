# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
One decision per item: the drop zone's state from frame to frame, and what ~/bin announces.

Each frame brings a `Presence` (`presence_of`): whether something is in the zone, from the
station's empty reference where one is learned (core/presence.py: pixels), else from the model's
`empty` class where the model has one (empty when its probability is at least EMPTY_MAJORITY),
else nothing can tell (None); and whether the zone is moving (it differs from the frame before).

`ItemTracker` turns those into announcements:

- The zone empties: after `empty_frames` frames in a row without an item, `Empty` is announced,
  once; nothing more while it stays empty, nothing for a hand or a shadow that comes and goes.
- An item: something present and still (not moving) for `settle_frames` frames in a row is a new
  item; the bin decider (core/bins.py: smoothing window, `frames_to_confirm`) starts afresh on
  it, and its first confirmed decision (a bin, or `unknown` when no bin is confident) is
  announced once. Frames that move (a hand over the item) are not fed to the decider.
- A second item dropped on the first: after the zone moved, the still scene is compared with
  the one the item was first seen as; if it differs (`differs`), it is a new item and a new
  decision. A hand that passes and leaves the scene as it was makes none.
- Nothing can tell (no reference, no `empty` class): every frame counts, as before this gate
  existed: the decider's decision is announced whenever the confirmed bin changes.

`bin_results` writes an announcement as ~/bin's results: `empty` with its score, or every bin
by its smoothed probability, best first, under `unknown` (scored 1 minus the best bin's) when no
bin is confident.

`items_seen`, `items_decided` and `empty_seconds` (time in the empty state, counted between
frames, a gap of more than MAX_GAP seconds as MAX_GAP) are for /diagnostics.
"""

from dataclasses import dataclass
import enum
from typing import Callable

import numpy as np

from waste_classifier_ros.core.bins import EMPTY, UNKNOWN, BinDecider, BinMap, Decision
from waste_classifier_ros.core.presence import Look, PresenceGate

EMPTY_MAJORITY = 0.5  # the model's `empty` probability from which a frame shows no item
MAX_GAP = 1.0  # seconds: a longer gap between frames (a stalled camera) is not counted as empty


class Zone(enum.Enum):
    UNKNOWN = 'unknown'    # nothing can tell, or nothing seen yet
    EMPTY = 'empty'
    ARRIVING = 'arriving'  # something is there, not yet still
    ITEM = 'item'


@dataclass(frozen=True)
class Presence:
    """One frame's evidence about the zone.

    `present` None when nothing can tell; `empty_score` (0..1) how much it looks empty (the
    share of the zone like the reference, or the model's `empty` probability); `moving` whether
    the zone differs from the frame before.
    """

    present: bool | None
    empty_score: float
    moving: bool


def presence_of(look: Look, gate: PresenceGate, empty_probability: float | None) -> Presence:
    """Combine the gate's look and the model's `empty` probability (module docstring)."""
    moving = gate.holds_item(look.moving)
    if look.changed is not None:
        return Presence(gate.holds_item(look.changed), 1.0 - look.changed, moving)
    if empty_probability is not None:
        return Presence(empty_probability < EMPTY_MAJORITY, empty_probability, moving)
    return Presence(None, 0.0, moving)


@dataclass(frozen=True)
class Empty:
    """The zone emptied; `score` is the mean `empty_score` of the frames that said so."""

    score: float


Announcement = Decision | Empty


def bin_results(said: Announcement, bins: BinMap) -> list[tuple[str, float]]:
    """Return ~/bin's (class_id, score) results for an announcement, best first."""
    if isinstance(said, Empty):
        return [(EMPTY, said.score)]
    order = sorted(range(len(bins.bins)), key=lambda i: -said.scores[i])
    results = [(bins.bins[i].name, float(said.scores[i])) for i in order]
    if said.index is None:
        results.insert(0, (UNKNOWN, 1.0 - float(said.scores.max())))
    return results


class ItemTracker:
    """The zone's state and its announcements (module docstring). One thread calls it."""

    def __init__(self, decider: BinDecider, settle_frames: int, empty_frames: int,
                 differs: Callable[[np.ndarray, np.ndarray], bool]) -> None:
        self.decider = decider
        self.settle_frames, self.empty_frames = settle_frames, empty_frames
        self._differs = differs
        self.zone = Zone.UNKNOWN
        self.announced: Announcement | None = None  # the last announcement
        self.items_seen = self.items_decided = 0
        self.empty_seconds = 0.0
        self._last_frame: float | None = None
        self._still = 0
        self._empty_scores: list[float] = []
        self._scene: np.ndarray | None = None  # the item as first seen still
        self._disturbed = False  # the zone moved since the item was last still
        self._decided = False

    def configure(self, settle_frames: int, empty_frames: int) -> None:
        self.settle_frames, self.empty_frames = settle_frames, empty_frames

    def update(self, now: float, presence: Presence, cells: np.ndarray,
               bin_probabilities: np.ndarray) -> Announcement | None:
        """Add one frame (monotonic time, evidence, thumbnail, bin sums); return what to say."""
        if self.zone is Zone.EMPTY and self._last_frame is not None:
            self.empty_seconds += min(MAX_GAP, now - self._last_frame)
        self._last_frame = now
        if presence.present is None:
            self.zone = Zone.UNKNOWN
            return self._say(self.decider.update(bin_probabilities))
        if not presence.present:
            return self._absent(presence.empty_score)
        self._empty_scores.clear()
        if presence.moving:
            self._still, self._disturbed = 0, True
        else:
            self._still += 1
        if self._still < self.settle_frames:
            if self.zone is not Zone.ITEM:
                self.zone = Zone.ARRIVING
            return None
        if self.zone is not Zone.ITEM or (
                self._disturbed and self._scene is not None and self._differs(cells, self._scene)):
            self._new_item(cells)
        self._disturbed = False
        if self._decided:
            return None
        decision = self.decider.update(bin_probabilities)
        if decision is None:
            return None
        self._decided = True
        self.items_decided += 1
        return self._say(decision)

    def _absent(self, empty_score: float) -> Announcement | None:
        self._still = 0
        self._empty_scores.append(empty_score)
        del self._empty_scores[:-self.empty_frames]  # the last frames only, however long empty
        if len(self._empty_scores) < self.empty_frames:
            return None
        self.zone = Zone.EMPTY
        self._scene = None
        if isinstance(self.announced, Empty):
            return None
        return self._say(Empty(float(np.mean(self._empty_scores))))

    def _new_item(self, cells: np.ndarray) -> None:
        self.zone = Zone.ITEM
        self._scene = cells
        self._decided = False
        self.items_seen += 1
        self.decider.reset()

    def _say(self, announcement: Announcement | None) -> Announcement | None:
        if announcement is not None:
            self.announced = announcement
        return announcement
