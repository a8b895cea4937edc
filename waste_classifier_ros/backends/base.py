# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The inference engine interface every backend implements: a frame in, probabilities out."""

import abc
from typing import Callable

import numpy as np

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.preprocessing import INPUT_SIZE

# Where a backend says what it does (print, or a ROS logger's info).
Log = Callable[[str], object]


class BackendError(RuntimeError):
    """The inference engine cannot be created or cannot run the model."""


class Backend(abc.ABC):
    """An inference engine loaded with one model."""

    name = ''
    # Side of the square the frame is stretched to (preprocessing.resize_rgb) before `classify`.
    input_size = INPUT_SIZE
    # The network's input tensor.
    input_name = ''

    @property
    @abc.abstractmethod
    def num_classes(self) -> int:
        """Size of the model's output."""

    @abc.abstractmethod
    def classify(self, rgb: np.ndarray) -> np.ndarray:
        """Return float32 probabilities, one per class, for a uint8 HxWx3 RGB image."""

    def classify_frame(self, frame: image_codec.Frame) -> np.ndarray:
        return self.classify(image_codec.to_rgb(frame, self.input_size))


def as_probabilities(scores: np.ndarray) -> np.ndarray:
    """Pass a softmax output through; turn logits into probabilities."""
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if scores.min() >= 0.0 and abs(float(scores.sum()) - 1.0) < 1e-3:
        return scores
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()
