# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The ONNX Runtime backend: CPU by default, CUDA or TensorRT execution providers where installed.

It feeds the network exactly what training saw, through waste_classifier_ros.core.preprocessing.
Named onnx_runtime so that `import onnxruntime` inside it is the real package.
"""

from pathlib import Path
from typing import Sequence

import numpy as np
import onnxruntime
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from waste_classifier_ros.backends.base import Backend, BackendError, Log, as_probabilities
from waste_classifier_ros.core.preprocessing import INPUT_SIZE, to_tensor

CPU = ('CPUExecutionProvider',)
_LOAD_ERRORS = (ort_errors.Fail, ort_errors.InvalidProtobuf, ort_errors.InvalidGraph,
                ort_errors.NoSuchFile, ort_errors.NotImplemented, ort_errors.InvalidArgument,
                ort_errors.RuntimeException)


def open_session(model: str | Path | bytes, execution_providers: Sequence[str] = CPU,
                 num_threads: int = 0,
                 log: Log = print) -> onnxruntime.InferenceSession:
    """Open an ONNX model (a file, or a serialised graph) in ONNX Runtime as the node runs it.

    The node, training.recipe.evaluate and retraining all open their sessions here. Execution
    providers not installed are skipped (said through `log`); `num_threads` 0 = one intra-op thread
    per core. Raises BackendError naming the model when ONNX Runtime cannot load it.
    """
    available = onnxruntime.get_available_providers()
    providers = [name for name in execution_providers if name in available]
    skipped = [name for name in execution_providers if name not in available]
    if skipped:
        log(f'onnxruntime: execution providers {", ".join(skipped)} not available here '
            f'(available: {", ".join(available)})')
    options = onnxruntime.SessionOptions()
    # Idle intra-op threads otherwise spin for a while after every run, waiting for work
    # that comes one camera frame later; on a shared 2-core CPU that doubled the node's CPU
    # per frame and starved its ROS thread (BENCHMARKS.md, findings).
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    options.add_session_config_entry('session.inter_op.allow_spinning', '0')
    # ONNX Runtime would print its own coloured, unthrottled line per failed run; the node
    # reports failures itself (one line at startup, throttled per frame).
    options.log_severity_level = 4
    if num_threads > 0:
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
    source = model if isinstance(model, bytes) else str(model)
    try:
        return onnxruntime.InferenceSession(source, sess_options=options,
                                            providers=providers or list(CPU))
    except _LOAD_ERRORS as error:
        reason = str(error).strip().splitlines()[0]
        name = 'the ONNX graph' if isinstance(model, bytes) else model
        raise BackendError(f'{name}: onnxruntime cannot load it as an ONNX model '
                           f'({reason})') from None


def input_size(session: onnxruntime.InferenceSession) -> int:
    """Return the side of the session's square input; INPUT_SIZE where the graph leaves it open."""
    size = session.get_inputs()[0].shape[-1]
    return size if isinstance(size, int) else INPUT_SIZE


class OnnxRuntimeBackend(Backend):
    name = 'onnxruntime'

    def __init__(self, model_path: str | Path, execution_providers: Sequence[str] = CPU,
                 num_threads: int = 0, log: Log = print) -> None:
        self._session = open_session(model_path, execution_providers, num_threads, log)
        model_input = self._session.get_inputs()[0]
        model_output = self._session.get_outputs()[0]
        self.input_name = model_input.name
        self._output_name = model_output.name
        shape = model_input.shape
        if len(shape) != 4 or shape[1] != 3:
            raise BackendError(f'{model_path}: input {model_input.name} has shape {shape}, '
                               'expected N x 3 x H x W')
        self.input_size = input_size(self._session)
        classes = model_output.shape[-1]
        if not isinstance(classes, int):
            raise BackendError(f'{model_path}: output {model_output.name} has no fixed class '
                               f'count (shape {model_output.shape})')
        self._num_classes = classes
        self.providers = self._session.get_providers()

    @property
    def num_classes(self) -> int:
        return self._num_classes

    def classify(self, rgb: np.ndarray) -> np.ndarray:
        tensor = to_tensor(rgb, self.input_size)
        scores = self._session.run([self._output_name], {self.input_name: tensor})[0]
        return as_probabilities(scores[0])
