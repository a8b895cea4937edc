# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Keep the frames worth labelling, off the inference thread, safely on disk.

`CapturePolicy` decides (no ROS, no I/O): a frame is kept when the model is unsure (top-1 score
below `min_score`, or top-1 minus top-2 below `min_margin`), when the confirmed bin changed, or
because a person asked (`request`). Automatic captures are rate limited (`min_interval`); a
request is not. A frame of the empty zone (the node's presence gate says so) is never kept as
unsure or for a bin: it is kept as `empty`, at most once every `empty_interval` seconds (0:
never), so that the station's own floor reaches the `empty` class's training without flooding
the inbox with it. `CaptureWriter` owns a bounded queue and one thread that JPEG-encodes and
writes: `submit` never blocks, and when the queue is full the capture is dropped and counted,
the frame is still classified. Each capture lands in the inbox layout review.py reads,
`<inbox>/<predicted class>/<stamp>_<seq>.jpg` plus a same-stem JSON sidecar. Both are written
and fsynced under `<inbox>/.tmp/`, then linked into place (never over an existing file), JPEG
first and sidecar last: a capture exists once its sidecar does, and a JPEG whose sidecar never
came (a kill between the two links) is removed when a writer next opens the inbox, as is
anything left in `.tmp/`. The inbox is bounded: before a write that would pass `max_bytes`, the
oldest unreviewed captures are removed (sidecar first) and counted as evicted.
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime
import json
import os
from pathlib import Path
import queue
import shutil
import threading
from typing import Callable

import cv2
import numpy as np

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.atomic_files import fsync_dir, write_durably

TMP = '.tmp'
UNSURE, BIN_CHANGE, REQUEST, EMPTY_ZONE = 'unsure', 'bin_change', 'request', 'empty'


@dataclass(frozen=True)
class Thresholds:
    """When a frame is worth keeping; the node swaps a new one in when its parameters change."""

    min_score: float = 0.6
    min_margin: float = 0.2
    min_interval: float = 2.0
    empty_interval: float = 600.0  # seconds between captures of the empty zone; 0 = none


class CapturePolicy:
    """Decide which frames to keep. Call from one thread (the inference thread)."""

    def __init__(self) -> None:
        self._last_auto = float('-inf')
        self._last_empty = float('-inf')
        self._requested = threading.Event()
        self.rate_limited = 0

    def request(self) -> None:
        """Keep the next frame whatever the model thinks of it (thread-safe)."""
        self._requested.set()

    def reason(self, now: float, scores: list[float], bin_changed: bool,
               thresholds: Thresholds, empty: bool = False) -> str | None:
        """Why to keep this frame ('request', 'bin_change', 'unsure', 'empty') or None.

        `scores` are the top probabilities, most probable first (two or more, or one for a
        one-class model); `now` is a monotonic time in seconds; `empty` says the zone is empty.
        """
        if self._requested.is_set():
            self._requested.clear()
            return REQUEST
        if empty:
            interval = thresholds.empty_interval
            if not interval or now - self._last_empty < interval:
                return None
            self._last_empty = now
            return EMPTY_ZONE
        top1 = scores[0]
        top2 = scores[1] if len(scores) > 1 else 0.0
        reason: str | None
        if top1 < thresholds.min_score or top1 - top2 < thresholds.min_margin:
            reason = UNSURE  # says more about the frame than a bin change that comes with it
        else:
            reason = BIN_CHANGE if bin_changed else None
        if reason is None:
            return None
        if now - self._last_auto < thresholds.min_interval:
            self.rate_limited += 1
            return None
        self._last_auto = now
        return reason


def make_sidecar(stamp: tuple[int, int], frame_id: str, model_sha256: str, labels: list[str],
                 probabilities: np.ndarray, reason: str, bin_name: str, roi: tuple,
                 frame: image_codec.Frame, k: int = 5) -> dict:
    """Build the JSON sidecar of one capture: what the model saw and said, and why."""
    order = np.argsort(-probabilities, kind='stable')[:k]
    return {'stamp': {'sec': int(stamp[0]), 'nanosec': int(stamp[1])}, 'frame_id': frame_id,
            'model_sha256': model_sha256,
            'topk': [{'class': labels[i], 'score': round(float(probabilities[i]), 6)}
                     for i in order],
            'reason': reason, 'bin': bin_name, 'roi': [float(v) for v in roi],
            'width': frame.width, 'height': frame.height, 'encoding': frame.encoding}


def list_captures(inbox: Path) -> list[tuple[str, Path, int]]:
    """(name, JPEG path, bytes of the pair) of every capture in the inbox, oldest first."""
    found = []
    for folder in inbox.iterdir():
        if folder.name.startswith('.') or not folder.is_dir():
            continue
        for sidecar in folder.glob('*.json'):
            image = sidecar.with_suffix('.jpg')
            try:
                size = image.stat().st_size + sidecar.stat().st_size
            except FileNotFoundError:  # moved by a reviewer meanwhile
                continue
            found.append((sidecar.stem, image, size))
    found.sort()
    return found


def _sequence_of(name: str) -> int:
    tail = name.rpartition('_')[2]
    return int(tail) if tail.isdigit() else 0


def recover(inbox: Path) -> int:
    """Remove what an interrupted writer left: `.tmp/` and JPEGs without a sidecar. Count them."""
    removed = 0
    tmp = inbox / TMP
    if tmp.exists():
        removed += sum(1 for p in tmp.iterdir())
        shutil.rmtree(tmp)
    for folder in inbox.iterdir():
        if folder.name.startswith('.') or not folder.is_dir():
            continue
        for image in folder.glob('*.jpg'):
            if not image.with_suffix('.json').exists():
                image.unlink(missing_ok=True)
                removed += 1
    return removed


@dataclass
class _Job:
    frame: image_codec.Frame
    sidecar: dict
    predicted: str
    wall_time: float
    quality: int


class CaptureWriter:
    """A bounded queue and a thread that writes captures atomically into a bounded inbox."""

    def __init__(self, inbox: Path, max_bytes: int, queue_size: int = 4,
                 log: Callable[[str], object] = print) -> None:
        self.inbox = Path(inbox)
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._log = log
        self.recovered = recover(self.inbox)
        (self.inbox / TMP).mkdir()
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        present = list_captures(self.inbox)
        # Names sort oldest first within a second too: the sequence goes on from the inbox's.
        self._sequence = max((_sequence_of(name) for name, _, _ in present), default=0)
        self._stored = sum(size for _, _, size in present)
        self.counts = {'written': 0, 'dropped_queue_full': 0, 'evicted': 0, 'failed': 0}
        self.last_failure = ''
        self._thread = threading.Thread(target=self._run, name='capture-writer', daemon=True)
        self._thread.start()

    def submit(self, frame: image_codec.Frame, sidecar: dict, predicted: str,
               quality: int = 90) -> bool:
        """Queue a capture (the frame is copied); False, counted, when the queue is full."""
        if self._queue.full():
            self.counts['dropped_queue_full'] += 1
            return False
        job = _Job(image_codec.Frame(np.array(frame.pixels), frame.encoding), sidecar, predicted,
                   datetime.datetime.now(datetime.timezone.utc).timestamp(), quality)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.counts['dropped_queue_full'] += 1
            return False
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued capture is written or failed; False on timeout."""
        done = threading.Event()

        def join() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (within `timeout`), then stop the thread."""
        self.wait_idle(timeout)
        self._queue.put(None)
        self._thread.join(timeout)

    def stored_bytes(self) -> int:
        return self._stored

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._write(job)
                self.counts['written'] += 1
            except (OSError, ValueError, cv2.error) as error:
                self.counts['failed'] += 1
                self.last_failure = f'{type(error).__name__}: {error}'
                self._log(f'capture not written: {self.last_failure}')
            finally:
                self._queue.task_done()

    def _write(self, job: _Job) -> None:
        ok, encoded = cv2.imencode('.jpg', image_codec.to_bgr(job.frame),
                                   [cv2.IMWRITE_JPEG_QUALITY, job.quality])
        if not ok:
            raise ValueError('JPEG encoding failed')
        stamp = datetime.datetime.fromtimestamp(job.wall_time, datetime.timezone.utc)
        job.sidecar['captured_at'] = stamp.isoformat(timespec='microseconds')
        sidecar = json.dumps(job.sidecar, indent=1).encode('utf-8')
        size = len(encoded) + len(sidecar)
        self._make_room(size)
        folder = self.inbox / job.predicted
        tmp = self.inbox / TMP
        while True:
            self._sequence += 1
            stem = f'{stamp:%Y%m%dT%H%M%S}_{self._sequence:06d}'
            temporary = (tmp / f'{stem}.jpg', tmp / f'{stem}.json')
            try:
                write_durably(temporary[0], encoded.tobytes())
                write_durably(temporary[1], sidecar)
                if self._link_pair(temporary, folder / f'{stem}.jpg'):
                    break
                # else: a name from an earlier run in the same second; take the next one
            finally:  # a full disk leaves nothing behind either
                for path in temporary:
                    path.unlink(missing_ok=True)
        fsync_dir(folder)
        self._stored += size

    @staticmethod
    def _link_pair(temporary: tuple[Path, Path], image: Path) -> bool:
        """Link the JPEG, then the sidecar, into place; False when the name is taken.

        A reviewer may empty and remove the class folder at any moment, so it is made again
        when it vanished.
        """
        for attempt in range(3):
            image.parent.mkdir(exist_ok=True)
            try:
                os.link(temporary[0], image)
                break
            except FileExistsError:
                return False
            except FileNotFoundError:
                if attempt == 2:
                    raise
        try:
            os.link(temporary[1], image.with_suffix('.json'))
        except BaseException:
            image.unlink()
            raise
        return True

    def _make_room(self, size: int) -> None:
        if self._stored + size <= self.max_bytes:
            return
        captures = list_captures(self.inbox)  # reviewers move captures out meanwhile
        self._stored = sum(size for _, _, size in captures)
        for _, image, pair in captures:
            if self._stored + size <= self.max_bytes:
                break
            try:
                image.with_suffix('.json').unlink()
            except FileNotFoundError:  # a reviewer took it just now
                continue
            image.unlink(missing_ok=True)
            self._stored -= pair
            self.counts['evicted'] += 1
