# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""promotion: the install (all or nothing, killed mid-way too), the promote rule, the choice.

The model an install replaces is kept in previous/; roll_back and waste-rollback put it back.
The rule's guard judges each base source by a paired interval; choose keeps the cheaper of
candidates the station's val cannot tell apart.
"""

from dataclasses import replace
import json
import os
from pathlib import Path
import subprocess
import sys
import textwrap

import pytest
from tiny_model import write_model_dir

from waste_classifier_ros.cli import rollback
from waste_classifier_ros.core import model_card
from waste_classifier_ros.flywheel import promotion
from waste_classifier_ros.flywheel.promotion import Candidate

FILES = ('waste_classifier.onnx', 'labels.txt', 'model_card.json')


def two_models(tmp_path: Path) -> tuple[Path, Path]:
    """Write an installed model folder and a new one with another (8 MB) model file."""
    old = write_model_dir(tmp_path / 'installed').parent
    new = tmp_path / 'new'
    new.mkdir()
    # A 'model' of 8 MB of other bytes: the copy takes a while, and old and new differ.
    (new / FILES[0]).write_bytes(os.urandom(8 << 20))
    (new / FILES[1]).write_bytes((old / FILES[1]).read_bytes())
    card = model_card.read_card(old / FILES[2])
    model_card.write_card(new / FILES[2], {
        **card, 'onnx_sha256': model_card.sha256_file(new / FILES[0])})
    return old, new


def contents(folder: Path) -> dict:
    return {name: (folder / name).read_bytes() for name in FILES}


def install_killed_at(new: Path, target: Path, step: str) -> int:
    """Run install in a child that SIGKILLs itself at `step`; return its exit code."""
    code = textwrap.dedent(f'''
        import os, signal, sys
        from pathlib import Path
        from waste_classifier_ros.flywheel import promotion
        step = {step!r}
        real_write, real_replace = promotion.write_durably, os.replace
        written = []
        def write(temporary, source, exclusive=True):
            keeping = '.previous.' in str(temporary)
            if step == 'staging' and len(written) == 1 or \
                    step == 'keeping' and keeping and any('.previous.' in str(w) for w in written):
                # Half of the second file, then killed.
                Path(temporary).write_bytes(Path(source).read_bytes()[:100])
                os.kill(os.getpid(), signal.SIGKILL)
            real_write(temporary, source, exclusive)
            written.append(temporary)
        def replace(source, target):
            real_replace(source, target)
            if step == 'renaming' and Path(target).name == {FILES[0]!r} or \
                    step == 'swapping' and Path(target).name.startswith('.previous-retired'):
                os.kill(os.getpid(), signal.SIGKILL)
        promotion.write_durably = write
        os.replace = replace
        promotion.install([Path({str(new)!r}) / name for name in {list(FILES)!r}],
                          Path({str(target)!r}))
    ''')
    return subprocess.run([sys.executable, '-c', code], timeout=60).returncode


def test_install_puts_every_file_and_leaves_nothing_else(tmp_path):
    old, new = two_models(tmp_path)
    installed = promotion.install([new / name for name in FILES], old)
    assert installed == [old / name for name in FILES]
    assert contents(old) == contents(new)
    assert sorted(p.name for p in old.iterdir()) == sorted([*FILES, promotion.LOCK,
                                                            promotion.PREVIOUS])


def test_a_kill_while_staging_leaves_the_old_model_whole(tmp_path):
    old, new = two_models(tmp_path)
    before = contents(old)
    assert install_killed_at(new, old, 'staging') == -9
    assert contents(old) == before, 'a file of the installed model changed'
    assert list(old.glob('.*.install.tmp')), 'the child was not killed while staging'
    promotion.finish_interrupted_install(old)
    assert contents(old) == before and not list(old.glob('.*.tmp'))


def test_a_kill_while_renaming_is_completed_by_the_next_look(tmp_path):
    old, new = two_models(tmp_path)
    assert install_killed_at(new, old, 'renaming') == -9
    # Killed after the model's rename: each file is whole, old or new, and the journal says what
    # is left to do.
    assert (old / FILES[0]).read_bytes() == (new / FILES[0]).read_bytes()
    assert (old / promotion.JOURNAL).exists()
    assert promotion.finish_interrupted_install(old) == [old / name for name in FILES]
    assert contents(old) == contents(new)
    model_card.verify(old / FILES[0], model_card.read_card(old / FILES[2]),
                      model_card.read_labels(old / FILES[1]))
    assert not list(old.glob('.*.tmp')) and not (old / promotion.JOURNAL).exists()


def test_notify_says_when_no_node_is_running(tmp_path):
    model = write_model_dir(tmp_path / 'm')
    answer = promotion.notify_running_node(model, node='/nobody_here/waste_classifier',
                                           timeout=1.0)
    assert not answer.running and not answer.switched
    assert 'no classifier node /nobody_here/waste_classifier is running' in str(answer)


def test_an_install_keeps_what_it_replaced_and_roll_back_puts_it_back(tmp_path):
    old, new = two_models(tmp_path)
    before = contents(old)
    promotion.install([new / name for name in FILES], old)
    assert contents(old / promotion.PREVIOUS) == before
    assert promotion.roll_back(old / FILES[0]) == old / FILES[0]
    assert contents(old) == before
    assert contents(old / promotion.PREVIOUS) == contents(new)  # a second roll back returns
    promotion.roll_back(old / FILES[0])
    assert contents(old) == contents(new) and contents(old / promotion.PREVIOUS) == before
    assert not list(old.glob('.*.tmp'))


def test_a_kill_while_keeping_the_replaced_model_leaves_both_whole(tmp_path):
    old, new = two_models(tmp_path)
    before = contents(old)
    assert install_killed_at(new, old, 'keeping') == -9
    assert list(old.glob('.previous.*.install.tmp')), 'the child was not killed while keeping'
    assert contents(old) == before and not (old / promotion.PREVIOUS).exists()
    promotion.finish_interrupted_install(old)
    assert contents(old) == before and not list(old.glob('.*.tmp'))
    promotion.install([new / name for name in FILES], old)
    assert contents(old / promotion.PREVIOUS) == before


def test_a_kill_while_swapping_previous_leaves_the_model_whole(tmp_path):
    old, new = two_models(tmp_path)
    before = contents(old)
    promotion.install([old / name for name in FILES], old)  # the same model: previous/ exists
    assert install_killed_at(new, old, 'swapping') == -9
    assert contents(old) == before and not (old / promotion.PREVIOUS).exists()
    promotion.finish_interrupted_install(old)
    assert sorted(p.name for p in old.iterdir()) == sorted([*FILES, promotion.LOCK])


def test_waste_rollback_puts_the_replaced_model_back_or_says_there_is_none(tmp_path, capsys):
    old, new = two_models(tmp_path)
    before = contents(old)
    assert rollback.main([str(old / FILES[0]), '--node', '']) == 2
    assert 'nothing to roll back to' in capsys.readouterr().err
    promotion.install([new / name for name in FILES], old)
    assert rollback.main([str(old / FILES[0]), '--node', '']) == 0
    assert contents(old) == before
    assert f'rolled back: {old / FILES[0]}' in capsys.readouterr().out


# The promote rule, its guard and the choice among candidates, as retrain, adapt and the
# learning curve use them (training's tests check they do).

def outcomes(right: int, wrong: int) -> str:
    return '1' * right + '0' * wrong


def flip(before: str, lose: int = 0, gain: int = 0) -> str:
    """Return `before` with the first `lose` right photos wrong and the last `gain` wrong right."""
    after = list(before)
    for i in [i for i, c in enumerate(before) if c == '1'][:lose]:
        after[i] = '0'
    for i in [i for i, c in enumerate(before) if c == '0'][::-1][:gain]:
        after[i] = '1'
    return ''.join(after)


def scored(**right: str) -> dict:
    """compute_metrics' figures from per-class outcomes ('1' right), as the guard reads them."""
    photos = sum(len(r) for r in right.values())
    return {'top1': sum(r.count('1') for r in right.values()) / photos, 'right': right,
            'per_class': {c: {'recall': r.count('1') / len(r) if r else 0.0,
                              'support': len(r)} for c, r in right.items()}}


