# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The station page in a real browser: headless Debian Chromium driven by Playwright.

Real processes over real (local) DDS: a camera in this test process publishes solid-colour
frames on /image, the classifier node classifies them with the tiny test network (a colour is a
known class), and the station_web node serves the page that Chromium opens. Waits are
Playwright's expectations and the harness's bounded waits, never sleeps.
"""

import contextlib
import json
import re
import signal
import socket
import sys
import threading

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import NodeProcess
from sensor_msgs.msg import Image
from station_web_support import files_under, write_capture, write_retrain_result
from std_msgs.msg import Header
from tiny_model import CLASSES, COLOURS, GREY, solid, write_model_dir
from vision_msgs.msg import Classification

from waste_classifier_ros.core.media_reader import empty_floor
from waste_classifier_ros.core.model_card import sha256_file
from waste_classifier_ros.demos.station_web import CHROMIUM, CHROMIUM_ARGS
from waste_classifier_ros.flywheel.review import split_for

sync_api = pytest.importorskip('playwright.sync_api', reason='Playwright is not installed')
expect = sync_api.expect
pytestmark = pytest.mark.ros

CAMERA_HZ = 15.0
MAX_RATE = 5.0
WAIT_MS = 20000  # for every expectation and page wait (two busy cores are slow)
expect.set_options(timeout=WAIT_MS)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
CLASSIFIER_PARAMS = {'smoothing_window': 1, 'frames_to_confirm': 1, 'stall_timeout': 1.0,
                     'diagnostics_period': 0.2}
# True when the live image's lower-right area (away from the overlay's text box) has the colour.
LIVE_PIXEL_IS = '''([r, g, b]) => {
  const img = document.querySelector('[data-testid=live]');
  if (!img.complete || !img.naturalWidth) return false;
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0);
  const d = context.getImageData(Math.floor(canvas.width * 0.8), Math.floor(canvas.height * 0.8),
                                 1, 1).data;
  return Math.abs(d[0] - r) < 30 && Math.abs(d[1] - g) < 30 && Math.abs(d[2] - b) < 30;
}'''


class Camera:
    """A camera in the test process: a solid-colour frame at CAMERA_HZ while running.

    320x240 by default; `sizes` and `colours`, when set, are taken in turn, one per frame.
    """

    def __init__(self, context):
        self.node = rclpy.create_node('test_camera', context=context)
        self.publisher = self.node.create_publisher(Image, '/image', 1)
        self.colour = COLOURS['glass']
        self.colours = None
        self.sizes = [(240, 320)]
        self.running = True
        self.count = 0  # frames published
        self.node.create_timer(1.0 / CAMERA_HZ, self._tick)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _tick(self):
        if self.running:
            self.count += 1
            height, width = self.sizes[self.count % len(self.sizes)]
            colour = self.colours[self.count % len(self.colours)] if self.colours \
                else self.colour
            rgb = solid(colour, height=height, width=width)
            header = Header(stamp=self.node.get_clock().now().to_msg(), frame_id='camera')
            self.publisher.publish(Image(header=header, height=height, width=width,
                                         encoding='rgb8', step=3 * width, data=rgb.tobytes()))

    def close(self):
        self.executor.shutdown()
        self._thread.join(5)
        self.node.destroy_node()


def start_station(inbox, dataset, classifier='/waste_classifier', **params) -> NodeProcess:
    station = NodeProcess('waste_classifier_ros.nodes.station_web_node', params={
        'port': 0, 'inbox': str(inbox), 'dataset': str(dataset), 'max_rate': MAX_RATE,
        'classifier': classifier, **params}).start()
    line = station.wait_for_output('station page: open', timeout=30)
    station.url = re.search(r'open (http://\S+/)', line).group(1)
    return station


@pytest.fixture(scope='module')
def camera(ros_context):
    camera = Camera(ros_context)
    yield camera
    camera.close()


@pytest.fixture(scope='module')
def classifier(model, camera, tmp_path_factory):
    captures = tmp_path_factory.mktemp('classifier_captures')  # not the station's inbox
    with NodeProcess('waste_classifier_ros.nodes.classifier_node', params={
            'model': str(model), **CLASSIFIER_PARAMS, 'capture_enabled': True,
            'capture_inbox': str(captures)}) as node:
        node.wait_for_output('ready:', timeout=60)
        yield node


@pytest.fixture(scope='module')
def station(classifier, tmp_path_factory):
    root = tmp_path_factory.mktemp('station')
    node = start_station(root / 'inbox', root / 'dataset')
    node.inbox, node.dataset = root / 'inbox', root / 'dataset'
    yield node
    assert node.stop() == 0, node.output


@pytest.fixture(scope='module')
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={'width': 412, 'height': 915})  # a phone
    page.set_default_timeout(WAIT_MS)
    yield page
    page.close()


def expect_not_live(page, why: str) -> None:
    """Check the page says unmistakably it is not live: banner with since when, grey, stale bin."""
    banner = page.get_by_test_id('not-live')
    expect(banner).to_be_visible()
    expect(banner).to_have_text(re.compile(rf'^Not live since \d\d:\d\d:\d\d: {why}'))
    expect(page.get_by_test_id('bin')).to_have_attribute('data-stale', 'true')
    expect(page.get_by_test_id('bin')).to_contain_text('not live')
    expect(page.get_by_test_id('live')).to_have_css('filter', re.compile('grayscale'))


def empty_inbox(station) -> None:
    """Remove the captures other tests of the module left in the station's inbox."""
    for path in station.inbox.rglob('*'):
        if path.is_file() and path.name != '.review.lock':
            path.unlink()


def last_bin(received) -> str:
    return received[-1].results[0].class_id if received else ''


def test_page_shows_live_frames_the_published_bin_and_the_classes(page, camera, station, probe):
    bins = probe.collect(Classification, '/waste_classifier/bin', LATCHED)
    camera.colour = COLOURS['glass']
    page.goto(station.url)
    live, shown_bin = page.get_by_test_id('live'), page.get_by_test_id('bin')
    expect(live).not_to_have_attribute('data-frames', '0')
    page.wait_for_function(LIVE_PIXEL_IS, arg=list(COLOURS['glass']))
    probe.wait_for(lambda: last_bin(bins) == 'glass', 15, 'glass on ~/bin')
    expect(shown_bin).to_have_attribute('data-bin', 'glass')
    expect(shown_bin).to_contain_text('Glass')
    expect(shown_bin).to_have_css('background-color', 'rgb(44, 160, 44)')  # bins.yaml
    expect(page.get_by_test_id('classes').locator('.bar-row').first).to_have_attribute(
        'data-class', 'glass')

    camera.colour = COLOURS['metal']
    page.wait_for_function(LIVE_PIXEL_IS, arg=list(COLOURS['metal']))
    probe.wait_for(lambda: last_bin(bins) == 'mixed_recycling', 15, 'mixed_recycling on ~/bin')
    expect(shown_bin).to_have_attribute('data-bin', last_bin(bins))
    expect(shown_bin).to_contain_text('Mixed recycling')
    expect(shown_bin).to_have_css('background-color', 'rgb(255, 194, 14)')
    expect(page.get_by_test_id('classes').locator('.bar-row').first).to_have_attribute(
        'data-class', 'metal')
    health = page.get_by_test_id('health')
    expect(health).to_have_attribute('data-status', 'ok')
    expect(page.locator('#h-fps')).not_to_have_text('–')
    assert page.evaluate('document.documentElement.scrollWidth') <= 412  # fits a phone


