# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
Empty scenes: what a camera over a drop zone sees with no item, for the `empty` class.

    python -m training.recipe.empty_scenes --out outputs/empty_scenes/heldout \
        --floors ../shared/data/realwaste/val --families B --count 400 --seed 1

Two kinds of scene, each a full camera frame:

* ``floor_scene``: the floor, board or tarp around the item of a source's own photo. A square
  patch at the photo's native scale is cut where no item is (inside the plain backdrop that
  training.recipe.backdrops finds, else the most uniform patch of the photo's border band,
  where a centred item is not) and mirror-tiled to the photo's size, so the surface keeps the
  texture scale it has behind real items.
* ``synthetic_scene``: a painted surface of one family (``SURFACES``): household floor,
  concrete, wood, blue or green tarp, tiles, plain white or grey, speckled plastic, a bin's
  interior or a tray (rim, walls and shaded bottom), flat colours, gradients and noise.

Both then pass through ``camera``: exposure, gamma, white balance, uneven light and sensor
noise. Training scenes also take the items' own augmentation (training.recipe.transforms).
The families come in two halves, ``FAMILIES_A`` and ``FAMILIES_B``, each with a plain, a
textured and a container surface, so that a model can be trained on one half and scored on the
other (surfaces it never saw). Everything is drawn from one seeded generator: the same seed
gives the same scenes.
"""

import argparse
import logging
from pathlib import Path
import sys
from typing import Callable, Iterator, Optional, Sequence

import cv2
import numpy as np

from training.recipe import backdrops, data, sources
from waste_classifier_ros.core.atomic_files import is_image

log = logging.getLogger(__name__)
EMPTY = 'empty'
FAMILIES_A = ('household', 'tarp', 'plain', 'bin', 'colour', 'noise')
FAMILIES_B = ('concrete', 'wood', 'tiles', 'speckle', 'tray', 'gradient')
SURFACES = FAMILIES_A + FAMILIES_B
FAMILY_SETS = {'A': FAMILIES_A, 'B': FAMILIES_B, 'all': SURFACES}

_PATCH = (0.22, 0.4)    # side of a floor patch, as a share of the photo's shorter side
_CANDIDATES = 24        # border-band patches compared when a photo has no plain backdrop
_MAX_BUSY = 6.0         # Lab std of a border patch above which it holds more than floor
_FRAMES = ((240, 320), (270, 480), (300, 300), (360, 480))  # (height, width) of a scene


def _mirror_tile(patch: np.ndarray, height: int, width: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Cover height x width with mirrored copies of ``patch``, from a random offset."""
    ph, pw = patch.shape[:2]
    dy, dx = int(rng.integers(ph)), int(rng.integers(pw))
    tiled = np.pad(patch, ((dy, height + ph), (dx, width + pw), (0, 0)), mode='symmetric')
    return np.ascontiguousarray(tiled[:height, :width])


