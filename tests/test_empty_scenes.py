# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""training.recipe.empty_scenes: empty frames for the `empty` class, on tiny images."""

import cv2
import numpy as np
import pytest

from training.recipe import empty_scenes

RED = (220, 30, 30)


def _photo(backdrop, size=(96, 128)):
    """Paint a photo of a red item in the middle of a plain backdrop, with a little noise."""
    rng = np.random.default_rng(3)
    rgb = np.clip(np.full((*size, 3), backdrop, np.float32) + rng.normal(0, 1.5, (*size, 3)),
                  0, 255).astype(np.uint8)
    height, width = size
    rgb[height // 3:2 * height // 3, width // 3:2 * width // 3] = RED
    return rgb


def _red_share(rgb):
    return float(((rgb[..., 0] > 150) & (rgb[..., 1] < 80)).mean())


@pytest.mark.parametrize('family', empty_scenes.SURFACES)
def test_every_family_paints_a_frame_of_the_asked_size(family):
    scene = empty_scenes.synthetic_scene(family, 30, 40, np.random.default_rng(0))
    assert scene.shape == (30, 40, 3) and scene.dtype == np.uint8


def test_the_two_halves_of_the_families_do_not_overlap_and_cover_all():
    assert not set(empty_scenes.FAMILIES_A) & set(empty_scenes.FAMILIES_B)
    assert set(empty_scenes.SURFACES) == set(empty_scenes.FAMILIES_A + empty_scenes.FAMILIES_B)


def test_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match='unknown surface family'):
        empty_scenes.synthetic_scene('lava', 8, 8, np.random.default_rng(0))


@pytest.mark.parametrize('backdrop', [(235, 235, 230), (40, 90, 190)])
def test_a_floor_scene_is_the_photo_floor_without_its_item(backdrop):
    """A pale board (found by backdrops' mask) and a blue tarp (found in the border band)."""
    photo = _photo(backdrop)
    assert _red_share(photo) > 0.1
    for seed in range(5):
        scene = empty_scenes.floor_scene(photo, np.random.default_rng(seed))
        assert scene is not None and scene.shape == photo.shape
        assert _red_share(scene) == 0
        assert np.abs(scene.reshape(-1, 3).mean(0) - backdrop).max() < 5


def test_a_photo_with_no_quiet_border_gives_no_floor_scene():
    busy = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert empty_scenes.floor_scene(busy, np.random.default_rng(0)) is None


def test_the_camera_keeps_the_frame_and_moves_its_pixels():
    frame = np.full((20, 30, 3), 128, np.uint8)
    out = empty_scenes.camera(frame, np.random.default_rng(1))
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert not np.array_equal(out, frame)


def _photos(tmp_path, count=3):
    folder = tmp_path / 'src' / 'cardboard'
    folder.mkdir(parents=True)
    for index in range(count):
        cv2.imwrite(str(folder / f'{index}.png'), cv2.cvtColor(_photo((230, 230, 225)),
                                                                cv2.COLOR_RGB2BGR))
    (folder / 'notes.txt').write_text('not an image')
    return empty_scenes.list_photos([tmp_path / 'src'])


def test_scenes_are_the_same_for_a_seed_and_differ_between_seeds(tmp_path):
    photos = _photos(tmp_path)
    assert len(photos) == 3

    def scenes(seed):
        return list(empty_scenes.empty_scenes(6, seed, empty_scenes.FAMILIES_A, photos))

    first, again, other = scenes(4), scenes(4), scenes(5)
    assert len(first) == 6
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, other))


def test_floor_share_one_takes_every_scene_from_the_photos_and_augment_is_applied(tmp_path):
    photos = _photos(tmp_path)
    scenes = list(empty_scenes.empty_scenes(4, 0, empty_scenes.FAMILIES_B, photos, 1.0,
                                            augment=lambda rgb: rgb[:10, :10]))
    assert [s.shape for s in scenes] == [(10, 10, 3)] * 4
    scenes = list(empty_scenes.empty_scenes(4, 0, empty_scenes.FAMILIES_B, photos, 1.0))
    assert all(s.shape == (96, 128, 3) and _red_share(s) == 0 for s in scenes)


def test_the_command_writes_a_class_folder_named_empty(tmp_path):
    photos = _photos(tmp_path)
    assert empty_scenes.main(['--out', str(tmp_path / 'out'), '--floors',
                              str(photos[0].parents[1]), '--families', 'B', '--count', '5',
                              '--seed', '2']) == 0
    written = sorted((tmp_path / 'out' / 'empty').glob('*.png'))
    assert len(written) == 5 and cv2.imread(str(written[0])) is not None


def test_a_run_learns_empty_only_when_a_source_provides_it(tmp_path):
    from training.recipe.sources import Source

    classes = ['cardboard', 'glass', empty_scenes.EMPTY]
    for folder in ('items/train/cardboard', 'items/train/glass', 'scenes/train/empty'):
        (tmp_path / folder).mkdir(parents=True)
    items = Source('items', tmp_path / 'items')
    assert empty_scenes.learnt_classes([items], classes) == ['cardboard', 'glass']
    assert empty_scenes.learnt_classes([items], classes[:2]) == ['cardboard', 'glass']
    scenes = Source('scenes', tmp_path / 'scenes')
    assert empty_scenes.learnt_classes([items, scenes], classes) == classes
    mapped = Source('station', tmp_path / 'items', {'cardboard': 'cardboard', 'floor': 'empty'})
    assert empty_scenes.learnt_classes([mapped], classes) == classes
