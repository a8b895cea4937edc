# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Classification metrics from predicted probabilities, the confusion matrix and mistakes plots.

Rows of the confusion matrix are true classes, columns predicted classes. A class with no
support (absent from an evaluation folder) gets recall 0 but is left out of the macro averages,
so a user's folder with only a few classes is scored on the classes it has.
"""

from pathlib import Path
from typing import Sequence, Union

import numpy as np
from numpy.typing import ArrayLike


def confusion_matrix(labels: ArrayLike, predictions: ArrayLike, num_classes: int) -> np.ndarray:
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)),
                     where=denominator > 0)


def compute_metrics(probabilities: ArrayLike, labels: ArrayLike, classes: Sequence[str]) -> dict:
    """Top-1, top-5, per-class precision/recall/F1, macro-F1, the confusion matrix, `right`."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    num_classes = len(classes)
    if len(labels) == 0:
        raise ValueError('no images to evaluate')
    order = np.argsort(-probabilities, axis=1, kind='stable')
    matrix = confusion_matrix(labels, order[:, 0], num_classes)
    true_pos = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    precision = _safe_ratio(true_pos, predicted)
    recall = _safe_ratio(true_pos, support)
    f1 = _safe_ratio(2 * precision * recall, precision + recall)
    present = support > 0
    k = min(5, num_classes)
    right = (order[:, 0] == labels).astype(np.int64)
    return {
        'num_images': int(len(labels)),
        'top1': float(right.mean()),
        'top5': float(np.mean((order[:, :k] == labels[:, None]).any(axis=1))),
        'macro_f1': float(f1[present].mean()),
        'macro_precision': float(precision[present].mean()),
        'macro_recall': float(recall[present].mean()),
        'per_class': {
            name: {'precision': float(precision[i]), 'recall': float(recall[i]),
                   'f1': float(f1[i]), 'support': int(support[i])}
            for i, name in enumerate(classes)
        },
        'classes': list(classes),
        'confusion_matrix': matrix.tolist(),
        # Per class, each of its photos in the order given: '1' where top-1 is right. Two
        # models' strings pair their photos (the promote guard's paired interval).
        'right': {name: ''.join(map(str, right[labels == i]))
                  for i, name in enumerate(classes)},
    }


def format_metrics(metrics: dict) -> str:
    lines = [f'images {metrics["num_images"]}  top-1 {metrics["top1"]:.4f}  '
             f'top-5 {metrics["top5"]:.4f}  macro-F1 {metrics["macro_f1"]:.4f}',
             f'{"class":<12}{"precision":>10}{"recall":>10}{"f1":>10}{"support":>9}']
    for name, row in metrics['per_class'].items():
        lines.append(f'{name:<12}{row["precision"]:>10.4f}{row["recall"]:>10.4f}'
                     f'{row["f1"]:>10.4f}{row["support"]:>9d}')
    return '\n'.join(lines)


def plot_confusion_matrix(metrics: dict, path: Union[str, Path], title: str = '') -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    matrix = np.asarray(metrics['confusion_matrix'])
    classes = metrics['classes']
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    image = ax.imshow(normalised, cmap='Blues', vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label='fraction of true class')
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha='right')
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    ax.set_title(title or f'top-1 {metrics["top1"]:.3f}, macro-F1 {metrics["macro_f1"]:.3f}')
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            ax.text(col, row, str(count), ha='center', va='center', fontsize=8,
                    color='white' if normalised[row, col] > 0.5 else 'black')
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_mistakes(mistakes: list, images: list, path: Union[str, Path], title: str,
                  columns: int = 6) -> None:
    """Tile misclassified photos, each captioned true -> predicted (score) and its file name.

    ``mistakes`` are training.recipe.evaluate's entries, ``images`` their RGB pictures (None for a
    file that can no longer be read: an empty tile). With no mistakes the picture says so.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(mistakes) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.3 * rows + 0.5), dpi=72,
                             squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for ax, mistake, rgb in zip(axes.flat, mistakes, images):
        if rgb is not None:
            ax.imshow(rgb)
        ax.set_title(f'{mistake["true"]} -> {mistake["predicted"]} {mistake["score"]:.2f}\n'
                     f'{Path(mistake["file"]).name[:28]}', fontsize=8)
    if not mistakes:
        axes.flat[0].text(0, 0.5, 'no mistakes', fontsize=12)
    fig.suptitle(f'{title}\ntrue -> predicted (probability); the most confident first',
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, pil_kwargs={'quality': 85})  # a sheet of photos: JPEG is 1/6 of PNG
    plt.close(fig)