def _patch_in_mask(mask: np.ndarray, side: int, rng: np.random.Generator) -> Optional[tuple]:
    """Return the top-left corner of a random square wholly inside the mask, or None."""
    inside = cv2.erode((mask > 0.98).astype(np.uint8), np.ones((side, side), np.uint8),
                       anchor=(0, 0), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    ys, xs = np.nonzero(inside[:mask.shape[0] - side + 1, :mask.shape[1] - side + 1])
    if not len(ys):
        return None
    pick = int(rng.integers(len(ys)))
    return int(ys[pick]), int(xs[pick])


def _patch_in_border(rgb: np.ndarray, side: int,
                     rng: np.random.Generator) -> Optional[tuple]:
    """Return the corner of the most uniform of random squares touching the border, or None.

    None when even that square is busy: a web photo's border is often the item or a scene.
    """
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    band = np.concatenate([lab[:side].reshape(-1, 3), lab[-side:].reshape(-1, 3),
                           lab[:, :side].reshape(-1, 3), lab[:, -side:].reshape(-1, 3)])
    floor = np.median(band, axis=0)
    best, best_cost, best_busy = (0, 0), np.inf, np.inf
    for _ in range(_CANDIDATES):
        edge = int(rng.integers(4))
        along = int(rng.integers((width if edge < 2 else height) - side + 1))
        y, x = [(0, along), (height - side, along), (along, 0), (along, width - side)][edge]
        square = lab[y:y + side, x:x + side]
        # Far from the border's usual colour, or busy, means part of an item.
        busy = square.std(axis=(0, 1)).mean()
        cost = np.abs(square - floor).mean() + busy
        if cost < best_cost:
            best, best_cost, best_busy = (y, x), cost, busy
    return best if best_busy <= _MAX_BUSY else None


def floor_scene(rgb: np.ndarray, rng: np.random.Generator) -> Optional[np.ndarray]:
    """Return a frame of the photo's floor: a native-scale patch without the item, mirrored.

    None when no patch of the photo is surely floor.
    """
    height, width = rgb.shape[:2]
    side = max(8, int(rng.uniform(*_PATCH) * min(height, width)))
    mask = backdrops.backdrop_mask(rgb)
    corner = _patch_in_mask(mask, side, rng) if mask is not None else None
    corner = corner or _patch_in_border(rgb, side, rng)
    if corner is None:
        return None
    y, x = corner
    return _mirror_tile(rgb[y:y + side, x:x + side], height, width, rng)


def _box_distance(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Return 0 at a (slightly off-centre) middle to 1 at the frame's edge, square contours."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx = height * rng.uniform(0.42, 0.58), width * rng.uniform(0.42, 0.58)
    return np.maximum(np.abs(ys - cy) / max(cy, height - cy),
                      np.abs(xs - cx) / max(cx, width - cx))


def _container(height: int, width: int, rng: np.random.Generator, tray: bool) -> np.ndarray:
    """Paint a bin's interior (deep, dark bottom) or a tray (shallow), seen from above."""
    palette = ([225, 225, 220], [150, 150, 150], [40, 40, 42], [175, 170, 160]) if tray else (
        [30, 30, 32], [70, 72, 75], [40, 90, 50], [35, 60, 120], [130, 130, 130], [170, 140, 40])
    base = np.asarray(palette[int(rng.integers(len(palette)))], np.float64) * rng.uniform(
        0.8, 1.2, 3)
    distance = _box_distance(height, width, rng)
    rim, floor = (rng.uniform(0.9, 0.97), rng.uniform(0.8, 0.9)) if tray else (
        rng.uniform(0.85, 0.95), rng.uniform(0.45, 0.7))
    depth = rng.uniform(0.15, 0.35) if tray else rng.uniform(0.4, 0.7)  # darkening at the bottom
    light = np.where(distance >= rim, 1.15,
                     np.where(distance >= floor, 1 - depth * (rim - distance) / (rim - floor),
                              1 - depth * (1 - 0.3 * distance / floor)))
    grain = backdrops.noise(height, width, rng, np.full(3, 128), rng.uniform(5, 20))
    out = base * light[..., None].astype(np.float32) + grain.astype(np.float32) - 128
    return out.clip(0, 255).astype(np.uint8)


def _tarp(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Paint a blue or green plastic sheet with soft wrinkles."""
    colour = np.asarray([(30, 80, 170), (40, 110, 200), (30, 120, 60), (70, 140, 70),
                         (20, 60, 110)][int(rng.integers(5))], np.float32)
    folds = cv2.resize(rng.normal(0, 1, (5, 5)).astype(np.float32), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    wrinkles = np.sin((xs * np.cos(angle) + ys * np.sin(angle)) * rng.uniform(0.02, 0.08)
                      + folds * 3)
    shade = 1 + 0.25 * wrinkles + 0.1 * folds
    return (colour * shade[..., None]).clip(0, 255).astype(np.uint8)


def _grey_noise(height: int, width: int, rng: np.random.Generator, low: int, high: int,
                contrast: float) -> np.ndarray:
    """Paint a greyish surface (tinted a little) with multi-scale texture."""
    base = rng.integers(low, high) + rng.integers(-8, 9, 3)
    return backdrops.noise(height, width, rng, base, contrast)


def synthetic_scene(family: str, height: int, width: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Paint one empty surface of ``family`` (one of SURFACES) at height x width."""
    if family == 'household':     # vinyl or linoleum floor: pale, fine mottling
        return _grey_noise(height, width, rng, 120, 225, rng.uniform(10, 35))
    if family == 'concrete':      # yard or landfill floor: grey, aggregate and stains
        out = _grey_noise(height, width, rng, 80, 190, rng.uniform(25, 60)).astype(np.float32)
        grit = backdrops.noise(height, width, rng, np.full(3, 128), rng.uniform(20, 50), fine=True)
        return (out + grit.astype(np.float32) - 128).clip(0, 255).astype(np.uint8)
    if family == 'plain':         # white or grey board, a clean tray liner
        level = rng.integers(150, 250) if rng.random() < 0.6 else rng.integers(70, 160)
        return np.full((height, width, 3), level + rng.integers(-6, 7, 3), np.uint8)
    if family == 'tarp':
        return _tarp(height, width, rng)
    if family in ('bin', 'tray'):
        return _container(height, width, rng, tray=family == 'tray')
    return backdrops.surface(height, width, family, rng)


def camera(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply a camera's exposure, gamma, white balance, uneven light and sensor noise."""
    height, width = rgb.shape[:2]
    out = rgb.astype(np.float32) / 255
    out = out ** rng.uniform(0.7, 1.4) * rng.uniform(0.6, 1.35) * rng.uniform(0.88, 1.12, 3)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (xs / width - 0.5) * np.cos(angle) + (ys / height - 0.5) * np.sin(angle)
    vignette = ((xs / width - 0.5) ** 2 + (ys / height - 0.5) ** 2)
    light = 1 + rng.uniform(0, 0.5) * ramp - rng.uniform(0, 0.6) * vignette
    out = out * light[..., None] + rng.normal(0, rng.uniform(0, 0.03), out.shape)
    return (out * 255).clip(0, 255).astype(np.uint8)


def learnt_classes(configured: Sequence[sources.Source], classes: Sequence[str]) -> list:
    """Return the classes a training run learns: ``classes``, less ``empty`` if no source has it.

    The shipped model learns ``empty`` after its export (training.station.empty_class), so the
    recipe trains the item classes of its labels.txt unless a source provides empty frames (a
    folder ``empty`` of scenes written by this module's command, or of a station's own).
    """
    if EMPTY not in classes:
        return list(classes)
    for source in configured:
        if source.class_map is not None:
            provides = EMPTY in source.class_map.values()
        else:
            provides = (source.root / 'train' / EMPTY).is_dir()
        if provides:
            return list(classes)
    log.info('no training source provides %r: training the other classes (add it after the '
             'export with training.station.empty_class)', EMPTY)
    return [name for name in classes if name != EMPTY]


def list_photos(folders: Sequence[Path]) -> list:
    """Return every image file under the folders (``<class>/*``), sorted."""
    return sorted(p for folder in folders for p in Path(folder).rglob('*')
                  if p.is_file() and is_image(p))


def empty_scenes(count: int, seed: int, families: Sequence[str], photos: Sequence[Path] = (),
                 floor_share: float = 0.5,
                 augment: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                 ) -> Iterator[np.ndarray]:
    """Yield ``count`` empty scenes (HxWx3 uint8 RGB), deterministic from ``seed``.

    A share ``floor_share`` are floor scenes of ``photos`` (drawn without replacement while they
    last), the rest synthetic surfaces of ``families``; each passes ``camera`` and then
    ``augment`` (the items' training augmentation) when given.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(photos)) if len(photos) else np.zeros(0, int)
    used = 0
    for _ in range(count):
        scene = None
        if len(photos) and (not families or rng.random() < floor_share):
            rgb = data.read_rgb(photos[order[used % len(order)]])
            used += 1
            scene = floor_scene(rgb, rng) if rgb is not None else None
        if scene is None:
            height, width = _FRAMES[int(rng.integers(len(_FRAMES)))]
            if rng.random() < 0.5:
                height, width = width, height
            family = families[int(rng.integers(len(families)))]
            scene = synthetic_scene(family, height, width, rng)
        scene = camera(scene, rng)
        yield augment(scene) if augment is not None else scene


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True, type=Path,
                        help='folder to write; the scenes go to OUT/empty/ (a class folder, '
                        'so training.recipe.evaluate --data NAME=OUT scores them)')
    parser.add_argument('--floors', action='append', default=[], type=Path,
                        help='folder of <class>/* photos whose floors to use (repeatable)')
    parser.add_argument('--families', default='all', choices=sorted(FAMILY_SETS),
                        help='synthetic surface families: A, B or all')
    parser.add_argument('--count', type=int, default=400)
    parser.add_argument('--floor-share', type=float, default=0.5)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    out = args.out / EMPTY
    out.mkdir(parents=True, exist_ok=True)
    photos = list_photos(args.floors)
    scenes = empty_scenes(args.count, args.seed, FAMILY_SETS[args.families], photos,
                          args.floor_share)
    for index, scene in enumerate(scenes):
        cv2.imwrite(str(out / f'empty_{index:05d}.png'), cv2.cvtColor(scene, cv2.COLOR_RGB2BGR))
    print(f'wrote {args.count} empty scenes to {out} (floors of {len(photos)} photos, '
          f'families {args.families}, seed {args.seed})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