# waste7's val as the issue's runs had it: 526 photos, 501 right (95.2%), trash 16 of 21.
WASTE7 = {'glass': outcomes(90, 10), 'trash': outcomes(16, 5), 'other': outcomes(395, 10)}
STATION = {'glass': outcomes(10, 12), 'trash': outcomes(10, 12)}  # 44 photos, 45.5%


def waste7(**lose: int) -> dict:
    return scored(**{c: flip(WASTE7[c], lose.get(c, 0), lose.get(f'{c}_gained', 0))
                     for c in WASTE7})


def test_the_interval_is_bonett_and_price_and_strict_is_the_change_itself():
    change = promotion.Change(526, 501, 4, 10)  # the issue's -1.1 points, 6 of 526 photos
    low, high = change.interval(0.95)
    # (4 + 1) / 528 - (10 + 1) / 528 -+ 1.96 * sqrt((16 / 528 - (6 / 528) ** 2) / 528)
    assert (round(100 * low, 2), round(100 * high, 2)) == (-2.62, 0.35)
    assert change.interval(0.0) == (-6 / 526, -6 / 526)
    assert change.text(0.95) == '95.2% -> 94.1% (-1.1, 95% interval -2.6..+0.3 over 526 photos)'
    assert promotion.Change.between('1100', '1010') == promotion.Change(4, 2, 1, 1)
    with pytest.raises(ValueError, match='not the same ones'):
        promotion.Change.between('110', '1101')


