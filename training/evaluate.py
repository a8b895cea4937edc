# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
Evaluate a training checkpoint or an exported ONNX model on any class-per-folder directory.

    python -m training.evaluate --model model/waste_classifier.onnx \
        --data ../shared/data/waste7/val \
        --json model/metrics_val.json --png model/confusion_matrix.png

``--data`` is a folder of ``<class>/*`` image folders (any subset of the model's classes), so
anyone can score the shipped model on their own photos. Every image goes through the shared
deployment preprocessing; an ONNX model runs in ONNX Runtime exactly as the node runs it.
Prints top-1, top-5, per-class precision/recall/F1, macro-F1 and throughput, and writes them as
JSON plus a confusion matrix PNG.
"""

import argparse
import json
from pathlib import Path
import sys
import time

import numpy as np

from training import data
from training.metrics import compute_metrics, format_metrics, plot_confusion_matrix
from waste_classifier_ros import model_card
from waste_classifier_ros.preprocessing import INPUT_SIZE, normalize_chw, resize_rgb


class OnnxClassifier:
    """An exported model in ONNX Runtime; classes from the labels.txt beside it."""

    def __init__(self, path, labels=None):
        import onnxruntime

        path = Path(path)
        self.classes = model_card.read_labels(labels or path.with_name('labels.txt'))
        self.session = onnxruntime.InferenceSession(str(path),
                                                    providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name
        self.input_size = self.session.get_inputs()[0].shape[-1]
        if not isinstance(self.input_size, int):
            self.input_size = INPUT_SIZE

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class CheckpointClassifier:
    """A training checkpoint in PyTorch; the logits are turned into probabilities here."""

    def __init__(self, path):
        import torch

        from training.train import load_checkpoint, model_from_checkpoint

        self.torch = torch
        checkpoint = load_checkpoint(path)
        self.classes = checkpoint['classes']
        self.input_size = checkpoint['input_size']
        self.model = model_from_checkpoint(checkpoint).to(memory_format=torch.channels_last)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            images = self.torch.from_numpy(batch).contiguous(
                memory_format=self.torch.channels_last)
            return self.model(images).softmax(1).numpy()


def load_classifier(path, labels=None):
    if Path(path).suffix == '.onnx':
        return OnnxClassifier(path, labels)
    return CheckpointClassifier(path)


def evaluate(classifier, data_dir, batch_size: int = 32) -> dict:
    """Metrics of ``classifier`` on ``data_dir/<class>/*``, with throughput and skipped files."""
    start = time.perf_counter()
    samples = data.list_samples(data_dir, classifier.classes)
    image_set = data.load_images(samples, classifier.classes,
                                 lambda rgb: resize_rgb(rgb, classifier.input_size))
    if not image_set.images:
        raise ValueError(f'{data_dir}: no readable images')
    model_seconds = 0.0
    probabilities = []
    for first in range(0, len(image_set.images), batch_size):
        batch = np.stack([normalize_chw(rgb)
                          for rgb in image_set.images[first:first + batch_size]])
        tic = time.perf_counter()
        probabilities.append(classifier(batch))
        model_seconds += time.perf_counter() - tic
    total_seconds = time.perf_counter() - start
    metrics = compute_metrics(np.concatenate(probabilities), image_set.labels,
                              classifier.classes)
    metrics['skipped_unreadable'] = len(image_set.skipped)
    metrics['images_per_s'] = len(image_set.images) / total_seconds
    metrics['model_images_per_s'] = len(image_set.images) / model_seconds
    return metrics


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', required=True, help='a .onnx file or a training .ckpt')
    parser.add_argument('--data', required=True, help='folder of <class>/* image folders')
    parser.add_argument('--labels', help='labels.txt of an ONNX model (default: beside it)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--json', help='metrics JSON (default: outputs/eval/metrics_<data>.json)')
    parser.add_argument('--png', help='confusion matrix PNG (default: beside the JSON)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    data_dir = Path(args.data)
    json_path = Path(args.json or f'outputs/eval/metrics_{data_dir.resolve().name}.json')
    png_path = Path(args.png or json_path.with_name(f'confusion_matrix_{data_dir.resolve().name}'
                                                    '.png'))
    classifier = load_classifier(args.model, args.labels)
    metrics = evaluate(classifier, data_dir, args.batch_size)
    metrics = {'model': str(args.model), 'data': str(data_dir), **metrics}

    print(format_metrics(metrics))
    if metrics['skipped_unreadable']:
        print(f'skipped {metrics["skipped_unreadable"]} unreadable image(s)')
    print(f'throughput: {metrics["images_per_s"]:.1f} images/s end-to-end (decode, '
          f'preprocess, infer); {metrics["model_images_per_s"]:.1f} images/s model only')
    json_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(metrics, indent=2) + '\n', encoding='utf-8')
    plot_confusion_matrix(metrics, png_path, title=f'{Path(args.model).name} on '
                          f'{data_dir.resolve().name}: top-1 {metrics["top1"]:.3f}, '
                          f'macro-F1 {metrics["macro_f1"]:.3f}')
    print(f'wrote {json_path} and {png_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
