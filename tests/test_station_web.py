# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The station page's plain parts, without ROS or a browser: guard, state, frames, HTTP app.

The HTTP tests run the real aiohttp application on a loopback port (aiohttp's TestServer) over
a real inbox and dataset in tmp_path, with review.py doing the moves.
"""

import asyncio
import functools
import json

from aiohttp.test_utils import TestClient, TestServer
import cv2
import numpy as np
import pytest
from station_web_support import files_under, write_capture, write_retrain_result
from tiny_model import CLASSES, write_model_dir

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.model_card import read_card, sha256_file
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.flywheel.review import ReviewError, ReviewSession, split_for
from waste_classifier_ros.station_web import guard
from waste_classifier_ros.station_web.desk import ReviewDesk
from waste_classifier_ros.station_web.frames import (
    FrameHub,
    RawFrame,
    encode_jpeg,
    image_from_cdr,
)
from waste_classifier_ros.station_web.models import ModelDesk
from waste_classifier_ros.station_web.routes import make_app
from waste_classifier_ros.station_web.state import ORPHAN_BIN_S, SILENT_AFTER_S, StationState

CAPTURE = 'plastic/20261130T101500_000012.jpg'
STALLED = 'no image for 4.2 s: camera stalled or not connected?'


@pytest.mark.parametrize('capture_id', [CAPTURE, 'e-waste/a_1.jpg', 'glass/x.y.jpg'])
def test_capture_ids_as_capture_writes_them_pass(capture_id):
    assert guard.capture_id(capture_id) == capture_id


@pytest.mark.parametrize('capture_id, reason', [
    ('../outside.jpg', '".." and "." are refused'),
    ('plastic/../../etc/x.jpg', '".." and "." are refused'),
    ('/etc/passwd', 'absolute paths are refused'),
    ('//etc/x.jpg', 'absolute paths are refused'),
    ('C:/Windows/x.jpg', 'absolute paths are refused'),
    ('plastic\\..\\x.jpg', 'only letters, digits'),
    ('.discarded/plastic/x.jpg', 'only letters, digits'),
    ('plastic/.x.jpg', 'only letters, digits'),
    ('plastic//x.jpg', 'no empty parts'),
    ('plastic/%2e%2e.jpg', 'only letters, digits'),
    ('plastic/x.jpg\0', 'only letters, digits'),
    ('plastic/x.json', 'is "<class>/<name>.jpg"'),
    ('x.jpg', 'is "<class>/<name>.jpg"'),
    ('a/b/c.jpg', 'is "<class>/<name>.jpg"'),
    ('', 'a capture id is required'),
    (None, 'a capture id is required'),
    (['plastic/x.jpg'], 'a capture id is required'),
    ('plastic/' + 'x' * 300 + '.jpg', 'longer than 255'),
])
def test_capture_ids_that_could_leave_the_inbox_are_refused(capture_id, reason):
    with pytest.raises(guard.PageError) as refused:
        guard.capture_id(capture_id)
    assert refused.value.status == 400
    assert reason in str(refused.value)


def test_inside_refuses_symlinks_and_paths_outside_the_root(tmp_path):
    root, outside = tmp_path / 'inbox', tmp_path / 'secret.jpg'
    (root / 'plastic').mkdir(parents=True)
    outside.write_bytes(b'secret')
    (root / 'plastic' / 'a.jpg').write_bytes(b'ok')
    (root / 'plastic' / 'link.jpg').symlink_to(outside)
    (root / 'linked').symlink_to(tmp_path)
    assert guard.inside(root, root / 'plastic' / 'a.jpg') == root / 'plastic' / 'a.jpg'
    for path, reason in ((root / 'plastic' / 'link.jpg', 'symbolic link'),
                         (root / 'linked' / 'secret.jpg', 'symbolic link'),
                         (outside, 'outside')):
        with pytest.raises(guard.PageError, match=reason) as refused:
            guard.inside(root, path)
        assert refused.value.status == 403


@pytest.mark.parametrize('host, loopback', [
    ('127.0.0.1', True), ('127.0.0.2', True), ('::1', True), ('[::1]', True),
    ('localhost', True), ('0.0.0.0', False), ('::', False), ('192.168.1.20', False),
    ('station.local', False)])
def test_only_loopback_hosts_count_as_this_machine(host, loopback):
    assert guard.is_loopback(host) is loopback


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_state_colours_bins_from_the_bins_file_and_reports_stalls_and_silence():
    clock = Clock()
    state = StationState(share_path('config', 'bins.yaml'), clock, wall=lambda: 1000.0)
    changes = []
    state.add_listener(lambda: changes.append(state.version))
    assert state.snapshot()['health']['status'] == 'waiting'
    state.set_label_info(CLASSES, 0.5)
    state.set_classification([('glass', 0.9), ('plastic', 0.05)], (7, 0))
    state.set_bin('glass', 0.93, (7, 0))
    snapshot = state.snapshot()
    assert snapshot['bin'] == {'name': 'glass', 'label': 'Glass', 'colour': '#2ca02c',
                               'score': 0.93, 'best': None, 'age_s': 0.0, 'at': 1000.0}
    assert snapshot['frame']['top_k'][1] == {'class': 'plastic', 'score': 0.05,
                                             'bin': 'mixed_recycling'}
    assert snapshot['class_bins']['cardboard'] == 'paper_recycling'
    state.set_bin('unknown', 0.6)
    assert state.snapshot()['bin']['label'] == 'Unknown'
    state.set_diagnostics(0, 'classifying at 30.0 FPS', {
        'processed_fps': '30.0', 'frames_skipped': '4', 'frames_rejected': '1',
        'latency_p50_ms': 'nan', 'captures_written': '3', 'capture_inbox_mb': '1.5',
        'captures_dropped_queue_full': '2'})
    health = state.snapshot()['health']
    assert (health['status'], health['fps'], health['skipped'], health['rejected']) == (
        'ok', 30.0, 4.0, 1.0)
    assert health['latency_p50_ms'] is None
    capture = state.snapshot()['capture']
    assert (capture['enabled'], capture['written'], capture['dropped'], capture['inbox_mb'],
            capture['max_mb']) == (True, 3.0, 2.0, 1.5, None)
    state.set_capture_settings(True, 500.0)
    assert state.snapshot()['capture']['max_mb'] == 500.0
    state.set_diagnostics(1, STALLED, {'seconds_since_last_frame': '4.0'})
    health = state.snapshot()['health']
    assert (health['status'], health['live_until']) == ('stalled', 996.0)
    clock.now += SILENT_AFTER_S + 1
    health = state.snapshot()['health']
    assert health['status'] == 'silent' and 'not reporting' in health['message']
    assert health['live_until'] == 1000.0
    assert changes == sorted(set(changes)) and len(changes) == 7


def shown_pair(state):
    """Return (the shown frame's top class, the shown bin) of the page's snapshot."""
    snapshot = state.snapshot()
    frame, decision = snapshot['frame'], snapshot['bin']
    return (frame and frame['top_k'][0]['class'], decision and decision['name'])


def test_the_top_k_and_the_bin_shown_together_come_from_one_frame():
    clock = Clock()
    state = StationState(share_path('config', 'bins.yaml'), clock)
    state.set_label_info(CLASSES, 0.5)
    shown = functools.partial(shown_pair, state)
    state.set_bin('glass', 0.9, (1, 0))  # the latched decision at start: shown at once
    assert shown() == (None, 'glass')
    state.set_classification([('glass', 0.8)], (1, 0))
    assert shown() == ('glass', 'glass')
    state.set_bin('mixed_recycling', 0.8, (2, 0))  # published just before its frame's top-k
    assert shown() == ('glass', 'glass')  # kept for its frame
    state.set_classification([('metal', 0.9)], (2, 0))
    assert shown() == ('metal', 'mixed_recycling')  # together
    state.set_classification([('metal', 0.95)], (3, 0))  # no new bin: the one in force
    assert shown() == ('metal', 'mixed_recycling')
    state.set_classification([('glass', 0.9)], (4, 0))
    state.set_bin('glass', 0.9, (4, 0))  # reordered in transit: shown as soon as it comes
    assert shown() == ('glass', 'glass')
    state.set_bin('mixed_recycling', 0.9, (6, 0))  # frame 6's top-k will be lost
    state.set_classification([('glass', 0.8)], (5, 0))  # frame 5 was decided before it
    assert shown() == ('glass', 'glass')
    clock.now += ORPHAN_BIN_S / 2
    state.settle()
    assert shown() == ('glass', 'glass')
    clock.now += ORPHAN_BIN_S / 2
    state.settle()
    assert shown() == ('glass', 'mixed_recycling')  # on its own, its frame never came
    state.set_classification([('glass', 0.7)], (0, 0))  # a camera without stamps: by order
    state.set_bin('paper_recycling', 0.9, (0, 0))
    assert shown() == ('glass', 'mixed_recycling')
    state.set_classification([('paper', 0.9)], (0, 0))
    assert shown() == ('paper', 'paper_recycling')
    history = state.history()
    assert [entry['name'] for entry in history] == ['paper_recycling', 'mixed_recycling',
                                                    'glass', 'mixed_recycling', 'glass']
    assert [entry['class'] for entry in history] == ['paper', 'glass', 'glass', 'metal', 'glass']
    counts = state.snapshot()['counts']
    assert {b['name']: b['count'] for b in counts['bins']} == {
        'glass': 2, 'mixed_recycling': 2, 'paper_recycling': 1}
    state.set_bin('unknown', 0.5, (0, 0))  # no item: unknown is not counted
    assert state.snapshot()['counts']['total'] == 5
    assert state.reset_counts()['total'] == 0 and len(state.history()) == 6


def test_a_top_k_taken_before_its_bin_waits_for_it_and_never_shows_another_frames_bin():
    clock = Clock()
    state = StationState(share_path('config', 'bins.yaml'), clock)
    state.set_label_info(CLASSES, 0.5)
    shown = functools.partial(shown_pair, state)
    state.set_bin('glass', 0.9, (1, 0))
    state.set_classification([('glass', 0.8)], (1, 0))
    version = state.version
    # A busy executor took frame 2's top-k before its bin: the last pair stays on the page.
    state.set_classification([('metal', 0.9)], (2, 0))
    assert shown() == ('glass', 'glass') and state.version == version
    state.set_bin('mixed_recycling', 0.9, (2, 0))
    assert shown() == ('metal', 'mixed_recycling')
    # Frame 4 agrees with the bin in force (frame 3's, still in transit): shown with it; frame
    # 3's bin, late and not frame 4's, waits instead of being paired with frame 4's bars.
    state.set_classification([('metal', 0.9)], (4, 0))
    state.set_bin('glass', 0.9, (3, 0))
    assert shown() == ('metal', 'mixed_recycling')
    state.set_bin('mixed_recycling', 0.9, (4, 0))
    assert shown() == ('metal', 'mixed_recycling')
    state.set_classification([('metal', 0.9)], (5, 0))
    assert shown() == ('metal', 'mixed_recycling')
    # A frame whose smoothed bin really differs from its top class (no bin of its own comes):
    # held, replaced by newer frames, and shown with the bin in force after ORPHAN_BIN_S.
    state.set_classification([('paper', 0.6)], (6, 0))
    clock.now += ORPHAN_BIN_S / 2
    state.settle()
    state.set_classification([('paper', 0.7)], (7, 0))
    assert shown() == ('metal', 'mixed_recycling')
    clock.now += ORPHAN_BIN_S / 2
    state.settle()
    assert shown() == ('paper', 'mixed_recycling')
    assert state.snapshot()['frame']['stamp'] == [7, 0]
    # Below the threshold the unknown bin agrees with the frame.
    state.set_bin('unknown', 0.4, (8, 0))
    state.set_classification([('plastic', 0.4)], (8, 0))
    state.set_classification([('plastic', 0.45)], (9, 0))
    assert shown() == ('plastic', 'unknown')
    assert state.snapshot()['frame']['stamp'] == [9, 0]


def test_empty_is_no_bin_agrees_with_any_frame_and_only_items_in_a_bin_are_counted():
    clock = Clock()
    state = StationState(share_path('config', 'bins.yaml'), clock)
    state.set_label_info(CLASSES + ['empty'], 0.5)  # a model with the empty class

    def shown():
        snapshot = state.snapshot()
        frame, decision = snapshot['frame'], snapshot['bin']
        return (frame and frame['top_k'][0]['class'], decision and decision['name'])
    assert state.snapshot()['class_bins']['empty'] == 'empty'
    state.set_classification([('empty', 0.9)], (1, 0))
    state.set_bin('empty', 0.9, (1, 0))
    view = state.snapshot()['bin']
    assert (view['label'], view['colour']) == ('Empty', '#ffffff')  # no bin's colour
    # The gate decided empty from the pixels while the model calls the floor cardboard: shown
    # at once, not held for ORPHAN_BIN_S.
    state.set_classification([('cardboard', 0.95)], (2, 0))
    assert shown() == ('cardboard', 'empty')
    # An item arrives: its bars show under `empty` until its own decision comes with a frame.
    state.set_classification([('glass', 0.9)], (3, 0))
    assert shown() == ('glass', 'empty')
    state.set_bin('glass', 0.92, (4, 0))
    state.set_classification([('glass', 0.9)], (4, 0))
    assert shown() == ('glass', 'glass')
    # The item is taken away: a floor frame the model calls paper waits for `empty`.
    state.set_classification([('paper', 0.8)], (5, 0))
    assert shown() == ('glass', 'glass')
    state.set_bin('empty', 0.97, (5, 0))
    assert shown() == ('paper', 'empty')
    state.set_bin('unknown', 0.585, (6, 0), best=('paper_recycling', 0.415))
    state.set_classification([('paper', 0.3)], (6, 0))
    view = state.snapshot()['bin']
    assert (view['label'], view['best']) == ('Unknown', {
        'name': 'paper_recycling', 'label': 'Paper recycling', 'score': 0.415})
    assert state.snapshot()['counts']['total'] == 1  # the glass item; not empty, not unknown
    history = state.history()
    assert [(entry['name'], entry['class']) for entry in history] == [
        ('unknown', 'paper'), ('empty', None), ('glass', 'glass'), ('empty', None)]


def test_state_names_a_bins_file_that_does_not_fit_the_classes():
    state = StationState(share_path('config', 'bins.yaml'))
    state.set_label_info(['cat', 'dog'], 0.5)
    assert 'which the model does not have (classes: cat, dog)' in state.snapshot()['bins_problem']


def test_frames_are_scaled_for_browsers_and_viewers_counted():
    rgb = np.zeros((1080, 1920, 3), np.uint8)
    rgb[:, :, 2] = 200
    step, data = image_codec.encode(rgb, 'rgb8')
    jpeg = encode_jpeg(RawFrame('rgb8', 1080, 1920, step, data))
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (360, 640, 3)
    assert abs(int(decoded[180, 320, 0]) - 200) < 8  # blue, in OpenCV's BGR
    with pytest.raises(image_codec.CodecError):
        encode_jpeg(RawFrame('rgb8', 10, 10, 30, b'short'))
    watching = []
    hub = FrameHub()
    hub.on_watching = watching.append
    hub.add_viewer()
    hub.add_viewer()
    hub.remove_viewer()
    hub.remove_viewer()
    assert watching == [True, False]


@pytest.mark.parametrize('frame_id', ['', 'c', 'cam', 'camera_01'])
@pytest.mark.parametrize('encoding, channels', [('rgb8', 3), ('mono8', 1), ('yuyv', 2)])
def test_a_serialised_image_is_read_as_rclpy_writes_it(frame_id, encoding, channels):
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import Image

    pixels = np.arange(6 * 10 * channels, dtype=np.uint8).tobytes()
    msg = Image(height=6, width=10, encoding=encoding, step=10 * channels, data=pixels)
    msg.header.frame_id, msg.header.stamp.sec = frame_id, 17
    raw = image_from_cdr(serialize_message(msg))
    assert (raw.encoding, raw.height, raw.width, raw.step) == (encoding, 6, 10, 10 * channels)
    assert bytes(raw.data) == pixels
    with pytest.raises(image_codec.CodecError):
        image_from_cdr(serialize_message(msg)[:-5])  # cut short
    with pytest.raises(image_codec.CodecError):
        image_from_cdr(b'{"not": "cdr"}')


@pytest.fixture
def station(tmp_path):
    inbox, dataset = tmp_path / 'inbox', tmp_path / 'dataset'
    state = StationState(share_path('config', 'bins.yaml'))
    state.set_label_info(CLASSES, 0.5)
    write_capture(inbox, 'plastic', '20261130T101500_000012')
    (tmp_path / 'secret.jpg').write_bytes(b'secret bytes')
    return state, inbox, dataset, tmp_path


def serve(state, inbox, dataset, scenario, *, token='', desk=None, log=None):
    """Run `scenario(client)` against the real application on a loopback port."""
    desk = desk or ReviewDesk(str(inbox), str(dataset), lambda: state.classes)
    app = make_app(state, FrameHub(), desk, max_rate=5.0, token=token, loopback=not token,
                   log=(log if log is not None else []).append)

    async def main():
        async with TestClient(TestServer(app)) as client:
            return await scenario(client)
    try:
        return asyncio.run(main())
    finally:
        desk.close()


async def status_and_json(response):
    return response.status, await response.json()


def test_review_over_http_moves_both_files_and_undo_brings_them_back(station):
    state, inbox, dataset, _ = station
    before = files_under(inbox)

    async def scenario(client):
        view = await (await client.get('/api/review')).json()
        assert view['current']['id'] == CAPTURE
        assert (view['current']['predicted'], view['progress']['pending']) == ('plastic', 1)
        image = await client.get(view['current']['image'])
        assert image.status == 200 and image.content_type == 'image/jpeg'
        labelled = await client.post('/api/review/label', json={'id': CAPTURE, 'label': 'metal'})
        assert labelled.status == 200, await labelled.text()
        split = split_for(CAPTURE)
        assert files_under(dataset) == {f'{split}/metal/20261130T101500_000012.jpg',
                                        f'{split}/metal/20261130T101500_000012.json'}
        assert (await labelled.json())['progress']['labelled'] == 1
        undone = await client.post('/api/review/undo', json={})
        assert (await undone.json())['current']['id'] == CAPTURE
        assert files_under(inbox) == before and files_under(dataset) == set()
    serve(state, inbox, dataset, scenario)


def test_paths_outside_the_inbox_are_refused_with_a_reason(station):
    state, inbox, dataset, tmp_path = station
    (inbox / 'plastic' / 'link.jpg').symlink_to(tmp_path / 'secret.jpg')
    (inbox / 'plastic' / 'link.json').write_text((inbox / 'plastic' /
                                                  '20261130T101500_000012.json').read_text())

    async def raw_get(client, path):
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'
                     .encode())
        answer = await reader.read()
        writer.close()
        return answer.decode(errors='replace')

    async def scenario(client):
        for path, reason in (('/captures/..%2F..%2Fsecret.jpg', '".." and "."'),
                             ('/captures/%2F' + str(tmp_path / 'secret.jpg'), 'absolute'),
                             ('/captures/plastic/link.jpg', 'outside the inbox')):
            status, body = await status_and_json(await client.get(path))
            assert status in (400, 404) and reason in body['error'], (path, body)
        for path in ('/captures/../../secret.jpg', '/captures/plastic/../../../secret.jpg',
                     '/captures/%2E%2E/%2E%2E/secret.jpg',
                     '/captures/plastic%2F..%2F..%2Fsecret.jpg', '/static/../../secret.jpg',
                     f'/captures/{tmp_path}/secret.jpg'):
            answer = await raw_get(client, path)
            assert answer.startswith('HTTP/1.1 4') and 'secret bytes' not in answer, answer
            assert 'Traceback' not in answer
        for capture_id in ('../secret.jpg', str(tmp_path / 'secret.jpg'), 'plastic/link.jpg'):
            response = await client.post('/api/review/label',
                                         json={'id': capture_id, 'label': 'glass'})
            assert 400 <= response.status < 500, capture_id
        assert (tmp_path / 'secret.jpg').read_bytes() == b'secret bytes'
        assert files_under(dataset) == set()
    serve(state, inbox, dataset, scenario)


def test_bad_requests_get_a_4xx_with_a_reason(station):
    state, inbox, dataset, _ = station

    async def scenario(client):
        checks = [
            (client.get('/nowhere'), 404, 'no such page: /nowhere'),
            (client.get('/static/secret.js'), 404, 'no such page'),
            (client.post('/api/review/label', data='id=x'), 415, 'JSON'),
            (client.post('/api/review/label', data='{bad',
                         headers={'Content-Type': 'application/json'}), 400, 'not valid JSON'),
            (client.post('/api/review/label', json=[1]), 400, 'JSON object'),
            (client.post('/api/review/label', json={'id': CAPTURE, 'label': 'cat'}), 400,
             "label 'cat' is not one of the classes"),
            (client.post('/api/review/discard', json={'id': 'plastic/none.jpg'}), 404,
             'no capture plastic/none.jpg'),
            (client.post('/api/review/skip', json={'id': 'plastic/none.jpg'}), 404,
             'no capture plastic/none.jpg'),
            (client.post('/api/review/label', json={'id': CAPTURE, 'label': 'glass'},
                         headers={'Origin': 'http://evil.example'}), 403, 'cross-site'),
            (client.get('/api/state', headers={'Host': 'evil.example'}), 403,
             'not a local name'),
            (client.get('/ws', headers={'Origin': 'http://evil.example'}), 403, 'cross-site'),
        ]
        for request, status, reason in checks:
            got, body = await status_and_json(await request)
            assert (got, reason in body['error']) == (status, True), body
    serve(state, inbox, dataset, scenario)


def test_a_batch_labels_all_or_none_and_undo_takes_the_whole_batch_back(station):
    state, inbox, dataset, _ = station
    others = [write_capture(inbox, 'plastic', f'20261130T101501_00000{i}') for i in range(3)]
    ids = sorted([CAPTURE] + [f'plastic/{image.name}' for image in others])
    changed = f'plastic/{others[1].name}'

    async def post(client, labels):
        return await status_and_json(await client.post('/api/review/batch',
                                                       json={'labels': labels}))

    async def scenario(client):
        grid = (await (await client.get('/api/review')).json())['batch']
        assert grid['suggested'] == 'plastic' and grid['waiting'] == 4
        assert sorted(tile['id'] for tile in grid['captures']) == ids
        good = [{'id': capture_id, 'label': 'plastic'} for capture_id in ids]
        # Checked before any move: each refusal names what was wrong; nothing moves.
        for labels, status, reason in (
                ('plastic', 400, "'labels' must be a list of 1 to 100"),
                ([], 400, "'labels' must be a list"),
                ([*good, 'glass'], 400, "batch entry 'glass' is not"),
                ([*good[:2], {'id': 'plastic/none.jpg', 'label': 'glass'}], 404,
                 'no capture plastic/none.jpg in the inbox'),
                ([*good[:2], {'id': ids[2], 'label': 'cat'}], 400,
                 f"label 'cat' of {ids[2]} is not one of the classes"),
                ([*good, good[0]], 400, f'{ids[0]} is in the batch 2 times'),
                ([{'id': '../secret.jpg', 'label': 'glass'}], 400, '".." and "."')):
            got, body = await post(client, labels)
            assert (got, reason in body['error']) == (status, True), (labels, body)
        assert files_under(dataset) == set()
        # A capture changed after it was shown: the batch is refused whole, the moves before
        # it taken back, and the answer names it.
        before = files_under(inbox)
        sidecar = inbox / changed.replace('.jpg', '.json')
        sidecar.write_text(sidecar.read_text() + ' ')
        status, body = await post(client, good)
        assert status == 409 and 'changed since it was shown' in body['error'], body
        assert body['error'].endswith(f'none of the 4 in the batch was labelled '
                                      f'(refused: {changed})')
        assert files_under(dataset) == set() and files_under(inbox) == before
        # Shown again, then labelled: all four, one of them corrected, in one call.
        assert (await (await client.get('/api/review')).json())['progress']['pending'] == 4
        status, body = await post(client, [dict(move, label='metal') if move['id'] == ids[3]
                                           else move for move in good])
        assert status == 200 and body['done'] == '4 labelled: 3 plastic, 1 metal -> <dataset>'
        assert body['progress']['labelled'] == 4 and body['batch'] is None
        assert files_under(inbox) == set()
        assert {path.rsplit('/', 2)[-2] for path in files_under(dataset)} == {'plastic', 'metal'}
        assert len(files_under(dataset)) == 8
        status, body = await status_and_json(await client.post('/api/review/undo', json={}))
        assert body['done'] == 'undone: the batch of 4 back in the inbox'
        assert files_under(inbox) == before and files_under(dataset) == set()
        assert body['progress'] == {'pending': 4, 'labelled': 0, 'discarded': 0, 'skipped': 0}
    serve(state, inbox, dataset, scenario)


def test_labelling_needs_the_token_when_one_is_set(station):
    state, inbox, dataset, _ = station

    async def scenario(client):
        move = {'id': CAPTURE, 'label': 'plastic'}
        for headers in ({}, {'X-Station-Token': 'wrong'}):
            status, body = await status_and_json(
                await client.post('/api/review/label', json=move, headers=headers))
            assert status == 401 and 'token' in body['error']
        assert files_under(dataset) == set()
        response = await client.post('/api/review/label', json=move,
                                     headers={'X-Station-Token': 's3cret'})
        assert response.status == 200
        assert (await (await client.get('/api/review')).json())['token_required'] is True
    serve(state, inbox, dataset, scenario, token='s3cret')


def test_an_internal_failure_is_a_500_without_traceback_and_logged(station):
    state, inbox, dataset, _ = station

    class BrokenDesk(ReviewDesk):
        def view(self):
            raise RuntimeError('disk on fire')
    log = []

    async def scenario(client):
        response = await client.get('/api/review')
        text = await response.text()
        assert response.status == 500 and 'Traceback' not in text and 'fire' not in text
        assert json.loads(text)['error'].startswith('internal error (RuntimeError)')
        assert (await client.get('/api/state')).status == 200  # still serving
    serve(state, inbox, dataset, scenario, log=log,
          desk=BrokenDesk(str(inbox), str(dataset), lambda: state.classes))
    assert 'Traceback' in log[0] and 'disk on fire' in log[0]


def test_the_page_and_waste_review_never_hold_one_inbox_at_once(station):
    state, inbox, dataset, _ = station
    desk = ReviewDesk(str(inbox), str(dataset), lambda: state.classes)
    try:
        assert desk.view()['current']['id'] == CAPTURE  # the page holds the inbox now
        with pytest.raises(ReviewError, match='another reviewer'):
            ReviewSession(inbox, dataset, CLASSES)
    finally:
        desk.close()
    with ReviewSession(inbox, dataset, CLASSES):  # the terminal reviewer first
        desk = ReviewDesk(str(inbox), str(dataset), lambda: state.classes)
        view = desk.view()
        assert 'another reviewer' in view['problem'] and 'current' not in view
        with pytest.raises(ReviewError, match='another reviewer'):
            desk.label(CAPTURE, 'glass')
    assert desk.view()['current']['id'] == CAPTURE  # free again once it closed
    desk.close()
    assert files_under(dataset) == set()


def test_the_page_offers_captures_in_the_review_order_it_is_started_with(station):
    state, inbox, dataset, _ = station
    # Older and sure, newer and unsure: capture order offers the older, the useful order the
    # unsure one first (by the sidecars' scores: no model given).
    write_capture(inbox, 'glass', '20261130T101400_000001', score=0.98)
    write_capture(inbox, 'metal', '20261130T101600_000013', score=0.35)
    for order, first in (('capture', 'glass/20261130T101400_000001.jpg'),
                         ('useful', 'metal/20261130T101600_000013.jpg')):
        desk = ReviewDesk(str(inbox), str(dataset), lambda: state.classes, order)
        try:
            assert desk.view()['current']['id'] == first, order
        finally:
            desk.close()
    with pytest.raises(ValueError, match="review order 'best': one of capture, useful"):
        ReviewDesk(str(inbox), str(dataset), lambda: state.classes, 'best')


def test_a_waiting_retrain_result_is_judged_by_the_rule_and_promoted_by_its_install(tmp_path):
    live = write_model_dir(tmp_path / 'model')
    live_sha = sha256_file(live)
    desk = ModelDesk(str(tmp_path / 'retrain'), '', 1.0)  # '' = no node to tell
    view = desk.view(str(live), live_sha)
    assert view['live']['sha256_short'] == live_sha[:12] and view['candidate'] is None
    losing = write_retrain_result(tmp_path / 'retrain', live, wins=False, name='2026-12-04_21')
    candidate = desk.view(str(live), live_sha)['candidate']
    assert (candidate['wins'], candidate['decision']) == (False, 'not better on the station '
                                                                 '(-5.0 points)')
    with pytest.raises(guard.PageError, match='the rule says no'):
        desk.promote(str(live), live_sha, candidate['sha256'])
    write_retrain_result(tmp_path / 'retrain', live, name='2026-12-04_22')
    candidate = desk.view(str(live), live_sha)['candidate']  # the newest
    assert candidate['wins'] and candidate['comparison'] == [
        {'name': 'station', 'live': 0.80, 'new': 0.90},
        {'name': 'waste7', 'live': 0.950, 'new': pytest.approx(664 / 700)}]
    # Every verdict states each base source's change with its interval ...
    assert candidate['decision'] == (
        '+10.0 points on the station; waste7 top-1 95.0% -> 94.9% (-0.1, 95% interval -0.6..+0.3 '
        'over 700 photos): within the noise-aware guard (95%)')
    assert candidate['guard'].startswith('noise-aware guard (95%): no base source shown by its '
                                         'paired 95% interval to lose more than 1 point(s)')
    # ... and what the guard cost the station comes with it, for the page to show.
    assert candidate['trade_off']['lines'][1] == (
        'strict guard: blocks mix 0.25 of epoch 5, station val 85.0% (-5.0 points on the station)')
    assert str(tmp_path) not in json.dumps(desk.view(str(live), live_sha))
    with pytest.raises(guard.PageError, match='no such retrained model waiting'):
        desk.promote(str(live), live_sha, sha256_file(losing / live.name))  # not the one shown
    answer = desk.promote(str(live), live_sha, candidate['sha256'])
    assert answer['installed'] == candidate['sha256'][:12] and 'no classifier' in \
        answer['message']
    assert sha256_file(live) == candidate['sha256']  # installed over the model in use
    assert read_card(live.with_name('model_card.json'))['parent']['onnx_sha256'] == live_sha
    assert desk.view(str(live), sha256_file(live))['candidate'] is None  # nothing waits now


def test_the_page_refuses_what_retrain_refused_for_a_class_drop(tmp_path):
    live = write_model_dir(tmp_path / 'model')
    live_sha = sha256_file(live)
    desk = ModelDesk(str(tmp_path / 'retrain'), '', 1.0, 10.0)
    result = write_retrain_result(tmp_path / 'retrain', live, class_drop=True)
    candidate = desk.view(str(live), live_sha)['candidate']
    assert (candidate['wins'], candidate['decision']) == (
        False, 'waste7 glass recall 95.0% -> 75.0% (-20.0, 95% interval -27.8..-11.4 over 100 '
        'photos): beyond the 10-point class limit')
    with pytest.raises(guard.PageError, match='the rule says no: waste7 glass recall'):
        desk.promote(str(live), live_sha, candidate['sha256'])
    assert sha256_file(live) == live_sha
    assert ModelDesk(str(tmp_path / 'retrain'), '', 1.0, 15.0).view(
        str(live), live_sha)['candidate']['wins']  # within a 15-point class limit
    # The strict guard (confidence 0) also refuses the top-1 loss, 1.4 points of waste7.
    strict = ModelDesk(str(tmp_path / 'retrain'), '', 1.0, 15.0, 0.0).view(
        str(live), live_sha)['candidate']
    assert not strict['wins'] and strict['decision'] == (
        'waste7 top-1 95.0% -> 93.6% (-1.4 over 700 photos): beyond the 1-point limit')
    report = json.loads((result / 'comparison.json').read_text())
    for row in report['comparison'].values():
        del row['paired']  # as an older retrain wrote it
    (result / 'comparison.json').write_text(json.dumps(report))
    candidate = desk.view(str(live), live_sha)['candidate']
    assert not candidate['wins'] and "no 'paired' to judge by" in candidate['decision']


def test_a_promote_keeps_the_model_it_replaced_and_roll_back_puts_it_back(tmp_path):
    live = write_model_dir(tmp_path / 'model')
    live_sha = sha256_file(live)
    desk = ModelDesk(str(tmp_path / 'retrain'), '', 1.0)
    assert desk.view(str(live), live_sha)['previous'] is None
    with pytest.raises(guard.PageError, match='no such previous model'):
        desk.roll_back(str(live), live_sha)
    write_retrain_result(tmp_path / 'retrain', live)
    child_sha = desk.view(str(live), live_sha)['candidate']['sha256']
    desk.promote(str(live), live_sha, child_sha)
    previous = desk.view(str(live), child_sha)['previous']
    assert previous['sha256'] == live_sha and str(tmp_path) not in json.dumps(previous)
    with pytest.raises(guard.PageError, match='no such previous model'):
        desk.roll_back(str(live), child_sha)  # not the one shown
    answer = desk.roll_back(str(live), live_sha)
    assert answer['rolled_back_to'] == live_sha[:12] and 'no classifier' in answer['message']
    assert sha256_file(live) == live_sha
    assert desk.view(str(live), live_sha)['previous']['sha256'] == child_sha  # and back again