def test_a_one_photo_drop_on_526_photos_keeps_the_guard_and_a_ten_point_drop_does_not():
    guard = promotion.Guard(0.01, 0.10)
    one = promotion.Paired.of(waste7(), waste7(other=1))
    assert guard.judge('waste7', one) == ('', (
        'waste7 top-1 95.2% -> 95.1% (-0.2, 95% interval -0.8..+0.5 over 526 photos): '
        'within the noise-aware guard (95%)'))
    ten = promotion.Paired.of(waste7(), waste7(other=53))
    assert guard.judge('waste7', ten)[0] == (
        'waste7 top-1 95.2% -> 85.2% (-10.1, 95% interval -12.7..-7.4 over 526 photos): '
        'beyond the 1-point limit')
    # The issue's epoch 5: 6 of 526 photos. Within the noise-aware guard, not the strict one.
    issue = promotion.Paired.of(waste7(), waste7(other=10, other_gained=4))
    assert guard.judge('waste7', issue)[0] == ''
    assert promotion.Guard(0.01, 0.10, 0.0).judge('waste7', issue)[0] == (
        'waste7 top-1 95.2% -> 94.1% (-1.1 over 526 photos): beyond the 1-point limit')


def test_a_class_is_limited_only_with_enough_val_photos_but_counts_in_its_source():
    guard = promotion.Guard(0.01, 0.10)
    assert guard.min_class_photos == 32 and promotion.Guard(confidence=0).min_class_photos == 1
    # The issue's last layer: trash 76% -> 52%, 5 of 21 photos. Not limited (21 < 32) ...
    trash = promotion.Paired.of(waste7(), waste7(trash=5))
    why, line = guard.judge('waste7', trash)
    assert why == '' and line.startswith('waste7 top-1 95.2% -> 94.3% (-1.0, 95% interval')
    # ... but its photos count in waste7's top-1: 3 more lost and the source is beyond.
    assert 'beyond the 1-point limit' in guard.judge(
        'waste7', promotion.Paired.of(waste7(), waste7(trash=5, other=12)))[0]
    assert promotion.Guard(0.01, 0.10, 0.0).judge('waste7', trash)[0] == (
        'waste7 trash recall 76.2% -> 52.4% (-23.8 over 21 photos): beyond the 10-point class '
        'limit')
    # A class of 100 photos is limited: glass 90% -> 70% while waste7's top-1 stays within.
    glass = promotion.Paired.of(waste7(), waste7(glass=20, other_gained=10))
    assert guard.judge('waste7', glass)[0] == (
        'waste7 glass recall 90.0% -> 70.0% (-20.0, 95% interval -27.8..-11.4 over 100 '
        'photos): beyond the 10-point class limit')
    assert promotion.Guard(0.01, None).judge('waste7', glass)[0] == ''


def test_the_promote_rule_states_every_base_source():
    start = {'station': scored(**STATION), 'waste7': waste7()}
    better = scored(glass=flip(STATION['glass'], gain=6), trash=STATION['trash'])
    guard = promotion.Guard()
    wins, reason = promotion.promote_decision(start, {'station': better, 'waste7': waste7(
        other=10, other_gained=4)}, ['waste7'], guard)
    assert wins and reason == (
        '+13.6 points on the station; waste7 top-1 95.2% -> 94.1% (-1.1, 95% interval '
        '-2.6..+0.3 over 526 photos): within the noise-aware guard (95%)')
    lost, reason = promotion.promote_decision(
        start, {'station': better, 'waste7': waste7(other=53)}, ['waste7'], guard)
    assert not lost and reason.startswith('waste7 top-1 95.2% -> 85.2%')
    same, reason = promotion.promote_decision(start, start, ['waste7'], guard)
    assert not same and reason == 'not better on the station (+0.0 points)'
    assert promotion.promote_decision({'waste7': waste7()}, {'waste7': waste7()}, ['waste7'],
                                      guard) == (False, 'no station val photos to judge on')
    # The station's own classes are not guarded, only the base sources'.
    assert promotion.guard_failure(start, {'station': better, 'waste7': waste7()}, [],
                                   promotion.Guard(confidence=0)) == ''


