# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Review: inbox -> dataset moves that never lose or overwrite a file."""

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from waste_classifier_ros.flywheel.review import (
    DISCARDED,
    Action,
    CaptureChangedError,
    ReviewError,
    ReviewSession,
    split_for,
)

CLASSES = ['cardboard', 'glass', 'metal', 'organic', 'paper', 'plastic', 'trash']


def put_capture(inbox: Path, predicted: str, name: str, score: float = 0.4,
                data: bytes = b'\xff\xd8jpeg\xff\xd9', top: str = '', bin_name: str = 'landfill',
                reason: str = 'unsure') -> str:
    """Write a capture pair the way the capture writer leaves it; returns its id.

    It is filed under `predicted`; the model's top class is `top` ('': the same).
    """
    folder = inbox / predicted
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f'{name}.jpg').write_bytes(data + name.encode())
    sidecar = {'stamp': {'sec': 1, 'nanosec': 0}, 'frame_id': 'camera', 'model_sha256': 'ab',
               'topk': [{'class': top or predicted, 'score': score},
                        {'class': 'trash', 'score': 0.3}],
               'reason': reason, 'bin': bin_name, 'roi': [0, 0, 1, 1]}
    (folder / f'{name}.json').write_text(json.dumps(sidecar))
    return f'{predicted}/{name}.jpg'


