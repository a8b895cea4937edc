# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The jetson-inference backend: TensorRT on a Jetson through jetson_inference.imageNet.

imageNet's own CUDA pre-processing samples the nearest pixel when it scales a frame to the
network size (tensorConvert.cu reads input[int(y * scale)][int(x * scale)]), where training
stretched bilinearly. So the frame is stretched here with the shared preprocessing first: at
scale 1 imageNet's sampling is the identity and the network sees exactly what training saw (and
a 224x224 image is uploaded instead of a 2.7 MB 720p frame). Importing this module needs no
Jetson; constructing the backend raises ImportError where jetson-inference is not installed.
"""

import numpy as np

from waste_classifier_ros.backends.base import Backend, BackendError
from waste_classifier_ros.preprocessing import resize_rgb

# The blob names the training export writes and jetson-inference's ONNX loader expects.
INPUT_BLOB = 'input_0'
OUTPUT_BLOB = 'output_0'


class JetsonBackend(Backend):
    name = 'jetson'
    input_name = INPUT_BLOB

    def __init__(self, model_path, labels_path, input_size: int):
        import jetson_inference
        import jetson_utils
        self._cuda_from_numpy = jetson_utils.cudaFromNumpy
        try:
            self._net = jetson_inference.imageNet(model=str(model_path), labels=str(labels_path),
                                                  input_blob=INPUT_BLOB, output_blob=OUTPUT_BLOB)
        except Exception as error:  # noqa: BLE001 - jetson-inference raises plain Exception
            raise BackendError(f'{model_path}: jetson-inference cannot load it with labels '
                               f'{labels_path} ({error})') from None
        self._num_classes = self._net.GetNumClasses()
        self.input_size = input_size

    @property
    def num_classes(self) -> int:
        return self._num_classes

    def classify(self, rgb: np.ndarray) -> np.ndarray:
        image = self._cuda_from_numpy(np.ascontiguousarray(resize_rgb(rgb, self.input_size)))
        # Asking for every class turns imageNet's top-K list into the full distribution the
        # bin sums need.
        probabilities = np.zeros(self._num_classes, dtype=np.float32)
        for class_id, confidence in self._net.Classify(image, topK=self._num_classes):
            probabilities[class_id] = confidence
        return probabilities
