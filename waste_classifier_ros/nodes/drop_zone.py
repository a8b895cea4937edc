# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The classifier's drop zone: the empty reference's life, and what each frame makes ~/bin say.

ROS-free, so that it is tested without a node (tests/test_drop_zone.py): the classifier node
holds one `DropZone`, calls it from its services and its inference thread, and replies and
publishes what it hands back. It joins the pixels' presence gate (core/presence.py), the model's
`empty` class (core/bins.py) and the item tracker (core/items.py):

- The empty reference's life. `learn` on the operator's "the zone is empty now" (~/learn_empty),
  refused with the reason while no frame has arrived, while the camera has stalled or while the
  zone moves; `clear` one learned by mistake (~/clear_empty), with its file. It is kept across
  restarts only in the file the `empty_reference_file` parameter names (written whole or not at
  all), read when the DropZone is made; an ROI change forgets it (`roi_changed`): it was taught
  for the old region.
- Where "empty" comes from (`empty_source`): the reference where one is learned, else the model's
  `empty` class, else nothing (~/bin then follows every frame). `tell_source` logs one warning
  line when the model lacks the class: at start and after a model switch.
- `follow`, once a frame: the gate's look and the model's `empty` probability make the frame's
  presence; given an item, the bins share what `empty` leaves; the tracker says what to announce,
  if anything. While the zone stays empty and still, the reference follows the light slowly
  (`empty_adapt_seconds`). `shown`: the bin and the class the overlay and a capture name.

Threads: `follow` and `shown` run on the node's inference thread, the rest in its executor; the
gate is thread-safe and the tracker is stepped by the inference thread only.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from waste_classifier_ros.backends import Log
from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.bins import EMPTY, EMPTY_BIN, UNKNOWN_BIN, Bin, BinDecider, BinMap
from waste_classifier_ros.core.items import (
    MAX_GAP,
    Announcement,
    Empty,
    ItemTracker,
    Zone,
    presence_of,
)
from waste_classifier_ros.core.presence import GateError, PresenceGate, changed_share, thumbnail
from waste_classifier_ros.nodes.classifier_parameters import LiveSettings

Reply = tuple[bool, str]  # a Trigger's success and message


@dataclass(frozen=True)
class Shown:
    """What the overlay shows and a capture is named by.

    `bin`: the bin announced last (Empty while the zone is empty, Unknown while nothing is
    decided); `label` and `score`: `empty` and the empty score while the zone is empty, else the
    frame's best class and its probability.
    """

    bin: Bin
    label: str
    score: float


