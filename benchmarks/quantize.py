# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
An INT8 variant of the model for CPUs, and the evaluation that says whether it may be used.

    python -m benchmarks.quantize --model model/waste_classifier.onnx \
        --calibration ../shared/data/waste7/train --val ../shared/data/waste7/val \
        --out bench_output/int8

Static quantisation with ONNX Runtime: QDQ format, int8 per-channel weights, uint8 activations
whose ranges come from a class-stratified sample of training images passed through the shared
preprocessing (by default the 99.999th percentile of each activation's histogram: min-max
ranges let rare outliers coarsen every other value). The quantised model is written with the
labels beside it; with `--val` both models are scored by training.recipe.evaluate and the top-1
difference is printed and saved, so the variant is only recommended when it is within
`--max-drop` points of fp32.
"""

import argparse
import json
from pathlib import Path
import shutil
import sys
from typing import Sequence

import numpy as np
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from benchmarks import raw
from training.recipe import data
from training.recipe.evaluate import evaluate, load_classifier
from training.recipe.sources import list_mapped
from waste_classifier_ros.core.model_card import read_labels
from waste_classifier_ros.core.preprocessing import INPUT_SIZE, normalize_chw, resize_rgb

Sample = tuple[Path, int]  # an image file and its class index


def stratified(samples: Sequence[Sample], count: int) -> list[Sample]:
    """Pick about `count` samples, evenly spaced within each class, every class represented."""
    by_class: dict[int, list[Sample]] = {}
    for sample in samples:
        by_class.setdefault(sample[1], []).append(sample)
    per_class = max(1, count // max(1, len(by_class)))
    picked: list[Sample] = []
    for members in by_class.values():
        step = max(1, len(members) // per_class)
        picked += members[::step][:per_class]
    return picked


class Calibration(CalibrationDataReader):
    """Training images as the node would feed them, one batch-1 tensor at a time."""

    def __init__(self, folder: Path, classes: Sequence[str], count: int,
                 input_name: str) -> None:
        samples = stratified(list_mapped(folder.name, folder, None, classes)[0], count)
        images = data.load_images(samples, classes, lambda rgb: resize_rgb(rgb, INPUT_SIZE))
        self._feeds = iter([{input_name: normalize_chw(rgb)[np.newaxis]}
                            for rgb in images.images])
        self.count = len(images.images)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


CALIBRATION_METHODS = {'percentile': CalibrationMethod.Percentile,
                       'minmax': CalibrationMethod.MinMax,
                       'entropy': CalibrationMethod.Entropy}


def quantize(model: Path, labels: Path, calibration: Path, count: int, out_dir: Path,
             method: str = 'percentile') -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared = out_dir / 'prepared.onnx'
    quantized = out_dir / 'waste_classifier.onnx'
    # Shape inference and graph fusions first, so quantisation sees the graph ORT will run.
    quant_pre_process(str(model), str(prepared))
    input_name = raw.session(prepared, 1).get_inputs()[0].name
    reader = Calibration(calibration, read_labels(labels), count, input_name)
    print(f'calibrating on {reader.count} images of {calibration}', flush=True)
    quantize_static(str(prepared), str(quantized), reader, quant_format=QuantFormat.QDQ,
                    per_channel=True, weight_type=QuantType.QInt8,
                    activation_type=QuantType.QUInt8,
                    calibrate_method=CALIBRATION_METHODS[method])
    prepared.unlink()
    shutil.copyfile(labels, out_dir / 'labels.txt')
    return quantized


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--model', default='model/waste_classifier.onnx')
    parser.add_argument('--labels', help='default: labels.txt beside the model')
    parser.add_argument('--calibration', required=True, help='class-per-folder train images')
    parser.add_argument('--images', type=int, default=300, help='calibration images')
    parser.add_argument('--method', choices=sorted(CALIBRATION_METHODS), default='percentile',
                        help='how activation ranges are chosen from the calibration images')
    parser.add_argument('--val', help='class-per-folder images to compare fp32 and int8 on')
    parser.add_argument('--max-drop', type=float, default=1.0, help='top-1 points allowed')
    parser.add_argument('--num-threads', type=int, default=1,
                        help="for the speed comparison (1, the node's default)")
    parser.add_argument('--out', default='bench_output/int8')
    args = parser.parse_args(argv)
    model = Path(args.model)
    labels = Path(args.labels) if args.labels else model.with_name('labels.txt')
    out_dir = Path(args.out)
    quantized = quantize(model, labels, Path(args.calibration), args.images, out_dir,
                         args.method)
    models: dict[str, dict] = {'fp32': {'model': str(model)}, 'int8': {'model': str(quantized)}}
    for name, path in (('fp32', model), ('int8', quantized)):
        models[name]['inference'] = raw.inference(path, args.num_threads, seconds=5.0)
        if args.val:
            metrics = evaluate(load_classifier(path, labels), args.val)
            models[name].update({key: metrics[key] for key in ('num_images', 'top1', 'macro_f1')})
        print(f'{name}: {json.dumps(models[name])}', flush=True)
    report: dict[str, object] = dict(models)
    code = 0
    if args.val:
        drop = 100.0 * (models['fp32']['top1'] - models['int8']['top1'])
        acceptable = drop <= args.max_drop
        report.update(top1_drop_points=drop, acceptable=acceptable)
        print(f'top-1 drop {drop:.2f} points: '
              f'{"within" if acceptable else "beyond"} the {args.max_drop:g} allowed')
        code = 0 if acceptable else 1
    (out_dir / 'quantize_report.json').write_text(json.dumps(report, indent=2) + '\n',
                                                  encoding='utf-8')
    return code


if __name__ == '__main__':
    sys.exit(main())
