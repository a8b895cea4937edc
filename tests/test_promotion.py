# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""promotion.install: all or nothing, also when the installing process is killed mid-way.

The model an install replaces is kept in previous/; roll_back and waste-rollback put it back.
"""

import os
from pathlib import Path
import subprocess
import sys
import textwrap

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


# The promote rule and the choice among candidates, as retrain, adapt and the learning curve use
# them (training's tests check they do).

def result(top1: float, trash: float | None = None) -> dict:
    """One evaluation set's result: top-1 and, with `trash`, per-class recalls and supports."""
    if trash is None:
        return {'top1': top1}
    return {'top1': top1, 'per_class': {'trash': {'recall': trash, 'support': 21},
                                        'glass': {'recall': 0.9, 'support': 75}}}


def test_the_promote_rule():
    base = {'station': result(0.5), 'waste7': result(0.95)}
    assert promotion.promote_decision(base, {'station': result(0.6), 'waste7': result(0.941)},
                                      ['waste7'], 0.01)[0]
    lost, reason = promotion.promote_decision(
        base, {'station': result(0.6), 'waste7': result(0.93)}, ['waste7'], 0.01)
    assert not lost and '2.0 points worse on waste7' in reason
    same, reason = promotion.promote_decision(
        base, {'station': result(0.5), 'waste7': result(0.95)}, ['waste7'], 0.01)
    assert not same and 'not better on the station' in reason
    assert not promotion.promote_decision({'waste7': result(0.9)}, {'waste7': result(0.9)},
                                          ['waste7'], 0.01)[0]


def test_the_per_class_guard_names_the_class_that_blocked():
    # The run: top-1 within the 1-point limit, trash 76% -> 62%.
    current = {'station': result(0.45, 0.5), 'waste7': result(0.952, 0.762)}
    new = {'station': result(0.75, 0.8), 'waste7': result(0.943, 0.619)}
    assert promotion.promote_decision(current, new, ['waste7'], 0.01)[0]
    wins, reason = promotion.promote_decision(current, new, ['waste7'], 0.01,
                                              max_class_drop=0.10)
    assert not wins and reason.startswith('waste7 trash recall 76.2% -> 61.9%')
    assert reason == promotion.guard_failure(current, new, ['waste7'], 0.01, 0.10)
    two_photos = {'station': result(0.75, 0.8), 'waste7': result(0.943, 0.667)}
    assert promotion.promote_decision(current, two_photos, ['waste7'], 0.01,
                                      max_class_drop=0.10)[0]
    # The station's own classes are not guarded, only the base sources'.
    assert promotion.guard_failure(current, new, [], 0.01, 0.10) == ''


def with_empty(row: dict, station_floor: float | None = None) -> dict:
    """Add `empty` as an 8-class model has it: with photos only where `station_floor` is given."""
    empty = {'recall': station_floor or 0.0, 'support': 0 if station_floor is None else 12}
    return {**row, 'per_class': {**row['per_class'], 'empty': empty}}


def test_the_guard_skips_a_class_a_base_source_has_no_photos_of_and_says_so():
    current = {'station': with_empty(result(0.45, 0.5), 0.1),
               'waste7': with_empty(result(0.952, 0.762))}
    new = {'station': with_empty(result(0.75, 0.8), 0.9),
           'waste7': with_empty(result(0.95, 0.75))}
    assert promotion.unjudged(current, ['waste7']) == {'waste7': ['empty']}
    wins, reason = promotion.promote_decision(current, new, ['waste7'], 0.01, max_class_drop=0.1)
    assert wins and promotion.judge_comparison(as_comparison(current, new), ['waste7'], 0.01,
                                               0.1) == (wins, reason)
    # Not blinded by it: an item class the base source has photos of still blocks.
    new['waste7'] = with_empty(result(0.943, 0.619))
    wins, reason = promotion.promote_decision(current, new, ['waste7'], 0.01, max_class_drop=0.1)
    assert not wins and reason.startswith('waste7 trash recall 76.2% -> 61.9%')


def as_comparison(current: dict, new: dict) -> dict:
    """Return the rows retrain writes to comparison.json for these per-source results."""
    def recalls(rows: dict) -> dict:
        return {c: r['recall'] for c, r in rows['per_class'].items()}

    return {name: {'current': {'top1': current[name]['top1']}, 'new': {'top1': new[name]['top1']},
                   'recall_current': recalls(current[name]), 'recall_new': recalls(new[name]),
                   'support': {c: r['support'] for c, r in current[name]['per_class'].items()}}
            for name in current}


def test_a_comparison_is_judged_as_retrain_judged_it():
    current = {'station': result(0.45, 0.5), 'waste7': result(0.952, 0.762)}
    for trash in (0.619, 0.667):  # blocked by the class limit, then within it
        new = {'station': result(0.75, 0.8), 'waste7': result(0.943, trash)}
        verdict = promotion.promote_decision(current, new, ['waste7'], 0.01, max_class_drop=0.1)
        comparison = as_comparison(current, new)
        assert promotion.judge_comparison(comparison, ['waste7'], 0.01, 0.1) == verdict
        # An older comparison.json without supports: the same verdict.
        for row in comparison.values():
            del row['support']
        assert promotion.judge_comparison(comparison, ['waste7'], 0.01, 0.1) == verdict
    assert not promotion.judge_comparison(comparison, ['waste7'], 0.01, 0.01)[0]


def test_choose_keeps_the_best_within_the_guard_that_learnt_else_the_incumbent():
    fit = Candidate(0.9, {'base': 0.80}, guard='base top-1 fell', log_likelihood=-1.0)
    half = Candidate(0.8, {'base': 0.95}, log_likelihood=-2.0, share=0.5)
    tied = Candidate(0.8, {'base': 0.99}, log_likelihood=-2.0, share=0.25)
    stale = Candidate(0.5, {'base': 0.99}, share=0.75)
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
    assert half.row(True) == {'epoch': 0, 'share': 0.5, 'station_top1': 0.8,
                              'base_top1': {'base': 0.95}, 'guard': '', 'kept': True}
