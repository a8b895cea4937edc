# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The one definition of how a frame becomes the network's input tensor.

It is what jetson-inference's imageNet does on a Jetson: the whole frame is stretched (no crop,
no aspect-preserving resize) to the network size, RGB, scaled to [0, 1], normalised with the
ImageNet mean and std, laid out NCHW as float32. Training, evaluation, export parity checks and
both backends call this module, so what we measure is what a Jetson sees. (imageNet's own
stretch samples the nearest pixel; the jetson backend hands it a frame already stretched here,
bilinear, so both backends feed the network the same pixels.)
"""

import cv2
import numpy as np

INPUT_SIZE = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

# Folded into one multiply-add per channel: (x / 255 - mean) / std == x * scale + offset.
_MEAN = np.asarray(MEAN, dtype=np.float32).reshape(3, 1, 1)
_STD = np.asarray(STD, dtype=np.float32).reshape(3, 1, 1)
_SCALE = 1.0 / (255.0 * _STD)
_OFFSET = -_MEAN / _STD

DESCRIPTION = {
    'resize': 'stretch whole frame to input size (no crop), bilinear',
    'color': 'RGB',
    'scale': '1/255',
    'mean': list(MEAN),
    'std': list(STD),
    'layout': 'NCHW float32',
}


def resize_rgb(rgb: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Stretch an HxWx3 uint8 RGB image to size x size, as jetson-inference does."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'expected an HxWx3 RGB image, got shape {rgb.shape}')
    if rgb.shape[0] == size and rgb.shape[1] == size:
        return rgb
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)


def normalize_chw(resized_rgb: np.ndarray) -> np.ndarray:
    """Turn a size x size x 3 uint8 RGB image into a normalised 3 x size x size float32 array."""
    chw = np.ascontiguousarray(resized_rgb.transpose(2, 0, 1), dtype=np.float32)
    chw *= _SCALE
    chw += _OFFSET
    return chw


def to_tensor(rgb: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Whole pipeline for one frame: HxWx3 uint8 RGB -> 1 x 3 x size x size float32."""
    return normalize_chw(resize_rgb(rgb, size))[np.newaxis]
