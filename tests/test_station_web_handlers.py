# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The station page's handlers and middleware one at a time, on aiohttp's mocked requests.

No server, no socket: each test builds the application with `make_app` (so the typed AppKey
state is the real one) and calls one module-level handler directly.
"""

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
import pytest
from tiny_model import CLASSES

from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.station_web import guard, routes
from waste_classifier_ros.station_web.desk import ReviewDesk
from waste_classifier_ros.station_web.frames import FrameHub
from waste_classifier_ros.station_web.state import StationState
from waste_classifier_ros.station_web.streaming import Live


@pytest.fixture
def built(tmp_path):
    """Return a function building the application; closes the desks it made."""
    desks = []

    def build(*, token='', loopback=True, services=None, log=None):
        state = StationState(share_path('config', 'bins.yaml'))
        state.set_label_info(CLASSES, 0.5)
        desk = ReviewDesk(str(tmp_path / 'inbox'), str(tmp_path / 'dataset'),
                          lambda: state.classes)
        desks.append(desk)
        return routes.make_app(state, FrameHub(), desk, max_rate=5.0, token=token,
                               loopback=loopback, log=(log if log is not None else []).append,
                               services=services)
    yield build
    for desk in desks:
        desk.close()


def request(app, method='GET', path='/', headers=None, match_info=None):
    return make_mocked_request(method, path, headers={'Host': 'localhost', **(headers or {})},
                               app=app, match_info=match_info or {})


def body_of(response: web.Response) -> dict:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


def test_the_state_lives_under_typed_app_keys(built):
    app = built(token='s3cret', loopback=False)
    assert isinstance(app[routes.STATE], StationState)
    assert isinstance(app[routes.LIVE], Live)
    assert app[routes.ACCESS] == routes.Access('s3cret', False)
    assert app[routes.SERVICES] == {}


def test_api_state_answers_the_state_snapshot_uncached(built):
    app = built()
    response = asyncio.run(routes.api_state(request(app, path='/api/state')))
    assert response.status == 200
    assert response.headers['Cache-Control'] == 'no-store'
    answer, snapshot = body_of(response), app[routes.STATE].snapshot()
    assert answer.keys() == snapshot.keys()
    assert answer['classes'] == snapshot['classes'] == list(CLASSES)


@pytest.mark.parametrize('token, required', [('', False), ('s3cret', True)])
def test_api_stats_says_whether_a_token_is_required(built, token, required):
    app = built(token=token, loopback=not token)
    stats = body_of(asyncio.run(routes.api_stats(request(app, path='/api/stats'))))
    assert stats == {'viewers': 0, 'frames_received': 0, 'frames_encoded': 0,
                     'frames_sent': 0, 'token_required': required}


def test_can_write_needs_the_token_only_where_one_is_set(built):
    open_app, locked = built(), built(token='s3cret', loopback=False)
    assert routes.can_write(request(open_app))
    assert not routes.can_write(request(locked))
    assert not routes.can_write(request(locked, headers={'X-Station-Token': 'wrong'}))
    assert routes.can_write(request(locked, headers={'X-Station-Token': 's3cret'}))


def test_same_site_refuses_another_sites_origin(built):
    app = built()
    routes.same_site(request(app, headers={'Origin': 'http://localhost'}))
    with pytest.raises(guard.PageError) as refused:
        routes.same_site(request(app, headers={'Origin': 'http://evil.example'}))
    assert refused.value.status == 403


@pytest.mark.parametrize('path, name', routes.TRIGGERS.items())
def test_each_service_button_asks_its_classifier_service_or_is_a_503(built, monkeypatch, path,
                                                                     name):
    async def allowed(request):
        return {}
    monkeypatch.setattr(routes, 'write_body', allowed)  # the write checks, tested apart
    with pytest.raises(guard.PageError) as refused:
        asyncio.run(routes.call_service(request(built(), 'POST', path)))
    assert refused.value.status == 503 and f'~/{name}' in str(refused.value)
    asked = []

    def service(called):
        async def call():
            asked.append(called)
            return {'success': True, 'message': f'{called} done'}
        return call
    app = built(services={n: service(n) for n in routes.TRIGGERS.values()})
    assert body_of(asyncio.run(routes.call_service(request(app, 'POST', path)))) == {
        'success': True, 'message': f'{name} done'}
    assert asked == [name]


def test_write_body_refuses_without_the_token_and_without_json(built):
    locked = built(token='s3cret', loopback=False)
    with pytest.raises(guard.PageError) as refused:
        asyncio.run(routes.write_body(request(locked, 'POST', '/api/counts/reset')))
    assert refused.value.status == 401
    plain = request(built(), 'POST', '/api/counts/reset', headers={'Content-Type': 'text/plain'})
    with pytest.raises(guard.PageError) as refused:
        asyncio.run(routes.write_body(plain))
    assert refused.value.status == 415


def test_middleware_turns_a_failure_into_a_500_and_logs_the_traceback(built):
    log: list[str] = []
    app = built(log=log)

    async def broken(request):
        raise RuntimeError('boom')
    response = asyncio.run(routes.refusals(request(app, path='/api/state'), broken))
    assert response.status == 500
    assert body_of(response)['error'].startswith('internal error (RuntimeError)')
    assert 'RuntimeError: boom' in log[0]


def test_middleware_refuses_a_foreign_host_on_a_loopback_page(built):
    app = built(loopback=True)

    async def never(request):
        raise AssertionError('the handler must not run')
    foreign = request(app, headers={'Host': 'evil.example'})
    response = asyncio.run(routes.refusals(foreign, never))
    assert response.status == 403
    assert 'is not a local name' in body_of(response)['error']