def tree(root: Path) -> dict:
    """Every regular file under root (lock file aside) with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*'))
            if p.is_file() and p.name != '.review.lock'}


@pytest.fixture
def station(tmp_path):
    inbox, dataset = tmp_path / 'inbox', tmp_path / 'dataset'
    inbox.mkdir()
    ids = [put_capture(inbox, 'plastic', '20261130T101500_000002'),
           put_capture(inbox, 'glass', '20261130T101500_000001', score=0.2),
           put_capture(inbox, 'metal', '20261130T101501_000003')]
    session = ReviewSession(inbox, dataset, CLASSES)
    yield inbox, dataset, ids, session
    session.close()


def test_pending_is_oldest_first_with_sidecar_fields(station):
    inbox, _, ids, session = station
    pending = session.pending()
    assert [c.id for c in pending] == [ids[1], ids[0], ids[2]]
    first = pending[0]
    assert (first.predicted, first.score, first.reason) == ('glass', 0.2, 'unsure')
    assert first.image == inbox / 'glass' / '20261130T101500_000001.jpg'
    assert first.sidecar['frame_id'] == 'camera'
    assert session.progress() == {'pending': 3, 'labelled': 0, 'discarded': 0, 'skipped': 0}


def test_confirm_and_correct_move_jpeg_and_sidecar_into_the_split(station):
    inbox, dataset, ids, session = station
    before = tree(inbox)
    confirmed = session.label(ids[0], 'plastic')
    corrected = session.label(ids[1], 'trash')
    done = ((confirmed, ids[0], 'plastic'), (corrected, ids[1], 'trash'))
    for action, capture_id, label in done:
        name = capture_id.split('/')[1]
        assert action == Action('label', capture_id, label,
                                dataset.resolve() / split_for(capture_id) / label / name)
        assert action.destination.read_bytes() == before[capture_id]
        assert action.destination.with_suffix('.json').read_bytes() == \
            before[capture_id.replace('.jpg', '.json')]
        assert not (inbox / capture_id).exists()
        assert not (inbox / capture_id).with_suffix('.json').exists()
    assert [c.id for c in session.pending()] == [ids[2]]
    assert session.progress()['labelled'] == 2


def test_name_collision_in_the_dataset_is_refused_and_nothing_moves(station):
    inbox, dataset, ids, session = station
    name = ids[0].split('/')[1]
    taken = dataset / split_for(ids[0]) / 'plastic' / name
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b'a photo somebody labelled earlier')
    before_inbox, before_dataset = tree(inbox), tree(dataset)
    with pytest.raises(ReviewError, match='already exists; not overwriting'):
        session.label(ids[0], 'plastic')
    assert tree(inbox) == before_inbox and tree(dataset) == before_dataset


def test_sidecar_collision_rolls_back_the_jpeg(station):
    inbox, dataset, ids, session = station
    name = ids[0].split('/')[1].replace('.jpg', '.json')
    taken = dataset / split_for(ids[0]) / 'plastic' / name
    taken.parent.mkdir(parents=True)
    taken.write_text('{"somebody": "else"}')
    before_inbox, before_dataset = tree(inbox), tree(dataset)
    with pytest.raises(ReviewError, match='already exists'):
        session.label(ids[0], 'plastic')
    assert tree(inbox) == before_inbox and tree(dataset) == before_dataset


def test_a_capture_replaced_after_it_was_shown_is_refused_until_seen_again(station):
    inbox, dataset, ids, session = station
    shown = session.get(ids[0])
    replacement = shown.image.with_name('.new.jpg')
    replacement.write_bytes(b'another frame entirely')
    os.replace(replacement, shown.image)
    with pytest.raises(ReviewError, match='changed since it was shown'):
        session.label(ids[0], 'plastic')
    with pytest.raises(CaptureChangedError, match='changed since it was shown'):
        session.label(ids[0], 'plastic')  # still refused: nobody has looked at the new one
    assert (inbox / ids[0]).read_bytes() == b'another frame entirely'
    assert not dataset.exists() or not any(dataset.rglob('*.jpg'))
    session.get(ids[0])
    assert session.label(ids[0], 'plastic').destination.read_bytes() == b'another frame entirely'


def test_listing_is_not_looking_unless_a_move_was_refused(station):
    inbox, _, ids, session = station
    session.get(ids[0])
    (inbox / ids[0]).write_bytes(b'changed after it was shown')
    session.pending()  # a list after the change does not vouch for what was decided on
    with pytest.raises(CaptureChangedError):
        session.label(ids[0], 'plastic')
    session.pending()  # the page shows the list again after the refusal: the new frame
    assert session.label(ids[0], 'plastic').destination.read_bytes() == (
        b'changed after it was shown')


def test_a_sidecar_rewritten_after_listing_is_refused(station):
    inbox, _, ids, session = station
    session.pending()
    side = (inbox / ids[1]).with_suffix('.json')
    side.write_text(side.read_text().replace('"glass", "score": 0.2', '"paper", "score": 0.9'))
    with pytest.raises(ReviewError, match='changed since it was shown'):
        session.label(ids[1], 'glass')
    assert session.get(ids[1]).predicted == 'paper'
    assert session.label(ids[1], 'glass').label == 'glass'


def test_a_capture_gone_meanwhile_gives_a_clear_error(station):
    inbox, _, ids, session = station
    session.pending()
    (inbox / ids[2]).with_suffix('.json').unlink()
    (inbox / ids[2]).unlink()
    with pytest.raises(ReviewError, match='gone'):
        session.label(ids[2], 'metal')
    with pytest.raises(ReviewError, match='gone'):
        session.get(ids[2])
    assert session.progress()['labelled'] == 0


def test_a_second_reviewer_is_refused_in_process_and_from_another_process(station):
    inbox, dataset, ids, session = station
    with pytest.raises(ReviewError, match='another reviewer'):
        ReviewSession(inbox, dataset, CLASSES)
    code = ('import sys\n'
            'from waste_classifier_ros.flywheel.review import ReviewSession, ReviewError\n'
            'try:\n    ReviewSession(sys.argv[1], sys.argv[2], ["glass"])\n'
            'except ReviewError as e:\n    print(e); sys.exit(3)\n')
    other = subprocess.run([sys.executable, '-c', code, str(inbox), str(dataset)],
                           capture_output=True, text=True, timeout=60)
    assert other.returncode == 3, other.stderr
    assert f'pid {os.getpid()}' in other.stdout
    session.close()
    with pytest.raises(ReviewError, match='closed'):
        session.label(ids[0], 'plastic')
    with ReviewSession(inbox, dataset, CLASSES) as second:
        assert len(second.pending()) == 3


def test_discard_keeps_the_file_and_undo_restores_both_kinds(station):
    inbox, dataset, ids, session = station
    before = tree(inbox)
    discarded = session.discard(ids[1])
    assert discarded.destination == inbox.resolve() / DISCARDED / ids[1]
    assert discarded.destination.read_bytes() == before[ids[1]]
    labelled = session.label(ids[0], 'paper')
    assert session.progress() == {'pending': 1, 'labelled': 1, 'discarded': 1, 'skipped': 0}
    assert session.undo() == labelled
    assert not labelled.destination.exists()
    assert session.undo() == discarded
    assert session.undo() is None
    assert tree(inbox) == before
    assert session.progress() == {'pending': 3, 'labelled': 0, 'discarded': 0, 'skipped': 0}


def test_undo_refuses_when_the_moved_file_was_replaced(station):
    inbox, dataset, ids, session = station
    action = session.label(ids[0], 'plastic')
    action.destination.unlink()
    action.destination.write_bytes(b'somebody edited it in the dataset')
    with pytest.raises(ReviewError, match='changed since'):
        session.undo()
    assert action.destination.read_bytes() == b'somebody edited it in the dataset'
    assert not (inbox / ids[0]).exists()


def test_undo_refuses_to_overwrite_a_new_capture_of_the_same_name(station):
    inbox, dataset, ids, session = station
    action = session.label(ids[2], 'metal')
    put_capture(inbox, 'metal', '20261130T101501_000003', data=b'a newer frame')
    with pytest.raises(ReviewError, match='already exists'):
        session.undo()
    assert action.destination.exists()
    assert (inbox / ids[2]).read_bytes().startswith(b'a newer frame')


def test_skip_sends_a_capture_to_the_end(station):
    _, _, ids, session = station
    session.skip(ids[1])
    assert [c.id for c in session.pending()] == [ids[0], ids[2], ids[1]]
    session.skip(ids[0])
    assert [c.id for c in session.pending()] == [ids[2], ids[1], ids[0]]
    assert session.progress()['skipped'] == 2
    session.label(ids[1], 'glass')
    assert session.progress() == {'pending': 2, 'labelled': 1, 'discarded': 0, 'skipped': 1}


@pytest.mark.parametrize('capture_id', [
    '../outside.jpg', '/etc/passwd', 'plastic/../../outside.jpg', 'plastic/../glass/x.jpg',
    '.discarded/plastic/x.jpg', 'plastic', 'plastic/x.json', 'a/b/c.jpg', 'plastic\\x.jpg', ''])
def test_ids_that_escape_or_are_not_captures_are_refused(station, capture_id):
    _, _, _, session = station
    for call in (session.get, lambda i: session.label(i, 'glass'), session.discard,
                 session.skip):
        with pytest.raises(ReviewError):
            call(capture_id)


def test_links_out_of_the_inbox_are_not_captures(station, tmp_path):
    inbox, _, _, session = station
    outside = tmp_path / 'outside'
    put_capture(outside, 'glass', 'secret')
    (inbox / 'linked').symlink_to(outside / 'glass')
    (inbox / 'glass' / 'sneaky.jpg').symlink_to(outside / 'glass' / 'secret.jpg')
    (inbox / 'glass' / 'sneaky.json').write_text((outside / 'glass' / 'secret.json').read_text())
    with pytest.raises(ReviewError, match='outside the inbox'):
        session.get('linked/secret.jpg')
    with pytest.raises(ReviewError, match='outside the inbox|not a regular file'):
        session.label('glass/sneaky.jpg', 'glass')
    assert 'linked/secret.jpg' not in [c.id for c in session.pending()]
    assert (outside / 'glass' / 'secret.jpg').exists()


def test_unknown_label_half_pairs_and_broken_sidecars(station):
    inbox, _, ids, session = station
    with pytest.raises(ReviewError, match="'banana' is not a class"):
        session.label(ids[0], 'banana')
    (inbox / 'glass' / '20261130T090000_000000.jpg').write_bytes(b'no sidecar yet')
    (inbox / 'glass' / '20261130T090000_000009.jpg').write_bytes(b'bad sidecar')
    (inbox / 'glass' / '20261130T090000_000009.json').write_text('{"topk": ')
    assert [c.id for c in session.pending()] == [ids[1], ids[0], ids[2]]
    assert len(session.problems) == 1 and 'not a capture sidecar' in session.problems[0]


def test_bad_setup_is_refused(tmp_path):
    with pytest.raises(ReviewError, match='inbox is not a directory'):
        ReviewSession(tmp_path / 'missing', tmp_path / 'd', CLASSES)
    with pytest.raises(ReviewError, match='inside the inbox'):
        ReviewSession(tmp_path, tmp_path / 'd', CLASSES)
    with pytest.raises(ReviewError, match='bad class list'):
        ReviewSession(tmp_path, tmp_path.parent / 'd', ['glass', '../x'])


def test_the_val_split_is_fixed_by_the_name_and_about_a_fifth():
    names = [f'c/20261130T1015{i:02d}_{i:06d}.jpg' for i in range(50)] + \
        [f'x/2026{i:04d}_{i:06d}.jpg' for i in range(950)]
    splits = [split_for(n) for n in names]
    assert 150 <= splits.count('val') <= 250
    assert split_for('plastic/a_000001.jpg') == split_for('glass/a_000001.jpg')


def test_waste_review_terminal_ui_driven_through_stdin(tmp_path):
    inbox, dataset = tmp_path / 'inbox', tmp_path / 'dataset'
    ids = [put_capture(inbox, 'glass', '20261130T101500_000001'),
           put_capture(inbox, 'plastic', '20261130T101500_000002'),
           put_capture(inbox, 'metal', '20261130T101501_000003')]
    discarded_before = (inbox / ids[1]).read_bytes()
    answers = '7\n\nu\nd\nx\ns\n'
    run = subprocess.run(
        [sys.executable, '-m', 'waste_classifier_ros.cli.review', str(inbox),
         '--dataset', str(dataset)], input=answers, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert 'keys: 1 cardboard  2 glass' in out and '7 trash' in out
    assert f'[3 left] {ids[0]}: predicted glass 0.40 (unsure); top: glass 0.40, trash 0.30' in out
    assert f'undone: {ids[1]} is back in the inbox' in out
    assert "'x': not a key" in out
    assert 'labelled 1, discarded 1, skipped 1, 1 still in the inbox' in out
    name = ids[0].split('/')[1]
    assert (dataset / split_for(ids[0]) / 'trash' / name).exists()
    assert (inbox / DISCARDED / ids[1]).read_bytes() == discarded_before
    assert (inbox / ids[2]).exists() and (inbox / ids[2]).with_suffix('.json').exists()
    assert not any((dataset / split).joinpath('plastic').exists() for split in ('train', 'val'))


def put_empty_zone(inbox: Path, name: str) -> str:
    """Write a frame the node kept while the zone was empty (the model said cardboard)."""
    return put_capture(inbox, 'empty', name, score=0.95, top='cardboard', bin_name='empty',
                       reason='empty')


def test_a_frame_of_the_empty_zone_is_suggested_empty_where_the_model_has_the_class(tmp_path):
    inbox, dataset = tmp_path / 'inbox', tmp_path / 'dataset'
    floor = put_empty_zone(inbox, '20261130T101500_000001')
    item = put_capture(inbox, 'glass', '20261130T101500_000002')
    with ReviewSession(inbox, dataset, CLASSES) as session:  # a model without the class
        assert [(c.predicted, c.suggested) for c in session.pending()] == [
            ('cardboard', 'cardboard'), ('glass', 'glass')]
        with pytest.raises(ReviewError, match="'empty' is not a class"):
            session.label(floor, 'empty')
    with ReviewSession(inbox, dataset, CLASSES + ['empty']) as session:
        assert [(c.predicted, c.suggested) for c in session.pending()] == [
            ('cardboard', 'empty'), ('glass', 'glass')]
        session.label(floor, 'empty')
        session.label(item, 'empty')  # an operator may also call a capture empty
    for capture_id in (floor, item):
        name = capture_id.split('/')[1]
        assert (dataset / split_for(capture_id) / 'empty' / name).is_file()


def test_waste_review_offers_empty_from_the_labels_and_enter_takes_it(tmp_path):
    inbox, dataset = tmp_path / 'inbox', tmp_path / 'dataset'
    floor = put_empty_zone(inbox, '20261130T101500_000001')
    labels = tmp_path / 'labels.txt'
    labels.write_text('\n'.join(CLASSES + ['empty']) + '\n')
    run = subprocess.run(
        [sys.executable, '-m', 'waste_classifier_ros.cli.review', str(inbox),
         '--dataset', str(dataset), '--labels', str(labels)], input='\n',
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert '7 trash  8 empty  (Enter = the suggestion)' in run.stdout
    assert f'{floor}: predicted cardboard 0.95 (empty) (the zone was empty); Enter = empty' \
        in run.stdout
    assert (dataset / split_for(floor) / 'empty' / floor.split('/')[1]).is_file()


def test_waste_review_refuses_a_second_reviewer_with_exit_2(station):
    inbox, dataset, _, _ = station
    run = subprocess.run(
        [sys.executable, '-m', 'waste_classifier_ros.cli.review', str(inbox),
         '--dataset', str(dataset)], input='', capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert 'another reviewer is working on this inbox' in run.stderr
