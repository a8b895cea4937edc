# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
ONNX Runtime's TensorRT (FP32, FP16) and CUDA execution providers against its CPU provider.

FP16 is what a Jetson's TensorRT engine runs; this measures on a machine with an NVIDIA GPU what
it does to the answers and the speed, with the node's own preprocessing:

    pip install onnxruntime-gpu tensorrt    # in place of onnxruntime
    python -m benchmarks.gpu_numerics --data ../shared/data/waste7/val --json out.json

Per provider: top-1 agreement with the CPU and the largest difference of any class probability,
on samples/ and on every image under --data (batch 1, preprocessing.to_tensor), and the node's
path for a 1280x720 frame (preprocessing + inference): FPS and latency percentiles. A provider
that is not installed, or that ONNX Runtime silently replaces by another, is reported as not run.
"""

import argparse
import json
from pathlib import Path
import time
from typing import Iterable, Sequence

import cv2
import numpy as np
import onnxruntime

from waste_classifier_ros.backends import as_probabilities
from waste_classifier_ros.core.atomic_files import is_image
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.core.preprocessing import to_tensor

# An execution provider as ONNX Runtime takes it: its name, or its name and options.
Provider = str | tuple[str, dict[str, object]]
# (the folder it came from, RGB pixels)
Photo = tuple[str, np.ndarray]


def providers(cache: Path) -> dict[str, list[Provider]]:
    """Name -> the providers list ONNX Runtime is given (the first one is the one measured)."""
    def tensorrt(fp16: bool) -> list[Provider]:
        return [('TensorrtExecutionProvider', {
            'trt_fp16_enable': fp16, 'trt_engine_cache_enable': True,
            'trt_engine_cache_path': str(cache / ('fp16' if fp16 else 'fp32'))}),
            'CUDAExecutionProvider', 'CPUExecutionProvider']
    return {'cpu': ['CPUExecutionProvider'],
            'cuda': ['CUDAExecutionProvider', 'CPUExecutionProvider'],
            'tensorrt_fp32': tensorrt(False), 'tensorrt_fp16': tensorrt(True)}


def images(folders: Iterable[str | Path]) -> list[Photo]:
    """Return (folder, RGB) of every decodable image under each folder, in name order."""
    found: list[Photo] = []
    for folder in map(Path, folders):
        for path in sorted(folder.rglob('*')):
            bgr = cv2.imread(str(path)) if is_image(path) else None
            if bgr is not None:
                found.append((str(folder), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    return found


def run_provider(model: Path, chosen: list[Provider], photos: list[Photo], frames: int) -> dict:
    wanted = chosen[0] if isinstance(chosen[0], str) else chosen[0][0]
    if wanted not in onnxruntime.get_available_providers():
        return {'run': False, 'why': f'{wanted} is not in this onnxruntime'}
    session = onnxruntime.InferenceSession(str(model), providers=chosen)
    if session.get_providers()[0] != wanted:
        return {'run': False, 'why': f'onnxruntime fell back to {session.get_providers()[0]}'}
    name = session.get_inputs()[0].name
    size = session.get_inputs()[0].shape[-1]

    def classify(rgb: np.ndarray) -> np.ndarray:
        return as_probabilities(session.run(None, {name: to_tensor(rgb, size)})[0][0])
    probabilities = np.stack([classify(rgb) for _, rgb in photos])
    frame = cv2.resize(photos[0][1], (1280, 720))
    for _ in range(20):  # engine build, arenas, clocks
        classify(frame)
    latency: list[float] = []
    for _ in range(frames):
        tic = time.perf_counter()
        classify(frame)
        latency.append(1e3 * (time.perf_counter() - tic))
    p50, p95, p99 = np.percentile(latency, [50, 95, 99])
    return {'run': True, 'probabilities': probabilities,
            'frame_1280x720': {'fps': 1e3 / float(np.mean(latency)), 'ms_p50': float(p50),
                               'ms_p95': float(p95), 'ms_p99': float(p99), 'runs': frames}}


def compare(results: dict[str, dict], photos: list[Photo]) -> dict:
    """Agreement with the CPU per provider and source folder (samples or --data)."""
    reference = results['cpu']['probabilities']
    sources = np.array([source for source, _ in photos])
    report = {}
    for name, result in results.items():
        if not result['run']:
            report[name] = {'run': False, 'why': result['why']}
            continue
        probabilities = result['probabilities']
        same = probabilities.argmax(1) == reference.argmax(1)
        difference = np.abs(probabilities - reference).max(1)
        report[name] = {'run': True, 'frame_1280x720': result['frame_1280x720'], 'images': {
            source: {'count': int((sources == source).sum()),
                     'top1_agreement': float(same[sources == source].mean()),
                     'max_probability_difference': float(difference[sources == source].max())}
            for source in sorted(set(sources))}}
    return report


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--model', type=Path, default=share_path('model', 'waste_classifier.onnx'))
    parser.add_argument('--data', type=Path, action='append', default=[],
                        help='more images (class folders); repeatable')
    parser.add_argument('--frames', type=int, default=300, help='timed 1280x720 frames')
    parser.add_argument('--engine-cache', type=Path, default=Path('bench_output/trt_engines'))
    parser.add_argument('--json', type=Path)
    args = parser.parse_args(argv)
    photos = images([share_path('samples'), *args.data])
    results = {name: run_provider(args.model, chosen, photos, args.frames)
               for name, chosen in providers(args.engine_cache).items()}
    report = {'model': str(args.model), 'onnxruntime': onnxruntime.__version__,
              'providers': compare(results, photos)}
    for name, result in report['providers'].items():
        if not result['run']:
            print(f'{name:14} not run: {result["why"]}')
            continue
        frame = result['frame_1280x720']
        agreement = ', '.join(f'{source} {100 * item["top1_agreement"]:.2f}% '
                              f'(max diff {item["max_probability_difference"]:.4f}, '
                              f'{item["count"]} images)'
                              for source, item in result['images'].items())
        print(f'{name:14} {frame["fps"]:7.1f} FPS  p50 {frame["ms_p50"]:.2f} ms  '
              f'p99 {frame["ms_p99"]:.2f} ms  agreement with cpu: {agreement}')
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + '\n')
    return report


if __name__ == '__main__':
    main()
