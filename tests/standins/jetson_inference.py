# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Stand-in for jetson-inference's `jetson_inference` module, for tests on machines without a Jetson.

It follows the documented Python API of imageNet: `imageNet(model=..., labels=..., input_blob=...,
output_blob=...)`, `Classify(image, topK=k)` returning a list of (classID, confidence) tuples
(one tuple when topK is not given), `GetClassDesc`, `GetNumClasses`. Inference runs on the CPU
with onnxruntime, preceded by what imageNet's CUDA pre-processing does for ONNX models: sample
the whole image at the network size with nearest-pixel lookup (x * in_width / out_width,
truncated), scale to [0, 1], subtract the ImageNet mean, divide by its std, planar RGB; and a
softmax when the network output is not already one.
"""

import numpy as np
import onnxruntime

_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class imageNet:  # noqa: N801 - the documented class name
    def __init__(self, network='googlenet', argv=None, model=None, labels=None,
                 input_blob='input_0', output_blob='output_0', batch_size=1):
        if model is None:
            raise RuntimeError('stand-in imageNet only loads custom ONNX models (model=...)')
        with open(labels, encoding='utf-8') as stream:
            self._classes = [line.strip() for line in stream if line.strip()]
        self._session = onnxruntime.InferenceSession(model, providers=['CPUExecutionProvider'])
        self._input_blob = input_blob
        self._output_blob = output_blob
        _, _, self._height, self._width = self._session.get_inputs()[0].shape
        self._num_classes = self._session.get_outputs()[0].shape[-1]
        if len(self._classes) != self._num_classes:
            raise RuntimeError('imageNet -- failed to load class descriptions')

    def GetNumClasses(self):  # noqa: N802 - the documented method name
        return self._num_classes

    def GetClassDesc(self, index):  # noqa: N802 - the documented method name
        return self._classes[index]

    def Classify(self, image, width=0, height=0, format='rgba32f', topK=None):  # noqa: A002,N802,N803
        pixels = image.array[..., :3].astype(np.float32)
        rows = (np.arange(self._height) * (image.height / self._height)).astype(np.intp)
        cols = (np.arange(self._width) * (image.width / self._width)).astype(np.intp)
        sampled = pixels[rows][:, cols]
        if image.format.startswith('bgr'):
            sampled = sampled[..., ::-1]
        planar = ((sampled / 255.0 - _MEAN) / _STD).transpose(2, 0, 1)[np.newaxis]
        output = self._session.run([self._output_blob],
                                   {self._input_blob: planar.astype(np.float32)})[0][0]
        if output.min() < 0 or abs(output.sum() - 1.0) > 1e-3:
            output = np.exp(output - output.max())
            output /= output.sum()
        order = np.argsort(-output, kind='stable')
        if topK is None:
            return int(order[0]), float(output[order[0]])
        return [(int(index), float(output[index])) for index in order[:topK]]
