# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The classifier's drop zone without ROS: the empty reference's life, what a frame makes ~/bin say.

What the node's ~/learn_empty and ~/clear_empty reply, what it logs at start and where the
reference is kept come from nodes/drop_zone.DropZone; the decision rule on streams is in
tests/test_presence.py, the same over DDS in tests/test_items_stream.py.
"""

import numpy as np
import pytest
from station_scenes import Item, Scene

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.bins import EMPTY_BIN, UNKNOWN_BIN, Bin, BinMap, Decision
from waste_classifier_ros.core.items import Empty, Zone, bin_results
from waste_classifier_ros.core.presence import HISTORY, thumbnail
from waste_classifier_ros.nodes.classifier_parameters import DECLARED, Settings
from waste_classifier_ros.nodes.drop_zone import DropZone

SETTINGS = Settings.of({p.name: p.default for p in DECLARED})
TOPIC = '/station/camera'
LABELS = ('paper', 'can', 'empty')
BINS = (Bin('paper_recycling', 'Paper', (0, 0, 255)), Bin('mixed_recycling', 'Mixed', (0, 255, 0)))
WITH_EMPTY = BinMap(BINS, [0, 1], empty_index=2)
WITHOUT_EMPTY = BinMap(BINS, [0, 1])
FLOOR = Scene()
CAN = FLOOR.with_(items=(Item((0.3, 0.2, 0.4, 0.5), (200, 40, 40)),))
ON_FLOOR = np.array([0.04, 0.01, 0.95])  # the model's `empty` class wins on the bare floor
# An item the model is not sure is there: `empty` keeps 0.4, the can's bin has 0.45 of 1.
ON_CAN = np.array([0.15, 0.45, 0.4])


class Watched:
    """A DropZone fed frames of scenes, and the lines it logged, [(severity, line)]."""

    def __init__(self, bins=WITH_EMPTY, reference_file='', **settings):
        self.logged = []
        self.settings = SETTINGS.changed(**settings)
        self.bins = bins
        self.zone = DropZone(self.settings, reference_file, bins,
                             lambda line: self.logged.append(('info', line)),
                             lambda line: self.logged.append(('warning', line)))
        self.frames = 0

    def show(self, scene, probabilities, frames=1, fps=15.0):
        """Follow `frames` frames of a scene; return what was announced."""
        if self.bins.empty_index is None:  # a model without `empty`: the scores but its column
            probabilities = probabilities[:len(BINS)]
        said = []
        for _ in range(frames):
            self.frames += 1
            frame = image_codec.Frame(scene.frame(self.frames), 'rgb8')
            announcement = self.zone.follow(frame, self.frames / fps, probabilities,
                                            self.settings, self.bins)
            if announcement is not None:
                said.append(announcement)
        return said

    def changed(self, scene):
        """Return the share of the zone that differs from the reference in `scene`."""
        return self.zone.gate.look(thumbnail(image_codec.Frame(scene.frame(0), 'rgb8'))).changed

    def taught(self):
        self.show(FLOOR, ON_FLOOR, HISTORY)
        return self.zone.learn(0.0, self.settings, TOPIC)


def test_teaching_is_refused_with_the_reason_without_frames_stalled_or_moving():
    station = Watched()
    assert station.zone.learn(None, SETTINGS, TOPIC) == (
        False, f'no frame has arrived yet on {TOPIC}: the empty zone is learned from the camera')
    station.show(FLOOR, ON_FLOOR, HISTORY)
    assert station.zone.learn(SETTINGS.stall_timeout + 2.0, SETTINGS, TOPIC) == (
        False, f'the camera stalled: no frame on {TOPIC} for {SETTINGS.stall_timeout + 2.0:.1f} '
               's; the empty zone is learned from the frames of now')
    for x in np.linspace(0.1, 0.9, HISTORY):
        station.show(FLOOR.with_(hand=(x, 0.5)), ON_FLOOR)
    success, message = station.zone.learn(0.0, SETTINGS, TOPIC)
    assert not success and message.startswith('not learned: the zone is moving'), message
    assert not station.zone.gate.learned


def test_a_reference_is_kept_only_where_the_parameter_names_a_file(tmp_path):
    assert Watched().taught() == (True, 'learned the empty zone from the last 8 frames; not kept '
                                      'across restarts (set empty_reference_file to keep it)')
    path = tmp_path / 'empty_reference.npz'
    success, message = Watched(reference_file=str(path)).taught()
    assert success and message.endswith(f'; kept in {path}'), message
    assert path.exists() and not list(tmp_path.glob('*.tmp*'))  # written whole, then renamed
    blocked = tmp_path / 'a_file' / 'empty_reference.npz'  # its folder is a file
    blocked.parent.write_text('')
    station = Watched(reference_file=str(blocked))
    success, message = station.taught()
    # Learned and serving; only keeping it failed, and the reply says so.
    assert success and 'not kept across restarts: ' in message and str(blocked) in message
    assert station.zone.gate.learned


def test_the_kept_reference_is_read_at_start_for_its_roi_only(tmp_path):
    path = tmp_path / 'empty_reference.npz'
    first = Watched(reference_file=str(path))
    assert first.logged == [('info', f'no empty reference kept in {path} yet: teach the empty '
                                     'zone with ~/learn_empty')]
    first.taught()
    restarted = Watched(reference_file=str(path))
    assert restarted.logged == [('info', f'empty reference loaded from {path}')]
    assert restarted.zone.gate.learned
    assert restarted.zone.empty_source(WITH_EMPTY) == 'the empty reference tells an empty zone'
    # Items are told from the start, without teaching again.
    assert restarted.show(FLOOR, ON_FLOOR, 3) == [Empty(pytest.approx(1.0, abs=0.05))]
    elsewhere = Watched(reference_file=str(path), roi=(0.1, 0.1, 0.8, 0.8))
    [(severity, line)] = elsewhere.logged
    assert severity == 'warning' and line.startswith('empty reference not loaded: ')
    assert 'taught for roi' in line and line.endswith('teach the empty zone again (~/learn_empty)')
    assert not elsewhere.zone.gate.learned


def test_clearing_forgets_the_reference_and_its_file_and_says_what_tells_empty_now(tmp_path):
    path = tmp_path / 'empty_reference.npz'
    station = Watched(reference_file=str(path))
    station.taught()
    assert station.zone.clear(WITH_EMPTY) == (
        True, "cleared the empty reference; the model's empty class tells an empty zone")
    assert not path.exists() and not station.zone.gate.learned
    assert station.zone.clear(WITHOUT_EMPTY) == (
        True, 'there was no empty reference; nothing tells an empty zone (the model has no empty '
              'class): ~/bin follows every frame until the empty zone is taught (~/learn_empty)')
    path.mkdir()  # a file that cannot be removed
    success, message = Watched(reference_file=str(path)).zone.clear(WITH_EMPTY)
    assert not success
    assert message.startswith(f'there was no empty reference, but {path} stays: '), message


def test_a_model_without_the_empty_class_is_said_in_one_line_at_start_and_at_a_switch():
    assert Watched(WITH_EMPTY).logged == []
    station = Watched(WITHOUT_EMPTY)
    assert station.logged == [('warning', 'the model has no "empty" class: an empty zone is told '
                                          'only by the empty reference (~/learn_empty while the '
                                          'zone is empty); none is learned yet')]
    station.taught()
    station.zone.tell_source(WITHOUT_EMPTY)  # a switch to another model without it
    assert station.logged[-1][1].endswith('; it is learned')
    station.zone.tell_source(WITH_EMPTY)
    assert len(station.logged) == 2


def test_an_roi_change_forgets_the_reference_and_the_frames_of_the_old_region():
    station = Watched()
    station.taught()
    station.zone.roi_changed()
    assert station.logged == [('warning', 'roi changed: the empty reference was for the old '
                                          'region; teach the empty zone again (~/learn_empty)')]
    assert not station.zone.gate.learned
    assert station.zone.learn(0.0, SETTINGS, TOPIC) == (
        False, 'not learned: no frame has arrived yet')
    station.zone.roi_changed()  # nothing to forget: nothing said
    assert len(station.logged) == 1


def test_given_an_item_the_bins_share_what_the_empty_class_leaves():
    station = Watched(WITH_EMPTY)
    assert station.show(FLOOR, ON_FLOOR, 5) == [Empty(pytest.approx(0.95))]
    assert station.zone.empty
    shown = station.zone.shown(WITH_EMPTY, LABELS, (2, 0.95))
    assert (shown.bin, shown.label, shown.score) == (EMPTY_BIN, 'empty', pytest.approx(0.95))
    [decision] = station.show(CAN, ON_CAN, 10)
    # 0.45 alone is below the threshold (0.5); of what `empty` leaves it is 0.75.
    assert decision.index == 1
    assert decision.scores == pytest.approx([0.25, 0.75])
    shown = station.zone.shown(WITH_EMPTY, LABELS, (1, 0.45))
    assert (shown.bin, shown.label, shown.score) == (BINS[1], 'can', 0.45)
    assert dict(station.zone.diagnostics(WITH_EMPTY)) == {
        'zone': 'item', 'items_seen': '1', 'items_decided': '1', 'empty_seconds': '0.2',
        'empty_reference': 'none', 'empty_source': "the model's empty class tells an empty zone"}


def test_what_is_shown_before_an_item_is_decided_is_unknown_with_the_frames_best_class():
    station = Watched(WITH_EMPTY)
    assert station.zone.shown(WITH_EMPTY, LABELS, (0, 0.6)).bin == UNKNOWN_BIN  # nothing said
    station.show(FLOOR, ON_FLOOR, 5)
    station.show(CAN, ON_CAN, 1)  # arriving: `empty` was said last, the zone is not empty now
    assert station.zone.items.zone is Zone.ARRIVING
    shown = station.zone.shown(WITH_EMPTY, LABELS, (1, 0.45))
    assert (shown.bin, shown.label, shown.score) == (UNKNOWN_BIN, 'can', 0.45)


def test_the_reference_follows_the_zone_only_while_it_is_empty_and_still():
    station = Watched(WITHOUT_EMPTY, empty_adapt_seconds=1.0)
    station.taught()
    station.show(FLOOR, ON_FLOOR, 3)  # empty said
    # A stain too small to be an item: at one frame a second (the time constant) the reference
    # takes it in.
    stained = FLOOR.with_(items=(Item((0.05, 0.05, 0.08, 0.1), (20, 20, 20)),))
    before = station.changed(stained)
    assert 0.0 < before < SETTINGS.presence_min_area
    station.show(stained, ON_FLOOR, 3, fps=1.0)
    assert station.zone.empty and station.changed(stained) < before / 4
    # An item: not followed, however long it lies there.
    station.show(CAN, ON_CAN, 20, fps=1.0)
    assert station.zone.items.zone is Zone.ITEM
    assert station.changed(stained) < before / 4


def test_bin_results_are_best_first_with_unknown_on_top_when_no_bin_is_sure():
    assert bin_results(Empty(0.9), WITH_EMPTY) == [('empty', 0.9)]
    sure = Decision(1, np.array([0.2, 0.8]))
    assert bin_results(sure, WITH_EMPTY) == [('mixed_recycling', 0.8), ('paper_recycling', 0.2)]
    unsure = Decision(None, np.array([0.45, 0.3]))
    assert bin_results(unsure, WITH_EMPTY) == [
        ('unknown', pytest.approx(0.55)), ('paper_recycling', 0.45), ('mixed_recycling', 0.3)]
