# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Train-time augmentation for a camera over a bin, on HxWx3 uint8 RGB, from albumentations.

The deployed model sees the whole camera frame stretched to a square (the shared preprocessing),
so the pipeline starts with that same stretch; every later geometric step works on the square,
where a crop of aspect ratio near 1 is a crop of the frame's own aspect ratio. What a camera over
a drop zone sees and a phone photo on posterboard does not: items at any rotation (the eight
square symmetries plus free rotation), partly out of frame (crops, cut-out patches), any surface
(colour, white balance, optionally a painted backdrop from training.recipe.backdrops), shadows and
uneven light, motion and focus blur, low resolution and JPEG artefacts. Resolution loss and
colour casts apply to every class so that "web photo" cannot stand in for a class.

Randomness comes from the pipeline's own generator: ``pipeline.set_random_seed(seed)`` per epoch
(and per DataLoader worker) makes runs and resumed runs see the same augmentations.
"""

from typing import Any, Sequence

import albumentations as alb
import cv2
import numpy as np

from training.recipe.backdrops import TRAIN_FAMILIES, replace_backdrop
from waste_classifier_ros.core.preprocessing import resize_rgb


class DeploymentStretch(alb.ImageOnlyTransform):
    """The shared preprocessing's whole-frame stretch to size x size, the node's own code."""

    def __init__(self, size: int):
        super().__init__(p=1.0)
        self.size = size

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return resize_rgb(np.ascontiguousarray(img), self.size)


class NewBackground(alb.ImageOnlyTransform):
    """A synthetic surface in place of a plain photo backdrop, when there is one."""

    def __init__(self, families: Sequence[str] = TRAIN_FAMILIES, p: float = 0.5):
        super().__init__(p=p)
        self.families = families

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        replaced = replace_backdrop(img, self.random_generator, self.families)
        return img if replaced is None else replaced


def train_augmentation(size: int, strength: float = 1.0,
                       new_background_p: float = 0.0) -> alb.Compose:
    """Build the training pipeline ending at size x size; strength=0 keeps crops and flips.

    ``new_background_p`` is the chance of painting a synthetic surface over a plain photo
    backdrop; it comes first, while the backdrop still reaches the border.
    """
    s = strength
    reflect = cv2.BORDER_REFLECT_101
    return alb.Compose([
        NewBackground(p=new_background_p),
        DeploymentStretch(size),
        alb.RandomResizedCrop(size=(size, size), scale=(1 - 0.65 * s, 1.0), ratio=(0.8, 1.25)),
        alb.SquareSymmetry(p=1.0),
        alb.Rotate(limit=(-45, 45), border_mode=reflect, p=0.5 * s),
        alb.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.4, hue=0.04, p=0.8 * s),
        alb.PlanckianJitter(p=0.3 * s),
        alb.OneOf([
            alb.RandomShadow(shadow_roi=(0, 0, 1, 1), num_shadows_limit=(1, 2),
                           shadow_intensity_range=(0.25, 0.6)),
            alb.Illumination(mode='linear', intensity_range=(0.05, 0.2)),
            alb.Illumination(mode='gaussian', intensity_range=(0.05, 0.2)),
        ], p=0.4 * s),
        alb.ToGray(p=0.05 * s),
        alb.OneOf([
            alb.MotionBlur(blur_limit=(3, 9)),
            alb.Defocus(radius=(1, 3)),
            alb.GaussianBlur(sigma_limit=(0.3, 1.5)),
        ], p=0.25 * s),
        alb.Downscale(scale_range=(0.3, 0.8), p=0.25 * s),
        alb.ImageCompression(quality_range=(25, 90), p=0.4 * s),
        alb.CoarseDropout(num_holes_range=(1, 3), hole_height_range=(0.08, 0.25),
                        hole_width_range=(0.08, 0.25), fill='random_uniform', p=0.2 * s),
    ])