def test_one_overlay_subscription_for_all_browsers_at_the_capped_rate(browser, camera, station,
                                                                      probe):
    def overlay_subscribers():
        return probe.node.count_subscribers('/waste_classifier/overlay')
    probe.wait_for(lambda: overlay_subscribers() == 0, 15, 'no overlay subscriber without a page')
    pages = [browser.new_page() for _ in range(2)]
    try:
        for page in pages:
            page.goto(station.url)
            expect(page.get_by_test_id('live')).not_to_have_attribute('data-frames', '0')
        probe.wait_for(lambda: overlay_subscribers() == 1, 15, 'one overlay subscription')
        # The cap holds: fewer frames encoded than the camera sent (15 Hz camera, 5 Hz cap;
        # how close the rate comes to the cap is make bench's pages phase, not a test's).
        sent = camera.count
        before = pages[0].request.get(station.url + 'api/stats').json()['frames_encoded']
        first = int(pages[0].get_by_test_id('live').get_attribute('data-frames'))
        pages[0].wait_for_function(
            f'() => Number(document.querySelector("[data-testid=live]").dataset.frames) >= '
            f'{first + 20}', timeout=WAIT_MS)
        encoded = pages[0].request.get(station.url + 'api/stats').json()['frames_encoded']
        assert 20 <= encoded - before < camera.count - sent, \
            f'{encoded - before} frames encoded while the camera sent {camera.count - sent}'
        stats = pages[0].request.get(station.url + 'api/stats').json()
        assert stats['viewers'] == 2
        # Each encoded frame went to both pages: more frames sent than encoded.
        assert stats['frames_encoded'] < stats['frames_sent'] <= 2 * stats['frames_encoded']
        assert overlay_subscribers() == 1
    finally:
        for page in pages:
            page.close()
    probe.wait_for(lambda: overlay_subscribers() == 0, 15,
                   'the overlay subscription to go once the last page closed')


def test_stalled_warning_appears_when_frames_stop_and_clears_when_they_return(page, camera,
                                                                              station):
    page.goto(station.url)
    stall, health = page.get_by_test_id('stall'), page.get_by_test_id('health')
    expect(page.get_by_test_id('live')).not_to_have_attribute('data-frames', '0')
    expect(stall).to_be_hidden()
    camera.running = False
    try:
        expect(stall).to_be_visible()
        expect(stall).to_contain_text('Camera stalled')
        expect(health).to_have_attribute('data-status', 'stalled')
        expect_not_live(page, 'the camera stalled')
    finally:
        camera.running = True
    expect(stall).to_be_hidden()
    expect(page.get_by_test_id('not-live')).to_be_hidden()
    expect(health).to_have_attribute('data-status', 'ok')


def test_a_class_key_moves_the_capture_into_the_dataset_and_undo_moves_it_back(page, station):
    inbox, dataset = station.inbox, station.dataset
    name = '20261130T101500_000012'
    write_capture(inbox, 'plastic', name, score=0.41)
    before = files_under(inbox)
    page.goto(station.url)
    capture, progress = page.get_by_test_id('capture'), page.get_by_test_id('progress')
    expect(capture).to_have_attribute('data-id', f'plastic/{name}.jpg')
    expect(page.get_by_test_id('review')).to_contain_text('The model said plastic (41.0%)')
    expect(progress).to_have_text('1 waiting · 0 labelled · 0 discarded · 0 skipped')

    page.keyboard.press(str(CLASSES.index('metal') + 1))
    expect(progress).to_have_text('0 waiting · 1 labelled · 0 discarded · 0 skipped')
    split = split_for(f'plastic/{name}.jpg')
    assert files_under(dataset) == {f'{split}/metal/{name}.jpg', f'{split}/metal/{name}.json'}
    assert files_under(inbox) == set()

    page.keyboard.press('u')
    expect(progress).to_have_text('1 waiting · 0 labelled · 0 discarded · 0 skipped')
    assert files_under(inbox) == before and files_under(dataset) == set()

    page.get_by_role('button', name='Discard').click()  # a tap does the same as the key
    expect(progress).to_have_text('0 waiting · 0 labelled · 1 discarded · 0 skipped')
    assert files_under(inbox) == {f'.discarded/{p}' for p in before}
    page.keyboard.press('u')
    expect(progress).to_have_text('1 waiting · 0 labelled · 0 discarded · 0 skipped')
    assert files_under(inbox) == before

    page.keyboard.press('Enter')  # confirms the suggestion
    expect(progress).to_have_text('0 waiting · 1 labelled · 0 discarded · 0 skipped')
    assert files_under(dataset) == {f'{split}/plastic/{name}.jpg', f'{split}/plastic/{name}.json'}
    page.keyboard.press('u')
    expect(progress).to_have_text('1 waiting · 0 labelled · 0 discarded · 0 skipped')
    assert files_under(inbox) == before and files_under(dataset) == set()


def test_dot_dot_and_absolute_paths_are_refused(page, station, tmp_path):
    secret = tmp_path / 'secret.jpg'
    secret.write_bytes(b'secret bytes')
    page.goto(station.url)
    answers = page.evaluate('''async ([gets, ids]) => {
      const out = [];
      for (const path of gets) {
        const r = await fetch(path);
        out.push([path, r.status, await r.text()]);
      }
      for (const id of ids) {
        const r = await fetch('/api/review/label', {method: 'POST',
          headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({id, label: 'glass'})});
        out.push([id, r.status, await r.text()]);
      }
      return out;
    }''', [[
        '/captures/..%2F..%2Fsecret.jpg', '/captures/%2F' + str(secret).lstrip('/'),
        '/captures/plastic%2F..%2F..%2F..%2Fsecret.jpg', '/captures/..%252F..%252Fsecret.jpg',
        '/captures/%2e%2e/%2e%2e/secret.jpg'],
        ['../secret.jpg', '../../' + secret.name, str(secret), 'plastic/../../secret.jpg']])
    for what, status, text in answers:
        assert 400 <= status < 500, (what, status, text)
        assert 'secret bytes' not in text and 'Traceback' not in text, what
    assert '".." and "." are refused' in json.loads(answers[0][2])['error']
    assert 'absolute paths are refused' in json.loads(answers[1][2])['error']
    assert secret.read_bytes() == b'secret bytes'
    assert files_under(station.dataset) == set()


