# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The classifier's health in numbers, without ROS: frame counts, rates, latency and camera stalls.

The subscription thread calls `received`/`rejected`, the inference thread `processed`
(once per frame, after its overlay if one was drawn) or `failed` (the backend raised), and the
diagnostics timer `report`, which turns the counters into a level, a message and key/value pairs
for a diagnostic_msgs/DiagnosticStatus. Times are time.monotonic() seconds.
"""

from collections import deque
import threading

import numpy as np

OK = 0
WARN = 1

# Rates are measured over the last few seconds so that a stalled camera shows as 0 FPS soon.
RATE_WINDOW_S = 2.0
LATENCY_SAMPLES = 300


def classifier_status_name(node_name: str) -> str:
    """Return the classifier's /diagnostics status name for its fully qualified node name.

    'station/waste_classifier: classifier' for /station/waste_classifier: the namespace stays
    in, so two stations' classifiers of the same name are told apart by any monitor.
    """
    return f'{node_name.strip("/")}: classifier'


class _Rate:
    """Events a second over about RATE_WINDOW_S, the same figure whenever it is read.

    Counting the events inside a window gives 1 or 2 at 1 FPS over 2 s, depending on where the
    window's edge falls between two events (the overlay, drawn just before a frame's tick,
    showed 0.5 FPS while /diagnostics, read between frames, showed 1.0). So the rate is taken
    between events: those after the newest one older than the window, over the time from that
    one to the newest (before any event that old, the count over the window). When events stop,
    it falls as if the next one came now, and is 0 once none is left inside the window.
    """

    def __init__(self) -> None:
        self._events: deque[tuple[float, int]] = deque()

    def tick(self, now: float, count: int = 1) -> None:
        self._events.append((now, count))

    def per_second(self, now: float) -> float:
        events = self._events
        while len(events) > 1 and events[1][0] < now - RATE_WINDOW_S:
            events.popleft()
        if not events:
            return 0.0
        start, start_count = events[0]
        if start >= now - RATE_WINDOW_S:
            return sum(count for _, count in events) / RATE_WINDOW_S
        counted = sum(count for _, count in events) - start_count
        if not counted:
            return 0.0
        return min(counted / (events[-1][0] - start), (counted + 1) / (now - start))


class PipelineStats:
    """Thread-safe counters of one classifier pipeline."""

    def __init__(self, now: float):
        self._lock = threading.Lock()
        self._started = now
        self._last_frame: float | None = None
        self._input = _Rate()
        self._output = _Rate()
        self._latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._sequences: dict[object, int] = {}
        self.counts = {'received': 0, 'processed': 0, 'skipped': 0, 'rejected': 0,
                       'failed': 0, 'overlaid': 0}
        self.last_rejection = ''
        self.last_failure = ''

    def received(self, now: float, publisher: object = None, sequence: int | None = None) -> None:
        """
        Count a frame taken from the subscription.

        With the publisher's id and the frame's publication sequence number, the frames that
        publisher sent since its previous one and that never got here (replaced in the keep-last-1
        queue while inference was busy, or lost) are counted as skipped, and as input.
        """
        with self._lock:
            missed = 0
            if publisher is not None and sequence:
                last = self._sequences.get(publisher)
                if last is not None and sequence > last + 1:
                    missed = sequence - last - 1
                self._sequences[publisher] = sequence
            self.counts['received'] += 1
            self.counts['skipped'] += missed
            self._last_frame = now
            self._input.tick(now, 1 + missed)

    def rejected(self, reason: str) -> None:
        with self._lock:
            self.counts['rejected'] += 1
            self.last_rejection = reason

    def failed(self, reason: str) -> None:
        with self._lock:
            self.counts['failed'] += 1
            self.last_failure = reason

    def processed(self, now: float, latency_s: float, overlaid: bool) -> None:
        with self._lock:
            self.counts['processed'] += 1
            self.counts['overlaid'] += overlaid
            self._output.tick(now)
            self._latencies.append(latency_s)

    def fps(self, now: float) -> float:
        with self._lock:
            return self._output.per_second(now)

    def seconds_since_last_frame(self, now: float) -> float | None:
        """Seconds since the last frame was received; None before the first."""
        with self._lock:
            return None if self._last_frame is None else now - self._last_frame

    def report(self, now: float,
               stall_timeout: float) -> tuple[int, str, list[tuple[str, str]]]:
        """Return (level, message, [(key, value), ...]) for the current state."""
        with self._lock:
            input_fps = self._input.per_second(now)
            output_fps = self._output.per_second(now)
            if self._latencies:
                p50, p95 = np.percentile(np.asarray(self._latencies) * 1000.0, [50, 95])
            else:
                p50 = p95 = float('nan')
            silent_for = now - (self._started if self._last_frame is None else self._last_frame)
            values = [
                ('input_fps', f'{input_fps:.1f}'),
                ('processed_fps', f'{output_fps:.1f}'),
                *((f'frames_{name}', str(count)) for name, count in self.counts.items()),
                ('latency_p50_ms', f'{p50:.1f}'),
                ('latency_p95_ms', f'{p95:.1f}'),
                ('seconds_since_last_frame', f'{silent_for:.1f}'),
                ('last_rejection', self.last_rejection),
                ('last_failure', self.last_failure),
            ]
        if silent_for > stall_timeout:
            waiting = 'no image received yet' if self._last_frame is None else 'no image'
            return (WARN, f'{waiting} for {silent_for:.1f} s: camera stalled or not connected?',
                    values)
        return OK, f'classifying at {output_fps:.1f} FPS', values
