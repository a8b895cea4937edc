# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Bad requests against the real station_web server: every one a JSON 4xx, nothing lost.

The server is `WebServer` as the node runs it (aiohttp on 127.0.0.1, its HTTP parser answered
through `JsonErrorProtocol`), over a real inbox and dataset in tmp_path; requests are written as
raw bytes on a socket, so nothing on the client side tidies them up. The fuzz test (hypothesis,
bounded) sends random methods, paths, ids, headers and bodies to every route.
"""

import json
import logging
import socket

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
import pytest
from station_web_support import write_capture
from tiny_model import CLASSES

from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.station_web import guard, routes
from waste_classifier_ros.station_web.desk import ReviewDesk
from waste_classifier_ros.station_web.frames import FrameHub
from waste_classifier_ros.station_web.routes import TRIGGERS, make_app
from waste_classifier_ros.station_web.server import WebServer
from waste_classifier_ros.station_web.state import StationState

CAPTURES = [f'{cls}/20261130T1015{i:02d}_0000{i:02d}.jpg' for i, cls in
            enumerate(['plastic', 'glass', 'metal', 'paper', 'trash', 'plastic'])]
ROUTES = ['/', '/static/app.js', '/static/style.css', '/ws', '/api/state', '/api/stats',
          '/api/review', '/api/review/label', '/api/review/skip', '/api/review/discard',
          '/api/review/undo', '/api/review/batch', '/captures/' + CAPTURES[0], '/kiosk',
          '/favicon.svg', '/static/kiosk.js', '/static/common.js', '/api/history',
          '/api/counts/reset', '/api/capture', '/api/model', '/api/model/promote',
          '/api/model/roll-back', '/api/empty/learn', '/api/empty/clear']


class Served:
    """The application on a loopback port, its logs and its files."""

    def __init__(self, root, token=''):
        self.root, self.inbox, self.dataset = root, root / 'inbox', root / 'dataset'
        for capture_id in CAPTURES:
            predicted, name = capture_id.split('/')
            write_capture(self.inbox, predicted, name[:-4])
        (root / 'secret.jpg').write_bytes(b'secret bytes')
        self.state = StationState(share_path('config', 'bins.yaml'))
        self.state.set_label_info(CLASSES, 0.5)
        self.desk = ReviewDesk(str(self.inbox), str(self.dataset), lambda: self.state.classes)
        self.log = []

        async def no_classifier():  # what the node answers while the classifier is away
            return {'success': False, 'message': 'the classifier is not running'}
        self.server = WebServer(make_app(self.state, FrameHub(), self.desk, max_rate=5.0,
                                         token=token, loopback=True, log=self.log.append,
                                         services=dict.fromkeys(TRIGGERS.values(),
                                                                no_classifier)))
        self.port = self.server.start('127.0.0.1', 0)

    def request(self, data: bytes, timeout: float = 5.0) -> tuple[int, dict, str]:
        """Send raw bytes; return (status, headers, body text) of the answer."""
        with socket.create_connection(('127.0.0.1', self.port), timeout=timeout) as sock:
            sock.sendall(data)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        answer = b''.join(chunks).decode('utf-8', 'replace')
        head, _, body = answer.partition('\r\n\r\n')
        lines = head.split('\r\n')
        assert lines[0].startswith('HTTP/1.'), f'no HTTP answer: {answer[:200]!r}'
        headers = dict(line.split(': ', 1) for line in lines[1:] if ': ' in line)
        return int(lines[0].split()[1]), headers, body

    def photos(self) -> set:
        """Names of every capture JPEG under the inbox (with .discarded) and the dataset."""
        return {p.name for root in (self.inbox, self.dataset) for p in root.rglob('*.jpg')}

    def outside(self) -> dict:
        """Every file outside the inbox and the dataset with its size and modification time."""
        return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in self.root.rglob('*')
                if p.is_file() and self.inbox not in p.parents and self.dataset not in p.parents}

    def close(self):
        self.server.stop()


def http(method: str, path: str, body: bytes = b'', headers: dict | None = None) -> bytes:
    head = {'Host': '127.0.0.1', 'Connection': 'close', 'Content-Length': str(len(body))}
    head.update(headers or {})
    lines = ''.join(f'{k}: {v}\r\n' for k, v in head.items())
    return f'{method} {path} HTTP/1.1\r\n{lines}\r\n'.encode('utf-8', 'surrogateescape') + body


def as_json(body: str) -> dict:
    return json.loads(body)


@pytest.fixture
def served(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    served = Served(tmp_path)
    yield served
    served.close()


def assert_quiet(served, caplog):
    """No traceback in the application's log nor in aiohttp's."""
    assert not [text for text in served.log if 'Traceback' in text], served.log
    for record in caplog.records:
        assert record.exc_info is None and 'Traceback' not in record.getMessage(), \
            (record.name, record.getMessage())


JSON = {'Content-Type': 'application/json'}


@pytest.mark.parametrize('what, data, status, reason', [
    ('100,000-deep JSON', http('POST', '/api/review/skip', b'[' * 100_000, JSON), 400,
     'nests deeper than 16 levels'),
    ('deep JSON in an object', http('POST', '/api/review/label', b'{"a":' * 30_000, JSON), 400,
     'nests deeper'),
    ('a body over the bound', http('POST', '/api/review/skip', b' ' * 300_000, JSON), 413,
     'Maximum request body size'),
    ('not UTF-8', http('POST', '/api/review/skip', b'{"id": "\xff"}', JSON), 400, 'UTF-8'),
    ('a 20 KB URL', http('GET', '/api/state?x=' + 'a' * 20_000), 414, 'at most 4096'),
    ('a 100 KB URL', http('GET', '/api/state?x=' + 'a' * 100_000), 400, 'malformed request'),
    ('an unknown method', http('BREW', '/api/state'), 405, 'unknown HTTP method'),
    ('a method the route does not take', http('DELETE', '/api/review'), 405,
     'DELETE is not allowed on /api/review; allowed: GET, HEAD'),
    ('a GET of a write', http('GET', '/api/review/label'), 405, 'allowed: POST'),
    ('a 20 KB header', http('GET', '/api/state', headers={'X-A': 'b' * 20_000}), 400,
     'malformed request'),
    ('an unclosed IPv6 Host', http('GET', '/api/state', headers={'Host': '[::1'}), 400,
     'malformed Host'),
    ('a malformed Origin', http('POST', '/api/review/undo', b'{}', dict(JSON, Origin='http://[x')),
     403, 'malformed Origin'),
    ('skipping a capture that does not exist',
     http('POST', '/api/review/skip', b'{"id": "plastic/none.jpg"}', JSON), 404,
     'no capture plastic/none.jpg in the inbox'),
    ('/ws without the upgrade', http('GET', '/ws'), 400, 'WebSocket'),
    ('TLS on the HTTP port', b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + b'\0' * 40, 400,
     'HTTPS'),
])
def test_a_bad_request_gets_a_json_4xx_with_a_reason_and_no_traceback(served, caplog, what,
                                                                      data, status, reason):
    before = served.photos()
    got, headers, body = served.request(data)
    assert headers.get('Content-Type', '').startswith('application/json'), (what, body[:200])
    assert (got, reason in as_json(body)['error']) == (status, True), (what, got, body[:300])
    assert served.photos() == before
    assert_quiet(served, caplog)


def test_no_error_and_no_review_answer_shows_a_path_of_this_machine(served, caplog):
    root = str(served.root)
    (served.inbox / 'glass' / 'broken.json').write_text('{', encoding='utf-8')
    (served.inbox / 'glass' / 'broken.jpg').write_bytes(b'x')
    answers = [served.request(http('GET', '/api/review'))]
    review = as_json(answers[0][2])
    assert review['unreadable'] and '<inbox>/glass/broken.json' in review['unreadable'][0]
    capture = review['current']['id']
    answers.append(served.request(http('POST', '/api/review/label', json.dumps(
        {'id': capture, 'label': 'metal'}).encode(), JSON)))
    assert '<dataset>/' in as_json(answers[-1][2])['done']
    changed = served.inbox / CAPTURES[1]  # listed above; replaced now: its move is refused
    changed.write_bytes(changed.read_bytes() + b'more')
    for data in (http('POST', '/api/review/label', json.dumps(
            {'id': CAPTURES[1], 'label': 'metal'}).encode(), JSON),
            http('GET', '/captures/glass/broken.jpg'),
            http('GET', f'/captures/{root}/secret.jpg'),
            http('POST', '/api/review/discard', json.dumps({'id': capture}).encode(), JSON)):
        answers.append(served.request(data))
        assert 400 <= answers[-1][0] < 500, answers[-1]
    for status, _, body in answers:
        assert root not in body and '/tmp' not in body, body
    assert answers[2][0] == 409 and '<inbox>/' in as_json(answers[2][2])['error'], answers[2]
    assert_quiet(served, caplog)


def test_station_web_answers_every_route_the_page_uses(served):
    """The fuzz test's routes exist (a typo there would fuzz only 404s)."""
    for route in ROUTES:
        method = 'POST' if route.startswith(('/api/review/', '/api/counts/', '/api/capture',
                                             '/api/model/', '/api/empty/')) else 'GET'
        status, _, body = served.request(http(method, route, b'{}', JSON))
        assert status != 404 or 'no such page' not in body, (route, body)
        assert status != 405, (route, body)