def test_beyond_localhost_a_write_without_the_token_is_refused(page, classifier, probe,
                                                               tmp_path):
    inbox, dataset = tmp_path / 'inbox', tmp_path / 'dataset'
    name = '20261130T101501_000003'
    write_capture(inbox, 'glass', name, score=0.38)
    before = files_under(inbox)
    station = start_station(inbox, dataset, host='0.0.0.0')
    try:
        token = re.search(r'needs the token (\S+):', station.wait_for_output(
            'labelling needs the token')).group(1)
        url = station.url
        assert url.startswith('http://127.0.0.1:') and 'from other devices http://' in \
            station.output
        page.goto(url)
        expect(page.get_by_test_id('capture')).to_have_attribute('data-id', f'glass/{name}.jpg')
        expect(page.get_by_test_id('view-only')).to_be_visible()  # said up front
        expect(page.get_by_test_id('view-only')).to_contain_text('View only')
        page.keyboard.press('2')
        expect(page.get_by_test_id('review-message')).to_contain_text('view only')
        status = page.evaluate('''async (id) => (await fetch('/api/review/label', {
          method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({id, label: 'glass'})})).status''', f'glass/{name}.jpg')
        assert status == 401  # the server refuses what the page would not send
        assert files_under(inbox) == before and files_under(dataset) == set()

        page.goto(f'{url}?token={token}')
        assert 'token' not in page.url  # taken out of the address bar
        expect(page.get_by_test_id('capture')).to_have_attribute('data-id', f'glass/{name}.jpg')
        expect(page.get_by_test_id('view-only')).to_be_hidden()
        page.keyboard.press('2')
        expect(page.get_by_test_id('progress')).to_contain_text('1 labelled')
        assert files_under(dataset) == {f'{split_for(name + ".jpg")}/glass/{name}.jpg',
                                        f'{split_for(name + ".jpg")}/glass/{name}.json'}

        # The web side failing leaves the ROS side running: the classifier keeps classifying.
        station.kill()
        received = probe.collect(Classification, '/waste_classifier/classification')
        probe.wait_for_messages(received, 3, timeout=15, what='classifications after the kill')
        assert classifier.process.poll() is None
    finally:
        station.kill()


def test_the_page_outlives_the_classifier_and_recovers_when_it_returns(page, model, camera,
                                                                       tmp_path):
    params = {'model': str(model), **CLASSIFIER_PARAMS}
    name = 'waste_classifier_b'  # its own /diagnostics status name, apart from the module's
    station = start_station(tmp_path / 'inbox', tmp_path / 'dataset', classifier=f'/{name}')
    try:
        with NodeProcess('waste_classifier_ros.nodes.classifier_node', params=params,
                         name=name) as first:
            first.wait_for_output('ready:', timeout=60)
            page.goto(station.url)
            health = page.get_by_test_id('health')
            expect(health).to_have_attribute('data-status', 'ok')
            first.kill()
        expect(health).to_have_attribute('data-status', 'silent')
        expect(page.get_by_test_id('stall')).to_contain_text('classifier not reporting')
        expect_not_live(page, 'the classifier is not reporting')
        assert page.request.get(station.url + 'api/review').status == 200  # web side runs on
        with NodeProcess('waste_classifier_ros.nodes.classifier_node', params=params,
                         name=name) as second:
            second.wait_for_output('ready:', timeout=60)
            expect(health).to_have_attribute('data-status', 'ok')
            expect(page.get_by_test_id('stall')).to_be_hidden()
            expect(page.get_by_test_id('not-live')).to_be_hidden()
            expect(page.get_by_test_id('bin')).to_have_attribute('data-stale', 'false')
        assert station.process.poll() is None
    finally:
        assert station.stop() == 0, station.output


def test_demo_web_serves_the_page_writes_a_screenshot_and_stops_on_ctrl_c(model, tmp_path):
    import cv2

    samples = tmp_path / 'samples'
    samples.mkdir()
    for name in ('glass', 'metal', 'paper'):
        bgr = empty_floor(240, 320)  # an item on the floor the demo teaches as empty
        bgr[20:220, 30:290] = COLOURS[name][::-1]
        cv2.imwrite(str(samples / f'{name}_1.png'), bgr)
    shot = tmp_path / 'page.png'
    demo = NodeProcess.program([
        sys.executable, '-u', '-m', 'waste_classifier_ros.demos.station_web', '--port', 0,
        '--samples', samples, '--model', model, '--rate', 4, '--output', tmp_path / 'out',
        '--screenshot', shot]).start()
    try:
        line = demo.wait_for_output('open http://127.0.0.1:', timeout=120)
        assert re.fullmatch(r'open http://127\.0\.0\.1:\d+/  \(Ctrl-C to stop\)\n', line), line
        assert cv2.imread(str(shot)).shape[1] == 1280
        demo.interrupt_group()  # Ctrl-C in a terminal
        assert demo.wait_exit(timeout=30) == 0, demo.output
    finally:
        demo.kill()
    assert 'Traceback' not in demo.output


@pytest.mark.parametrize('params, reason', [
    ({'classifier': 'waste_classifier'}, 'a fully qualified node name like /waste_classifier'),
    ({'max_rate': 100.0}, 'max_rate'),
    ({'port': 'http'}, 'port'),
])
def test_bad_parameters_stop_the_node_with_one_fatal_line(params, reason):
    node = NodeProcess('waste_classifier_ros.nodes.station_web_node', params=params).start()
    assert node.wait_exit(30) == 1, node.output
    assert reason in node.output and node.output.count('[FATAL]') == 1, node.output
    assert 'Traceback' not in node.output


def test_a_taken_port_stops_the_node_with_one_fatal_line():
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        node = NodeProcess('waste_classifier_ros.nodes.station_web_node',
                           params={'port': port}).start()
        assert node.wait_exit(30) == 1, node.output
    assert '[FATAL]' in node.output and f'cannot listen on 127.0.0.1:{port}' in node.output
    assert 'Traceback' not in node.output


