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

TensorRT engines are kept per model: jetson-inference builds an engine from the ONNX file the
first time (minutes) and writes it beside that file as
`<model>.1.1.<TensorRT version>.GPU.FP16.engine`, with the model's checksum in
`<model>.sha256sum` (c/tensorNet.cpp, LoadNetwork and ValidateEngine). Releases before August 2022
reuse any engine file found there, whatever the model became (jetson-inference issues #1184 and
#1379), and one checksum file serves every precision's engine. So the backend loads a copy of
the model kept in `<engine_cache>/<sha256>/`: each model's engine lives in a folder named by that
model's sha256, a changed model gets a folder and an engine of its own, and going back to an
earlier model finds its engine again. The ENGINE_CACHE_KEEP most recently used folders are kept.
"""

import os
from pathlib import Path
import shutil

import numpy as np

from waste_classifier_ros.backends.base import Backend, BackendError
from waste_classifier_ros.core.atomic_files import atomic_write
from waste_classifier_ros.core.model_card import sha256_file
from waste_classifier_ros.core.preprocessing import resize_rgb

# The blob names the training export writes and jetson-inference's ONNX loader expects.
INPUT_BLOB = 'input_0'
OUTPUT_BLOB = 'output_0'
ENGINE_CACHE_KEEP = 3


def engine_folder_model(model_path: Path, sha256: str, engine_cache: Path) -> Path:
    """Return the copy of the model in `engine_cache/<sha256>/`, made when missing."""
    folder = Path(engine_cache) / sha256
    copy = folder / Path(model_path).name
    try:
        if not copy.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(copy, Path(model_path))
            if sha256_file(copy) != sha256:
                shutil.rmtree(folder)
                raise BackendError(f'{model_path}: changed while it was being loaded')
        os.utime(folder)  # used now: the last to be pruned
        _prune(Path(engine_cache))
    except OSError as error:
        raise BackendError(f'{engine_cache}: cannot keep the TensorRT engine cache there '
                           f'({error.strerror})') from None
    return copy


def _prune(engine_cache: Path) -> None:
    folders = sorted((path for path in engine_cache.iterdir() if path.is_dir()),
                     key=lambda path: path.stat().st_mtime, reverse=True)
    for folder in folders[ENGINE_CACHE_KEEP:]:
        shutil.rmtree(folder, ignore_errors=True)


class JetsonBackend(Backend):
    name = 'jetson'
    input_name = INPUT_BLOB

    def __init__(self, model_path: Path, labels_path: Path, input_size: int, sha256: str,
                 engine_cache: Path) -> None:
        import jetson_inference
        import jetson_utils
        self._cuda_from_numpy = jetson_utils.cudaFromNumpy
        self.model_in_cache = engine_folder_model(model_path, sha256, engine_cache)
        try:
            self._net = jetson_inference.imageNet(
                model=str(self.model_in_cache), labels=str(labels_path), input_blob=INPUT_BLOB,
                output_blob=OUTPUT_BLOB)
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
