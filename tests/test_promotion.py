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
import time

from tiny_model import write_model_dir

from waste_classifier_ros.cli import rollback
from waste_classifier_ros.core import model_card
from waste_classifier_ros.flywheel import promotion

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
    started = time.monotonic()
    answer = promotion.notify_running_node(model, node='/nobody_here/waste_classifier',
                                           timeout=1.0)
    assert not answer.running and not answer.switched
    assert 'no classifier node /nobody_here/waste_classifier is running' in str(answer)
    assert time.monotonic() - started < 10


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