@pytest.mark.parametrize('second', [signal.SIGINT, signal.SIGTERM], ids=['int', 'term'])
def test_two_stop_signals_with_pages_open_end_station_web_with_0(
        browser, page, classifier, tmp_path, second):
    station = start_station(tmp_path / 'inbox', tmp_path / 'dataset')
    pages = [page] + [browser.new_page() for _ in range(2)]
    try:
        for each in pages:  # three pages, each with its WebSocket streaming frames
            each.goto(station.url)
            expect(each.get_by_test_id('live')).not_to_have_attribute('data-frames', '0')
        station.process.send_signal(signal.SIGINT)  # Ctrl-C under ros2 launch: two at once
        station.process.send_signal(second)
        # Bounded only to catch a hang; how fast it stops is `make bench`'s (benchmarks.review).
        assert station.wait_exit(30) == 0, station.output
        assert 'Traceback' not in station.output
        expect(page.get_by_test_id('connection')).to_have_attribute('data-state', 'lost')
        expect_not_live(page, 'no connection')
    finally:
        for each in pages[1:]:
            each.close()
        station.kill()


# The operator's page: steady layout, one truth per frame, keys, liveness, the shift ---------
DESKTOP, PHONE = {'width': 1280, 'height': 800}, {'width': 412, 'height': 915}
# Samples (top of the review card, shape of the live frame) at every animation frame.
SAMPLE_LAYOUT = '''(ms) => new Promise((resolve) => {
  const card = document.querySelector('[data-testid=review-card]');
  const live = document.querySelector('[data-testid=live]');
  const out = [];
  const end = performance.now() + ms;
  const step = () => {
    const tops = ['header', '.live-box', '.bin-panel', '.side', '#review h2'].map(
      (s) => Math.round(document.querySelector(s).getBoundingClientRect().bottom));
    out.push([card.getBoundingClientRect().top + window.scrollY,
              live.naturalWidth ? live.naturalWidth / live.naturalHeight : 0, tops]);
    if (performance.now() < end) requestAnimationFrame(step); else resolve(out);
  };
  step();
})'''
# Samples (bin shown, top class of the bars) at every animation frame.
SAMPLE_TRUTH = '''(ms) => new Promise((resolve) => {
  const out = [];
  const end = performance.now() + ms;
  const step = () => {
    const row = document.querySelector('[data-testid=classes] .bar-row');
    const bin = document.querySelector('[data-testid=bin]').dataset.bin;
    out.push([bin, row ? row.dataset.class : '']);
    if (performance.now() < end) requestAnimationFrame(step); else resolve(out);
  };
  step();
})'''


@pytest.mark.parametrize('viewport', [DESKTOP, PHONE], ids=['desktop', 'phone'])
def test_frames_of_different_shapes_move_nothing_below_the_live_view(browser, camera, station,
                                                                     viewport):
    empty_inbox(station)
    write_capture(station.inbox, 'glass', '20261130T101502_000001', score=0.4)
    # square, 4:3, 16:9; four a cycle, so that every third frame (what max_rate shows) varies
    camera.sizes = [(320, 320), (240, 320), (180, 320), (240, 320)]
    page = browser.new_page(viewport=viewport)
    try:
        page.goto(station.url)
        expect(page.get_by_test_id('review-card')).to_be_visible()
        expect(page.get_by_test_id('live')).not_to_have_attribute('data-frames', '0')
        samples = page.evaluate(SAMPLE_LAYOUT, 4000)
        shapes = {round(ratio, 2) for _, ratio, _ in samples if ratio}
        assert {1.0, 1.33, 1.78} <= shapes, f'the frames shown had shapes {shapes}'
        tops = [top for top, _, _ in samples]
        moved = {str(above) for _, _, above in samples}  # the bottoms of what is above it
        assert max(tops) - min(tops) <= 2, f'the review card moved by {max(tops) - min(tops)} ' \
                                           f'px; header, live, bin, side, heading: {moved}'
    finally:
        camera.sizes = [(240, 320)]
        page.close()
        for path in station.inbox.rglob('20261130T101502_000001.*'):
            path.unlink()


def test_bin_and_bars_shown_together_always_come_from_one_frame(browser, camera, station):
    camera.colours = [COLOURS['glass'], COLOURS['metal']]  # every frame decides a new bin
    page = browser.new_page(viewport=DESKTOP)
    try:
        page.goto(station.url)
        expect(page.get_by_test_id('classes').locator('.bar-row')).not_to_have_count(0)
        class_bins = page.request.get(station.url + 'api/state').json()['class_bins']
        samples = page.evaluate(SAMPLE_TRUTH, 5000)
    finally:
        camera.colours = None
        page.close()
    shown = [(bin_name, top) for bin_name, top in samples if bin_name and top]
    changes = sum(1 for a, b in zip(shown, shown[1:]) if a != b)
    assert changes >= 10, f'the page showed only {changes} changes in 5 s'
    wrong = [(bin_name, top) for bin_name, top in shown if class_bins[top] != bin_name]
    assert not wrong, f'{len(wrong)} of {len(shown)} samples showed a bin of another frame: ' \
                      f'{wrong[:5]}'


