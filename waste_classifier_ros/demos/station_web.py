# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
`make demo-web`: the demo's nodes looping over the sample photos, with the station page.

Starts the classifier (capture on, into `<output>/inbox`; the empty floor taught, as in `make
demo`), the media source (the samples again and again, each lying in the zone with the empty
floor between) and station_web (review into `<output>/dataset`) as separate processes on a DDS
graph that stays on this machine, prints `open http://127.0.0.1:<port>/` and runs until Ctrl-C.
`--screenshot FILE` also opens the page in headless Chromium (Playwright), waits for a live
frame and a bin decision, and writes a PNG of it.

    python -m waste_classifier_ros.demos.station_web [--port 8080] [--screenshot page.png]
"""

import argparse
from pathlib import Path
import re
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import NoReturn, Sequence

from waste_classifier_ros.core.media_reader import parse_resource
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.demos.demo import (
    DemoError,
    NodeRun,
    add_playback_arguments,
    camera_overrides,
    ros_args,
)
from waste_classifier_ros.demos.local_ros import apply_local_ros_environ, clean_stale_shared_memory
from waste_classifier_ros.nodes.classifier_node import PARAMETERS as CLASSIFIER_PARAMETERS

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']
_OPEN_LINE = re.compile(r'station page: open (http://\S+/)')


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='demo-web', description=__doc__.strip().splitlines()[0])
    parser.add_argument('--port', type=int, default=8080, help='port of the page (0 = any free)')
    add_playback_arguments(
        parser, 'photos to play in a loop (default: the shipped samples)',
        Path('demo_output/web'), 'folder for the inbox, the dataset and the node logs', rate=5.0)
    parser.add_argument('--screenshot', type=Path,
                        help='write a PNG of the page once it shows a frame and a bin')
    return parser.parse_args(argv)


def wait_for_url(run: NodeRun, timeout: float) -> str:
    """Return the URL station_web printed; DemoError when it exits or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.check_running('starting the web server')
        found = _OPEN_LINE.search(run.log_path.read_text(encoding='utf-8', errors='replace'))
        if found:
            return found.group(1)
        time.sleep(0.1)  # polling a log file written by another process
    raise DemoError(f'station_web printed no URL within {timeout:g} s:\n{run.log_tail()}')


def screenshot(url: str, path: Path, timeout: float, with_capture: bool) -> None:
    """Open the page in headless Chromium; write a PNG once it shows a frame and a bin."""
    from playwright.sync_api import expect, sync_playwright
    path.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={'width': 1280, 'height': 800}, color_scheme='dark')
            page.goto(url)
            expect(page.get_by_test_id('live')).not_to_have_attribute(
                'data-frames', '0', timeout=timeout * 1000)
            expect(page.get_by_test_id('bin')).not_to_have_attribute(
                'data-bin', re.compile('^(unknown|empty)?$'), timeout=timeout * 1000)
            expect(page.get_by_test_id('classes').locator('.bar-row')).not_to_have_count(0)
            expect(page.get_by_test_id('not-live')).to_be_hidden(timeout=timeout * 1000)
            if with_capture:
                expect(page.locator('#review-card')).to_be_visible(timeout=timeout * 1000)
            page.screenshot(path=str(path))  # what a 1280x800 screen shows, unscrolled
        except AssertionError as error:
            raise DemoError(f'the page did not come alive for the screenshot: {error}') from None
        finally:
            browser.close()
    print(f'screenshot of the page written to {path}')


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt  # stop the nodes, then exit 0


def run(args: argparse.Namespace) -> int:
    # SIGTERM stops the nodes as Ctrl-C does; SIGINT too when the shell that started this
    # ignored it (a background job of a script), so `kill -INT` still stops it cleanly.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    args.output.mkdir(parents=True, exist_ok=True)
    inbox, dataset = (args.output / 'inbox').resolve(), (args.output / 'dataset').resolve()
    environ = apply_local_ros_environ()
    clean_stale_shared_memory()
    # Played as the demo's items with the empty floor between (config/media_source.yaml).
    files = [Path(p) for p in parse_resource(str(args.samples)).images]
    overrides = camera_overrides(files, args.output, args.model)
    capture = 'capture_enabled' in CLASSIFIER_PARAMETERS
    if capture:
        overrides.update(capture_enabled='true', capture_inbox=str(inbox))
    runs = []
    try:
        classifier = NodeRun('classifier_node', ros_args(
            share_path('config', 'classifier.yaml'), overrides), args.output / 'classifier.log')
        runs.append(classifier)
        web = NodeRun('station_web_node', [
            '--ros-args', '-p', f'port:={args.port}', '-p', f'inbox:={inbox}',
            '-p', f'dataset:={dataset}'], args.output / 'web.log')
        runs.append(web)
        source = NodeRun('media_source_node', ros_args(share_path('config', 'media_source.yaml'), {
            'resource': args.samples, 'rate': args.rate, 'loop': 'true', 'reliable': 'true'}),
            args.output / 'media_source.log')
        runs.append(source)
        url = wait_for_url(web, args.timeout)
        print(f'demo-web: {args.samples} in a loop at {args.rate:g} frames/s -> classifier '
              f'(capture {"on, into " + str(inbox) if capture else "not available in this node"})'
              f' -> station page (review into {dataset}); ROS_DOMAIN_ID '
              f'{environ["ROS_DOMAIN_ID"]}, node logs in {args.output}/')
        if args.screenshot:
            screenshot(url, args.screenshot, args.timeout, with_capture=capture)
        print(f'open {url}  (Ctrl-C to stop)', flush=True)
        while True:
            for node in runs:
                node.check_running('serving the page')
            try:
                web.process.wait(1.0)
            except subprocess.TimeoutExpired:
                pass
    finally:
        for node in reversed(runs):
            node.stop()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except DemoError as error:
        print(f'demo-web failed: {error}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('\ndemo-web: stopped')
        return 0


if __name__ == '__main__':
    sys.exit(main())
