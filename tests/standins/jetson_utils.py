# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Stand-in for jetson-inference's `jetson_utils` module, for tests on machines without a Jetson.

Only what the jetson backend uses, with the documented signature: `cudaFromNumpy(array,
isBGR=False)` copies a uint8 HxWxC array into a `cudaImage` with width, height, channels,
format and shape. Here the "CUDA memory" is a numpy copy.
"""

import numpy as np

_FORMATS = {1: 'gray8', 3: 'rgb8', 4: 'rgba8'}


class cudaImage:  # noqa: N801 - the documented class name
    def __init__(self, array: np.ndarray, fmt: str):
        self.array = array
        self.height, self.width = array.shape[:2]
        self.channels = 1 if array.ndim == 2 else array.shape[2]
        self.format = fmt
        self.shape = array.shape


def cudaFromNumpy(array, isBGR=False):  # noqa: N802,N803 - the documented names
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError('stand-in cudaFromNumpy only models uint8 images')
    channels = 1 if array.ndim == 2 else array.shape[2]
    fmt = _FORMATS[channels]
    if isBGR:
        fmt = fmt.replace('rgb', 'bgr')
    return cudaImage(np.array(array, copy=True), fmt)