def test_empty_in_no_bin_colour_items_counted_unknown_best_bin_and_teaching_the_zone(
        browser, camera, station, tmp_path):
    camera.colour = GREY  # a bare floor
    page = browser.new_page(viewport=DESKTOP, color_scheme='dark')
    shown, counts = page.get_by_test_id('bin'), page.get_by_test_id('counts')
    try:
        page.goto(station.url)  # the module's 7-class classifier: grey is no bin's
        expect(shown).to_have_attribute('data-bin', 'unknown')
        # Not "Unknown 58.5%" (1 minus the best bin's score, read as a confidence).
        expect(shown).to_contain_text(re.compile(r'no bin reaches 50\.0% · best \w.* \d+\.\d%'))
        expect(page.get_by_test_id('bin-note')).to_contain_text('once per item')
        # A frame kept while the zone was empty, reviewed with a model without the class.
        empty_inbox(station)
        write_capture(station.inbox, 'empty', '20261130T101500_000009', score=0.6,
                      reason='empty', colour=GREY, top='paper', bin_name='empty')
        expect(page.locator('#capture-info')).to_contain_text(
            'Zone empty: discard it (the model has no empty class). The model said paper')
        expect(page.locator('#class-buttons button')).to_have_count(7)
        empty_inbox(station)
        # A classifier whose model knows `empty`, and its own station page.
        model8 = write_model_dir(tmp_path / 'model8', empty=True)
        with NodeProcess('waste_classifier_ros.nodes.classifier_node', params={
                'model': str(model8), 'stall_timeout': 1.0, 'diagnostics_period': 0.2},
                remaps={'__ns': '/empty_station', 'image': '/image'}) as node:
            node.wait_for_output('ready:', timeout=60)
            floor = 'empty/20261130T101500_000001.jpg'  # kept while the zone was empty
            write_capture(tmp_path / 'inbox', 'empty', '20261130T101500_000001', score=0.9,
                          reason='empty', colour=GREY, top='cardboard', bin_name='empty')
            other = start_station(tmp_path / 'inbox', tmp_path / 'dataset',
                                  classifier='/empty_station/waste_classifier')
            try:
                page.goto(other.url)
                expect(shown).to_have_attribute('data-bin', 'empty')
                expect(shown).to_contain_text('Empty')
                expect(shown).to_contain_text('no item in the zone')
                expect(shown).to_have_attribute('data-stale', 'false')
                expect(shown).to_have_css('background-color', 'rgb(29, 33, 38)')  # no bin's
                # The floor's capture: `empty` is a class of this model, suggested, key 8.
                expect(page.get_by_test_id('capture')).to_have_attribute('data-id', floor)
                expect(page.locator('#capture-info')).to_contain_text(
                    'The zone was empty; The model said cardboard')
                expect(page.locator('#class-buttons button.suggested')).to_have_attribute(
                    'data-class', 'empty')
                expect(page.locator('#class-buttons button').nth(7)).to_contain_text('empty 8')
                page.keyboard.press('Enter')
                expect(page.get_by_test_id('progress')).to_contain_text('1 labelled')
                assert (tmp_path / 'dataset' / split_for(floor) / floor).is_file()
                expect(counts).to_contain_text('· 0 in all')
                camera.colour = COLOURS['glass']  # an item: one decision, one count
                expect(shown).to_have_attribute('data-bin', 'glass')
                expect(counts).to_contain_text('· 1 in all')
                camera.colour = GREY  # taken away
                expect(shown).to_have_attribute('data-bin', 'empty')
                history = page.get_by_test_id('history').locator('li')
                expect(history).to_have_count(3)
                expect(history.first).to_contain_text('Empty · no item in the zone')
                expect(counts).to_contain_text('· 1 in all')
                # The operator teaches the empty zone from the page, and forgets it again.
                zone = page.get_by_test_id('empty-zone')
                expect(zone.locator('#z-zone')).to_have_text('empty')
                expect(zone.locator('#z-reference')).to_have_text('no')
                page.get_by_test_id('learn-empty').click()
                expect(page.locator('#empty-result')).to_contain_text('learned the empty zone')
                expect(zone.locator('#z-reference')).to_have_text('yes')
                page.get_by_test_id('clear-empty').click()
                page.get_by_test_id('confirm-yes').click()
                result = page.locator('#empty-result')
                expect(result).to_contain_text('cleared the empty reference')
                expect(zone.locator('#z-reference')).to_have_text('no')
            finally:
                assert other.stop() == 0, other.output
    finally:
        camera.colour = COLOURS['glass']
        page.close()


def test_capital_keys_work_and_the_result_shows_without_scrolling(browser, station):
    empty_inbox(station)
    names = ['20261130T101503_000001', '20261130T101503_000002']
    for name in names:
        write_capture(station.inbox, 'plastic', name, score=0.4)
    page = browser.new_page(viewport=DESKTOP)
    progress, message = page.get_by_test_id('progress'), page.get_by_test_id('review-message')
    try:
        page.goto(station.url)
        expect(progress).to_have_text('2 waiting · 0 labelled · 0 discarded · 0 skipped')
        page.keyboard.press('Shift+KeyS')  # "S" as the button shows it (or Caps Lock)
        expect(progress).to_have_text('2 waiting · 0 labelled · 0 discarded · 1 skipped')
        expect(message).to_contain_text('skipped')
        page.keyboard.press('Shift+KeyD')
        expect(progress).to_have_text('1 waiting · 0 labelled · 1 discarded · 1 skipped')
        expect(message).to_contain_text('discarded')
        box = message.bounding_box()
        assert page.evaluate('window.scrollY') == 0
        assert box['y'] >= 0 and box['y'] + box['height'] <= DESKTOP['height'], box
        expect(message).to_be_in_viewport()
        page.keyboard.press('Shift+KeyU')
        expect(progress).to_have_text('2 waiting · 0 labelled · 0 discarded · 1 skipped')
        expect(message).to_contain_text('undone')
    finally:
        page.close()
        for name in names:
            for path in station.inbox.rglob(f'{name}.*'):
                path.unlink()


def test_each_key_shows_the_next_capture(browser, station):
    empty_inbox(station)
    names = [f'20261130T101504_00000{i}' for i in range(4)]
    for name in names:
        write_capture(station.inbox, 'plastic', name, score=0.4)
    page = browser.new_page(viewport=DESKTOP)
    capture = page.get_by_test_id('capture')
    try:
        page.goto(station.url)
        for name in names:  # how fast it shows is `make bench`'s figure (benchmarks.review)
            expect(capture).to_have_attribute('data-id', f'plastic/{name}.jpg')
            page.wait_for_function('document.querySelector("[data-testid=capture]").complete '
                                   '&& document.querySelector("[data-testid=capture]")'
                                   '.naturalWidth > 0')
            page.keyboard.press('Enter')  # confirm the suggestion
        expect(page.get_by_test_id('progress')).to_contain_text('0 waiting · 4 labelled')
        assert sorted(path.stem for path in station.dataset.rglob('plastic/*.jpg')
                      if path.stem in names) == names
    finally:
        page.close()
        for root in (station.inbox, station.dataset):
            for name in names:
                for path in root.rglob(f'{name}.*'):
                    path.unlink()


