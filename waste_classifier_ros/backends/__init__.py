# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
One small interface over the inference engines: a frame in, class probabilities out.

Imports core only; each engine's library (onnxruntime, jetson-inference) when it is chosen.

`open_classifier` is the whole startup path shared by the node and the CLI: find the model, its
labels and card (the shipped ones by default), check them against each other, and build the
backend the `backend` setting names. Every failure is a ModelCardError or BackendError whose
message names the file and the problem.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

# The engine interface lives in .base, which the engine modules import: re-exported here.
from waste_classifier_ros.backends.base import Backend, BackendError, Log, as_probabilities
from waste_classifier_ros.core.extras import MissingLibraryError, require
from waste_classifier_ros.core.model_card import (
    ModelCardError,
    read_card,
    read_labels,
    sha256_file,
    verify,
)
from waste_classifier_ros.core.paths import ros_home, share_path
from waste_classifier_ros.core.preprocessing import INPUT_SIZE

BACKENDS = ('auto', 'jetson', 'onnxruntime')
__all__ = ['BACKENDS', 'Backend', 'BackendError', 'Log', 'ModelFiles', 'as_probabilities',
           'create_backend', 'resolve_model_files', 'top_k']


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    labels_path: Path
    card_path: Path | None
    labels: list
    sha256: str
    input_size: int = INPUT_SIZE


def resolve_model_files(model: str = '', labels: str = '', model_card: str = '') -> ModelFiles:
    """Find and cross-check the model, its labels and its card ('' = the default location)."""
    model_path = Path(model) if model else share_path('model', 'waste_classifier.onnx')
    if not model_path.is_file():
        raise ModelCardError(f'{model_path}: model file not found')
    try:
        sha256 = sha256_file(model_path)
    except OSError as error:
        raise ModelCardError(f'{model_path}: cannot read model file ({error.strerror})') from None
    labels_path = Path(labels) if labels else model_path.with_name('labels.txt')
    names = read_labels(labels_path)
    card_path = Path(model_card) if model_card else model_path.with_name('model_card.json')
    card = {}
    has_card = bool(model_card) or card_path.exists()
    if has_card:
        card = read_card(card_path)
        verify(model_path, card, names, card_path)
    return ModelFiles(model_path, labels_path, card_path if has_card else None, names, sha256,
                      int(card.get('input_size', INPUT_SIZE)))


def create_backend(kind: str, files: ModelFiles,
                   execution_providers: Sequence[str] = ('CPUExecutionProvider',),
                   num_threads: int = 0, log: Log = print,
                   engine_cache: Path | None = None) -> Backend:
    """Build the backend `kind` names; 'auto' means jetson where it imports, else onnxruntime.

    `engine_cache`: the jetson backend's TensorRT engines, one folder per model sha256
    (default $ROS_HOME/waste_classifier_engines; backends/jetson.py says why).
    """
    if kind not in BACKENDS:
        raise BackendError(f"unknown backend '{kind}' (choose one of {', '.join(BACKENDS)})")
    backend: Backend | None = None
    if kind in ('auto', 'jetson'):
        from waste_classifier_ros.backends import jetson
        try:
            backend = jetson.JetsonBackend(
                files.model, files.labels_path, files.input_size, files.sha256,
                engine_cache or ros_home() / 'waste_classifier_engines')
        except ImportError as error:
            if kind == 'jetson':
                raise BackendError(f'backend jetson: cannot import jetson-inference ({error})')
            log(f'backend auto: jetson-inference not available ({error}), using onnxruntime')
    if backend is None:
        try:
            require('onnxruntime')
        except MissingLibraryError as error:
            raise BackendError(str(error)) from None
        from waste_classifier_ros.backends import onnx_runtime
        backend = onnx_runtime.OnnxRuntimeBackend(files.model, execution_providers, num_threads,
                                                  log)
    if backend.num_classes != len(files.labels):
        raise ModelCardError(
            f'{files.labels_path}: lists {len(files.labels)} classes but {files.model} outputs '
            f'{backend.num_classes}')
    _warm_up(backend, files.model)
    return backend


def _warm_up(backend: Backend, model_path: Path) -> None:
    # An engine's first run allocates and plans (ONNX Runtime's arena, a TensorRT engine): done
    # here, it neither stalls the first camera frame (which keep-last-1 would then replace) nor
    # hides a model that loads but cannot run until a camera is connected.
    size = backend.input_size
    try:
        backend.classify(np.zeros((size, size, 3), np.uint8))
    except Exception as error:  # noqa: BLE001 - any engine failure is a startup error
        reason = ' '.join(str(error).split())  # engines' messages span lines; startup's may not
        raise BackendError(f'{model_path}: the model loads but fails to run ({reason})') from None


def top_k(probabilities: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Return the k most probable (class index, probability) pairs, most probable first."""
    k = min(k, probabilities.size)
    best = np.argpartition(-probabilities, k - 1)[:k]
    best = best[np.argsort(-probabilities[best], kind='stable')]
    return [(int(index), float(probabilities[index])) for index in best]
