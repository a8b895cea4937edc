# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Probabilities that mean what they say: expected calibration error and temperature scaling.

The node's bin threshold and its "unknown" decision compare probabilities with a number, so a
model that says 0.9 should be right about 9 times in 10. Temperature scaling (Guo et al., 2017)
divides the logits by one scalar T fitted on validation data; it changes no prediction, only
confidence. T is fitted to the mean of the per-source negative log-likelihoods, so a large source
cannot dictate the confidence of a small one, and the export folds 1/T into the classifier
layer, so the deployed softmax is already calibrated.
"""

from pathlib import Path
from typing import Any, Dict, Mapping, Union

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar

BINS = 15


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: ArrayLike, temperature: float) -> float:
    probabilities = softmax(logits, temperature)
    picked = probabilities[np.arange(len(probabilities)), np.asarray(labels)]
    return float(-np.log(np.maximum(picked, 1e-12)).mean())


def expected_calibration_error(probabilities: np.ndarray, labels: ArrayLike,
                               bins: int = BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def fit_temperature(logits: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray]) -> float:
    """Return the T minimising the mean over sources of each source's NLL, for T in [0.05, 20].

    A bounded scalar minimisation (scipy's Brent method) over log T.
    """
    def objective(log_t: float) -> float:
        t = float(np.exp(log_t))
        return float(np.mean([negative_log_likelihood(logits[name], labels[name], t)
                              for name in logits]))

    found = minimize_scalar(objective, bounds=(np.log(0.05), np.log(20.0)), method='bounded',
                            options={'xatol': 1e-8})
    return float(np.exp(found.x))


def calibration_report(logits: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray],
                       temperature: float) -> dict:
    """ECE and NLL of every source before (T=1) and after scaling by ``temperature``."""
    report: Dict[str, Any] = {'temperature': temperature, 'bins': BINS, 'per_source': {}}
    for name in logits:
        before, after = softmax(logits[name]), softmax(logits[name], temperature)
        report['per_source'][name] = {
            'ece_before': expected_calibration_error(before, labels[name]),
            'ece_after': expected_calibration_error(after, labels[name]),
            'nll_before': negative_log_likelihood(logits[name], labels[name], 1.0),
            'nll_after': negative_log_likelihood(logits[name], labels[name], temperature),
        }
    return report


def plot_reliability(logits: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray],
                     temperature: float, path: Union[str, Path], bins: int = BINS) -> None:
    """Reliability diagrams, one panel per source: accuracy per confidence bin, before/after."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(logits), figsize=(4.2 * len(logits), 4), dpi=110,
                             squeeze=False)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    for ax, name in zip(axes[0], logits):
        ax.plot([0, 1], [0, 1], color='grey', linestyle=':', label='perfectly calibrated')
        for t, style in ((1.0, 'o-'), (temperature, 's-')):
            probabilities = softmax(logits[name], t)
            confidence = probabilities.max(axis=1)
            correct = probabilities.argmax(axis=1) == np.asarray(labels[name])
            which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
            filled = [b for b in range(bins) if (which == b).any()]
            accuracy = [correct[which == b].mean() for b in filled]
            ece = expected_calibration_error(probabilities, labels[name], bins)
            ax.plot(centres[filled], accuracy, style, markersize=4,
                    label=f'T = {t:.2f}: ECE {ece:.3f}')
        ax.set_title(name)
        ax.set_xlabel('confidence (top-1 probability)')
        ax.set_ylabel('accuracy')
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc='upper left', fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
