# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The station page's server thread: routes.py's application on an event loop of its own.

The ROS node spins on its own threads; `WebServer` runs aiohttp beside it in a daemon thread,
listens with routes.py's `JsonErrorProtocol` (so what the HTTP parser refuses is answered as
JSON too, with no access log) and gives open requests and WebSockets SHUTDOWN_S to finish
when the node stops it.
"""

import asyncio
import logging
import threading

from aiohttp import web

from waste_classifier_ros.station_web.routes import MAX_LINE, JsonErrorProtocol
from waste_classifier_ros.station_web.streaming import SHUTDOWN_S

HTTP_LOG = logging.getLogger('station_web.http')


class WebServer:
    """An aiohttp application served from an event loop in a daemon thread."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name='station_web',
                                        daemon=True)

    def start(self, host: str, port: int, timeout: float = 10.0) -> int:
        """Listen on host:port and return the bound port; OSError when it cannot listen."""
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self._start(host, port), self._loop).result(
            timeout)

    async def _start(self, host: str, port: int) -> int:
        runner = self._runner = web.AppRunner(self._app, handle_signals=False,
                                              shutdown_timeout=SHUTDOWN_S)
        await runner.setup()
        server, loop = runner.server, asyncio.get_running_loop()
        assert server is not None  # made by setup()

        def connection() -> JsonErrorProtocol:
            # access_log=None: no access log (aiohttp's documented switch; typed as Logger).
            return JsonErrorProtocol(server, loop=loop, access_log=None,  # type: ignore[arg-type]
                                     logger=HTTP_LOG, max_line_size=MAX_LINE)
        try:
            listener = self._listener = await loop.create_server(connection, host, port)
        except OSError:
            await runner.cleanup()
            raise
        return listener.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._listener is not None and self._runner is not None:
            self._listener.close()
            await self._runner.cleanup()

    def stop(self, timeout: float = 1.5) -> None:
        if self._listener is not None and self._loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout)
            except TimeoutError:
                pass  # the daemon thread goes with the process
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
