# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
From class probabilities to a bin decision a robot can act on.

`load_bins` reads config/bins.yaml and checks it against the model's labels. `BinMap` sums class
probabilities per bin. `BinDecider` smooths those sums over a window of frames and only changes
its decision after the same answer has won `frames_to_confirm` frames in a row, so one blurry
frame does not flip the bin flap.

The class `empty` (a model trained to know "nothing there") goes in no bin: `BinMap` leaves it
out of the bins' sums and gives its probability alone (`empty_probability`); a bins file that
puts it in a bin is refused. A model without the class has `empty_index` None.
"""

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

UNKNOWN = 'unknown'
UNKNOWN_COLOUR = (255, 255, 255)
EMPTY = 'empty'  # the class and the ~/bin name for "no item in the zone"


class BinsError(ValueError):
    """The bins file cannot be read or does not fit the model's classes."""


@dataclass(frozen=True)
class Bin:
    name: str
    label: str
    colour: tuple


UNKNOWN_BIN = Bin(UNKNOWN, 'Unknown', UNKNOWN_COLOUR)
EMPTY_BIN = Bin(EMPTY, 'Empty', UNKNOWN_COLOUR)  # no bin: drawn in no bin's colour


class BinMap:
    """Which bin each class (by output index) goes in; `empty_index` is in none."""

    def __init__(self, bins: Sequence[Bin], class_bins: Sequence[int],
                 empty_index: int | None = None):
        self.bins = tuple(bins)
        self.empty_index = empty_index
        # The empty class counts into one slot past the bins, which `probabilities` cuts off.
        self._class_bins = np.asarray(class_bins, dtype=np.intp)
        if empty_index is not None:
            self._class_bins = np.insert(self._class_bins, empty_index, len(self.bins))

    def bin_of(self, class_index: int) -> Bin:
        return EMPTY_BIN if class_index == self.empty_index else \
            self.bins[self._class_bins[class_index]]

    def probabilities(self, class_probabilities: np.ndarray) -> np.ndarray:
        """Sum the probabilities of the classes of each bin (the empty class in none)."""
        return np.bincount(self._class_bins, weights=class_probabilities,
                           minlength=len(self.bins) + 1)[:len(self.bins)]

    def item_probabilities(self, class_probabilities: np.ndarray) -> np.ndarray:
        """Which bin, given that an item is there: the bins share what the empty class leaves."""
        empty = self.empty_probability(class_probabilities)
        sums = self.probabilities(class_probabilities)
        return sums if empty is None else sums / max(1.0 - empty, 1e-6)

    def empty_probability(self, class_probabilities: np.ndarray) -> float | None:
        """Return the model's probability of "nothing there"; None without the class."""
        if self.empty_index is None:
            return None
        return float(class_probabilities[self.empty_index])


def load_bins(path: str | Path, labels: Sequence[str]) -> BinMap:
    """Read a bins file; every label must be in exactly one bin and every class must be a label."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except OSError as error:
        raise BinsError(f'{path}: cannot read bins file ({error.strerror})') from None
    except yaml.YAMLError as error:
        # PyYAML's message spans several lines; startup errors must stay on one.
        reason = ' '.join(str(error).split())
        raise BinsError(f'{path}: bins file is not valid YAML ({reason})') from None
    entries = document.get('bins') if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise BinsError(f'{path}: expected a "bins:" mapping of bin name -> label, colour, '
                        'classes')
    index_of = {label: index for index, label in enumerate(labels)}
    class_bins: dict[str, int] = {}
    bins: list[Bin] = []
    for name, entry in entries.items():
        where = f'{path}: bin "{name}"'
        if name == UNKNOWN:
            raise BinsError(f'{where}: the name is reserved for frames no bin is confident about')
        if name == EMPTY:
            raise BinsError(f'{where}: the name is reserved for a zone without an item')
        if not isinstance(entry, dict) or not isinstance(entry.get('classes'), list):
            raise BinsError(f'{where} needs a "classes" list')
        for class_name in entry['classes']:
            if class_name == EMPTY:
                raise BinsError(f'{where} names class "{EMPTY}": it means no item and goes in '
                                'no bin')
            if class_name not in index_of:
                raise BinsError(f'{where} names class "{class_name}", which the model does not '
                                f'have (classes: {", ".join(labels)})')
            if class_name in class_bins:
                raise BinsError(f'{where} repeats class "{class_name}", already in bin '
                                f'"{bins[class_bins[class_name]].name}"')
            class_bins[class_name] = len(bins)
        bins.append(Bin(str(name), str(entry.get('label', name)),
                        _parse_colour(entry.get('colour'), where)))
    missing = [label for label in labels if label not in class_bins and label != EMPTY]
    if missing:
        raise BinsError(f'{path}: class "{missing[0]}" is in no bin; every class but "{EMPTY}" '
                        f'needs one (missing: {", ".join(missing)})')
    return BinMap(bins, [class_bins[label] for label in labels if label != EMPTY],
                  index_of.get(EMPTY))


def _parse_colour(value: object, where: str) -> tuple[int, ...]:
    if isinstance(value, str) and len(value) == 7 and value.startswith('#'):
        try:
            return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            pass
    raise BinsError(f'{where}: colour must be an RGB hex string like "#2ca02c", got {value!r}')


@dataclass(frozen=True)
class Decision:
    """A confirmed bin: its index in BinMap.bins, or None for unknown, and the smoothed sums."""

    index: int | None
    scores: np.ndarray


class BinDecider:
    """Moving average over the last `window` frames, then a debounce of `frames_to_confirm`."""

    def __init__(self, window: int, threshold: float, frames_to_confirm: int):
        self._history: deque[np.ndarray] = deque(maxlen=window)
        self.threshold = threshold
        self.frames_to_confirm = frames_to_confirm
        self.current: Decision | None = None
        self._candidate: int | None = None
        self._streak = 0

    def reset(self) -> None:
        """Forget every frame and the decision: a new item starts."""
        self._history.clear()
        self.current = None
        self._candidate, self._streak = None, 0

    def configure(self, window: int, threshold: float, frames_to_confirm: int) -> None:
        if window != self._history.maxlen:
            self._history = deque(self._history, maxlen=window)
        self.threshold = threshold
        self.frames_to_confirm = frames_to_confirm

    def update(self, bin_probabilities: np.ndarray) -> Decision | None:
        """Add one frame; return the new Decision when the confirmed bin changes, else None."""
        self._history.append(bin_probabilities)
        scores = np.mean(self._history, axis=0)
        best = int(np.argmax(scores))
        candidate = best if scores[best] >= self.threshold else None
        if self._streak and candidate == self._candidate:
            self._streak += 1
        else:
            self._candidate, self._streak = candidate, 1
        if self._streak < self.frames_to_confirm:
            return None
        if self.current is not None and self.current.index == candidate:
            return None
        self.current = Decision(candidate, scores)
        return self.current
