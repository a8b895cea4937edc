# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Class-per-folder image data (the jetson-inference layout), decoded once and cached in memory.

``<root>/{train,val[,test]}/<class folder>/*``; training.recipe.sources maps the folders onto the
project's classes. Unreadable images are skipped and counted, never fatal. Photos are decoded
once; a 2-core machine cannot afford to decode JPEGs every epoch.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, cast

import cv2
import numpy as np
import torch

from waste_classifier_ros.core.preprocessing import normalize_chw

log = logging.getLogger(__name__)


def list_classes(split_dir: Union[str, Path]) -> List[str]:
    """Class names of a split folder: its sub-folders, alphabetically."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise ValueError(f'{split_dir}: not a directory of class folders')
    classes = sorted(p.name for p in split_dir.iterdir()
                     if p.is_dir() and not p.name.startswith('.'))
    if not classes:
        raise ValueError(f'{split_dir}: no class folders found '
                         f'(expected {split_dir}/<class>/*.jpg)')
    return classes


def read_rgb(path: Union[str, Path]) -> Optional[np.ndarray]:
    """Decode an image file to HxWx3 uint8 RGB, or None when it cannot be decoded."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None or bgr.ndim != 3 or min(bgr.shape[:2]) < 2:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def shrink(rgb: np.ndarray, short_side: int) -> np.ndarray:
    """Downscale so the shorter side is at most short_side, keeping the aspect ratio."""
    scale = short_side / min(rgb.shape[:2])
    if scale >= 1.0:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


@dataclass
class ImageSet:
    """Decoded images with their labels, and what was skipped on the way."""

    images: List[np.ndarray]
    labels: List[int]
    classes: List[str]
    skipped: List[str] = field(default_factory=list)
    paths: List[str] = field(default_factory=list)   # the file of each image, where known

    def counts(self) -> Dict[str, int]:
        per_class = np.bincount(np.asarray(self.labels, dtype=np.int64),
                                minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, per_class)}


def load_images(samples: Sequence[Tuple[Path, int]], classes: Sequence[str],
                prepare: Callable[[np.ndarray], np.ndarray], workers: int = 2) -> ImageSet:
    """Decode every sample once and apply ``prepare`` (a resize) to it; skip unreadable files."""
    def decode(sample: Tuple[Path, int]) -> Optional[np.ndarray]:
        rgb = read_rgb(sample[0])
        return None if rgb is None else prepare(rgb)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(decode, samples))
    images, labels, skipped, paths = [], [], [], []
    for (path, label), rgb in zip(samples, decoded):
        if rgb is None:
            skipped.append(str(path))
        else:
            images.append(rgb)
            labels.append(label)
            paths.append(str(path))
    if skipped:
        log.warning('skipped %d unreadable image(s): %s', len(skipped),
                    ', '.join(skipped[:5]) + (' ...' if len(skipped) > 5 else ''))
    return ImageSet(images, labels, list(classes), skipped, paths)


class AugmentedImages(torch.utils.data.Dataset):
    """Training view: the augmentation pipeline (it ends at the training size), then normalise.

    ``augment`` may be replaced between epochs (progressive resizing); its generator is
    reseeded per epoch and per worker so runs and resumed runs see the same augmentations.
    """

    def __init__(self, image_set: ImageSet, augment: Any):
        self.image_set = image_set
        self.augment = augment

    def __len__(self) -> int:
        return len(self.image_set.images)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        rgb = self.augment(image=self.image_set.images[index])['image']
        return torch.from_numpy(normalize_chw(np.ascontiguousarray(rgb))), \
            self.image_set.labels[index]


class PreprocessedImages(torch.utils.data.Dataset):
    """Evaluation view: images already stretched to the input size, only normalised here."""

    def __init__(self, image_set: ImageSet):
        self.image_set = image_set

    def __len__(self) -> int:
        return len(self.image_set.images)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        return torch.from_numpy(normalize_chw(self.image_set.images[index])), \
            self.image_set.labels[index]


def seed_worker(worker_id: int) -> None:
    """Give each DataLoader worker its own augmentation stream derived from the loader seed."""
    info = torch.utils.data.get_worker_info()
    if info is not None:  # None outside a DataLoader worker
        cast(AugmentedImages, info.dataset).augment.set_random_seed(torch.initial_seed() % 2**32)