class DropZone:
    """The presence gate, the item tracker and the kept reference (module docstring)."""

    def __init__(self, settings: LiveSettings, reference_file: str, bins: BinMap, info: Log,
                 warning: Log) -> None:
        """Make the gate and the tracker, read the kept reference; '' keeps none."""
        self._info, self._warning = info, warning
        self.gate = PresenceGate(settings.presence_cell_change, settings.presence_min_area)
        self.items = ItemTracker(
            BinDecider(settings.smoothing_window, settings.threshold, settings.frames_to_confirm),
            settings.settle_frames, settings.empty_frames, self._scenes_differ)
        self._configured = settings  # the settings the gate and the tracker follow
        self._last_frame_time: float | None = None  # of the frame before, for the slow update
        self.reference_file = Path(reference_file).expanduser() if reference_file else None
        self._load(settings.roi)
        self.tell_source(bins)

    @property
    def empty(self) -> bool:
        """Whether the zone is empty now (announced as such)."""
        return self.items.zone is Zone.EMPTY

    def learn(self, silent: float | None, settings: LiveSettings, topic: str) -> Reply:
        """Learn the reference from the last frames, or say why not.

        `silent`: seconds since a frame last arrived on `topic`, None when none has.
        """
        if silent is None:
            return False, (f'no frame has arrived yet on {topic}: the empty zone is learned '
                           'from the camera')
        if silent > settings.stall_timeout:
            return False, (f'the camera stalled: no frame on {topic} for {silent:.1f} s; the '
                           'empty zone is learned from the frames of now')
        try:
            frames = self.gate.learn()
        except GateError as error:
            return False, f'not learned: {error}'
        return True, (f'learned the empty zone from the last {frames} frames; '
                      f'{self._keep(settings.roi)}')

    def _keep(self, roi: Sequence[float]) -> str:
        """Write the reference to the parameter-named file; say where it is kept, if at all."""
        if self.reference_file is None:
            return 'not kept across restarts (set empty_reference_file to keep it)'
        try:
            self.gate.save(self.reference_file, roi)
        except GateError as error:
            return f'not kept across restarts: {error}'
        return f'kept in {self.reference_file}'

    def clear(self, bins: BinMap) -> Reply:
        """Forget a reference learned by mistake, and its file."""
        success = True
        message = 'cleared the empty reference' if self.gate.clear() else \
            'there was no empty reference'
        if self.reference_file is not None:
            try:
                self.reference_file.unlink(missing_ok=True)
            except OSError as error:
                success = False
                message += f', but {self.reference_file} stays: {error.strerror}'
        return success, f'{message}; {self.empty_source(bins)}'

    def _load(self, roi: Sequence[float]) -> None:
        path = self.reference_file
        if path is None:
            return
        if not path.exists():
            self._info(f'no empty reference kept in {path} yet: teach the empty zone with '
                       '~/learn_empty')
            return
        try:
            self.gate.load(path, roi)
        except GateError as error:
            self._warning(f'empty reference not loaded: {error}; teach the empty zone again '
                          '(~/learn_empty)')
            return
        self._info(f'empty reference loaded from {path}')

    def roi_changed(self) -> None:
        """Forget the reference and the recent frames: they were of the old region."""
        if self.gate.clear():
            self._warning('roi changed: the empty reference was for the old region; teach the '
                          'empty zone again (~/learn_empty)')
        self.gate.forget_frames()

    def empty_source(self, bins: BinMap) -> str:
        """Say in words what tells an empty zone now."""
        if self.gate.learned:
            return 'the empty reference tells an empty zone'
        if bins.empty_index is not None:
            return "the model's empty class tells an empty zone"
        return ('nothing tells an empty zone (the model has no empty class): ~/bin follows every '
                'frame until the empty zone is taught (~/learn_empty)')

    def tell_source(self, bins: BinMap) -> None:
        """Log one clear line when the model lacks the `empty` class (at start, at a switch)."""
        if bins.empty_index is None:
            self._warning(
                f'the model has no "{EMPTY}" class: an empty zone is told only by the empty '
                'reference (~/learn_empty while the zone is empty); '
                f'{"it is learned" if self.gate.learned else "none is learned yet"}')

    def diagnostics(self, bins: BinMap) -> list[tuple[str, str]]:
        """Return the zone's /diagnostics values: its state, its items, what tells it empty."""
        items = self.items
        return [('zone', items.zone.value), ('items_seen', str(items.items_seen)),
                ('items_decided', str(items.items_decided)),
                ('empty_seconds', f'{items.empty_seconds:.1f}'),
                ('empty_reference', 'learned' if self.gate.learned else 'none'),
                ('empty_source', self.empty_source(bins))]

    def follow(self, frame: image_codec.Frame, now: float, probabilities: np.ndarray,
               settings: LiveSettings, bins: BinMap) -> Announcement | None:
        """Look at the zone in a frame (monotonic `now`); return what ~/bin says, if anything."""
        if settings is not self._configured:
            self._configure(settings)
        look = self.gate.look(thumbnail(frame, settings.roi))
        empty_probability = bins.empty_probability(probabilities)
        presence = presence_of(look, self.gate, empty_probability)
        announcement = self.items.update(now, presence, look.thumbnail,
                                         bins.item_probabilities(probabilities))
        before, self._last_frame_time = self._last_frame_time, now
        if self.empty and look.changed is not None and not presence.moving \
                and before is not None:
            # Light drifts and auto exposure moves over a day: the reference follows them
            # slowly, only while the zone is empty and still.
            gap = min(MAX_GAP, now - before)
            self.gate.adapt(look.thumbnail, min(1.0, gap / settings.empty_adapt_seconds))
        return announcement

    def _configure(self, settings: LiveSettings) -> None:
        self.items.decider.configure(settings.smoothing_window, settings.threshold,
                                     settings.frames_to_confirm)
        self.items.configure(settings.settle_frames, settings.empty_frames)
        self.gate.cell_change = settings.presence_cell_change
        self.gate.min_area = settings.presence_min_area
        self._configured = settings

    def _scenes_differ(self, now: np.ndarray, before: np.ndarray) -> bool:
        """Whether two still views of the zone differ (a second item dropped on the first)."""
        return self.gate.holds_item(changed_share(now, before, self.gate.cell_change))

    def shown(self, bins: BinMap, labels: Sequence[str], best: tuple[int, float]) -> Shown:
        """Return what the overlay and a capture name, given the frame's best class and score."""
        said = self.items.announced
        if isinstance(said, Empty) and self.empty:
            return Shown(EMPTY_BIN, EMPTY, said.score)
        label, score = labels[best[0]], best[1]
        if isinstance(said, Empty) or said is None or said.index is None:
            # Nothing decided yet (or something arrived since `empty`), or no bin is sure.
            return Shown(UNKNOWN_BIN, label, score)
        return Shown(bins.bins[said.index], label, score)
