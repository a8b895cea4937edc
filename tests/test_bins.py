# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The class -> bin map and the smoothed, debounced bin decision."""

import numpy as np
import pytest

from waste_classifier_ros.core.bins import EMPTY, EMPTY_BIN, BinDecider, BinsError, load_bins
from waste_classifier_ros.core.paths import share_path

CLASSES = ['cardboard', 'glass', 'metal', 'organic', 'paper', 'plastic', 'trash']
SHIPPED = share_path('config', 'bins.yaml')


def test_shipped_map_puts_every_class_in_its_bin():
    bins = load_bins(SHIPPED, CLASSES)
    assert [bins.bin_of(CLASSES.index(name)).name for name in CLASSES] == [
        'paper_recycling', 'glass', 'mixed_recycling', 'compost', 'paper_recycling',
        'mixed_recycling', 'landfill']
    assert all(len(b.colour) == 3 for b in bins.bins)
    probabilities = np.array([0.1, 0.05, 0.2, 0.05, 0.3, 0.25, 0.05])
    sums = dict(zip((b.name for b in bins.bins), bins.probabilities(probabilities)))
    assert sums['paper_recycling'] == pytest.approx(0.4)
    assert sums['mixed_recycling'] == pytest.approx(0.45)
    assert sum(sums.values()) == pytest.approx(1.0)


@pytest.mark.parametrize('text, message', [
    ('bins:\n  a: {colour: "#000000", classes: [cardboard, glass, metal, organic, paper, '
     'plastic]}\n', 'class "trash" is in no bin'),
    ('bins:\n  a: {colour: "#000000", classes: [cardboard, glass, metal, organic, paper, '
     'plastic, trash, styrofoam]}\n', 'names class "styrofoam"'),
    ('bins:\n  a: {colour: "#000000", classes: [cardboard, glass, metal, organic, paper]}\n'
     '  b: {colour: "#000000", classes: [plastic, trash, paper]}\n', 'repeats class "paper"'),
    ('bins:\n  a: {colour: red, classes: [cardboard]}\n', 'colour must be an RGB hex'),
    ('bins:\n  unknown: {colour: "#000000", classes: [cardboard]}\n', 'reserved'),
    ('bins:\n  empty: {colour: "#000000", classes: [cardboard]}\n', 'reserved'),
    ('bins:\n  a: {colour: "#000000", classes: [cardboard, glass, metal, organic, paper, '
     'plastic, trash, empty]}\n', 'class "empty": it means no item and goes in no bin'),
    ('bins: [\n', 'not valid YAML'),
    ('bins:\n\tglass: {}\n', 'not valid YAML'),
    ('something_else: 1\n', 'expected a "bins:" mapping'),
])
def test_bad_bins_files_name_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / 'bins.yaml'
    path.write_text(text)
    with pytest.raises(BinsError, match=message) as error:
        load_bins(path, CLASSES)
    assert str(path) in str(error.value) and '\n' not in str(error.value)


def test_the_empty_class_goes_in_no_bin_and_a_model_without_it_still_loads():
    labels = CLASSES[:3] + [EMPTY] + CLASSES[3:]  # wherever the model has it
    bins = load_bins(SHIPPED, labels)
    assert bins.empty_index == 3 and bins.bin_of(3) is EMPTY_BIN
    assert bins.bin_of(labels.index('trash')).name == 'landfill'
    probabilities = np.array([0.1, 0.0, 0.1, 0.6, 0.0, 0.1, 0.1, 0.0])
    assert bins.empty_probability(probabilities) == pytest.approx(0.6)
    sums = bins.probabilities(probabilities)
    assert len(sums) == len(bins.bins) and sums.sum() == pytest.approx(0.4)
    # Given that an item is there, the bins share what empty leaves.
    assert bins.item_probabilities(probabilities) == pytest.approx(sums / 0.4)
    without = load_bins(SHIPPED, CLASSES)
    assert without.empty_probability(np.full(7, 1 / 7)) is None
    assert without.item_probabilities(np.full(7, 1 / 7)) == pytest.approx(
        without.probabilities(np.full(7, 1 / 7)))


def test_missing_bins_file_is_reported(tmp_path):
    with pytest.raises(BinsError, match='cannot read bins file'):
        load_bins(tmp_path / 'nope.yaml', CLASSES)


A, B = np.array([0.9, 0.1]), np.array([0.1, 0.9])
UNSURE = np.array([0.5, 0.5])


def feed(decider, frames):
    return [decider.update(frame) for frame in frames]


def test_decision_needs_frames_to_confirm_in_a_row():
    decider = BinDecider(window=1, threshold=0.6, frames_to_confirm=3)
    decisions = feed(decider, [A, A, B, A, A, A, A])
    assert [d is not None for d in decisions] == [False] * 5 + [True, False]
    assert decisions[5].index == 0 and decider.current.index == 0


def test_decision_changes_only_when_the_new_bin_is_stable():
    decider = BinDecider(window=1, threshold=0.6, frames_to_confirm=2)
    feed(decider, [A, A])
    decisions = feed(decider, [B, A, B, B, B])
    assert [d.index if d else '-' for d in decisions] == ['-', '-', '-', 1, '-']


def test_low_confidence_becomes_unknown():
    decider = BinDecider(window=1, threshold=0.6, frames_to_confirm=2)
    feed(decider, [A, A])
    decision = feed(decider, [UNSURE, UNSURE])[-1]
    assert decision is not None and decision.index is None


def test_smoothing_window_averages_out_a_single_odd_frame():
    decider = BinDecider(window=4, threshold=0.5, frames_to_confirm=1)
    decisions = feed(decider, [A, A, A, B, A])
    assert decisions[0].index == 0 and decisions[1:] == [None] * 4
    np.testing.assert_allclose(decider.current.scores, A)


def test_reset_starts_a_new_item_from_nothing():
    decider = BinDecider(window=3, threshold=0.5, frames_to_confirm=2)
    assert feed(decider, [A, A])[-1].index == 0
    decider.reset()
    assert decider.current is None
    assert feed(decider, [A, A])[-1].index == 0  # the same bin again: a new item's decision


def test_reconfigure_keeps_history_and_applies_new_limits():
    decider = BinDecider(window=3, threshold=0.95, frames_to_confirm=1)
    assert feed(decider, [A, A])[0].index is None
    decider.configure(window=2, threshold=0.5, frames_to_confirm=1)
    assert decider.update(A).index == 0