@pytest.mark.parametrize('route, title', [('/', 'Waste station'),
                                          ('/kiosk', 'Bin · Waste station'),
                                          ('/static/kiosk.html', 'Bin · Waste station')])
def test_each_page_is_served_whole_with_the_shared_head(served, route, title):
    """static/head.html goes before each page's file: one document with the page's own title."""
    status, headers, body = served.request(http('GET', route))
    assert status == 200 and headers['Content-Type'].startswith('text/html'), (status, headers)
    assert body.startswith('<!doctype html>') and body.count('<head>') == 1, body[:300]
    head, _, rest = body.partition('</head>')
    assert f'<title>{title}</title>' in head and '/static/style.css' in head, head
    assert rest.lstrip().startswith('<body'), rest[:100]


METHODS = st.one_of(st.just('POST'),
                    st.sampled_from(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']))
IDS = st.one_of(st.sampled_from(CAPTURES),
                st.sampled_from(['../secret.jpg', '/etc/passwd', 'plastic/../../x.jpg',
                                 '%2e%2e/x.jpg', '', 'plastic/none.jpg']),
                st.text(max_size=40))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
BODIES = st.one_of(
    st.builds(lambda i, label: json.dumps({'id': i, 'label': label}).encode(), IDS,
              st.sampled_from(CLASSES + ['cat', ''])),
    st.builds(lambda value: json.dumps(value).encode(), JSON_VALUES),
    st.lists(st.fixed_dictionaries({'id': IDS, 'label': st.sampled_from(CLASSES + ['cat'])}),
             max_size=4).map(lambda labels: json.dumps({'labels': labels}).encode()),
    st.binary(max_size=200),
    st.integers(1, 5000).map(lambda depth: b'{"id":' * depth))
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=60)
HEADERS = st.fixed_dictionaries({}, optional={
    'Content-Type': st.sampled_from(['application/json', 'text/plain',
                                     'application/json; charset=latin-9', 'multipart/form-data',
                                     'application/json; charset=nope']),
    'Origin': st.one_of(st.just('http://127.0.0.1'), HEADER_TEXT),
    'Host': st.one_of(st.sampled_from(['localhost', '[::1]', 'evil.example', '127.0.0.1:1']),
                      HEADER_TEXT),
    'X-Station-Token': HEADER_TEXT,
    'Accept': st.sampled_from(['text/html', '*/*']),
    'Upgrade': st.just('websocket'),
})
PATHS = st.one_of(st.sampled_from(ROUTES), st.sampled_from(ROUTES[7:12]),
                  IDS.map(lambda capture_id: '/captures/' + capture_id),
                  st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=80)
                  .map(lambda text: '/' + text))


