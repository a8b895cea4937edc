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

Loading follows jetson-inference's engine cache (c/tensorNet.cpp, tensorNet::LoadNetwork and
ValidateEngine, as of commit 45da40a): beside the model it looks for
`<model>.<max batch 1>.<GPU fallback 1>.<NV_TENSORRT_VERSION>.GPU.FP16.engine` and the model's
checksum `<model>.sha256sum`; when both exist and `sha256sum --check` accepts the model, it loads
the engine, otherwise it "profiles" the network (builds the engine), writes the engine file and
then the checksum. Here the "engine" is the ONNX model's bytes at build time, and inference runs
from the engine file, not the model: a stale engine gives the old model's answers, as on a
Jetson. Each build prints jetson-inference's log line and is counted in `imageNet.builds`.
"""

import hashlib
from pathlib import Path

import numpy as np
import onnxruntime

_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
NV_TENSORRT_VERSION = 8602  # TensorRT 8.6.2, JetPack 6


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_network(model: Path) -> onnxruntime.InferenceSession:
    """Load the cached engine of `model` when its checksum holds, else build and cache one."""
    engine = Path(f'{model}.1.1.{NV_TENSORRT_VERSION}.GPU.FP16.engine')
    checksum = Path(f'{model}.sha256sum')
    if engine.is_file() and checksum.is_file() and \
            checksum.read_text().split()[0] == _sha256(model):
        session = onnxruntime.InferenceSession(engine.read_bytes(),
                                               providers=['CPUExecutionProvider'])
        print(f'[TRT]    device GPU, loaded {model}', flush=True)
        return session
    print('[TRT]    device GPU, building CUDA engine (this may take a few minutes the first time '
          'a network is loaded)', flush=True)
    serialized = model.read_bytes()
    # A model that does not parse fails here, before anything is written (as a failed build).
    session = onnxruntime.InferenceSession(serialized, providers=['CPUExecutionProvider'])
    engine.write_bytes(serialized)
    print(f'[TRT]    device GPU, completed saving engine cache to {engine}', flush=True)
    checksum.write_text(f'{_sha256(model)}\n')  # sha256sum <model> | awk '{print $1}'
    imageNet.builds.append(str(engine))
    return session


class imageNet:  # noqa: N801 - the documented class name
    builds: list = []  # engine files built in this process

    def __init__(self, network='googlenet', argv=None, model=None, labels=None,
                 input_blob='input_0', output_blob='output_0'):
        if model is None:
            raise RuntimeError('stand-in imageNet only loads custom ONNX models (model=...)')
        with open(labels, encoding='utf-8') as stream:
            self._classes = [line.strip() for line in stream if line.strip()]
        self._session = _load_network(Path(model))
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
