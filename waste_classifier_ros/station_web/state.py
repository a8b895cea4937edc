# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
What the page shows about the classifier, kept from its topics, without ROS.

The node's callbacks hand over plain values (`set_label_info`, `set_classification`, `set_bin`,
`set_diagnostics`, `set_capture_settings`); the web side reads `snapshot()`, a JSON-ready dict,
whenever a listener added with `add_listener` says something changed.

One truth per frame: when a frame changes the decision, the classifier publishes the new bin
on ~/bin just before the frame's top-k on ~/classification (two topics, matched here by the
frames' header stamps). DDS keeps no order across two topics, and a busy executor may take a
frame's top-k before its bin, so neither is shown on arrival alone:
- a bin newer than the shown frame is kept (`queued`) until its frame's top-k comes; one whose
  frame's top-k never comes is shown on its own after ORPHAN_BIN_S (`settle`, called by the
  node's timer);
- a top-k is shown at once with the bin in force at its frame when that bin is the frame's own
  or agrees with the frame's top class; otherwise the frame is held (the page keeps showing the
  last pair) until its own bin comes, a newer frame replaces it, or ORPHAN_BIN_S passes (then
  it is a frame whose smoothed bin really differs from its top class, and is shown so).
  `empty` (no item in the zone) agrees with every frame: the presence gate may decide it from
  the pixels while the model's top class is an item's (a bare floor scores `cardboard`), and an
  item arriving shows its bars under `empty` until its own decision comes.
