# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Train-time augmentation on HxWx3 uint8 RGB images, applied before the shared preprocessing.

The deployed model sees a whole camera frame stretched to 224x224, so there is no centre crop
here: crops are mild and keep the frame's own aspect ratio up to a small jitter. In waste7 every
organic photo is a small web photo while the other classes are phone photos on white posterboard;
resolution loss, JPEG artefacts, colour casts and uneven light are applied to every class so that
"low resolution" cannot stand in for a class, and with `new_background_p` > 0 plain backdrops are
replaced by synthetic surfaces so that "white background" cannot either.
Each transform is a callable ``(rgb, rng) -> rgb`` with ``rng`` a numpy Generator.
"""

import math

import cv2
import numpy as np

from training.backgrounds import NewBackground


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, rgb, rng):
        for transform in self.transforms:
            rgb = transform(rgb, rng)
        return rgb


class RandomApply:
    def __init__(self, transform, p: float):
        self.transform = transform
        self.p = p

    def __call__(self, rgb, rng):
        return self.transform(rgb, rng) if rng.random() < self.p else rgb


class RandomResizedCrop:
    """Crop a random area fraction whose aspect ratio is the frame's own times a small jitter.

    The final stretch to a square happens in the shared preprocessing, exactly as on the robot.
    """

    def __init__(self, scale=(0.4, 1.0), ratio_jitter=(0.8, 1.25)):
        self.scale = scale
        self.log_ratio = (math.log(ratio_jitter[0]), math.log(ratio_jitter[1]))

    def __call__(self, rgb, rng):
        height, width = rgb.shape[:2]
        area = rng.uniform(*self.scale) * height * width
        ratio = (width / height) * math.exp(rng.uniform(*self.log_ratio))
        crop_w = min(width, max(1, round(math.sqrt(area * ratio))))
        crop_h = min(height, max(1, round(math.sqrt(area / ratio))))
        top = int(rng.integers(0, height - crop_h + 1))
        left = int(rng.integers(0, width - crop_w + 1))
        return rgb[top:top + crop_h, left:left + crop_w]


class RandomFlips:
    """Horizontal and vertical flips; both together are the 180-degree turn seen in the data."""

    def __call__(self, rgb, rng):
        if rng.random() < 0.5:
            rgb = rgb[:, ::-1]
        if rng.random() < 0.5:
            rgb = rgb[::-1]
        return rgb


class RandomRotation:
    def __init__(self, degrees: float):
        self.degrees = degrees

    def __call__(self, rgb, rng):
        height, width = rgb.shape[:2]
        angle = rng.uniform(-self.degrees, self.degrees)
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        return cv2.warpAffine(np.ascontiguousarray(rgb), matrix, (width, height),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


class ColorJitter:
    """Brightness, contrast, saturation, hue, and a per-channel gain (white balance cast)."""

    def __init__(self, brightness=0.35, contrast=0.35, saturation=0.45, hue=0.05, gain=0.12):
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.gain = gain

    def __call__(self, rgb, rng):
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
        # OpenCV stores 8-bit hue as 0..179.
        shift = round(rng.uniform(-self.hue, self.hue) * 180)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
        sat = rng.uniform(1 - self.saturation, 1 + self.saturation)
        hsv[..., 1] = np.clip(hsv[..., 1] * sat, 0, 255).astype(np.uint8)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
        contrast = rng.uniform(1 - self.contrast, 1 + self.contrast)
        out = (out - out.mean()) * contrast + out.mean()
        out *= rng.uniform(1 - self.brightness, 1 + self.brightness)
        out *= rng.uniform(1 - self.gain, 1 + self.gain, size=3).astype(np.float32)
        return np.clip(out, 0, 255).astype(np.uint8)


class UnevenLight:
    """Multiply by a linear brightness ramp in a random direction, like a lamp off to one side."""

    def __init__(self, strength=0.35):
        self.strength = strength

    def __call__(self, rgb, rng):
        height, width = rgb.shape[:2]
        angle = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        ramp = (xs / width - 0.5) * math.cos(angle) + (ys / height - 0.5) * math.sin(angle)
        factor = 1 + self.strength * rng.uniform(0.3, 1.0) * 2 * ramp
        return np.clip(rgb * factor[..., None], 0, 255).astype(np.uint8)


class Grayscale:
    def __call__(self, rgb, rng):
        gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)


class Downscale:
    """Lose resolution: shrink the shorter side to a random size, then scale back up."""

    def __init__(self, short_side=(48, 160)):
        self.short_side = short_side

    def __call__(self, rgb, rng):
        height, width = rgb.shape[:2]
        scale = rng.uniform(*self.short_side) / min(height, width)
        if scale >= 1:
            return rgb
        small = cv2.resize(np.ascontiguousarray(rgb), (max(1, round(width * scale)),
                                                       max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


class JpegQuality:
    def __init__(self, quality=(20, 90)):
        self.quality = quality

    def __call__(self, rgb, rng):
        quality = int(rng.integers(self.quality[0], self.quality[1] + 1))
        ok, data = cv2.imencode('.jpg', np.ascontiguousarray(rgb[..., ::-1]),
                                [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1] if ok else rgb


class GaussianBlur:
    def __init__(self, sigma=(0.3, 1.5)):
        self.sigma = sigma

    def __call__(self, rgb, rng):
        return cv2.GaussianBlur(np.ascontiguousarray(rgb), (0, 0), rng.uniform(*self.sigma))


def train_augmentation(strength: float = 1.0, new_background_p: float = 0.0) -> Compose:
    """Build the training augmentation; strength=0 leaves only full-frame crops and flips.

    `new_background_p` is the chance of painting a synthetic surface over a plain photo
    backdrop (training.backgrounds); it comes first, while the backdrop still reaches the border.
    """
    s = strength
    return Compose([
        RandomApply(NewBackground(), new_background_p),
        RandomResizedCrop(scale=(1 - 0.6 * s, 1.0)),
        RandomFlips(),
        RandomApply(RandomRotation(20), 0.4 * s),
        RandomApply(ColorJitter(), 0.8 * s),
        RandomApply(UnevenLight(), 0.3 * s),
        RandomApply(Grayscale(), 0.1 * s),
        RandomApply(GaussianBlur(), 0.1 * s),
        RandomApply(Downscale(), 0.3 * s),
        RandomApply(JpegQuality(), 0.4 * s),
    ])
