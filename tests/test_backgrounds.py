# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Backdrop replacement: found on posterboard-like photos, left alone elsewhere; the probe runs."""

import json

import cv2
import numpy as np
import pytest
from tiny_model import CLASSES, COLOURS, write_model_dir

from training.recipe import backdrops
from training.recipe.transforms import train_augmentation
from training.studies import backgrounds

H, W = 96, 128


def posterboard_photo(object_colour=(40, 90, 200)) -> tuple:
    """Draw a coloured ellipse on a pale backdrop lit unevenly from the left; return it, mask."""
    light = np.linspace(170, 235, W, dtype=np.float32)[None, :, None]
    image = np.broadcast_to(light * np.array([1.0, 0.99, 0.96], np.float32), (H, W, 3))
    image = image.astype(np.uint8).copy()
    obj = np.zeros((H, W), np.uint8)
    cv2.ellipse(obj, (W // 2, H // 2), (30, 22), 15, 0, 360, 1, -1)
    image[obj > 0] = object_colour
    return image, obj.astype(bool)


def test_backdrop_is_found_around_the_object_despite_uneven_light():
    image, obj = posterboard_photo()
    mask = backdrops.backdrop_mask(image)
    assert mask is not None
    assert mask[~obj].mean() > 0.9, 'most of the backdrop should be found'
    inner = cv2.erode(obj.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    assert mask[inner].max() < 0.05, 'the object must not be taken for backdrop'


@pytest.mark.parametrize('kind', ['busy', 'dark', 'saturated'])
def test_no_plain_backdrop_no_change(kind):
    rng = np.random.default_rng(1)
    image = {
        'busy': rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
        'dark': np.full((H, W, 3), 30, np.uint8),
        'saturated': np.full((H, W, 3), (40, 200, 60), np.uint8),
    }[kind]
    assert backdrops.backdrop_mask(image) is None
    assert backdrops.replace_backdrop(image, rng, backdrops.TRAIN_FAMILIES) is None


def test_new_background_keeps_the_object_and_repaints_the_backdrop():
    image, obj = posterboard_photo()
    rng = np.random.default_rng(0)
    for _ in range(6):
        out = backdrops.replace_backdrop(image, rng, backdrops.TRAIN_FAMILIES)
        assert out.shape == image.shape and out.dtype == np.uint8
        inner = cv2.erode(obj.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        assert np.abs(out[inner].astype(int) - image[inner]).max() <= 1
        assert np.abs(out[~obj].astype(int) - image[~obj]).mean() > 10


@pytest.mark.parametrize('family', backdrops.TRAIN_FAMILIES + backdrops.PROBE_FAMILIES)
def test_every_surface_family_paints_a_full_uint8_image(family):
    surface = backdrops.surface(H, W, family, np.random.default_rng(0))
    assert surface.shape == (H, W, 3) and surface.dtype == np.uint8


def test_training_and_probe_surfaces_differ_and_unknown_is_named():
    assert not set(backdrops.TRAIN_FAMILIES) & set(backdrops.PROBE_FAMILIES)
    with pytest.raises(ValueError, match="unknown surface family 'marble'"):
        backdrops.surface(H, W, 'marble', np.random.default_rng(0))


def _pale_corner(image) -> bool:
    corner = image[:4, :4].astype(int)
    return corner.min() > 150 and (corner.max(-1) - corner.min(-1)).max() < 20


def test_augmentation_applies_it_only_when_asked():
    image, _ = posterboard_photo()
    # Strength 0 leaves full-frame crops and square symmetries only, so a corner is backdrop
    # or surface.
    without = train_augmentation(96, 0.0, new_background_p=0.0)
    with_it = train_augmentation(96, 0.0, new_background_p=1.0)
    without.set_random_seed(3)
    with_it.set_random_seed(3)
    assert all(_pale_corner(without(image=image)['image']) for _ in range(5))
    assert not all(_pale_corner(with_it(image=image)['image']) for _ in range(5))


def test_probe_scores_a_model_on_new_backgrounds_and_writes_its_files(tmp_path):
    model = write_model_dir(tmp_path / 'model')
    data = tmp_path / 'val'
    for name in CLASSES:
        (data / name).mkdir(parents=True)
        image, _ = posterboard_photo(COLOURS[name])
        cv2.imwrite(str(data / name / 'a.png'), image[..., ::-1])
    (data / 'glass' / 'broken.jpg').write_bytes(b'not an image')
    report, sheet = tmp_path / 'probe.json', tmp_path / 'probe.png'
    backgrounds.main(['--model', str(model), '--data', str(data), '--json', str(report),
                      '--png', str(sheet)])
    metrics = json.loads(report.read_text())
    # A white object on the white backdrop leaves no backdrop to replace: counted, not scored.
    with_backdrop = [name for name in CLASSES if backdrops.backdrop_mask(
        posterboard_photo(COLOURS[name])[0]) is not None]
    assert len(with_backdrop) >= len(CLASSES) - 1
    assert metrics['replaced'] == len(with_backdrop)
    assert all(metrics['per_class'][name]['images'] == 1 for name in CLASSES)
    assert 0.0 <= metrics['top1'] <= 1.0
    assert cv2.imread(str(sheet)) is not None


def test_probe_surfaces_do_not_depend_on_what_the_sheet_shows(tmp_path):
    model = write_model_dir(tmp_path / 'model')
    data = tmp_path / 'val'
    for index, name in enumerate(CLASSES):
        (data / name).mkdir(parents=True)
        for shade in range(3):
            image, _ = posterboard_photo(COLOURS[CLASSES[(index + shade) % len(CLASSES)]])
            cv2.imwrite(str(data / name / f'{shade}.png'), image[..., ::-1])
    everything, shown = backgrounds.probe(model, data)
    skipped, shown_without = backgrounds.probe(model, data, sheet_skip=('organic', 'glass'))
    assert everything == skipped
    assert not {truth for _, truth, _ in shown_without} & {'organic', 'glass'}

