# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The station page's routes (aiohttp), without ROS: the application, its handlers and refusals.

Routes: `/`, `/kiosk` (the bin alone, for a screen above the bin), `/favicon.svg` and
`/static/<file>` (from a fixed list), `/ws` (a WebSocket per browser: state as JSON text, live
frames as binary JPEG; `/ws?frames=0` state only), `/api/state`, `/api/stats`, `/api/review`,
`/api/history` (the last bin decisions, with the capture of each while it waits for review),
`/api/model` (GET), `/captures/<class>/<name>.jpg` (a pending capture's photo), and the writes
(POST, JSON, same site, the token where one is set): the review moves
`/api/review/{label,skip,discard,undo}`, `/api/review/batch` (the grid: `{"labels": [{"id",
"label"}, ...]}`, all labelled or none), `/api/counts/reset`, the classifier's std_srvs/Trigger
services (`TRIGGERS`: `/api/capture`, ~/capture; `/api/empty/learn`, ~/learn_empty, the
operator's "the zone is empty now"; `/api/empty/clear`, ~/clear_empty), `/api/model/promote`
and `/api/model/roll-back`. Every refusal is a 4xx
with a JSON `{"error": reason}` (no path of this machine in it), also what aiohttp's HTTP
parser refuses (`JsonErrorProtocol`); an unexpected failure is a 500 saying to look at the
node's log, which gets the traceback. `/ws` is streaming.py's `Live`; server.py's `WebServer`
runs the application on an event loop in a thread of its own.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
import traceback
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod
from aiohttp.web_request import BaseRequest

from waste_classifier_ros.flywheel.review import ReviewError
from waste_classifier_ros.station_web import guard
from waste_classifier_ros.station_web.desk import ReviewDesk
from waste_classifier_ros.station_web.frames import FrameHub
from waste_classifier_ros.station_web.models import ModelDesk
from waste_classifier_ros.station_web.state import StationState
from waste_classifier_ros.station_web.streaming import Live

STATIC_DIR = Path(__file__).resolve().parent / 'static'
STATIC_TYPES = {'index.html': 'text/html', 'app.js': 'text/javascript',
                'style.css': 'text/css', 'kiosk.html': 'text/html', 'kiosk.js': 'text/javascript',
                'favicon.svg': 'image/svg+xml', 'common.js': 'text/javascript',
                'grid.js': 'text/javascript'}
# The <head> the pages (.html) share, served before each page's own file (which adds <title>).
PAGE_HEAD = STATIC_DIR / 'head.html'
TOKEN_HEADER = 'X-Station-Token'
NO_STORE = {'Cache-Control': 'no-store'}
MAX_URL = 4096  # longer request targets get a 414; the parser itself reads lines up to:
MAX_LINE = 64 * 1024
PAGES = {'/': 'index.html', '/kiosk': 'kiosk.html', '/favicon.svg': 'favicon.svg',
         '/favicon.ico': 'favicon.svg'}


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({'error': reason, 'status': status}, status=status,
                             headers=NO_STORE)


@dataclass(frozen=True)
class Access:
    """Who may use the page: `token` '' = writes need none; `loopback` = local Host names only."""

    token: str
    loopback: bool


Service = Callable[[], Awaitable[dict]]  # calls one classifier service: {'success', 'message'}
# The writes that call one of the classifier's std_srvs/Trigger services: path -> service name.
TRIGGERS = {'/api/capture': 'capture', '/api/empty/learn': 'learn_empty',
            '/api/empty/clear': 'clear_empty'}

STATE = web.AppKey('state', StationState)
FRAMES = web.AppKey('frames', FrameHub)
DESK = web.AppKey('desk', ReviewDesk)
MODELS = web.AppKey('models', ModelDesk)
LIVE = web.AppKey('live', Live)
ACCESS = web.AppKey('access', Access)
LOG: web.AppKey[Callable[[str], object]] = web.AppKey('log')
SERVICES: web.AppKey[Mapping[str, Service]] = web.AppKey('services')  # by TRIGGERS' names


@web.middleware
async def refusals(request: web.Request,
                   handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                   ) -> web.StreamResponse:
    """Answer every refusal and failure as JSON `{"error": reason}` (module docstring)."""
    app = request.app
    try:
        if len(request.raw_path) > MAX_URL:
            raise guard.PageError(414, f'request target of {len(request.raw_path)} '
                                       f'characters; at most {MAX_URL}')
        if app[ACCESS].loopback and not guard.is_loopback(_host_name(request.host)):
            raise guard.PageError(403, f'this page listens on this machine only; Host '
                                       f'{request.host[:80]!r} is not a local name')
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _error(error.status, _http_reason(request, error))
    except guard.PageError as error:
        return _error(error.status, app[DESK].scrub(str(error)))
    except ReviewError as error:
        return _error(409, app[DESK].scrub(str(error)))
    except Exception as error:  # noqa: BLE001 - a request must not take the server down
        app[LOG](f'{request.method} {request.path[:200]} failed:\n{traceback.format_exc()}')
        return _error(500, f'internal error ({type(error).__name__}); the station_web log '
                           'has the details')


def same_site(request: web.Request) -> None:
    """Refuse what another site's page in the same browser sends (writes, the stream)."""
    origin = request.headers.get('Origin')
    if origin and _netloc(origin) != request.host:
        raise guard.PageError(403, f'cross-site request from {origin[:80]!r} refused')


def can_write(request: web.Request) -> bool:
    token = request.app[ACCESS].token
    return not token or guard.token_matches(token, request.headers.get(TOKEN_HEADER))


async def write_body(request: web.Request) -> dict:
    """Return the JSON body of a write, once the request may write at all."""
    same_site(request)
    if not can_write(request):
        raise guard.PageError(401, 'labelling needs the token that station_web printed at '
                                   'start (open the page with ?token=...)')
    if request.content_type != 'application/json':
        raise guard.PageError(415, 'send the request as JSON (Content-Type: application/json)')
    return guard.json_object(await request.read())


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _json(body: Any) -> web.Response:
    return web.json_response(body, headers=NO_STORE)


async def page(request: web.Request) -> web.Response:
    name = request.match_info.get('name') or PAGES.get(request.path, '')
    if name not in STATIC_TYPES:
        raise web.HTTPNotFound()
    body = (STATIC_DIR / name).read_bytes()
    if STATIC_TYPES[name] == 'text/html':
        body = PAGE_HEAD.read_bytes() + body
    return web.Response(body=body, content_type=STATIC_TYPES[name],
                        headers={'Cache-Control': 'no-cache'})


async def websocket(request: web.Request) -> web.WebSocketResponse:
    same_site(request)
    return await request.app[LIVE].serve(request)


async def api_state(request: web.Request) -> web.Response:
    return _json(request.app[STATE].snapshot())


async def api_stats(request: web.Request) -> web.Response:
    frames, live = request.app[FRAMES], request.app[LIVE]
    return _json({'viewers': frames.viewers, 'frames_received': frames.newest()[0],
                  'frames_encoded': live.encoded, 'frames_sent': live.sent,
                  'token_required': bool(request.app[ACCESS].token)})


async def api_review(request: web.Request) -> web.Response:
    return _json(dict(await in_thread(request.app[DESK].view),
                      token_required=bool(request.app[ACCESS].token),
                      can_label=can_write(request)))


async def api_history(request: web.Request) -> web.Response:
    stamps = await in_thread(request.app[DESK].stamps)
    entries = request.app[STATE].history()
    for entry in entries:
        capture_id = stamps.get(tuple(entry['stamp']))
        entry['thumbnail'] = '/captures/' + quote(capture_id) if capture_id else None
    return _json({'history': entries})


async def reset_counts(request: web.Request) -> web.Response:
    await write_body(request)
    return _json(request.app[STATE].reset_counts())


async def api_model(request: web.Request) -> web.Response:
    return _json(await in_thread(request.app[MODELS].view, *request.app[STATE].model))


async def promote(request: web.Request) -> web.Response:
    body = await write_body(request)
    return _json(await in_thread(request.app[MODELS].promote, *request.app[STATE].model,
                                 body.get('sha256')))


async def roll_back(request: web.Request) -> web.Response:
    body = await write_body(request)
    return _json(await in_thread(request.app[MODELS].roll_back, request.app[STATE].model[0],
                                 body.get('sha256')))


async def call_service(request: web.Request) -> web.Response:
    """Call the classifier's service of this path (TRIGGERS); its answer."""
    await write_body(request)
    name = TRIGGERS[request.path]
    service = request.app[SERVICES].get(name)
    if service is None:
        raise guard.PageError(503, f'no classifier to ask (~/{name})')
    return _json(await service())


async def capture_image(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    try:
        path = await in_thread(desk.image, request.match_info['capture_id'])
    except ReviewError as error:  # not a pending capture (gone, broken, not a plain file)
        raise guard.PageError(404, str(error)) from None
    return web.Response(body=await in_thread(path.read_bytes), content_type='image/jpeg',
                        headers=NO_STORE)


async def review_move(request: web.Request) -> web.Response:
    body = await write_body(request)
    desk, classes = request.app[DESK], request.app[STATE].classes
    move = request.match_info['move']
    if move == 'undo':
        result = await in_thread(desk.undo)
    elif move == 'batch':
        result = await in_thread(desk.label_batch, body.get('labels'))
    elif move == 'label':
        label = body.get('label')
        if label not in classes:
            raise guard.PageError(400, f'label {label!r} is not one of the classes '
                                       f'{", ".join(classes)}')
        result = await in_thread(desk.label, body.get('id'), label)
    else:
        result = await in_thread(getattr(desk, move), body.get('id'))
    return _json(result)


async def start_live(app: web.Application) -> None:
    await app[LIVE].start()


async def stop_live(app: web.Application) -> None:
    await app[LIVE].stop()
    await in_thread(app[DESK].close)


def make_app(state: StationState, frames: FrameHub, desk: ReviewDesk, *, max_rate: float,
             token: str, loopback: bool, log: Callable[[str], object],
             services: Mapping[str, Service] | None = None,
             models: ModelDesk | None = None) -> web.Application:
    """Build the application; `token` '' = labelling needs none (only on a loopback address).

    `services` call the classifier's services by TRIGGERS' names (~/capture, ~/learn_empty,
    ~/clear_empty); one missing = the page has no classifier to ask (tests of the plain
    application). `models` finds and promotes retrained models; None = the model panel shows
    the model in use only.
    """
    app = web.Application(middlewares=[refusals], client_max_size=guard.MAX_JSON_BYTES)
    app[STATE], app[FRAMES], app[DESK] = state, frames, desk
    app[MODELS] = models or ModelDesk('', '', 0.0)
    app[LIVE] = Live(state, frames, max_rate, log)
    app[ACCESS] = Access(token, loopback)
    app[LOG], app[SERVICES] = log, dict(services or {})
    for path in PAGES:
        app.router.add_get(path, page)
    app.router.add_get('/static/{name}', page)
    app.router.add_get('/ws', websocket)
    app.router.add_get('/api/state', api_state)
    app.router.add_get('/api/stats', api_stats)
    app.router.add_get('/api/review', api_review)
    app.router.add_get('/api/history', api_history)
    app.router.add_get('/captures/{capture_id:.+}', capture_image)
    app.router.add_post('/api/review/{move:label|skip|discard|undo|batch}', review_move)
    app.router.add_post('/api/counts/reset', reset_counts)
    for path in TRIGGERS:
        app.router.add_post(path, call_service)
    app.router.add_get('/api/model', api_model)
    app.router.add_post('/api/model/promote', promote)
    app.router.add_post('/api/model/roll-back', roll_back)
    app.on_startup.append(start_live)
    app.on_shutdown.append(stop_live)
    return app


def _host_name(host: str) -> str:
    try:
        return urlsplit('//' + host).hostname or ''
    except ValueError:  # '[::1', an unclosed IPv6 literal
        raise guard.PageError(400, f'malformed Host header {host[:80]!r}') from None


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc
    except ValueError:
        raise guard.PageError(403, f'malformed Origin header {url[:80]!r}') from None


def _http_reason(request: web.Request, error: web.HTTPException) -> str:
    if error.status == 404:
        return f'no such page: {request.path[:200]}'
    if isinstance(error, web.HTTPMethodNotAllowed):
        return (f'{request.method[:20]} is not allowed on {request.path[:200]}; allowed: '
                f'{", ".join(sorted(error.allowed_methods))}')
    detail = error.text or ''  # aiohttp's detail, when it has more than "<status>: <reason>"
    return detail[:200] if detail and not detail.startswith(f'{error.status}:') else error.reason


class JsonErrorProtocol(web.RequestHandler):
    """aiohttp's connection handler, answering what its HTTP parser refuses as JSON.

    A request line longer than MAX_LINE, an over-long header, a method the parser does not know
    or broken framing never reach the application's middleware: aiohttp answers them from here
    (by default in plain text, with a traceback in the log). Logged in one line instead.
    """

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        reason = (message or (str(exc) if exc else '') or HTTPStatus(status).phrase)
        reason = reason.strip().splitlines()[0][:200] if reason.strip() else 'unreadable'
        if isinstance(exc, BadHttpMethod) and 'HTTPS' not in reason:
            status, reason = 405, 'unknown HTTP method; this page answers GET, HEAD and POST'
        self.logger.warning('refused a malformed request (%d): %r', status, reason)
        if request.writer.output_size > 0:
            raise ConnectionError('the answer had started; the connection is closed')
        response = _error(status, f'malformed request: {reason}')
        response.force_close()
        return response

    def log_exception(self, message: str, *args: Any, exc_info: object = None,
                      **kwargs: Any) -> None:
        self.logger.error(f'{message % args}: {exc_info!r}')
