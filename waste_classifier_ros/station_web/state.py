# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
What the page shows about the classifier, kept from its topics, without ROS.

The node's callbacks hand over plain values (`set_label_info`, `set_classification`, `set_bin`,
`set_diagnostics`); the web side reads `snapshot()`, a JSON-ready dict, whenever a listener
added with `add_listener` says something changed. Bin names, labels and colours come from the
same bins file the classifier reads (config/bins.yaml by default), checked against the classes
of its label_info. Times are time.monotonic() seconds.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
import threading
import time

from waste_classifier_ros.bins import UNKNOWN, UNKNOWN_BIN, BinsError, load_bins
from waste_classifier_ros.diagnostics import WARN

# Without a /diagnostics message for this long the classifier counts as not reporting (gone,
# hung, or on another ROS domain); it publishes one every diagnostics_period (1 s by default).
SILENT_AFTER_S = 5.0
HEALTH_NUMBERS = {
    'fps': 'processed_fps', 'input_fps': 'input_fps', 'latency_p50_ms': 'latency_p50_ms',
    'latency_p95_ms': 'latency_p95_ms', 'processed': 'frames_processed',
    'skipped': 'frames_skipped', 'rejected': 'frames_rejected', 'failed': 'frames_failed',
}


def hex_colour(rgb) -> str:
    return '#{:02x}{:02x}{:02x}'.format(*rgb)


class StationState:
    """Thread-safe: ROS callbacks write, the web side reads snapshots."""

    def __init__(self, bins_file: Path, clock: Callable[[], float] = time.monotonic):
        self._bins_file = bins_file
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners = []
        self.version = 0
        self._classes = []
        self._threshold = None
        self._bins = {}
        self._class_bins = {}
        self._bins_problem = ''
        self._top_k = []
        self._bin = None
        self._diagnostics = None
        self._diagnostics_at = None

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

    def set_classification(self, results: Sequence[tuple[str, float]]) -> None:
        with self._lock:
            self._top_k = [(str(name), float(score)) for name, score in results]
            self.version += 1
        self._changed()

    def set_bin(self, name: str, score: float) -> None:
        with self._lock:
            self._bin = (str(name), float(score), self._clock())
            self.version += 1
        self._changed()

    def set_diagnostics(self, level: int, message: str, values: dict) -> None:
        with self._lock:
            self._diagnostics = (int(level), str(message), dict(values))
            self._diagnostics_at = self._clock()
            self.version += 1
        self._changed()

    def snapshot(self) -> dict:
        now = self._clock()
        with self._lock:
            return {
                'classes': list(self._classes),
                'threshold': self._threshold,
                'bins': dict(self._bins),
                'class_bins': dict(self._class_bins),
                'bins_problem': self._bins_problem,
                'top_k': [{'class': name, 'score': score, 'bin': self._class_bins.get(name)}
                          for name, score in self._top_k],
                'bin': self._bin_view(now),
                'health': self._health_view(now),
            }

    def _bin_view(self, now: float):
        if self._bin is None:
            return None
        name, score, at = self._bin
        style = self._bins.get(name)
        if style is None:
            style = {'label': UNKNOWN_BIN.label if name == UNKNOWN else name,
                     'colour': hex_colour(UNKNOWN_BIN.colour)}
        return {'name': name, 'score': score, 'age_s': round(now - at, 1), **style}

    def _health_view(self, now: float) -> dict:
        if self._diagnostics is None:
            return {'status': 'waiting', 'stalled': False,
                    'message': 'waiting for the classifier (no /diagnostics yet)'}
        level, message, values = self._diagnostics
        numbers = {name: _number(values.get(key)) for name, key in HEALTH_NUMBERS.items()}
        silent_for = now - self._diagnostics_at
        if silent_for > SILENT_AFTER_S:
            status = 'silent'
            message = (f'classifier not reporting: no /diagnostics for {silent_for:.0f} s '
                       f'(last: {message})')
        else:
            status = 'ok' if level < WARN else 'stalled' if 'stalled' in message else 'warn'
        return {'status': status, 'stalled': status == 'stalled', 'message': message,
                'backend': values.get('backend', ''), **numbers}


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value else None  # NaN (no latency yet) -> None