The shown `frame` and `bin` therefore always belong together.
Each bin message is one confirmed decision (with the presence gate, one per item, and `empty`
when the zone empties): the last HISTORY_LENGTH are kept for the page's history, and the items
given a bin are counted per bin since the shift started (`reset_counts`); `unknown` and
`empty` are not items in a bin. An `unknown` decision keeps the best bin's name and score from
its message (its own score is 1 minus that). Bin names, labels and colours come from the same
bins file the classifier reads (config/bins.yaml by default).
Durations use time.monotonic(); times shown to people are wall-clock seconds (time.time()).
"""

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
import threading
import time

from waste_classifier_ros.core.bins import (
    EMPTY,
    EMPTY_BIN,
    UNKNOWN,
    UNKNOWN_BIN,
    BinsError,
    load_bins,
)
from waste_classifier_ros.core.diagnostics import WARN

# Without a /diagnostics message for this long the classifier counts as not reporting (gone,
# hung, or on another ROS domain); it publishes one every diagnostics_period (1 s by default).
SILENT_AFTER_S = 5.0
# How long a bin waits for its frame's top-k (published microseconds after it) before it is
# shown on its own: that classification was lost.
ORPHAN_BIN_S = 1.0
HISTORY_LENGTH = 20
HEALTH_NUMBERS = {
    'fps': 'processed_fps', 'input_fps': 'input_fps', 'latency_p50_ms': 'latency_p50_ms',
    'latency_p95_ms': 'latency_p95_ms', 'processed': 'frames_processed',
    'skipped': 'frames_skipped', 'rejected': 'frames_rejected', 'failed': 'frames_failed',
}
CAPTURE_NUMBERS = {'written': 'captures_written', 'dropped': 'captures_dropped_queue_full',
                   'evicted': 'captures_evicted', 'failed': 'captures_failed',
                   'inbox_mb': 'capture_inbox_mb'}
ZONE_NUMBERS = {'items_seen': 'items_seen', 'items_decided': 'items_decided',
                'empty_seconds': 'empty_seconds'}


def hex_colour(rgb: Sequence[int]) -> str:
    return '#{:02x}{:02x}{:02x}'.format(*rgb)


@dataclass(frozen=True)
class _Decision:
    name: str
    score: float
    stamp: tuple  # (sec, nanosec) of the frame that decided; (0, 0) when the camera set none
    at: float  # monotonic
    wall: float
    best: tuple[str, float] | None = None  # unknown: the best bin, below the threshold


@dataclass(frozen=True)
class _Frame:
    top_k: list
    stamp: tuple


def _same_or_unknown(a: tuple, b: tuple) -> bool:
    return a == b or a == (0, 0) or b == (0, 0)


class StationState:
    """Thread-safe: ROS callbacks write, the web side reads snapshots."""

    def __init__(self, bins_file: Path, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time):
        self._bins_file = bins_file
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self.version = 0
        self.history_version = 0
        self._classes: list[str] = []
        self._threshold: float | None = None
        self._bins: dict[str, dict] = {}
        self._class_bins: dict[str, str] = {}
        self._bins_problem = ''
        # Decisions that came before their frame's classification.
        self._queued: deque[_Decision] = deque()
        self._bin: _Decision | None = None  # the decision in force at the shown frame
        self._frame: _Frame | None = None  # the shown frame
        self._held: _Frame | None = None  # the newest frame waiting for its bin, and since when
        self._held_since = 0.0
        self._history: deque[dict] = deque(maxlen=HISTORY_LENGTH)
        self._counts: dict[str, int] = {}
        self._counts_since = wall()
        self._diagnostics: tuple[int, str, dict] | None = None
        self._diagnostics_at = self._diagnostics_wall = 0.0  # when it came (with _diagnostics)
        self._capture_settings: tuple[bool, float] | None = None

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback()` (from the writer's thread) after every change."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    @property
    def classes(self) -> list:
        with self._lock:
            return list(self._classes)

    def set_label_info(self, classes: Sequence[str], threshold: float) -> None:
        classes = list(classes)
        bins, class_bins, problem = {}, {}, ''
        try:
            bin_map = load_bins(self._bins_file, classes)
        except BinsError as error:
            problem = str(error)
        else:
            bins = {b.name: {'label': b.label, 'colour': hex_colour(b.colour)}
                    for b in bin_map.bins}
            class_bins = {name: bin_map.bin_of(index).name for index, name in enumerate(classes)}
        with self._lock:
            self._classes, self._threshold = classes, float(threshold)
            self._bins, self._class_bins, self._bins_problem = bins, class_bins, problem
            self.version += 1
        self._changed()

    def set_classification(self, results: Sequence[tuple[str, float]],
                           stamp: tuple = (0, 0)) -> None:
        """Show a frame's top-k with the decision in force at that frame, or hold it."""
        frame = _Frame([(str(name), float(score)) for name, score in results], tuple(stamp))
        with self._lock:
            if self._held is None:
                self._held_since = self._clock()
            self._held = frame
            shown = self._show_held(force=False)
        if shown:
            self._changed()

    def set_bin(self, name: str, score: float, stamp: tuple = (0, 0),
                best: tuple[str, float] | None = None) -> None:
        """Take one ~/bin decision; `best` is an unknown's best bin (name, score)."""
        decision = _Decision(str(name), float(score), tuple(stamp), self._clock(), self._wall(),
                             None if best is None else (str(best[0]), float(best[1])))
        with self._lock:
            self._record(decision)
            frame = self._frame
            if frame is None or (decision.stamp == (0, 0)) != (frame.stamp == (0, 0)):
                # The latched decision at start, or one that cannot be matched to frames (only
                # one of the two stamped): shown at once.
                self._bin = decision
                self._name_class(frame)
            elif decision.stamp > frame.stamp or decision.stamp == (0, 0):
                self._queued.append(decision)  # its frame's top-k comes next
                if self._held is not None and self._held.stamp != (0, 0):
                    self._show_held(force=False)  # reordered: the held frame's own bin
            elif decision.stamp == frame.stamp or self._agrees(frame, decision):
                self._bin = decision  # late for the shown frame, and belongs with it
                self._name_class(frame)
            else:
                # Late, and not the shown frame's: that frame's own bin may still come; the
                # next frame takes it, or settle() shows it on its own.
                self._queued.append(decision)
        self._changed()

    def settle(self) -> None:
        """Show a held frame or a bin whose partner never came (the node calls this often)."""
        with self._lock:
            now = self._clock()
            if self._held is not None and now - self._held_since >= ORPHAN_BIN_S:
                self._show_held(force=True)
            elif self._queued and now - self._queued[0].at >= ORPHAN_BIN_S:
                self._bin = self._queued.pop()
                self._queued.clear()
                self._name_class(self._frame)
                self.version += 1
            else:
                return
        self._changed()

    def _show_held(self, force: bool) -> bool:
        """Show the held frame with the bin in force at it, if they agree (or `force`)."""
        frame = self._held
        assert frame is not None
        ready = [d for d in self._queued
                 if _same_or_unknown(d.stamp, frame.stamp) or d.stamp < frame.stamp]
        decision = self._bin  # the newest by stamp; unstamped ones by order
        for candidate in ready:
            if decision is None or candidate.stamp >= decision.stamp or \
                    candidate.stamp == (0, 0):
                decision = candidate
        # Its own bin, or one that cannot be matched to it by stamp (only one of them stamped).
        own = decision is not None and (decision.stamp == frame.stamp or
                                        (decision.stamp == (0, 0)) != (frame.stamp == (0, 0)))
        if not (force or own or self._agrees(frame, decision)):
            return False
        for done in ready:
            self._queued.remove(done)
        self._bin, self._frame, self._held = decision, frame, None
        self._name_class(frame)
        self.version += 1
        return True

    def _agrees(self, frame: _Frame, decision: _Decision | None) -> bool:
        """Whether the frame's top class goes into the decided bin (unknown: below threshold).

        `empty` agrees with any frame (module docstring).
        """
        if decision is None or decision.name == EMPTY or not frame.top_k or \
                not self._class_bins:
            return True
        name, score = frame.top_k[0]
        if decision.name == UNKNOWN:
            return self._threshold is not None and score < self._threshold
        return self._class_bins.get(name) == decision.name

    def _name_class(self, frame: _Frame | None) -> None:
        """Give the newest decision the top class of the frame that shows it first.

        Not `empty`'s: no item, whatever the model called the floor.
        """
        if frame is not None and self._history and self._history[-1]['decision'] is self._bin and \
                self._history[-1]['class'] is None and frame.top_k and self._bin.name != EMPTY:
            self._history[-1]['class'], self._history[-1]['class_score'] = frame.top_k[0]
            self.history_version += 1

    def _record(self, decision: _Decision) -> None:
        """One confirmed decision: into the history and, for an item given a bin, the counts."""
        self._history.append({'decision': decision, 'class': None, 'class_score': None})
        if decision.name not in (UNKNOWN, EMPTY):
            self._counts[decision.name] = self._counts.get(decision.name, 0) + 1
        self.history_version += 1
        self.version += 1

    def reset_counts(self) -> dict:
        with self._lock:
            self._counts, self._counts_since = {}, self._wall()
            self.version += 1
            counts = self._counts_view()
        self._changed()
        return counts

    def set_diagnostics(self, level: int, message: str, values: dict) -> None:
        with self._lock:
            self._diagnostics = (int(level), str(message), dict(values))
            self._diagnostics_at, self._diagnostics_wall = self._clock(), self._wall()
            self.version += 1
        self._changed()

    def set_capture_settings(self, enabled: bool, max_mb: float) -> None:
        """Keep the classifier's capture_enabled and capture_max_mb parameters, when read."""
        with self._lock:
            if self._capture_settings == (bool(enabled), float(max_mb)):
                return
            self._capture_settings = (bool(enabled), float(max_mb))
            self.version += 1
        self._changed()

    @property
    def model(self) -> tuple:
        """(model path, sha256) the classifier last reported; ('', '') before it did."""
        with self._lock:
            values: dict = self._diagnostics[2] if self._diagnostics else {}
            return values.get('model', ''), values.get('model_sha256', '')

    def snapshot(self) -> dict:
        now = self._clock()
        with self._lock:
            frame = self._frame
            return {
                'classes': list(self._classes),
                'threshold': self._threshold,
                'bins': dict(self._bins),
                'class_bins': dict(self._class_bins),
                'bins_problem': self._bins_problem,
                'frame': None if frame is None else {
                    'stamp': list(frame.stamp),
                    'top_k': [{'class': name, 'score': score,
                               'bin': self._class_bins.get(name)}
                              for name, score in frame.top_k]},
                'bin': None if self._bin is None else self._bin_view(self._bin, now),
                'health': self._health_view(now),
                'capture': self._capture_view(),
                'zone': self._zone_view(),
                'counts': self._counts_view(),
                'history_version': self.history_version,
                'server_time': self._wall(),
            }

    def history(self) -> list:
        """Return the last HISTORY_LENGTH decisions, newest first."""
        now = self._clock()
        with self._lock:
            return [dict(self._bin_view(entry['decision'], now), **{
                'class': entry['class'], 'class_score': entry['class_score'],
                'stamp': list(entry['decision'].stamp)}) for entry in reversed(self._history)]

    def _style(self, name: str) -> dict:
        style = self._bins.get(name)
        if style is None:
            known = {UNKNOWN: UNKNOWN_BIN, EMPTY: EMPTY_BIN}.get(name)
            style = {'label': known.label if known else name,
                     'colour': hex_colour((known or UNKNOWN_BIN).colour)}
        return style

    def _bin_view(self, decision: _Decision, now: float) -> dict:
        best = None if decision.best is None else {
            'name': decision.best[0], 'score': decision.best[1],
            'label': self._style(decision.best[0])['label']}
        return {'name': decision.name, 'score': decision.score, 'best': best,
                'age_s': round(now - decision.at, 1), 'at': decision.wall,
                **self._style(decision.name)}

    def _counts_view(self) -> dict:
        return {'since': self._counts_since, 'total': sum(self._counts.values()),
                'bins': [dict(self._style(name), name=name, count=count)
                         for name, count in sorted(self._counts.items(),
                                                   key=lambda item: -item[1])]}

    def _capture_view(self) -> dict:
        values: dict = self._diagnostics[2] if self._diagnostics else {}
        numbers = {name: _number(values.get(key)) for name, key in CAPTURE_NUMBERS.items()}
        enabled, max_mb = self._capture_settings or (None, None)
        if enabled is None and self._diagnostics:
            enabled = 'captures_written' in values  # the writer reports only while capturing
        return {'enabled': enabled, 'max_mb': max_mb, **numbers,
                'last_failure': values.get('capture_last_failure', '')}

    def _zone_view(self) -> dict:
        """Return the drop zone as the classifier reports it: empty or an item, the reference."""
        values: dict = self._diagnostics[2] if self._diagnostics else {}
        return {'zone': values.get('zone', ''), 'reference': values.get('empty_reference', ''),
                'source': values.get('empty_source', ''),
                **{name: _number(values.get(key)) for name, key in ZONE_NUMBERS.items()}}

    def _health_view(self, now: float) -> dict:
        if self._diagnostics is None:
            return {'status': 'waiting', 'stalled': False, 'live_until': None,
                    'message': 'waiting for the classifier (no /diagnostics yet)'}
        level, message, values = self._diagnostics
        numbers = {name: _number(values.get(key)) for name, key in HEALTH_NUMBERS.items()}
        silent_for = now - self._diagnostics_at
        live_until = None
        if silent_for > SILENT_AFTER_S:
            status = 'silent'
            message = (f'classifier not reporting: no /diagnostics for {silent_for:.0f} s '
                       f'(last: {message})')
            live_until = self._diagnostics_wall
        else:
            status = 'ok' if level < WARN else 'stalled' if 'stalled' in message else 'warn'
            if status == 'stalled':
                live_until = self._diagnostics_wall - (
                    _number(values.get('seconds_since_last_frame')) or 0.0)
        return {'status': status, 'stalled': status == 'stalled', 'message': message,
                'live_until': live_until, 'backend': values.get('backend', ''),
                'model_sha256': values.get('model_sha256', ''), **numbers}


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None  # NaN (no latency yet) -> None