def test_history_counts_and_capture_are_at_hand(browser, camera, station, model):
    page = browser.new_page(viewport=DESKTOP)
    counts, history = page.get_by_test_id('counts'), page.get_by_test_id('history')
    try:
        page.goto(station.url)
        expect(page.get_by_test_id('live')).not_to_have_attribute('data-frames', '0')
        page.get_by_role('button', name='Reset counts').click()
        page.get_by_test_id('confirm-yes').click()
        expect(counts).to_contain_text(re.compile(r'· 0 in all'))
        camera.colours = [COLOURS['glass']] * 3 + [COLOURS['metal']] * 3  # a new item every 0.2 s
        expect(counts).to_contain_text(re.compile(r'\b([6-9]|\d\d+) in all'))
        expect(counts.locator('li[data-bin=glass]')).to_be_visible()
        expect(counts.locator('li[data-bin=mixed_recycling]')).to_be_visible()
        expect(history.locator('li')).to_have_count(20)  # the last 20 decisions
        camera.colours = None
        first = history.locator('li').first
        expect(first).to_have_text(re.compile(r'^\d\d:\d\d:\d\d.*(Glass|Mixed recycling) '
                                              r'\d+\.\d% · (glass|metal) \d+\.\d%'))
        total = page.request.get(station.url + 'api/state').json()['counts']['total']
        assert total >= 6
        page.reload()  # the counts are the station's, not the tab's
        expect(counts).to_contain_text(re.compile(r'in all'))
        shown = int(re.search(r'(\d+) in all', counts.inner_text()).group(1))
        assert shown >= total
        # Reset asks first (one click once wiped 234 counted items): Cancel keeps the counts.
        page.get_by_role('button', name='Reset counts').click()
        confirm = page.get_by_test_id('confirm')
        expect(confirm).to_be_visible()
        expect(confirm).to_contain_text(re.compile(r'Reset the \d+ items counted since'))
        page.get_by_test_id('confirm-no').click()
        expect(confirm).to_be_hidden()
        expect(page.get_by_test_id('review-message')).to_have_text('counts kept')
        assert page.request.get(station.url + 'api/state').json()['counts']['total'] >= total

        capture_status = page.get_by_test_id('capture-status')
        expect(capture_status).to_have_attribute('data-enabled', 'true')
        expect(capture_status).to_contain_text(re.compile(r'MB of 500 MB'))
        page.get_by_test_id('capture-now').click()
        result = page.locator('#capture-result')
        expect(result).to_have_text('the next frame will be saved into <path>')
        expect(page.get_by_test_id('review-message')).to_contain_text('capture:')

        expect(page.get_by_test_id('model')).to_contain_text(sha256_file(model)[:12])
        expect(page.get_by_test_id('candidate')).to_be_hidden()  # no retrain_dir given
    finally:
        camera.colours = None
        page.close()


def test_kiosk_themes_favicon_and_the_keyboard(browser, station):
    page = browser.new_page(viewport={'width': 800, 'height': 480}, color_scheme='dark')
    try:
        page.goto(station.url + 'kiosk')
        kiosk_bin = page.get_by_test_id('bin')
        expect(kiosk_bin).not_to_have_attribute('data-bin', '')
        expect(kiosk_bin).to_have_attribute('data-stale', 'false')
        expect(kiosk_bin).to_have_attribute('aria-live', 'polite')
        box = kiosk_bin.bounding_box()
        assert box['width'] >= 790 and box['height'] >= 470  # the whole screen
        page.goto(station.url)
        expect(page.get_by_test_id('bin')).to_have_attribute('aria-live', 'polite')
        assert page.locator('link[rel=icon]').get_attribute('href') == '/favicon.svg'
        icon = page.request.get(station.url + 'favicon.svg')
        assert icon.status == 200 and icon.headers['content-type'].startswith('image/svg+xml')
        dark = page.evaluate('getComputedStyle(document.body).backgroundColor')
        page.emulate_media(color_scheme='light')
        light = page.evaluate('getComputedStyle(document.body).backgroundColor')
        assert (dark, light) == ('rgb(21, 24, 28)', 'rgb(244, 245, 247)')

        # Every control is reached with Tab and worked with Enter, without a mouse.
        reached = set()
        for _ in range(20):
            page.keyboard.press('Tab')
            reached.add(page.evaluate('document.activeElement.id || '
                                      'document.activeElement.textContent.trim()'))
        assert {'Skip to the review inbox', 'Kiosk view', 'counts-reset',
                'capture-now'} <= reached, reached
        page.focus('#capture-now')
        page.keyboard.press('Enter')
        expect(page.locator('#capture-result')).to_contain_text('saved into')
    finally:
        page.close()


@contextlib.contextmanager
def model_station(tmp_path, name):
    """Run a classifier `name` on a model of its own under tmp_path, and station_web over it.

    The station finds retrain results in tmp_path/retrain; yields (live model, station).
    """
    live = write_model_dir(tmp_path / 'model')
    with NodeProcess('waste_classifier_ros.nodes.classifier_node', name=name,
                     params={'model': str(live), **CLASSIFIER_PARAMS}) as classifier:
        classifier.wait_for_output('ready:', timeout=60)
        station = start_station(tmp_path / 'inbox', tmp_path / 'dataset', classifier=f'/{name}',
                                retrain_dir=str(tmp_path / 'retrain'))
        try:
            yield live, station
        finally:
            assert station.stop() == 0, station.output


def test_promote_asks_installs_and_switches_and_roll_back_returns_to_the_old_model(
        page, model, camera, tmp_path):
    with model_station(tmp_path, 'waste_classifier_p') as (live, station):
        live_sha = sha256_file(live)
        result = write_retrain_result(tmp_path / 'retrain', live)
        child_sha = sha256_file(result / live.name)
        page.goto(station.url)
        candidate = page.get_by_test_id('candidate')
        in_use = page.get_by_test_id('model').locator('#model-info dd').first  # its sha256
        message, confirm = page.get_by_test_id('review-message'), page.get_by_test_id('confirm')
        expect(in_use).to_have_text(live_sha[:12])
        expect(candidate).to_be_visible()
        expect(candidate).to_contain_text(f'{child_sha[:12]}: wins by the rule')
        expect(candidate).to_contain_text('station80.0%90.0%')
        # What the guard costs the station, as the retrain's trade_off states it.
        expect(page.get_by_test_id('trade-off')).to_contain_text(
            'strict guard: blocks mix 0.25 of epoch 5, station val 85.0% (-5.0 points on the '
            'station)')
        expect(page.get_by_test_id('previous')).to_be_hidden()  # nothing replaced yet
        page.get_by_test_id('promote').click()  # asks first; Cancel installs nothing
        expect(confirm).to_contain_text(f'Install {child_sha[:12]} in place of the model in use')
        page.get_by_test_id('confirm-no').click()
        expect(confirm).to_be_hidden()
        assert sha256_file(live) == live_sha
        page.get_by_test_id('promote').click()
        page.get_by_role('button', name='Yes, promote').click()
        expect(message).to_contain_text(f'installed {child_sha[:12]}')
        expect(message).to_contain_text('switched')
        assert sha256_file(live) == child_sha  # installed where the model in use lives
        expect(in_use).to_have_text(child_sha[:12])  # what the classifier reports now
        expect(candidate).to_be_hidden()
        assert str(tmp_path) not in message.inner_text()

        previous = page.get_by_test_id('previous')
        expect(previous).to_contain_text(f'{live_sha[:12]}, trained')
        page.get_by_test_id('roll-back').click()
        expect(confirm).to_contain_text(f'Put {live_sha[:12]} back')
        page.get_by_role('button', name='Yes, roll back').click()
        expect(message).to_contain_text(f'rolled back to {live_sha[:12]}')
        expect(message).to_contain_text('switched')  # the classifier was told, and answered
        assert sha256_file(live) == live_sha
        expect(in_use).to_have_text(live_sha[:12])  # what the classifier reports again
        expect(previous).to_contain_text(f'{child_sha[:12]}, trained')  # one step forward
        expect(candidate).to_contain_text(f'{child_sha[:12]}: wins by the rule')  # waits again


