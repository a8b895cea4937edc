# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The limits the node is measured against, without ROS: model inference and preprocessing alone.

Inference runs the model through a plain ONNX Runtime session, batch 1, with the thread count the
node's backend uses (intra-op `num_threads`, one inter-op thread; 0 = ONNX Runtime's default)
and ONNX Runtime's other defaults, on a preprocessed frame that never changes. `backend` runs the
node's own backend on a frame of the input size, so its session options and Python glue are
measured apart from ROS. Preprocessing is the node's path from the bytes of an rgb8 Image to the
input tensor: view the buffer, stretch to the input size, normalise.
"""

from pathlib import Path
import time
from typing import Callable

import numpy as np
import onnxruntime

from benchmarks.publisher import test_pattern
from waste_classifier_ros.backends.onnx_runtime import OnnxRuntimeBackend
from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.preprocessing import INPUT_SIZE, normalize_chw
from waste_classifier_ros.core.presence import PresenceGate, thumbnail


def _timings(function: Callable[[], object], seconds: float, warmup: int) -> np.ndarray:
    """Call `function` for `seconds` after `warmup` calls; return each call's duration (s)."""
    for _ in range(warmup):
        function()
    durations: list[float] = []
    end = time.perf_counter() + seconds
    while (start := time.perf_counter()) < end or not durations:
        function()
        durations.append(time.perf_counter() - start)
    return np.asarray(durations)


def _summary(durations: np.ndarray) -> dict:
    return {
        'runs': int(durations.size),
        'fps': round(float(durations.size / durations.sum()), 2),
        'ms_mean': round(float(durations.mean() * 1e3), 3),
        'ms_p50': round(float(np.percentile(durations, 50) * 1e3), 3),
        'ms_p95': round(float(np.percentile(durations, 95) * 1e3), 3),
    }


def session(model_path: str | Path, num_threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    if num_threads > 0:
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                        providers=['CPUExecutionProvider'])


def inference(model_path: str | Path, num_threads: int, seconds: float, warmup: int = 20) -> dict:
    """Batch-1 inference of the model: frames per second and ms per frame."""
    runner = session(model_path, num_threads)
    input_name = runner.get_inputs()[0].name
    tensor = normalize_chw(test_pattern(INPUT_SIZE, INPUT_SIZE))[np.newaxis]
    result = _summary(_timings(lambda: runner.run(None, {input_name: tensor}), seconds, warmup))
    result['num_threads'] = num_threads
    result['providers'] = runner.get_providers()
    return result


def backend(model_path: str | Path, num_threads: int, seconds: float, warmup: int = 20) -> dict:
    """Time the node's own ONNX Runtime backend (session options, Python glue), batch 1."""
    engine = OnnxRuntimeBackend(model_path, num_threads=num_threads, log=lambda text: None)
    rgb = test_pattern(engine.input_size, engine.input_size)
    result = _summary(_timings(lambda: engine.classify(rgb), seconds, warmup))
    result['num_threads'] = num_threads
    return result


def preprocessing(width: int, height: int, seconds: float, warmup: int = 20) -> dict:
    """Cost of turning one rgb8 Image payload of width x height into the input tensor."""
    step, data = image_codec.encode(test_pattern(height, width), 'rgb8')

    def prepare() -> np.ndarray:
        frame = image_codec.decode('rgb8', height, width, step, data)
        return normalize_chw(image_codec.to_rgb(frame, INPUT_SIZE))

    result = _summary(_timings(prepare, seconds, warmup))
    result['size'] = f'{width}x{height}'
    return result


def presence_gate(width: int, height: int, seconds: float, warmup: int = 20) -> dict:
    """Cost of the presence gate on one decoded frame: its thumbnail and the look."""
    frame = image_codec.Frame(test_pattern(height, width), 'rgb8')
    gate = PresenceGate()
    gate.look(thumbnail(frame))
    gate.learn()  # a taught empty zone: the look compares every cell with it

    def look() -> object:
        return gate.look(thumbnail(frame))

    result = _summary(_timings(look, seconds, warmup))
    result['size'] = f'{width}x{height}'
    return result
