# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Is there an item in the drop zone? The presence gate, learned at the station, without labels.

The measure is the pixels of the region of interest, not the model's features: jetson-inference's
imageNet hands back class scores only, so a measure on internal features could not run on both
backends, and the class scores alone cannot say "nothing there" for a model without an `empty`
class (a bare floor scores `cardboard` at 95 %). The model's `empty` class, where it has one, is
the second source (core/items.py combines them); this module is the pixel side.

A frame becomes a `thumbnail`: the ROI, 16 pixels a cell sampled (nearest neighbour, cheap on a
720p frame) and averaged (cv2 INTER_AREA) into GRID cells; a cell is the mean of 16 pixels
spread over it, so sensor noise averages out. Each cell keeps its brightness in log units
(log(mean of R, G, B + 8)), so that a change of gain (auto exposure, the light dimming) becomes
an offset, and its chromaticity (each channel over the sum, times 3 so that a change of 0.05
counts as much as 15 % in brightness), which a change of gain leaves alone, also in a cell with
a dark channel (a log per channel would not: a channel near 0 barely moves when the gain
does). Two thumbnails are compared cell by cell (`changed_cells`):

- brightness, minus a smooth surface (a quadratic in x and y) fitted over the cells (least
  squares, refitted once without the cells the first fit left far off). The surface takes up a
  global exposure step, a slow drift, a light gradient and a soft shadow across the zone; an
  item is a local change with edges that it cannot follow.
- colour: the chromaticity, minus its median shift over the cells (an automatic white balance
  moving). A shadow leaves it as it was.

A cell has changed when either differs by more than `cell_change` (log units: 0.15 is about
15 % in brightness) or by more than NOISE_FACTOR times the cell's own noise, measured while the
empty zone was taught. The zone holds something when the changed share of cells reaches
`min_area`: a few noisy or glinting cells never do.

