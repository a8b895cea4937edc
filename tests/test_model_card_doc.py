# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""docs/model_card.md's generated tables say what model/model_card.json and metrics_val.json do."""

import copy

import pytest

from training.studies import model_card_doc


@pytest.fixture(scope='module')
def shipped():
    return (model_card_doc.PAGE.read_text(encoding='utf-8'),
            model_card_doc.read_json(model_card_doc.CARD),
            model_card_doc.read_json(model_card_doc.METRICS))


def test_the_page_matches_the_shipped_card_and_metrics(shipped):
    page, card, metrics = shipped
    assert model_card_doc.render(page, card, metrics) == page, \
        'docs/model_card.md is out of date: run python -m training.studies.model_card_doc'
    names = {match.group(2) for match in model_card_doc.BLOCK.finditer(page)}
    assert names == set(model_card_doc.BLOCKS)


def test_other_figures_change_the_page_and_a_missed_target_shows(shipped):
    page, card, metrics = shipped
    worse = copy.deepcopy(metrics)
    worse['per_source']['waste7']['top1'] = 0.5
    worse['per_source']['realwaste']['per_class']['glass']['recall'] = 0.25
    text = model_card_doc.render(page, card, worse)
    assert '| waste7/val top-1 | 50.00% | >= 95.00% | **no** |' in text
    assert '| realwaste/val lowest class recall | 0.250 (glass, 16 of 63) | >= 0.80 | **no** |' \
        in text
    slower = copy.deepcopy(card)
    slower['training']['duration_s'] = 50 * 60
    assert '| training wall time, idle 2-core machine | 50.0 min | <= 45 min | **no** |' in \
        model_card_doc.render(page, slower, metrics)


def test_check_says_when_the_page_is_stale_and_writing_fixes_it(shipped, tmp_path, capsys):
    page, card, metrics = shipped
    stale = tmp_path / 'model_card.md'
    stale.write_text(page.replace('| trash | 0.762 |', '| trash | 0.999 |'))
    args = ['--page', str(stale), '--card', str(model_card_doc.CARD),
            '--metrics', str(model_card_doc.METRICS)]
    assert model_card_doc.main(args + ['--check']) == 1
    assert 'out of date' in capsys.readouterr().err
    assert model_card_doc.main(args) == 0
    assert stale.read_text() == page


def test_an_unknown_block_is_an_error():
    page = '<!-- generated: nonsense -->\n<!-- end generated: nonsense -->\n'
    with pytest.raises(ValueError, match="'nonsense'"):
        model_card_doc.render(page, {}, {})


def test_the_empty_block_marks_a_missed_figure_and_a_model_without_the_class(shipped):
    page, card, metrics = shipped
    worse = copy.deepcopy(card)
    worse['empty_class']['held_out'][1]['empty_called_empty']['floors'] = 0.9
    worse['empty_class']['val_items']['waste7']['called_empty'] = 0.02
    text = model_card_doc.render(page, worse, metrics)
    assert '| 90.00% | 97.07% | **no** |' in text
    assert '| waste7/val (526 item photos) | 2.00% | 96.01% | 96.58% | **no** |' in text
    del worse['empty_class']
    assert 'This model has no `empty` class.' in model_card_doc.render(page, worse, metrics)
