# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Plain photo backdrops, found and replaced: the training augmentation's and the probe's surfaces.

Six of waste7's seven classes are TrashNet photos of one object on white posterboard, while a
camera over a bin sees the item against whatever lies in the bin. `NewBackground` finds such a
backdrop (grown from the image border over pixels of the border's own pale, unsaturated colour,
which follows shading) and paints a synthetic surface in its place, so that "white posterboard"
cannot stand in for "not organic". Photos without a plain backdrop (the web photos) pass through.

The probe (training.studies.backgrounds) paints other surface families than training uses
(wood, tiles, dark speckled plastic).
"""

from typing import Optional, Sequence

import cv2
import numpy as np

# Training and probe surfaces are different families, so that the probe is not scored on the
# very surfaces the model was trained on.
TRAIN_FAMILIES = ('colour', 'gradient', 'noise')
PROBE_FAMILIES = ('wood', 'tiles', 'speckle')

_BORDER = 0.04          # fraction of each side whose pixels describe the backdrop
_MIN_PLAIN = 0.6        # share of border pixels that must look like the backdrop
_MAX_SATURATION = 60    # HSV saturation (0..255) of a pale backdrop
_MIN_VALUE = 90         # HSV value (0..255) of a pale backdrop
_FLOOD_STEP = 6         # per-step colour difference the flood fill may cross (follows shading)


def backdrop_mask(rgb: np.ndarray) -> Optional[np.ndarray]:
    """Return a float mask (1 = backdrop) of a plain pale backdrop, or None if there is none."""
    height, width = rgb.shape[:2]
    band = max(2, round(_BORDER * min(height, width)))
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    border = np.ones((height, width), bool)
    border[band:-band, band:-band] = False
    pale = (hsv[..., 1] <= _MAX_SATURATION) & (hsv[..., 2] >= _MIN_VALUE)
    if pale[border].mean() < _MIN_PLAIN:
        return None
    smooth = cv2.GaussianBlur(np.ascontiguousarray(rgb), (5, 5), 0)
    flood = np.zeros((height + 2, width + 2), np.uint8)
    step = (_FLOOD_STEP,) * 3
    seeds = [(x, y) for x in np.linspace(0, width - 1, 9).astype(int) for y in (0, height - 1)]
    seeds += [(x, y) for y in np.linspace(0, height - 1, 7).astype(int) for x in (0, width - 1)]
    for x, y in seeds:
        if pale[y, x] and not flood[y + 1, x + 1]:
            cv2.floodFill(smooth, flood, (int(x), int(y)), 0, step, step,
                          4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8))
    mask = (flood[1:-1, 1:-1] > 0) & pale
    share = mask.mean()
    # Nearly all backdrop means the object was lost in it; nearly none means no backdrop.
    if not 0.15 <= share <= 0.95:
        return None
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return cv2.GaussianBlur(opened.astype(np.float32), (0, 0), 1.5)


def surface(height: int, width: int, family: str, rng: np.random.Generator) -> np.ndarray:
    """Paint a synthetic HxWx3 uint8 surface of one family."""
    if family == 'colour':
        return np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8)
    if family == 'gradient':
        start, end = rng.integers(0, 256, (2, 3)).astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        t = (xs / width) * np.cos(angle) + (ys / height) * np.sin(angle)
        t = (t - t.min()) / max(1e-6, float(np.ptp(t)))
        return (start + (end - start) * t[..., None]).astype(np.uint8)
    if family == 'noise':
        return noise(height, width, rng, rng.integers(30, 226, 3), rng.uniform(40, 140))
    if family == 'wood':
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        warp = cv2.resize(rng.normal(0, 1, (max(2, height // 16), max(2, width // 16)))
                          .astype(np.float32), (width, height))
        grain = (np.sin(ys * rng.uniform(0.05, 0.2) + warp * 4 + xs * 0.01) + 1) / 2
        dark = rng.uniform([80, 45, 20], [140, 95, 55])
        light = dark + rng.uniform([50, 40, 30], [90, 70, 50])
        return (dark + (light - dark) * grain[..., None]).clip(0, 255).astype(np.uint8)
    if family == 'tiles':
        size = int(rng.integers(max(8, min(height, width) // 8), max(9, min(height, width) // 3)))
        tile = rng.integers(60, 240, 3).astype(np.float32)
        out = np.empty((height, width, 3), np.float32)
        out[:] = tile
        out[(np.arange(height) % size) < max(2, size // 12)] = tile * 0.45
        out[:, (np.arange(width) % size) < max(2, size // 12)] = tile * 0.45
        return out.astype(np.uint8)
    if family == 'speckle':
        return noise(height, width, rng, rng.integers(15, 70, 3), rng.uniform(20, 60), fine=True)
    raise ValueError(f'unknown surface family {family!r}')


def noise(height: int, width: int, rng: np.random.Generator, base: np.ndarray,
          contrast: float, fine: bool = False) -> np.ndarray:
    """Paint a surface of colour ``base`` with multi-scale Gaussian texture of ``contrast``."""
    texture = np.zeros((height, width, 3), np.float32)
    for scale in ((1, 2, 4) if fine else (4, 16, 64)):
        grid = rng.normal(0, 1, (max(2, height // scale), max(2, width // scale), 3))
        texture += cv2.resize(grid.astype(np.float32), (width, height),
                              interpolation=cv2.INTER_CUBIC) * scale ** 0.5
    texture /= max(1e-6, float(texture.std()))
    return np.clip(base + texture * contrast / 3, 0, 255).astype(np.uint8)


def replace_backdrop(rgb: np.ndarray, rng: np.random.Generator,
                     families: Sequence[str]) -> Optional[np.ndarray]:
    """`rgb` with its plain backdrop replaced by a surface of one of `families`, else None."""
    mask = backdrop_mask(rgb)
    if mask is None:
        return None
    height, width = rgb.shape[:2]
    new = surface(height, width, families[int(rng.integers(len(families)))], rng)
    blended = rgb * (1 - mask[..., None]) + new * mask[..., None]
    return blended.astype(np.uint8)