def test_promoting_a_model_retrain_refused_for_a_class_drop_is_refused(page, model, camera,
                                                                       tmp_path):
    with model_station(tmp_path, 'waste_classifier_r') as (live, station):
        live_sha = sha256_file(live)
        write_retrain_result(tmp_path / 'retrain', live, class_drop=True)
        page.goto(station.url)
        candidate, promote = page.get_by_test_id('candidate'), page.get_by_test_id('promote')
        expect(candidate).to_contain_text(
            'does not win by the rule (waste7 glass recall 95.0% -> 75.0% (-20.0, 95% interval '
            '-27.8..-11.4 over 100 photos): beyond the 10-point class limit)')
        expect(promote).to_be_disabled()
        # A page that showed another verdict (or a hand that enabled the button): the server
        # applies the rule itself and refuses.
        promote.evaluate('button => { button.disabled = false; }')
        promote.click()
        page.get_by_role('button', name='Yes, promote').click()
        expect(page.get_by_test_id('review-message')).to_have_text(
            'promote refused (409): the rule says no: waste7 glass recall 95.0% -> 75.0% '
            '(-20.0, 95% interval -27.8..-11.4 over 100 photos): beyond the 10-point class limit')
        assert sha256_file(live) == live_sha
        assert not (live.parent / 'previous').exists()


# The batch view, the phone and the kiosk --------------------------------------------------
# True once the focused element lies wholly above the fixed bottom line (and on screen); Tab
# past the last control leaves the focus on the body, for a step.
FOCUS_ABOVE_BAR = '''() => {
  if (document.activeElement === document.body) return true;
  const focused = document.activeElement.getBoundingClientRect();
  const bar = document.querySelector('[data-testid=review-message]').getBoundingClientRect();
  return focused.top >= 0 && focused.bottom <= bar.top;
}'''
# Shows `bin` with the page's own renderBin and reads back, in the same task (before the next
# state redraws it), the bin's colour, each text's colour and opacity, and the name's overflow.
SHOW_BIN = '''(bin) => {
  renderBin(Object.assign({ score: 0.9, at: Date.now() / 1000 }, bin), 0.5);
  const box = document.querySelector('[data-testid=bin]');
  const label = document.getElementById('bin-label');
  const style = (element) => getComputedStyle(element);
  return { background: style(box).backgroundColor,
           texts: [...box.querySelectorAll('.caption, .bin-label, .bin-score')].map(
             (text) => [text.className, style(text).color, Number(style(text).opacity)]),
           name: [label.textContent, label.scrollWidth, label.clientWidth, label.scrollHeight,
                   label.clientHeight] };
}'''


def expect_focus_above_bar(page) -> None:
    """Wait (bounded) until the focused element is clear of the bottom line; else say where."""
    try:
        page.wait_for_function(FOCUS_ABOVE_BAR, timeout=5000)
    except sync_api.TimeoutError:
        where = page.evaluate('''() => [document.activeElement.outerHTML.slice(0, 120),
          JSON.stringify(document.activeElement.getBoundingClientRect()), JSON.stringify(
            document.querySelector('[data-testid=review-message]').getBoundingClientRect())]''')
        raise AssertionError(f'focused element under the bottom line: {where}') from None


def _rgb(css: str) -> tuple:
    return tuple(float(part) for part in re.findall(r'[\d.]+', css)[:3])