`PresenceGate` keeps the empty reference: `learn` (the operator's "the zone is empty now") takes
the median of the last frames (they must be still), `clear` forgets it, `adapt` follows it slowly
while the zone stays empty (an exponential average with a time constant in seconds), `save`
and `load` keep it in a file across restarts (written whole or not at all). It also compares
each frame with the one before (`look`: is the zone moving?). Thread-safe: the node's service
calls and its inference thread share one gate.
"""

from collections import deque
from dataclasses import dataclass
import io
from pathlib import Path
import threading
from typing import Sequence

import cv2
import numpy as np

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.atomic_files import atomic_write

GRID = (32, 24)  # cells across, down: 768 cells, some 40x30 pixels each at 1280x720
SAMPLES_PER_CELL = 4  # pixels sampled per cell edge: 16 a cell averaged
LOG_OFFSET = 8.0  # keeps dark cells' log from amplifying their noise
CHROMA_OFFSET = 6.0  # keeps a near-black cell's chromaticity from amplifying its noise
NOISE_FACTOR = 4.0  # a cell changed when its difference passes this many of its noise
HISTORY = 8  # frames `learn` takes the median of
VERSION = 2  # of the reference file


def _sample(frame: image_codec.Frame) -> np.ndarray:
    """SAMPLES_PER_CELL^2 pixels a cell, nearest neighbour, as RGB (cheap on the full frame)."""
    size = (GRID[0] * SAMPLES_PER_CELL, GRID[1] * SAMPLES_PER_CELL)
    if frame.encoding in ('uyvy', 'yuyv'):
        # Whole pixel pairs, so that each keeps its own chroma.
        pairs = frame.pixels.reshape(frame.height, frame.width // 2, 4)
        small = cv2.resize(pairs, (size[0] // 2, size[1]), interpolation=cv2.INTER_NEAREST)
        small = small.reshape(size[1], size[0], 2)
    else:
        small = cv2.resize(frame.pixels, size, interpolation=cv2.INTER_NEAREST)
    return image_codec.to_rgb(image_codec.Frame(small, frame.encoding))


def thumbnail(frame: image_codec.Frame, roi: Sequence[float] = (0.0, 0.0, 1.0, 1.0)
              ) -> np.ndarray:
    """Return the ROI as GRID[1] x GRID[0] cells of brightness and 3 x chromaticity (float32).

    Brightness is log units, chromaticity three channels (module docstring).
    """
    rgb = _sample(image_codec.crop(frame, roi))
    cells = cv2.resize(rgb, GRID, interpolation=cv2.INTER_AREA).astype(np.float32)
    # Per channel by hand: numpy's reductions over a last axis of 3 cost ten times as much.
    total = cells[..., 0] + cells[..., 1] + cells[..., 2]
    features = np.empty((GRID[1], GRID[0], 4), np.float32)
    features[..., 0] = np.log(total / 3.0 + LOG_OFFSET)
    np.multiply(cells, (3.0 / (total + CHROMA_OFFSET))[..., np.newaxis], out=features[..., 1:])
    return features


def _shading_basis() -> np.ndarray:
    """1, x, y, x^2, xy, y^2 over the cells: the smooth shapes light and soft shadows take."""
    ys, xs = np.mgrid[0:GRID[1], 0:GRID[0]].astype(np.float32)
    x, y = xs.ravel() / GRID[0] - 0.5, ys.ravel() / GRID[1] - 0.5
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


_BASIS = _shading_basis()
_FIT = np.linalg.pinv(_BASIS)  # least squares over all cells, solved once


def _minus_shading(values: np.ndarray, outlier: float) -> np.ndarray:
    """Return `values` (one per cell) minus a smooth surface fitted to them.

    Refitted once without the cells the first fit left far off (an item's).
    """
    flat = values.ravel()
    residual = flat - _BASIS @ (_FIT @ flat)
    inliers = (np.abs(residual) < outlier).astype(np.float32)
    if inliers.sum() >= _BASIS.shape[1] * 4:
        weighted = _BASIS * inliers[:, np.newaxis]
        coefficients = np.linalg.solve(weighted.T @ _BASIS, weighted.T @ flat)
        residual = flat - _BASIS @ coefficients
    return residual.reshape(values.shape)


def _median_per_channel(values: np.ndarray) -> np.ndarray:
    """Return the (upper) median of each channel over the cells."""
    flat = values.reshape(-1, values.shape[-1])
    middle = flat.shape[0] // 2
    return np.partition(flat, middle, axis=0)[middle]


def changed_cells(now: np.ndarray, before: np.ndarray, cell_change: float,
                  noise: np.ndarray | None = None) -> np.ndarray:
    """Which cells of two thumbnails differ (bool, GRID[1] x GRID[0]); see the module docstring."""
    difference = now - before
    change = np.abs(_minus_shading(difference[..., 0], cell_change))
    colour = difference[..., 1:]
    for channel, middle in enumerate(_median_per_channel(colour)):
        np.maximum(change, np.abs(colour[..., channel] - middle), out=change)
    limit = cell_change if noise is None else np.maximum(cell_change, NOISE_FACTOR * noise)
    return change > limit


def changed_share(now: np.ndarray, before: np.ndarray, cell_change: float,
                  noise: np.ndarray | None = None) -> float:
    """Return the share of cells (0..1) that differ between two thumbnails."""
    return float(changed_cells(now, before, cell_change, noise).mean())


@dataclass(frozen=True)
class Look:
    """What the gate saw in one frame.

    `changed`: the share of cells that differ from the empty reference, None without one;
    `moving`: the share that differ from the frame before (0 for the first).
    """

    thumbnail: np.ndarray
    changed: float | None
    moving: float


class GateError(RuntimeError):
    """The gate cannot learn, or its file cannot be kept; the message says why."""


class PresenceGate:
    """The station's empty reference and the frame-to-frame comparison (module docstring)."""

    def __init__(self, cell_change: float = 0.15, min_area: float = 0.03) -> None:
        self.cell_change, self.min_area = cell_change, min_area
        self._lock = threading.Lock()
        self._recent: deque[np.ndarray] = deque(maxlen=HISTORY)
        self._reference: np.ndarray | None = None
        self._noise: np.ndarray | None = None

    @property
    def learned(self) -> bool:
        return self._reference is not None

    def look(self, cells: np.ndarray) -> Look:
        """Compare a frame's thumbnail with the reference and with the frame before."""
        with self._lock:
            before = self._recent[-1] if self._recent else None
            self._recent.append(cells)
            reference, noise = self._reference, self._noise
        moving = 0.0 if before is None else changed_share(cells, before, self.cell_change)
        changed = None if reference is None else changed_share(cells, reference,
                                                               self.cell_change, noise)
        return Look(cells, changed, moving)

    def holds_item(self, share: float) -> bool:
        """Whether a changed share of cells means something is there (or moving)."""
        return share >= self.min_area

    def learn(self) -> int:
        """Take the last frames as the empty zone; return how many. GateError when it cannot."""
        with self._lock:
            recent = list(self._recent)
        if not recent:
            raise GateError('no frame has arrived yet')
        moving = max((changed_share(a, b, self.cell_change) for a, b in zip(recent, recent[1:])),
                     default=0.0)
        if self.holds_item(moving):
            raise GateError(f'the zone is moving ({100 * moving:.0f} % of it changed between '
                            'frames): teach it when it is still and empty')
        stack = np.stack(recent)
        reference = np.median(stack, axis=0)
        noise = np.median(np.abs(stack - reference), axis=0).max(axis=2) * 1.4826
        with self._lock:
            self._reference, self._noise = reference, noise
        return len(recent)

    def clear(self) -> bool:
        """Forget the reference; return whether there was one."""
        with self._lock:
            had, self._reference, self._noise = self._reference is not None, None, None
        return had

    def forget_frames(self) -> None:
        """Drop the recent frames (the ROI or camera changed: they no longer compare)."""
        with self._lock:
            self._recent.clear()

    def adapt(self, cells: np.ndarray, weight: float) -> None:
        """Move the reference towards an empty frame by `weight` (0..1)."""
        with self._lock:
            if self._reference is not None:
                self._reference = self._reference + weight * (cells - self._reference)

    def save(self, path: Path, roi: Sequence[float]) -> None:
        """Write the reference (and the ROI it belongs to) whole or not at all."""
        with self._lock:
            reference, noise = self._reference, self._noise
        if reference is None or noise is None:
            raise GateError('no empty reference to keep')
        buffer = io.BytesIO()
        np.savez(buffer, version=VERSION, grid=np.asarray(GRID), roi=np.asarray(roi, np.float64),
                 reference=reference, noise=noise)
        try:
            atomic_write(path, buffer.getvalue())
        except OSError as error:
            raise GateError(f'{path}: cannot keep the empty reference ({error})') from None

    def load(self, path: Path, roi: Sequence[float]) -> None:
        """Read a reference kept by `save`; GateError naming why it does not fit."""
        try:
            with np.load(path) as stored:
                version, grid = int(stored['version']), tuple(stored['grid'])
                stored_roi, reference, noise = stored['roi'], stored['reference'], stored['noise']
        except (OSError, ValueError, KeyError) as error:
            raise GateError(f'{path}: not an empty reference ({error})') from None
        if version != VERSION or grid != GRID:
            raise GateError(f'{path}: version {version}, grid {grid}; this node reads version '
                            f'{VERSION}, grid {GRID}')
        if not np.allclose(stored_roi, roi):
            raise GateError(f'{path}: taught for roi {list(stored_roi)}, the node has {list(roi)}')
        with self._lock:
            self._reference, self._noise = reference.astype(np.float32), noise.astype(np.float32)