def test_fuzzing_every_route_gives_no_500_no_traceback_and_loses_nothing(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    served = Served(tmp_path)
    photos, outside = served.photos(), served.outside()
    statuses = {}

    @settings(max_examples=500, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(method=METHODS, path=PATHS, body=BODIES, headers=HEADERS)
    # Well-formed reviews among the random requests (a batch too), whatever the draw: the files
    # must survive real moves too.
    @example(method='POST', path='/api/review/label', headers={},
             body=json.dumps({'id': CAPTURES[1], 'label': 'metal'}).encode())
    @example(method='POST', path='/api/review/discard', headers={},
             body=json.dumps({'id': CAPTURES[2]}).encode())
    @example(method='POST', path='/api/review/batch', headers={},
             body=json.dumps({'labels': [{'id': CAPTURES[3], 'label': 'paper'},
                                         {'id': CAPTURES[4], 'label': 'glass'}]}).encode())
    def one(method, path, body, headers):
        status, head, text = served.request(http(method, path, body, dict(JSON, **headers)))
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200 and method == 'POST':
            statuses['moves'] = statuses.get('moves', 0) + 1
        assert status < 500, (method, path, body, headers, text[:300])
        if status >= 400 and method != 'HEAD':
            assert 'error' in as_json(text), text[:300]
        assert str(tmp_path) not in text
    try:
        one()
        assert served.photos() == photos, 'a capture went missing'
        assert served.outside() == outside, 'a file outside the inbox and dataset changed'
        assert_quiet(served, caplog)
    finally:
        served.close()
    assert statuses.get('moves', 0) >= 2, statuses  # some requests did move captures
    assert sum(v for k, v in statuses.items() if k != 'moves' and 400 <= k < 500) > 100


def test_the_json_check_refuses_before_parsing():
    assert guard.json_object(b'{"id": "[[[{{{", "n": [1, [2]]}') == {'id': '[[[{{{',
                                                                       'n': [1, [2]]}
    for raw, status in ((b'[' * 100_000, 400), (b'{"a": ' * 17 + b'1' + b'}' * 17, 400),
                        (b' ' * (guard.MAX_JSON_BYTES + 1), 413), (b'[1]', 400),
                        (b'"\\"[[[', 400)):
        with pytest.raises(guard.PageError) as refused:
            guard.json_object(raw)
        assert refused.value.status == status
    assert routes.MAX_URL < routes.MAX_LINE