def test_the_guard_skips_a_class_a_base_source_has_no_photos_of_and_says_so():
    start = {'station': scored(**STATION, empty=outcomes(2, 10)),
             'waste7': scored(**WASTE7, empty='')}
    new = {'station': scored(**STATION, empty=outcomes(11, 1)),
           'waste7': scored(**waste7(other=1)['right'], empty='')}
    assert promotion.unjudged(start, ['waste7']) == {'waste7': ['empty']}
    wins, reason = promotion.promote_decision(start, new, ['waste7'], promotion.Guard())
    assert wins and 'waste7 top-1 95.2% -> 95.1%' in reason


def as_comparison(current: dict, new: dict) -> dict:
    """Return the rows retrain writes to comparison.json for these per-source results."""
    return {name: {'current': {'top1': current[name]['top1']}, 'new': {'top1': new[name]['top1']},
                   'paired': promotion.Paired.of(current[name], new[name]).counts()}
            for name in current}


def test_a_comparison_is_judged_as_retrain_judged_it():
    current = {'station': scored(**STATION), 'waste7': waste7()}
    better = scored(glass=flip(STATION['glass'], gain=6), trash=STATION['trash'])
    for guard in (promotion.Guard(), promotion.Guard(confidence=0)):
        for lose in ({'other': 10, 'other_gained': 4}, {'trash': 5}, {'glass': 20}):
            new = {'station': better, 'waste7': waste7(**lose)}
            verdict = promotion.promote_decision(current, new, ['waste7'], guard)
            assert promotion.judge_comparison(as_comparison(current, new), ['waste7'],
                                              guard) == verdict
    comparison = as_comparison(current, {'station': better, 'waste7': waste7(trash=5)})
    assert promotion.judge_comparison(comparison, ['waste7'], promotion.Guard())[0]
    assert not promotion.judge_comparison(comparison, ['waste7'], promotion.Guard(
        confidence=0))[0]
    del comparison['waste7']['paired']  # as an older retrain wrote it
    with pytest.raises(KeyError, match='paired'):
        promotion.judge_comparison(comparison, ['waste7'], promotion.Guard())


def test_choose_keeps_the_best_within_the_guard_that_learnt_else_the_incumbent():
    fit = Candidate(0.9, {'base': 0.80}, guard='base top-1 fell', log_likelihood=-1.0)
    half = Candidate(0.8, {'base': 0.95}, log_likelihood=-2.0, share=0.5)
    tied = Candidate(0.8, {'base': 0.99}, log_likelihood=-2.0, share=0.25)
    stale = Candidate(0.5, {'base': 0.99}, share=0.75)
    # Without per-photo outcomes nothing is within the noise of another: the best is kept.
    assert promotion.choose([fit, stale, half, tied], start_station=0.6) is half  # earlier tie
    assert promotion.choose([fit, stale], start_station=0.6) is None  # guard, nothing learnt
    assert promotion.choose([fit, half], guarded=False) is fit
    # An incumbent (an epoch kept within the guard) stays unless a higher key beats it.
    epoch = Candidate(0.8, {'base': 0.9}, log_likelihood=-1.5, epoch=3)
    assert promotion.choose([half, tied], 0.6, incumbent=epoch) is epoch
    assert promotion.choose([fit, stale], 0.6, incumbent=stale) is stale  # need not have learnt
    # Scopes rank by the base sources after the station; without station val, by order.
    assert promotion.choose([half, tied], key=Candidate.by_bases) is tied
    late = [Candidate(None, {}, epoch=e) for e in (1, 2)]
    assert promotion.choose(late) is late[1]
    assert promotion.choose([Candidate(None, {}, epoch=2, share=0.5), late[0]]) is not late[0]


def station(right: int, wrong: int, first_wrong: int = 0) -> str:
    """44 station val photos: `first_wrong` wrong, then `right` right, then the rest wrong."""
    return '0' * first_wrong + '1' * right + '0' * (wrong - first_wrong)


