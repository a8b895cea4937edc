# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The jetson-inference stand-in with one injected fault, for the robustness tests.

Put this folder before tests/standins on PYTHONPATH. It re-exports the stand-in from
tests/standins/jetson_inference.py unchanged, except that `imageNet.Classify` raises
RuntimeError on its Nth call when the environment variable WCR_STANDIN_CLASSIFY_FAILS_ON=N is
set (a CUDA error or a TensorRT failure on a Jetson looks like this to the node: an exception
out of Classify for one frame), and that from call WCR_STANDIN_CLASSIFY_SLOW_FROM=M on each
call takes WCR_STANDIN_CLASSIFY_SECONDS longer (a model too slow for the camera), and that with
WCR_STANDIN_LOAD_SECONDS=S the constructor prints a line and takes S seconds more (as building
a TensorRT engine does on a Jetson the first time).
"""

import importlib.util
import os
from pathlib import Path
import time

_STANDIN = Path(__file__).resolve().parent.parent / 'standins' / 'jetson_inference.py'
_spec = importlib.util.spec_from_file_location('_jetson_inference_standin', _STANDIN)
_standin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_standin)

FAIL_ON_ENV = 'WCR_STANDIN_CLASSIFY_FAILS_ON'
SLOW_FROM_ENV = 'WCR_STANDIN_CLASSIFY_SLOW_FROM'
SECONDS_ENV = 'WCR_STANDIN_CLASSIFY_SECONDS'
LOAD_SECONDS_ENV = 'WCR_STANDIN_LOAD_SECONDS'


class imageNet(_standin.imageNet):  # noqa: N801 - the documented class name
    def __init__(self, *args, **kwargs):
        load_seconds = float(os.environ.get(LOAD_SECONDS_ENV, '0'))
        if load_seconds:
            print('[TRT]    stand-in: building the TensorRT engine', flush=True)
            time.sleep(load_seconds)  # stands for the engine build, not a test wait
        super().__init__(*args, **kwargs)
        self._calls = 0
        self._fail_on = int(os.environ.get(FAIL_ON_ENV, '0'))
        self._slow_from = int(os.environ.get(SLOW_FROM_ENV, '0'))
        self._extra_seconds = float(os.environ.get(SECONDS_ENV, '0'))

    def Classify(self, image, *args, **kwargs):  # noqa: N802 - the documented method name
        self._calls += 1
        if self._calls == self._fail_on:
            raise RuntimeError(f'injected fault: imageNet.Classify call {self._calls} failed')
        if self._slow_from and self._calls >= self._slow_from:
            time.sleep(self._extra_seconds)  # stands for inference time, not a test wait
        return super().Classify(image, *args, **kwargs)
