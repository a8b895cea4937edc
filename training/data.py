# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Class-per-folder image data (the jetson-inference layout), decoded once and cached in memory.

``<root>/{train,val[,test]}/<class>/*``: class names are the folder names in alphabetical order,
which is the label order written to labels.txt. Unreadable images are skipped and counted, never
fatal; an empty class folder, or a class folder that the model does not know, is a ValueError that
names it. Photos are decoded once; a 2-core machine cannot afford to decode JPEGs every epoch.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
import hashlib
import logging
from pathlib import Path

import cv2
import numpy as np
import torch

from waste_classifier_ros.preprocessing import INPUT_SIZE, normalize_chw, resize_rgb

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({'.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'})


def list_classes(split_dir) -> list:
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


def list_samples(split_dir, classes) -> list:
    """(path, label index) for every image file under split_dir/<class>/, sorted by path.

    Every class folder present must be one of ``classes`` and hold at least one image file;
    classes missing from the folder are allowed (a user's folder need not have all of them).
    """
    split_dir = Path(split_dir)
    index = {name: i for i, name in enumerate(classes)}
    samples = []
    for name in list_classes(split_dir):
        if name not in index:
            raise ValueError(f'{split_dir / name}: class {name!r} is not one of the known classes '
                             f'{list(classes)} (a class in val must also be in train)')
        files = sorted(p for p in (split_dir / name).iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f'{split_dir / name}: class folder {name!r} has no images')
        samples.extend((path, index[name]) for path in files)
    return samples


def files_sha256(samples, root) -> str:
    """Hash of the sorted relative file list, so a model card pins the exact data it saw."""
    names = sorted(Path(path).relative_to(root).as_posix() for path, _ in samples)
    return hashlib.sha256('\n'.join(names).encode('utf-8')).hexdigest()


def read_rgb(path):
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

    images: list
    labels: list
    classes: list
    skipped: list = field(default_factory=list)

    def counts(self) -> dict:
        per_class = np.bincount(np.asarray(self.labels, dtype=np.int64),
                                minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, per_class)}


def load_images(samples, classes, prepare, workers: int = 2) -> ImageSet:
    """Decode every sample once and apply ``prepare`` (a resize) to it; skip unreadable files."""
    def decode(sample):
        rgb = read_rgb(sample[0])
        return None if rgb is None else prepare(rgb)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(decode, samples))
    images, labels, skipped = [], [], []
    for (path, label), rgb in zip(samples, decoded):
        if rgb is None:
            skipped.append(str(path))
        else:
            images.append(rgb)
            labels.append(label)
    if skipped:
        log.warning('skipped %d unreadable image(s): %s', len(skipped),
                    ', '.join(skipped[:5]) + (' ...' if len(skipped) > 5 else ''))
    return ImageSet(images, labels, list(classes), skipped)


def load_train_val(root, cache_short_side: int, input_size: int = INPUT_SIZE):
    """Load ``root/train`` for augmentation and ``root/val`` already in the deployment view."""
    root = Path(root)
    classes = list_classes(root / 'train')
    train_samples = list_samples(root / 'train', classes)
    val_samples = list_samples(root / 'val', classes)
    train = load_images(train_samples, classes, lambda rgb: shrink(rgb, cache_short_side))
    val = load_images(val_samples, classes, lambda rgb: resize_rgb(rgb, input_size))
    for name, n in train.counts().items():
        if n == 0:
            raise ValueError(f'{root / "train" / name}: no readable images in class {name!r}')
    info = {
        'root': str(root),
        'train': train.counts(),
        'val': val.counts(),
        'skipped': {'train': len(train.skipped), 'val': len(val.skipped)},
        'files_sha256': files_sha256(train_samples + val_samples, root),
    }
    return train, val, info


class AugmentedImages(torch.utils.data.Dataset):
    """Training view: augment the cached RGB image, then the shared stretch + normalisation.

    ``size`` may change between epochs (progressive resizing); ``rng`` is reseeded per epoch
    and per worker so runs and resumed runs see the same augmentations.
    """

    def __init__(self, image_set: ImageSet, augment, size: int = INPUT_SIZE):
        self.image_set = image_set
        self.augment = augment
        self.size = size
        self.rng = np.random.default_rng(0)

    def __len__(self):
        return len(self.image_set.images)

    def __getitem__(self, index):
        rgb = self.augment(self.image_set.images[index], self.rng)
        chw = normalize_chw(resize_rgb(np.ascontiguousarray(rgb), self.size))
        return torch.from_numpy(chw), self.image_set.labels[index]


class PreprocessedImages(torch.utils.data.Dataset):
    """Evaluation view: images already stretched to the input size, only normalised here."""

    def __init__(self, image_set: ImageSet):
        self.image_set = image_set

    def __len__(self):
        return len(self.image_set.images)

    def __getitem__(self, index):
        return torch.from_numpy(normalize_chw(self.image_set.images[index])), \
            self.image_set.labels[index]


def seed_worker(worker_id: int) -> None:
    """Give each DataLoader worker its own augmentation stream derived from the loader seed."""
    info = torch.utils.data.get_worker_info()
    info.dataset.rng = np.random.default_rng(torch.initial_seed() % 2**63)


def class_balanced_sampler(labels, num_classes: int, power: float, seed: int):
    """Sample class c with probability proportional to count_c ** (1 - power).

    power=0 keeps the natural frequencies, power=1 draws every class equally often; the draw
    count per epoch stays the dataset size.
    """
    counts = np.bincount(np.asarray(labels), minlength=num_classes).astype(np.float64)
    per_class = np.where(counts > 0, counts ** -power, 0.0)
    weights = torch.as_tensor(per_class[np.asarray(labels)], dtype=torch.double)
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.WeightedRandomSampler(weights, len(labels), replacement=True,
                                                  generator=generator)