def test_choose_keeps_the_cheaper_one_where_the_station_val_cannot_tell_them_apart():
    # The issue's demo: blocks 2 photos better than the last layer on 44 photos: noise.
    head = Candidate(30 / 44, {'base': 0.95}, scope='head', station_right=station(30, 14))
    blocks = Candidate(32 / 44, {'base': 0.94}, scope='blocks', station_right=station(32, 12))
    assert promotion.choose([blocks, head], key=Candidate.by_bases) is head
    assert promotion.choose([blocks, head], key=Candidate.by_bases, confidence=0) is blocks
    # 13 photos better (and none worse) is beyond the noise: the better one is kept.
    much = Candidate(43 / 44, {'base': 0.94}, scope='blocks', station_right=station(43, 1))
    assert promotion.choose([much, head], key=Candidate.by_bases) is much
    # The kept one is never below the best by more than the noise: with the same top-1 but
    # other photos right, the two differ on 28 photos and still cannot be told apart.
    other = Candidate(30 / 44, {'base': 0.9}, scope='all', station_right=station(30, 14, 14))
    assert promotion.choose([other, blocks], key=Candidate.by_bases) is blocks
    # Mixes of one scope are equally changed: the best of them (the guard holds the base
    # sources); one that did not learn is never kept.
    fit = Candidate(32 / 44, {'base': 0.94}, station_right=station(32, 12))
    quarter = replace(fit, station_top1=31 / 44, share=0.25, station_right=station(31, 13))
    still = replace(fit, station_top1=20 / 44, share=0.1, station_right=station(20, 24))
    assert promotion.choose([fit, quarter, still], start_station=25 / 44) is fit
    assert promotion.choose([quarter], 25 / 44, incumbent=fit) is fit
    assert promotion.choose([quarter, still], 25 / 44) is quarter


def test_a_candidate_states_both_guards_and_its_row_keeps_them():
    start = {'station': scored(**STATION), 'waste7': waste7()}
    now = {'station': scored(glass=flip(STATION['glass'], gain=6), trash=STATION['trash']),
           'waste7': waste7(other=10, other_gained=4)}
    candidate = Candidate.scored(start, now, ['waste7'], promotion.Guard(), share=0.5, epoch=5)
    assert (candidate.guard, candidate.station_top1) == ('', 26 / 44)
    assert candidate.other_guard == ('waste7 top-1 95.2% -> 94.1% (-1.1 over 526 photos): '
                                     'beyond the 1-point limit')
    assert candidate.base_lines == ('waste7 top-1 95.2% -> 94.1% (-1.1, 95% interval -2.6..+0.3'
                                    ' over 526 photos): within the noise-aware guard (95%)',)
    assert candidate.station_right == now['station']['right']['glass'] + STATION['trash']
    row = candidate.row(True)
    assert row['kept'] and row['base'] == list(candidate.base_lines)
    assert Candidate.from_row(json.loads(json.dumps(row))) == replace(candidate,
                                                                      log_likelihood=0.0)
    assert candidate.label() == 'mix 0.5 of epoch 5'
    assert replace(candidate, scope='blocks', share=1.0).label() == 'blocks epoch 5'


def test_the_trade_off_says_what_each_guard_keeps():
    # The issue's 900-photo station: epoch 5 is 83.3% but 1.1 points lower on waste7 (within
    # the noise); the strict guard keeps the quarter mix, 78.1%.
    start = {'station': scored(a=outcomes(40, 60)), 'waste7': waste7()}

    def tried(right: int, share: float, epoch: int, **lose: int) -> Candidate:
        now = {'station': scored(a=outcomes(right, 100 - right)), 'waste7': waste7(**lose)}
        return Candidate.scored(start, now, ['waste7'], promotion.Guard(), share=share,
                                epoch=epoch, scope='blocks')

    epoch5 = tried(83, 1.0, 5, other=10, other_gained=4)
    quarter = tried(78, 0.25, 5, other=2)
    broken = tried(90, 1.0, 6, other=40)
    trade = promotion.trade_off([epoch5, quarter, broken], epoch5, promotion.Guard(), 0.4)
    assert trade['lines'] == [
        'noise-aware guard (95%) (in use): blocks epoch 5, station val 83.0%; waste7 top-1 '
        '95.2% -> 94.1% (-1.1, 95% interval -2.6..+0.3 over 526 photos): within the '
        'noise-aware guard (95%)',
        'strict guard: blocks mix 0.25 of epoch 5, station val 78.0% (-5.0 points on the '
        'station)']
    assert [(r['kept'], r['other_kept'], bool(r['guard']), bool(r['other_guard']))
            for r in trade['candidates']] == [(True, False, False, True),
                                              (False, True, False, False),
                                              (False, False, True, True)]
