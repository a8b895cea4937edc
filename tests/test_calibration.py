# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Expected calibration error by hand, and temperature scaling that finds an overconfidence."""

import numpy as np
import pytest

from training.recipe import calibration


def test_ece_matches_a_hand_computed_value():
    # Two bins used: 0.9-confident (3 right of 4) and 0.6-confident (1 right of 2).
    probabilities = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    labels = [0, 0, 0, 1, 0, 1]
    expected = 4 / 6 * abs(0.75 - 0.9) + 2 / 6 * abs(0.5 - 0.6)
    assert calibration.expected_calibration_error(probabilities, labels) == pytest.approx(expected)


def test_temperature_undoes_overconfidence_and_keeps_predictions():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 1.5, (4000, 5))
    labels = np.array([rng.choice(5, p=p) for p in calibration.softmax(true_logits)])
    # A model three times too sure of itself: the right temperature is about 3.
    logits = {'a': 3 * true_logits[:2000], 'b': 3 * true_logits[2000:]}
    split = {'a': labels[:2000], 'b': labels[2000:]}
    t = calibration.fit_temperature(logits, split)
    assert 2.5 < t < 3.5
    report = calibration.calibration_report(logits, split, t)
    for row in report['per_source'].values():
        assert row['ece_after'] < row['ece_before'] / 2
        assert row['nll_after'] < row['nll_before']
    np.testing.assert_array_equal(calibration.softmax(logits['a'], t).argmax(1),
                                  logits['a'].argmax(1))


def test_the_temperature_is_what_the_hand_written_search_found():
    # Golden-section search on log T (the code before scipy) found these; captured from it.
    rng = np.random.default_rng(7)

    def source(n: int, scale: float) -> tuple:
        labels = rng.integers(0, 5, n)
        logits = rng.normal(0, 1, (n, 5))
        logits[np.arange(n), labels] += 2.0
        return logits * scale, labels

    (a, a_labels), (b, b_labels) = source(300, 3.0), source(120, 0.5)
    t = calibration.fit_temperature({'a': a, 'b': b}, {'a': a_labels, 'b': b_labels})
    assert t == pytest.approx(0.6852797837452982, rel=1e-6)
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 1.5, (4000, 5))
    labels = np.array([rng.choice(5, p=p) for p in calibration.softmax(true_logits)])
    t = calibration.fit_temperature({'a': 3 * true_logits[:2000], 'b': 3 * true_logits[2000:]},
                                    {'a': labels[:2000], 'b': labels[2000:]})
    assert t == pytest.approx(2.906491297807244, rel=1e-6)
