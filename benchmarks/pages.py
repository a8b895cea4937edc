# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The station page phase's viewers: station_web with N pages open on the classifier under test.

`Pages` starts the station_web node (its own process, port 0) watching the benchmark's
classifier, then N pages in one more process (`python -m benchmarks.pages`), and measures the
CPU time of both over the phase's window. A page here is a WebSocket client on `/ws` that takes
what the page's common.js takes: every state (JSON) and every live frame (JPEG) the server
sends, read in full. Five headless Chromium renderers decoding and drawing 10 JPEG frames a
second each would measure Chromium on the same two cores rather than station_web; what
station_web does (subscribe to the overlay, deserialise, encode once, send to five sockets) is
the same for both.

    python -m benchmarks.pages --url http://127.0.0.1:8080/ --count 5
"""

import argparse
import asyncio
import json
from pathlib import Path
import re
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Sequence, TextIO

import psutil

from benchmarks.processes import stop_node

if TYPE_CHECKING:
    from aiohttp import ClientSession

READY = 'pages ready'
_OPEN_LINE = re.compile(r'station page: open (http://\S+/)')


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class Pages:
    """station_web and its pages around one benchmark phase (start, mark, figures, stop)."""

    def __init__(self, environ: dict[str, str], log_path: Path, count: int) -> None:
        self.environ, self.log_path, self.count = environ, log_path, count
        self.station: subprocess.Popen[bytes] | None = None
        self.clients: subprocess.Popen[str] | None = None
        self._log: TextIO | None = None
        self._start: tuple[float, float, float] | None = None

    def start(self, timeout: float) -> None:
        """Start station_web and the pages; return once every page has had a live frame."""
        self._log = open(self.log_path, 'w')
        self.station = station = subprocess.Popen(
            [sys.executable, '-m', 'waste_classifier_ros.nodes.station_web_node', '--ros-args',
             '-p', 'port:=0'], stdout=self._log, stderr=subprocess.STDOUT, env=self.environ)
        deadline = time.monotonic() + timeout
        url = None
        while url is None:
            if station.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f'station_web did not start: {self.log_path.read_text()}')
            found = _OPEN_LINE.search(self.log_path.read_text())
            url = found.group(1) if found else None
            time.sleep(0.1)  # polling a log file another process writes
        self.clients = clients = subprocess.Popen(
            [sys.executable, '-m', 'benchmarks.pages', '--url', url, '--count', str(self.count),
             '--timeout', str(timeout)], stdout=subprocess.PIPE, text=True, env=self.environ)
        line = clients.stdout.readline() if clients.stdout else ''
        if READY not in line:
            raise RuntimeError(f'the pages got no frame: {line!r}; station_web log: '
                               f'{self.log_path.read_text()}')

    def _running(self) -> tuple[subprocess.Popen[bytes], subprocess.Popen[str]]:
        if self.station is None or self.clients is None:
            raise RuntimeError('Pages.start() has not run')
        return self.station, self.clients

    def mark(self) -> None:
        """Open the measured window."""
        station, clients = self._running()
        self._start = (time.monotonic(), _cpu_seconds(psutil.Process(station.pid)),
                       _cpu_seconds(psutil.Process(clients.pid)))

    def figures(self) -> dict:
        """CPU of station_web and of the pages over the window, and what each page received."""
        station, clients = self._running()
        if self._start is None:
            raise RuntimeError('Pages.mark() has not run')
        wall, station_start, clients_start = self._start
        window = time.monotonic() - wall
        station_cpu = _cpu_seconds(psutil.Process(station.pid)) - station_start
        clients_cpu = _cpu_seconds(psutil.Process(clients.pid)) - clients_start
        clients.send_signal(signal.SIGINT)
        received = json.loads(clients.communicate(timeout=10)[0].strip().splitlines()[-1])
        return {'count': self.count, 'window_s': window,
                'station_web_cpu_cores': station_cpu / window,
                'pages_cpu_cores': clients_cpu / window,
                'frames_per_page_fps': [page['frames'] / received['seconds']
                                        for page in received['pages']],
                'states_per_page_per_s': [page['states'] / received['seconds']
                                          for page in received['pages']]}

    def stop(self) -> dict:
        """Stop the pages and station_web (SIGINT); station_web's exit code and stop time."""
        figures: dict = {'station_web_exit_code': None, 'station_web_stop_s': None}
        processes: tuple[subprocess.Popen | None, ...] = (self.clients, self.station)
        for process in processes:
            if process is not None and process.poll() is None:
                took = stop_node(process)
                if process is self.station:
                    figures['station_web_stop_s'] = took
        if self.station is not None:
            figures['station_web_exit_code'] = self.station.returncode
        if self._log is not None:
            self._log.close()
        return figures


async def _page(session: 'ClientSession', url: str, counts: dict[str, int],
                ready: asyncio.Event) -> None:
    async with session.ws_connect(url + 'ws', max_msg_size=0) as ws:
        async for message in ws:
            if message.type.name == 'BINARY':
                counts['frames'] += 1
                counts['bytes'] += len(message.data)
                ready.set()
            elif message.type.name == 'TEXT':
                counts['states'] += 1
            else:
                break


async def _pages(url: str, count: int, timeout: float) -> dict:
    from aiohttp import ClientSession

    pages = [{'frames': 0, 'states': 0, 'bytes': 0} for _ in range(count)]
    events = [asyncio.Event() for _ in range(count)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with ClientSession() as session:
        tasks = [asyncio.create_task(_page(session, url, page, event))
                 for page, event in zip(pages, events)]
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), timeout)
        except TimeoutError:
            print(f'not ready: frames per page {[p["frames"] for p in pages]}', flush=True)
            raise
        # No await since the last page's first frame: every page counts from here on.
        started = time.monotonic()
        for page in pages:
            page.update(frames=0, states=0, bytes=0)
        print(READY, flush=True)
        await stop.wait()
        seconds = time.monotonic() - started
        for task in tasks:
            task.cancel()
    return {'seconds': seconds, 'pages': pages}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--url', required=True, help="station_web's address, ending in /")
    parser.add_argument('--count', type=int, default=5)
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='seconds for every page to get its first frame')
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_pages(args.url, args.count, args.timeout))), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