def _luminance(rgb) -> float:
    """WCAG 2's relative luminance of an sRGB colour (0..255 a channel)."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
              for c in (channel / 255 for channel in rgb)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(text, background, opacity: float = 1.0) -> float:
    """WCAG 2's contrast ratio of text (drawn at `opacity` over the background) to it."""
    shown = [opacity * t + (1 - opacity) * b for t, b in zip(text, background)]
    lighter, darker = sorted((_luminance(shown), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_is_the_wcag_ratio():
    assert contrast((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast((255, 255, 255), (44, 160, 44)) == pytest.approx(3.4, abs=0.05)  # glass
    assert contrast((255, 255, 255), (47, 127, 224)) == pytest.approx(4.0, abs=0.05)  # paper


def grid_capture_names(station, prefix: str, count: int, predicted: str) -> list:
    empty_inbox(station)
    names = [f'{prefix}_{number:06d}' for number in range(count)]
    for name in names:
        write_capture(station.inbox, predicted, name, score=0.4)
    return names


def remove_captures(station, names) -> None:
    for root in (station.inbox, station.dataset):
        for name in names:
            for path in root.rglob(f'{name}.*'):
                path.unlink()


def test_the_grid_confirms_all_corrects_one_by_key_and_undo_takes_the_batch_back(browser,
                                                                                station):
    names = grid_capture_names(station, '20261130T101600', 4, 'plastic')
    before = files_under(station.inbox)
    page = browser.new_page(viewport=DESKTOP)
    progress, message = page.get_by_test_id('progress'), page.get_by_test_id('review-message')
    tiles = page.get_by_test_id('grid').locator('.tile')
    try:
        page.goto(station.url)
        expect(page.get_by_test_id('review-card')).to_be_visible()
        page.keyboard.press('g')  # the batch view, keyboard only from here
        expect(page.get_by_test_id('grid-card')).to_be_visible()
        expect(page.get_by_test_id('review-card')).to_be_hidden()
        expect(tiles).to_have_count(4)
        expect(page.get_by_test_id('grid-info')).to_have_text('4 of the 4 the model calls plastic')
        expect(tiles.first).to_be_focused()
        ids = [tiles.nth(index).get_attribute('data-id') for index in range(4)]
        assert sorted(ids) == [f'plastic/{name}.jpg' for name in names]
        page.keyboard.press('ArrowRight')
        expect(tiles.nth(1)).to_be_focused()
        page.keyboard.press(str(CLASSES.index('metal') + 1))  # corrects the focused photo
        expect(tiles.nth(1)).to_have_attribute('data-label', 'metal')
        expect(tiles.nth(1)).to_contain_text('→ metal')
        expect(tiles.nth(0)).to_have_attribute('data-label', 'plastic')
        page.keyboard.press('a')  # confirms all four as their tiles show
        expect(progress).to_contain_text('0 waiting · ')
        expect(message).to_have_text('4 labelled: 3 plastic, 1 metal -> <dataset>')
        labelled = {capture_id: 'metal' if capture_id == ids[1] else 'plastic'
                    for capture_id in ids}
        assert files_under(station.dataset) == {
            f'{split_for(capture_id)}/{label}/{capture_id.split("/")[1][:-4]}{suffix}'
            for capture_id, label in labelled.items() for suffix in ('.jpg', '.json')}
        assert files_under(station.inbox) == set()

        page.keyboard.press('u')  # the whole batch back, through the session's undo
        expect(progress).to_contain_text('4 waiting · ')
        expect(message).to_have_text('undone: the batch of 4 back in the inbox')
        assert files_under(station.inbox) == before and files_under(station.dataset) == set()
        # It comes back as it was confirmed; a tap on a photo, then a class, corrects it too.
        tile = page.locator(f'.tile[data-id="{ids[1]}"]')
        expect(tile).to_have_attribute('data-label', 'metal')
        page.locator(f'.tile[data-id="{ids[2]}"]').click()
        page.locator('#class-buttons button[data-class=glass]').click()
        expect(page.locator(f'.tile[data-id="{ids[2]}"]')).to_have_attribute('data-label',
                                                                             'glass')
        page.keyboard.press('Enter')  # the tapped photo has the focus: Enter confirms all
        expect(progress).to_contain_text('0 waiting · ')
        assert {path for path in files_under(station.dataset) if path.endswith('.jpg')} == {
            f'{split_for(capture_id)}/{dict(labelled, **{ids[2]: "glass"})[capture_id]}/'
            f'{capture_id.split("/")[1]}' for capture_id in ids}
        page.keyboard.press('g')
        expect(page.get_by_test_id('grid-card')).to_be_hidden()
        expect(page.locator('#review-empty')).to_be_visible()
    finally:
        page.close()
        remove_captures(station, names)


@pytest.mark.parametrize('viewport', [DESKTOP, PHONE], ids=['desktop', 'phone'])
def test_bars_under_the_bin_focus_above_the_bottom_line_and_the_grid_fits(browser, station,
                                                                          viewport):
    names = grid_capture_names(station, '20261130T101700', 13, 'paper')
    page = browser.new_page(viewport=viewport)
    message = page.get_by_test_id('review-message')
    try:
        page.goto(station.url)
        expect(page.get_by_test_id('capture')).to_have_attribute('data-id', re.compile('paper/'))
        expect(page.get_by_test_id('classes').locator('.bar-row')).not_to_have_count(0)
        gap = page.evaluate('document.getElementById("classes").getBoundingClientRect().top - '
                            'document.getElementById("bin").getBoundingClientRect().bottom')
        assert 0 <= gap <= 20, f'the bars are {gap} px below the bin'
        # Tab through the page: each focused control is scrolled clear of the bottom line.
        reached = set()
        for _ in range(24):
            page.keyboard.press('Tab')
            focused = page.evaluate('document.activeElement.dataset.class || '
                                    'document.activeElement.id || document.activeElement.tagName')
            expect_focus_above_bar(page)
            reached.add(focused)
        assert set(CLASSES) <= reached and {'skip', 'discard', 'undo'} <= reached, reached
        # Where a capture went, whole: wrapped on a phone, not cut.
        page.evaluate('document.activeElement.blur()')
        page.keyboard.press('Enter')  # confirms the suggestion
        expect(message).to_contain_text(re.compile(r'^paper/20261130T101700_\d{6}\.jpg -> '
                                                   r'<dataset>/(train|val)/paper/$'))
        assert page.evaluate('''() => { const m = document.querySelector(
            '[data-testid=review-message]'); return m.scrollWidth <= m.clientWidth
            && m.scrollHeight <= m.clientHeight; }'''), 'the bottom line is cut'
        # The grid: twelve photos, no sideways scroll, each focused photo above the line; D
        # discards the focused one.
        page.keyboard.press('g')
        tiles = page.get_by_test_id('grid').locator('.tile')
        expect(tiles).to_have_count(12)
        discarded = tiles.first.get_attribute('data-id')
        page.keyboard.press('d')
        expect(message).to_have_text(f'{discarded} discarded (kept in <inbox>/.discarded/paper)')
        assert (station.inbox / '.discarded' / discarded).is_file()
        expect(tiles).to_have_count(11)
        assert page.evaluate('document.documentElement.scrollWidth') <= viewport['width']
        review = page.get_by_test_id('review').bounding_box()
        for index in range(11):
            box = tiles.nth(index).bounding_box()
            assert box['width'] >= 100, box  # a photo one can judge
            assert review['x'] <= box['x'] and box['x'] + box['width'] <= review['x'] + \
                review['width'], (index, box, review)
        expect(tiles.first).to_be_focused()
        for _ in range(10):
            page.keyboard.press('ArrowRight')
            expect_focus_above_bar(page)
        expect(tiles.nth(10)).to_be_focused()
        page.keyboard.press('a')
        expect(page.get_by_test_id('progress')).to_contain_text('0 waiting · ')
        assert sorted(path.stem for path in station.dataset.rglob('paper/*.jpg')) == [
            name for name in names if name not in discarded]
    finally:
        page.close()
        remove_captures(station, names)


@pytest.mark.parametrize('viewport', [PHONE, {'width': 760, 'height': 480}, DESKTOP],
                         ids=['phone', '760', 'desktop'])
def test_whole_bin_names_in_the_kiosk_and_every_bin_colour_with_text_at_4_5_to_1(
        browser, station, viewport):
    page = browser.new_page(viewport=viewport)
    try:
        state = page.request.get(station.url + 'api/state').json()
        bins = [dict(style, name=name) for name, style in state['bins'].items()]
        bins.append({'name': 'unknown', 'label': 'Unknown', 'colour': '#ffffff'})
        for route in ('kiosk', ''):
            page.goto(station.url + route)
            expect(page.get_by_test_id('bin')).to_have_attribute('data-stale', 'false')
            for shown_bin in bins:
                page_bins = page.evaluate(SHOW_BIN, shown_bin)
                name, wide, width, tall, height = page_bins['name']
                assert name == shown_bin['label']
                assert wide <= width and tall <= height, (route, page_bins['name'])
                background = _rgb(page_bins['background'])
                for part, colour, opacity in page_bins['texts']:
                    ratio = contrast(_rgb(colour), background, opacity)
                    assert ratio >= 4.5, (route, shown_bin['name'], part, colour,
                                          page_bins['background'], round(ratio, 2))
    finally:
        page.close()
