# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""benchmarks.gpu_numerics runs where no GPU is: the CPU row, the GPU providers said not run."""

import cv2
import onnxruntime
from tiny_model import COLOURS, solid, write_model_dir

from benchmarks import gpu_numerics


def test_cpu_against_itself_and_absent_providers_named(tmp_path):
    model = write_model_dir(tmp_path / 'model')
    for name, colour in COLOURS.items():
        (tmp_path / 'data' / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / 'data' / name / '0.png'), solid(colour)[..., ::-1])
    report = gpu_numerics.main(['--model', str(model), '--data', str(tmp_path / 'data'),
                                '--frames', '5', '--json', str(tmp_path / 'out.json')])
    cpu = report['providers']['cpu']
    assert cpu['images'][str(tmp_path / 'data')] == {
        'count': 7, 'top1_agreement': 1.0, 'max_probability_difference': 0.0}
    assert cpu['frame_1280x720']['fps'] > 0
    available = onnxruntime.get_available_providers()
    for name, provider in (('cuda', 'CUDAExecutionProvider'),
                           ('tensorrt_fp16', 'TensorrtExecutionProvider')):
        assert report['providers'][name]['run'] == (provider in available) or \
            'fell back' in report['providers'][name]['why']
    assert (tmp_path / 'out.json').is_file()
