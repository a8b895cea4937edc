# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The presence gate and the item tracker without ROS: the decision rule on synthetic streams.

The gate and the tracker run as the node wires them, through nodes/drop_zone.DropZone.

A stream is a list of (scene, bin probabilities) frames (tests/station_scenes.py draws them). The
floor's own probabilities are the phantom of issue 27 (a bare floor scored as paper), so a
bin announced while the zone is empty shows as a `paper` decision.
"""

from pathlib import Path

import numpy as np
import pytest
from station_scenes import BOTTLE, CAN, GREY_BOX, Scene, photo_and_floor

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.bins import Bin, BinMap
from waste_classifier_ros.core.items import Empty, Zone
from waste_classifier_ros.core.presence import (
    HISTORY,
    GateError,
    PresenceGate,
    changed_share,
    thumbnail,
)
from waste_classifier_ros.nodes.classifier_parameters import DECLARED, Settings
from waste_classifier_ros.nodes.drop_zone import DropZone

PAPER, MIXED = 0, 2  # bin indices of the stand-in bin probabilities
FLOOR = np.array([0.95, 0.0, 0.05, 0.0, 0.0])  # what the model says of a bare floor
CAN_BINS = np.array([0.05, 0.0, 0.9, 0.05, 0.0])
BOTTLE_BINS = np.array([0.0, 0.85, 0.15, 0.0, 0.0])
SETTLE, EMPTY_FRAMES, CONFIRM = 2, 3, 3
BINS = tuple(Bin(f'bin_{i}', f'Bin {i}', (0, 0, 0)) for i in range(len(FLOOR)))
SETTINGS = Settings.of({p.name: p.default for p in DECLARED}).changed(
    smoothing_window=5, threshold=0.5, frames_to_confirm=CONFIRM, settle_frames=SETTLE,
    empty_frames=EMPTY_FRAMES)
FLOOR_SCENE = Scene()


def frame(scene, index=0, encoding='rgb8'):
    rgb = scene.frame(index)
    step, data = image_codec.encode(rgb, encoding)
    return image_codec.decode(encoding, rgb.shape[0], rgb.shape[1], step, data)


class Station:
    """A drop zone as the node wires it (nodes/drop_zone.py); `run` feeds frames at `fps`.

    The model's class probabilities are the bins' (one class a bin) and, with `empty_class`,
    an `empty` class confident on a bare floor; the bins share what it leaves.
    """

    def __init__(self, learned=True, empty_class=False, **settings):
        self.empty_class = empty_class
        self.bins = BinMap(BINS, range(len(BINS)), len(BINS) if empty_class else None)
        self.settings = SETTINGS.changed(**settings)
        self.logged = []
        self.zone = DropZone(self.settings, '', self.bins, self.logged.append, self.logged.append)
        self.gate, self.tracker = self.zone.gate, self.zone.items
        self.frames = 0
        if learned:
            self.run([(FLOOR_SCENE, FLOOR)] * HISTORY)
            self.gate.learn()

    def run(self, stream, fps=15.0):
        """Feed (scene, bin probabilities) frames; return [(frame number, announcement)]."""
        said = []
        for scene, bins in stream:
            self.frames += 1
            probabilities = bins
            if self.empty_class:
                empty = 0.9 if bins is FLOOR else 0.02
                probabilities = np.append(bins * (1.0 - empty), empty)
            now = self.zone.follow(frame(scene, self.frames), self.frames / fps, probabilities,
                                   self.settings, self.bins)
            if now is not None:
                said.append((self.frames, now))
        return said


def named(said):
    """Announcements as 'empty' or the bin index (None: unknown)."""
    return ['empty' if isinstance(what, Empty) else what.index for _, what in said]


def empty_stretch(frames=30, scene=FLOOR_SCENE):
    return [(scene, FLOOR)] * frames


def item(scene_item, bins, frames=30, base=FLOOR_SCENE):
    return [(base.with_(items=base.items + (scene_item,)), bins)] * frames


def test_the_empty_zone_is_announced_once_and_camera_noise_says_nothing_more():
    station = Station()
    said = station.run(empty_stretch(120, FLOOR_SCENE.with_(noise=6.0)))
    assert named(said) == ['empty']
    assert said[0][0] == station.frames - 120 + EMPTY_FRAMES
    assert station.tracker.empty_seconds > 7.0


def test_an_item_placed_is_decided_once_then_its_removal_says_empty():
    station = Station()
    said = station.run(empty_stretch(10) + item(CAN, CAN_BINS, 60) + empty_stretch(20))
    assert named(said) == ['empty', MIXED, 'empty']
    placed = station.frames - 80 + 1
    # decided within settle + confirm frames of the item's arrival, then silent for 55 frames
    assert said[1][0] - placed <= SETTLE + CONFIRM
    assert said[2][0] - (station.frames - 20 + 1) == EMPTY_FRAMES - 1
    assert station.tracker.items_seen == station.tracker.items_decided == 1


def test_a_floor_coloured_item_is_seen_by_its_brightness():
    station = Station()
    assert named(station.run(empty_stretch(5) + item(GREY_BOX, CAN_BINS))) == ['empty', MIXED]


@pytest.mark.parametrize('light', [
    pytest.param([FLOOR_SCENE.with_(gain=1.0 - 0.45 * i / 300) for i in range(300)],
                 id='slow drift to 55 % over 20 s'),
    pytest.param([FLOOR_SCENE.with_(gain=1.5)] * 40, id='exposure step +50 %'),
    pytest.param([FLOOR_SCENE.with_(gain=0.6)] * 40, id='exposure step -40 %'),
    pytest.param([FLOOR_SCENE.with_(tint=(0.9, 0.97, 1.0 - 0.1 * i / 300)) for i in range(300)],
                 id='white balance drifting'),
    pytest.param([FLOOR_SCENE.with_(shadow=s) for s in np.linspace(0, 0.4, 8)]
                 + [FLOOR_SCENE.with_(shadow=0.4)] * 40, id='a soft shadow comes and stays'),
])
def test_light_changes_make_no_item(light):
    station = Station()
    said = station.run(empty_stretch(5) + [(scene, FLOOR) for scene in light])
    assert named(said) == ['empty']
    assert station.tracker.items_seen == 0


def test_an_item_is_still_seen_after_the_light_drifted():
    station = Station()
    dimmed = FLOOR_SCENE.with_(gain=0.6)
    drift = [(FLOOR_SCENE.with_(gain=1.0 - 0.4 * i / 300), FLOOR) for i in range(300)]
    said = station.run(empty_stretch(5) + drift + item(CAN, CAN_BINS, base=dimmed))
    assert named(said) == ['empty', MIXED]


def test_a_hand_passing_makes_no_decision():
    station = Station()
    hand = [(FLOOR_SCENE.with_(hand=(x, 0.5)), FLOOR) for x in np.linspace(0.1, 0.9, 8)]
    said = station.run(empty_stretch(10) + hand + empty_stretch(30))
    assert named(said) == ['empty']
    assert station.tracker.items_seen == 0


def test_a_hand_over_a_decided_item_makes_no_new_decision():
    station = Station()
    with_can = FLOOR_SCENE.with_(items=(CAN,))
    hand = [(with_can.with_(hand=(x, 0.6)), CAN_BINS) for x in np.linspace(0.2, 0.8, 6)]
    said = station.run(empty_stretch(5) + item(CAN, CAN_BINS) + hand + item(CAN, CAN_BINS))
    assert named(said) == ['empty', MIXED]
    assert station.tracker.items_seen == 1


def test_a_second_item_dropped_on_the_first_is_a_new_decision():
    station = Station()
    both = FLOOR_SCENE.with_(items=(CAN, BOTTLE))
    said = station.run(empty_stretch(5) + item(CAN, CAN_BINS) + [(both, BOTTLE_BINS)] * 30
                       + empty_stretch(10))
    assert named(said) == ['empty', MIXED, 1, 'empty']
    assert station.tracker.items_seen == station.tracker.items_decided == 2


def test_an_item_no_bin_is_sure_of_is_decided_unknown_once():
    station = Station()
    unsure = np.array([0.3, 0.2, 0.2, 0.2, 0.1])
    assert named(station.run(empty_stretch(5) + item(CAN, unsure))) == ['empty', None]


def test_without_a_reference_the_models_empty_class_tells_the_empty_zone():
    station = Station(learned=False, empty_class=True)
    said = station.run(empty_stretch(10) + item(CAN, CAN_BINS) + empty_stretch(10)
                       + item(BOTTLE, BOTTLE_BINS) + empty_stretch(10))
    assert named(said) == ['empty', MIXED, 'empty', 1, 'empty']


def test_with_neither_reference_nor_empty_class_every_bin_change_is_announced_as_before():
    station = Station(learned=False)
    said = station.run(empty_stretch(10) + item(CAN, CAN_BINS) + empty_stretch(10))
    assert named(said) == [PAPER, MIXED, PAPER]
    assert station.tracker.zone is Zone.UNKNOWN


SAMPLES = Path(__file__).resolve().parent.parent / 'samples'


def camera_frame(rgb, rng):
    noisy = rgb + rng.normal(0, 3, rgb.shape)
    return image_codec.Frame(np.clip(noisy, 0, 255).astype(np.uint8), 'rgb8')


@pytest.mark.parametrize('photo', [
    'glass_1.jpg', 'trash_1.jpg',  # TrashNet: posterboard, a lamp's gradient and shadow
    'metal_2.jpg',  # a saturated backdrop: one channel near 0, which a gain barely moves
    'glass_3.jpg', 'metal_3.jpg', 'organic_1.jpg', 'plastic_3.jpg', 'trash_4.jpg',  # RealWaste
])
def test_real_photos_hold_an_item_and_their_own_floor_under_changed_light_does_not(photo):
    picture, floor = photo_and_floor(SAMPLES / photo)
    rng = np.random.default_rng(0)
    gate = PresenceGate()
    for _ in range(HISTORY):
        gate.look(thumbnail(camera_frame(floor, rng)))
    gate.learn()
    assert gate.holds_item(gate.look(thumbnail(camera_frame(picture, rng))).changed)
    height, width = floor.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    lights = {
        'exposure -40 %': 0.6, 'exposure +20 %': 1.2,
        'a gradient': (0.75 + 0.25 * xs / width)[..., np.newaxis],
        'a soft shadow': (1 - 0.35 * np.exp(-((xs - 0.4 * width) ** 2 + (ys - height / 2) ** 2)
                                             / (2 * (0.35 * width) ** 2)))[..., np.newaxis],
        'white balance': np.array([1.0, 0.95, 0.88]),
    }
    for light, gain in lights.items():
        look = gate.look(thumbnail(camera_frame(floor * gain, rng)))
        assert not gate.holds_item(look.changed), f'{light}: {look.changed:.3f} changed'


def test_teaching_needs_frames_and_a_still_zone():
    gate = PresenceGate()
    with pytest.raises(GateError, match='no frame has arrived'):
        gate.learn()
    for x in np.linspace(0.1, 0.9, HISTORY):
        gate.look(thumbnail(frame(FLOOR_SCENE.with_(hand=(x, 0.5)))))
    with pytest.raises(GateError, match='the zone is moving'):
        gate.learn()
    assert not gate.learned


def test_a_reference_learned_with_an_item_is_cleared(tmp_path):
    station = Station(learned=False)
    station.run(item(CAN, CAN_BINS, HISTORY))
    station.gate.learn()  # by mistake: the can was there
    assert not station.gate.holds_item(station.gate.look(
        thumbnail(frame(FLOOR_SCENE.with_(items=(CAN,))))).changed)
    assert station.gate.clear() and not station.gate.learned
    assert station.gate.clear() is False


def test_the_reference_is_kept_in_a_file_for_its_roi_only(tmp_path):
    station = Station()
    path = tmp_path / 'empty_reference.npz'
    station.gate.save(path, (0.0, 0.0, 1.0, 1.0))
    assert not list(tmp_path.glob('*.tmp*'))  # written under a temporary name, then renamed
    restarted = PresenceGate()
    restarted.load(path, (0.0, 0.0, 1.0, 1.0))
    look = restarted.look(thumbnail(frame(FLOOR_SCENE.with_(items=(CAN,)))))
    assert restarted.holds_item(look.changed)
    assert not restarted.holds_item(restarted.look(thumbnail(frame(FLOOR_SCENE))).changed)
    with pytest.raises(GateError, match='taught for roi'):
        PresenceGate().load(path, (0.1, 0.1, 0.8, 0.8))
    path.write_bytes(b'not a reference')
    with pytest.raises(GateError, match='not an empty reference'):
        PresenceGate().load(path, (0.0, 0.0, 1.0, 1.0))
    with pytest.raises(GateError, match='no empty reference'):
        PresenceGate().save(path, (0.0, 0.0, 1.0, 1.0))


@pytest.mark.parametrize('encoding', ['bgr8', 'rgba8', 'mono8', 'yuv422', 'yuv422_yuy2'])
def test_every_encoding_gives_a_comparable_thumbnail(encoding):
    floor = thumbnail(frame(FLOOR_SCENE, 1, encoding))
    again = thumbnail(frame(FLOOR_SCENE, 2, encoding))
    with_can = thumbnail(frame(FLOOR_SCENE.with_(items=(CAN,)), 3, encoding))
    assert floor.shape == (24, 32, 4)
    assert changed_share(again, floor, 0.15) < 0.02 < changed_share(with_can, floor, 0.15)


def test_the_roi_is_what_the_gate_looks_at():
    left = (0.0, 0.0, 0.3, 1.0)  # the can is right of it
    floor = thumbnail(frame(FLOOR_SCENE), left)
    with_can = thumbnail(frame(FLOOR_SCENE.with_(items=(CAN,))), left)
    assert changed_share(with_can, floor, 0.15) == 0.0
