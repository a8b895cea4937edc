# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
Evaluate a training checkpoint or an exported ONNX model on several sources, each on its own.

    python -m training.recipe.evaluate --model model/waste_classifier.onnx --dataset field \
        --json model/metrics_val.json --png-dir model/
    python -m training.recipe.evaluate --model model/waste_classifier.onnx --data my_photos/
    python -m training.recipe.evaluate --model model/waste_classifier.onnx \
        --data realwaste=../shared/data/realwaste/val \
        --class-map realwaste=training/conf/source/realwaste.yaml

``--dataset NAME`` takes the val split of every source of a training dataset config
(training/conf/dataset/NAME.yaml) with its class map. ``--data [NAME=]DIR`` (repeatable) is a
folder of ``<class>/*`` image folders (any subset of the model's classes), so anyone can score
the shipped model on their own photos; ``--class-map NAME=FILE`` maps its folder names (a YAML
mapping, or a source config with a ``class_map`` key). Every image goes through the shared
deployment preprocessing; an ONNX model runs in ONNX Runtime exactly as the node runs it.
Prints top-1, top-5, per-class precision/recall/F1, macro-F1, expected calibration error and
throughput per source and for all sources combined, and writes them as JSON (with every
misclassified file per source) plus, per source, a confusion matrix PNG and a JPEG of the most
confident mistakes, to look at what the numbers hide.
"""

import argparse
import json
from pathlib import Path
import sys
import time
from typing import Mapping, NamedTuple, Optional, Protocol, Sequence, Tuple, Union

import numpy as np

from training.recipe import data, sources
from training.recipe.calibration import expected_calibration_error
from training.recipe.metrics import (
    compute_metrics,
    format_metrics,
    plot_confusion_matrix,
    plot_mistakes,
)
from training.recipe.sources import read_class_map
from waste_classifier_ros.core import model_card
from waste_classifier_ros.core.preprocessing import normalize_chw, resize_rgb

MISTAKES_SHOWN = 24  # per source in the picture; the JSON lists every mistake
ClassMap = Optional[Mapping[str, Optional[str]]]  # folder name -> class (None: dropped)
# A source to evaluate: its folder and how its folder names map to the model's classes.
Folders = Mapping[str, Tuple[Path, ClassMap]]


class Classifier(Protocol):
    """What evaluation needs of a model: its classes, its input side, batch -> probabilities."""

    @property
    def classes(self) -> Sequence[str]: ...

    @property
    def input_size(self) -> int: ...

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


class OnnxClassifier:
    """An exported model in ONNX Runtime; classes from the labels.txt beside it."""

    def __init__(self, path: Union[str, Path], labels: Union[str, Path, None] = None) -> None:
        # The node's session (its options and load errors), imported only for an ONNX model.
        from waste_classifier_ros.backends.onnx_runtime import input_size, open_session

        path = Path(path)
        self.classes = model_card.read_labels(labels or path.with_name('labels.txt'))
        self.session = open_session(path)
        self.input_name = self.session.get_inputs()[0].name
        self.input_size = input_size(self.session)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class CheckpointClassifier:
    """A training checkpoint in PyTorch; the logits are turned into probabilities here."""

    def __init__(self, path: Union[str, Path]) -> None:
        import torch

        from training.recipe.checkpoints import load_checkpoint, model_from_checkpoint, temperature

        self.torch = torch
        checkpoint = load_checkpoint(path)
        self.classes = checkpoint['classes']
        self.input_size = checkpoint['input_size']
        self.model = model_from_checkpoint(checkpoint).to(memory_format=torch.channels_last)
        # The exported graph divides by the same temperature (training.recipe.export).
        self.temperature = temperature(checkpoint)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            images = self.torch.from_numpy(batch).contiguous(
                memory_format=self.torch.channels_last)
            return (self.model(images) / self.temperature).softmax(1).numpy()


def load_classifier(path: Union[str, Path],
                    labels: Union[str, Path, None] = None) -> Classifier:
    if Path(path).suffix == '.onnx':
        return OnnxClassifier(path, labels)
    return CheckpointClassifier(path)


class Predictions(NamedTuple):
    """A model's output on a folder: one row per readable image, in file order."""

    probabilities: np.ndarray
    labels: np.ndarray
    paths: list[str]
    stats: dict         # skipped files and throughput


def predict_folder(classifier: Classifier, data_dir: Union[str, Path], batch_size: int = 32,
                   class_map: ClassMap = None, name: Optional[str] = None) -> Predictions:
    """Probabilities and labels on ``data_dir/<folder>/*``, and what it cost.

    Without ``class_map`` folder names must be the model's classes; with one, folders are mapped
    (or dropped with None) as in training.recipe.sources.
    """
    start = time.perf_counter()
    name = name or Path(data_dir).name
    samples, _ = sources.list_mapped(name, Path(data_dir), class_map, classifier.classes)
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
    count = len(image_set.images)
    stats = {'skipped_unreadable': len(image_set.skipped),
             'images_per_s': count / (time.perf_counter() - start),
             'model_images_per_s': count / model_seconds}
    return Predictions(np.concatenate(probabilities), np.asarray(image_set.labels),
                       image_set.paths, stats)


def scored(probabilities: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> dict:
    """compute_metrics plus the expected calibration error."""
    metrics = compute_metrics(probabilities, labels, classes)
    metrics['ece'] = expected_calibration_error(probabilities, labels)
    return metrics


def mistakes(predictions: Predictions, classes: Sequence[str]) -> list[dict]:
    """Every wrongly classified file, the most confident mistake first."""
    probabilities, labels = predictions.probabilities, predictions.labels
    predicted = np.argsort(-probabilities, axis=1, kind='stable')[:, 0]  # as compute_metrics
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind='stable')]
    return [{'file': predictions.paths[i], 'true': classes[labels[i]],
             'predicted': classes[predicted[i]],
             'score': round(float(probabilities[i, predicted[i]]), 4),
             'true_score': round(float(probabilities[i, labels[i]]), 4)} for i in wrong]


def evaluate(classifier: Classifier, data_dir: Union[str, Path], batch_size: int = 32,
             class_map: ClassMap = None) -> dict:
    """Metrics of ``classifier`` on one folder, with throughput and skipped files."""
    predictions = predict_folder(classifier, data_dir, batch_size, class_map)
    return scored(predictions.probabilities, predictions.labels,
                  classifier.classes) | predictions.stats


def evaluate_sources(classifier: Classifier, folders: Folders, batch_size: int = 32) -> dict:
    """Evaluate every ``name -> (folder, class_map)`` on its own, then all of them together."""
    per_source, all_probabilities, all_labels = {}, [], []
    for name, (folder, class_map) in folders.items():
        predictions = predict_folder(classifier, folder, batch_size, class_map, name)
        per_source[name] = (scored(predictions.probabilities, predictions.labels,
                                   classifier.classes) | predictions.stats
                            | {'mistakes': mistakes(predictions, classifier.classes)})
        all_probabilities.append(predictions.probabilities)
        all_labels.append(predictions.labels)
    combined = scored(np.concatenate(all_probabilities), np.concatenate(all_labels),
                      classifier.classes)
    return {'per_source': per_source, 'combined': combined,
            'folders': {name: str(folder) for name, (folder, _) in folders.items()}}


def folders_to_evaluate(args: argparse.Namespace) -> Folders:
    """Collect name -> (folder, class_map) from --dataset and --data/--class-map."""
    folders: dict[str, Tuple[Path, ClassMap]] = {}
    if args.dataset:
        from hydra import compose, initialize_config_dir

        conf_dir = str(Path(__file__).parents[1] / 'conf')
        with initialize_config_dir(config_dir=conf_dir, version_base='1.3'):
            cfg = compose('train', overrides=[f'dataset={args.dataset}'])
        for source in sources.sources_from_config(cfg.sources):
            folders[source.name] = (source.root / args.split, source.class_map)
    maps = {}
    for item in args.class_map:
        name, sep, path = item.partition('=')
        if not sep:
            raise ValueError(f'--class-map {item!r}: expected NAME=FILE')
        maps[name] = read_class_map(path)
    for item in args.data:
        name, folder, class_map = sources.parse_named_folder(item, '--data', name_optional=True)
        if name in folders:
            raise ValueError(f'--data {item!r}: a source named {name!r} is already evaluated')
        folders[name] = (folder, maps.pop(name, class_map))
    if maps:
        raise ValueError(f'--class-map names no --data source: {sorted(maps)}')
    if not folders:
        raise ValueError('nothing to evaluate: give --dataset NAME or --data [NAME=]DIR')
    return folders


def format_report(report: dict) -> str:
    lines = []
    for name, metrics in list(report['per_source'].items()) + [('combined',
                                                                 report['combined'])]:
        lines.append(f'== {name} ({report["folders"].get(name, "all sources")}): ECE '
                     f'{metrics["ece"]:.4f}')
        lines.append(format_metrics(metrics))
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', required=True, help='a .onnx file or a training .ckpt')
    parser.add_argument('--dataset', help='evaluate every source of training/conf/dataset/NAME')
    parser.add_argument('--split', default='val', help='split of --dataset sources (val)')
    parser.add_argument('--data', action='append', default=[], metavar='[NAME=]DIR[:MAP]',
                        help='folder of <class>/* image folders, with its YAML class map '
                        '(repeatable)')
    parser.add_argument('--class-map', action='append', default=[], metavar='NAME=FILE',
                        help='YAML class map for the --data source NAME')
    parser.add_argument('--labels', help='labels.txt of an ONNX model (default: beside it)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--json', help='metrics JSON (default: outputs/eval/metrics.json)')
    parser.add_argument('--png-dir', help='confusion matrix and mistakes pictures, per source '
                        '(default: beside the JSON)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    json_path = Path(args.json or 'outputs/eval/metrics.json')
    png_dir = Path(args.png_dir) if args.png_dir else json_path.parent
    try:
        folders = folders_to_evaluate(args)
        classifier = load_classifier(args.model, args.labels)
        report = evaluate_sources(classifier, folders, args.batch_size)
    except ValueError as error:  # bad folders, maps or model files: one line, no traceback
        raise SystemExit(f'error: {error}') from None
    report = {'model': str(args.model), **report}

    print(format_report(report))
    for name, metrics in report['per_source'].items():
        if metrics['skipped_unreadable']:
            print(f'{name}: skipped {metrics["skipped_unreadable"]} unreadable image(s)')
    throughput = np.mean([m['images_per_s'] for m in report['per_source'].values()])
    model_only = np.mean([m['model_images_per_s'] for m in report['per_source'].values()])
    print(f'throughput: {throughput:.1f} images/s end-to-end (decode, preprocess, infer); '
          f'{model_only:.1f} images/s model only')
    json_path.parent.mkdir(parents=True, exist_ok=True)
    png_dir.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + '\n', encoding='utf-8')
    for name, metrics in report['per_source'].items():
        png = png_dir / f'confusion_matrix_{name}.png'
        plot_confusion_matrix(metrics, png, title=f'{Path(args.model).name} on {name}: top-1 '
                              f'{metrics["top1"]:.3f}, macro-F1 {metrics["macro_f1"]:.3f}')
        print(f'wrote {png}')
        png = png_dir / f'mistakes_{name}.jpg'
        shown = metrics['mistakes'][:MISTAKES_SHOWN]
        plot_mistakes(shown, [data.read_rgb(m['file']) for m in shown], png,
                      title=f'{Path(args.model).name} on {name}: {len(metrics["mistakes"])} of '
                            f'{metrics["num_images"]} wrong, the {len(shown)} most confident')
        print(f'wrote {png}')
    print(f'wrote {json_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
