# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Drop-zone frames for the presence gate's tests: a textured floor, items, a hand, light.

`Scene` draws an RGB frame of a floor (smooth blotches and fine grain, slightly tinted, like
concrete or board) with items on it (rectangles of a colour, or of the floor's own grey but
lighter), a hand (a skin-coloured ellipse with an arm to the frame's edge), a soft shadow (a wide
Gaussian darkening), a light gain (exposure, drift) and sensor noise. Deterministic per seed.
`photo_and_floor` makes a real photo's own empty floor: a strip of its border, mirrored over
the whole frame (the floor around the item, at native scale).
"""

from dataclasses import dataclass, replace
import functools
from pathlib import Path

import cv2
import numpy as np

SKIN = (205, 150, 120)


@dataclass(frozen=True)
class Item:
    """A rectangle in frame fractions (x, y, w, h) of one RGB colour."""

    box: tuple[float, float, float, float]
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    height: int = 180
    width: int = 320
    seed: int = 0
    items: tuple[Item, ...] = ()
    hand: tuple[float, float] | None = None  # the hand's centre (x, y), fractions
    shadow: float = 0.0  # darkening at the shadow's centre, 0..1
    gain: float = 1.0
    noise: float = 3.0  # sensor noise, standard deviation in code values
    floor_level: int = 120
    tint: tuple[float, float, float] = (1.0, 0.97, 0.9)

    def with_(self, **changes: object) -> 'Scene':
        return replace(self, **changes)

    def floor(self) -> np.ndarray:
        grey = _floor_grey(self.seed, self.height, self.width) + self.floor_level
        return grey[..., np.newaxis] * np.asarray(self.tint, np.float32)

    def frame(self, frame_index: int = 0) -> np.ndarray:
        """Draw the scene as HxWx3 uint8 RGB; `frame_index` draws fresh sensor noise."""
        image = self.floor()
        for item in self.items:
            x, y, w, h = item.box
            image[int(y * self.height):int((y + h) * self.height),
                  int(x * self.width):int((x + w) * self.width)] = item.colour
        if self.hand is not None:
            self._draw_hand(image)
        if self.shadow:
            image *= (1.0 - self.shadow * _shadow(self.height, self.width))[..., np.newaxis]
        image *= self.gain
        rng = np.random.default_rng((self.seed, frame_index))
        image += rng.normal(0, self.noise, image.shape).astype(np.float32)
        return np.clip(image, 0, 255).astype(np.uint8)

    def _draw_hand(self, image: np.ndarray) -> None:
        x, y = self.hand or (0.0, 0.0)
        centre = (int(x * self.width), int(y * self.height))
        axes = (int(0.07 * self.width), int(0.12 * self.height))
        cv2.ellipse(image, centre, axes, 0, 0, 360, SKIN, cv2.FILLED)
        cv2.line(image, centre, (centre[0], self.height), SKIN, int(0.06 * self.width))


@functools.cache
def _floor_grey(seed: int, height: int, width: int) -> np.ndarray:
    """Smooth blotches and fine grain around 0 (read-only: shared by every frame)."""
    rng = np.random.default_rng(seed)
    blotches = cv2.resize(rng.normal(0, 18, (9, 16)).astype(np.float32), (width, height),
                          interpolation=cv2.INTER_CUBIC)
    grey = blotches + rng.normal(0, 10, (height, width)).astype(np.float32)
    grey.flags.writeable = False
    return grey


@functools.cache
def _shadow(height: int, width: int) -> np.ndarray:
    """Return a wide Gaussian (1 at its centre, left of the middle), read-only."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    sigma = 0.35 * width
    blob = np.exp(-((xs - 0.4 * width) ** 2 + (ys - 0.5 * height) ** 2) / (2 * sigma ** 2))
    blob.flags.writeable = False
    return blob


CAN = Item((0.35, 0.3, 0.18, 0.35), (200, 40, 40))
BOTTLE = Item((0.55, 0.4, 0.12, 0.4), (60, 140, 200))
GREY_BOX = Item((0.2, 0.5, 0.2, 0.25), (170, 165, 150))  # floor-coloured, only lighter


def photo_and_floor(path: Path, edge: str = 'top') -> tuple[np.ndarray, np.ndarray]:
    """Return (photo, its empty floor) as float32 RGB; the floor from its `edge` sixth."""
    photo = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(np.float32)
    height = photo.shape[0]
    strip = photo[:height // 6] if edge == 'top' else photo[-(height // 6):][::-1]
    repeats = -(-height // len(strip))
    floor = np.concatenate([strip if i % 2 == 0 else strip[::-1] for i in range(repeats)])
    floor = floor[:height]
    return photo, floor if edge == 'top' else floor[::-1].copy()
