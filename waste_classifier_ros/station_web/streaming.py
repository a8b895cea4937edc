# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The browsers' WebSockets: the state as JSON text and the live overlay frames as binary JPEG.

`Live` encodes the newest overlay frame at most `max_rate` times a second, once for every
browser, and feeds each open `/ws` (`?frames=0`: the state only): the state goes out when it
changes, at most ten times a second, and at least once a second so ages and silence stay
current; a slow browser gets fewer frames, never older ones. The ROS side wakes it from its own
threads through `_Soon`. routes.py serves `/ws` with `Live.serve` after its same-site check.
"""

import asyncio
from collections.abc import Callable
import json
import threading
import time
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from waste_classifier_ros.core.image_codec import CodecError
from waste_classifier_ros.station_web.frames import FrameHub, encode_jpeg
from waste_classifier_ros.station_web.state import StationState

HEARTBEAT_S = 1.0  # state is re-sent at least this often, so ages and silence stay current
STATE_INTERVAL_S = 0.1  # and at most ten times a second per browser
SHUTDOWN_S = 0.5  # open requests and WebSockets get this long to finish when the node stops


class Live:
    """Encodes the newest overlay frame at most max_rate times a second; feeds every browser."""

    def __init__(self, state: StationState, frames: FrameHub, max_rate: float,
                 log: Callable[[str], object]) -> None:
        self.state, self.frames, self.period, self.log = state, frames, 1.0 / max_rate, log
        self.jpeg, self.jpeg_sequence = b'', 0
        self.encoded = self.sent = 0
        self._frame_arrived = asyncio.Event()
        self._clients: set[asyncio.Event] = set()
        self._sockets: set[web.WebSocketResponse] = set()
        self._encoder: asyncio.Task[None] | None = None
        self._last_problem = ''
        self._state_text, self._state_key = '', (-1, -1)

    async def start(self) -> None:
        """Start encoding; from now on state changes and frames (any thread) wake the feeds."""
        loop = asyncio.get_running_loop()
        self.state.add_listener(_Soon(loop, self.wake))
        self.frames.on_frame = _Soon(loop, self.frame_arrived)
        self._encoder = asyncio.create_task(self.encode_forever())

    async def stop(self) -> None:
        """Stop encoding and close every browser's WebSocket as going away."""
        if self._encoder is not None:
            self._encoder.cancel()
        sockets = list(self._sockets)  # a copy: each closing socket leaves the set
        await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY, message=b'station_web stops')
                               for ws in sockets), return_exceptions=True)

    def state_text(self) -> str:
        """Return the state as JSON, encoded once for the browsers that get it in one tick."""
        key = (self.state.version, round(time.monotonic() / STATE_INTERVAL_S))
        if key != self._state_key:
            self._state_text = json.dumps({'type': 'state', **self.state.snapshot()})
            self._state_key = key
        return self._state_text

    def wake(self) -> None:
        for event in self._clients:
            event.set()

    def frame_arrived(self) -> None:
        self._frame_arrived.set()

    async def encode_forever(self) -> None:
        loop = asyncio.get_running_loop()
        seen = 0
        while True:
            await self._frame_arrived.wait()
            self._frame_arrived.clear()
            sequence, frame = self.frames.newest()
            if frame is None or sequence == seen:
                self.frames.want()
                continue
            seen, started = sequence, loop.time()
            try:
                self.jpeg = await loop.run_in_executor(None, self._encode, frame)
            except CodecError as error:
                if str(error) != self._last_problem:  # once per kind of problem, not per frame
                    self._last_problem = str(error)
                    self.log(f'overlay frames not shown: {error}')
                self.frames.want()
                continue
            self.jpeg_sequence += 1
            self.encoded += 1
            self.wake()
            await asyncio.sleep(max(0.0, started + self.period - loop.time()))
            self.frames.want()

    def _encode(self, frame: Any) -> bytes:
        return encode_jpeg(self.frames.decode(frame))

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        """Answer `/ws`: feed this browser until its WebSocket closes."""
        # JPEGs do not compress: per-message deflate would only cost CPU.
        ws = web.WebSocketResponse(heartbeat=20.0, timeout=SHUTDOWN_S, compress=False)
        await ws.prepare(request)
        feeder = asyncio.create_task(self.feed(ws, request.query.get('frames') != '0'))
        self._sockets.add(ws)
        try:
            async for message in ws:  # the page sends nothing; this notices when it closes
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            self._sockets.discard(ws)
            feeder.cancel()
        return ws

    async def feed(self, ws: web.WebSocketResponse, with_frames: bool = True) -> None:
        """Send state and frames to one browser until it goes; a slow one gets fewer frames."""
        event = asyncio.Event()
        event.set()  # the state goes out at once
        self._clients.add(event)
        if with_frames:
            self.frames.add_viewer()
        state_sent, jpeg_sent, state_at, later = -1, self.jpeg_sequence, 0.0, None
        try:
            while not ws.closed:
                try:
                    await asyncio.wait_for(event.wait(), HEARTBEAT_S)
                except TimeoutError:
                    state_sent = -1
                event.clear()
                wait = state_at + STATE_INTERVAL_S - time.monotonic()
                if state_sent != self.state.version and wait <= 0:
                    state_sent, state_at, later = self.state.version, time.monotonic(), None
                    await ws.send_str(self.state_text())
                elif state_sent != self.state.version and later is None:
                    later = asyncio.get_running_loop().call_later(wait, event.set)
                if with_frames and jpeg_sent != self.jpeg_sequence:
                    jpeg_sent = self.jpeg_sequence
                    await ws.send_bytes(self.jpeg)
                    self.sent += 1
        except ConnectionError:
            pass  # the browser went away mid-send
        finally:
            self._clients.discard(event)
            if with_frames:
                self.frames.remove_viewer()


class _Soon:
    """Calls `callback` on `loop` from another thread; calls while one waits are merged.

    The ROS side reports every frame and every state change (30 a second and more); one wake-up
    of the event loop serves all that came before it ran. Nothing once the loop has closed.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self._loop, self._callback = loop, callback
        self._waiting = threading.Event()

    def __call__(self) -> None:
        if self._waiting.is_set():
            return
        self._waiting.set()
        try:
            self._loop.call_soon_threadsafe(self._run)
        except RuntimeError:
            pass

    def _run(self) -> None:
        self._waiting.clear()
        self._callback()
