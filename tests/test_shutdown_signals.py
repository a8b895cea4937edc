# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Two stop signals in quick succession end every node of this package with 0 and no traceback.

That is what a Ctrl-C under `ros2 launch` delivers (the terminal's SIGINT to the process group,
then the one launch forwards; SIGTERM follows if a node lingers), and launch reports any other
exit as an ERROR. Each case runs the real node process over real DDS and signals it at one
moment of its work: idle (signals from this test once the node is up and nothing flows), or
from inside the process as a frame is being decoded or classified or just before a publish
(tests/ros_programs/signal_at.py), so the shutdown races that call every time.
"""

from pathlib import Path
import signal
import threading

import pytest
from robustness_support import Camera, image_msg, tiny_model
from ros_harness import NodeProcess
from sensor_msgs.msg import Image
from tiny_model import COLOURS, solid

from waste_classifier_ros.nodes.shutdown import ros_session

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parent.parent
SIGNAL_AT = Path(__file__).resolve().parent / 'ros_programs' / 'signal_at.py'
CLASSIFIER = 'waste_classifier_ros.nodes.classifier_node'
MEDIA_SOURCE = 'waste_classifier_ros.nodes.media_source_node'
# (first, second, milliseconds between them): launch's forwarded SIGINT comes 1-10 ms after the
# terminal's; SIGTERM is what launch escalates to.
PAIRS = {'SIGINT+SIGINT 0ms': ('SIGINT', 'SIGINT', 0.0),
         'SIGINT+SIGTERM 5ms': ('SIGINT', 'SIGTERM', 5.0)}
EXIT_WITHIN_S = 5.0


def node_process(module, moment, pair, name, params, remaps) -> NodeProcess:
    if moment == 'idle':
        return NodeProcess(module, name=name, params=params, remaps=remaps)
    first, second, gap_ms = pair
    return NodeProcess(SIGNAL_AT, args=[moment, first, second, gap_ms, module], name=name,
                       params=params, remaps=remaps)


def send_from_outside(node: NodeProcess, pair) -> None:
    first, second, gap_ms = pair
    node.process.send_signal(signal.Signals[first])
    if gap_ms:
        # The stimulus itself (the second signal lands while the first is being handled),
        # not a wait for anything.
        timer = threading.Timer(gap_ms / 1000.0, node.process.send_signal,
                                (signal.Signals[second],))
        timer.start()
        timer.join()
    else:
        node.process.send_signal(signal.Signals[second])


def assert_ended_cleanly(node: NodeProcess, what: str) -> None:
    code = node.wait_exit(timeout=EXIT_WITHIN_S)
    output = node.output
    assert code == 0, f'{what}: exit code {code}; output:\n{output}'
    for sign in ('Traceback', 'KeyboardInterrupt'):
        assert sign not in output, f'{what}: {sign!r} in the output:\n{output}'


@pytest.mark.parametrize('pair', PAIRS.values(), ids=PAIRS.keys())
@pytest.mark.parametrize('moment', ['idle', 'classify', 'publish:overlay'])
def test_classifier_ends_cleanly_on_two_signals(probe, tmp_path, moment, pair):
    name = f'sig_classifier_{moment.replace(":", "_")}_{pair[1].lower()}'
    topic = f'/{name}/image'
    if moment == 'publish:overlay':
        moment = f'publish:/{name}/overlay'
        probe.collect(Image, f'/{name}/overlay')  # the overlay is drawn only for a subscriber
    node = node_process(CLASSIFIER, moment, pair, name, remaps={'image': topic}, params={
        'model': str(tiny_model(tmp_path / 'model')), 'backend': 'onnxruntime',
        'num_threads': 1, 'reliable': True})
    with node:
        node.wait_for_output('ready:', timeout=30)
        if moment == 'idle':
            send_from_outside(node, pair)
        else:
            # 720p frames, as a camera sends them, until the moment comes.
            Camera(probe, topic, rate=30.0, qos=10,
                   msgs=[image_msg(solid(COLOURS['glass'], 720, 1280), 'bgr8')])
            probe.wait_for(
                lambda: 'signals sent' in node.output or node.process.poll() is not None,
                timeout=20, what=f'the moment {moment}')
            assert 'signals sent' in node.output, f'it ended before {moment}:\n{node.output}'
        assert_ended_cleanly(node, f'classifier, {moment}, {pair}')


@pytest.mark.parametrize('pair', PAIRS.values(), ids=PAIRS.keys())
@pytest.mark.parametrize('moment', ['idle', 'imread:3', 'publish:image'])
def test_media_source_ends_cleanly_on_two_signals(moment, pair):
    name = f'sig_media_{moment.replace(":", "_")}_{pair[1].lower()}'
    topic = f'/{name}/image'
    if moment == 'publish:image':
        moment = f'publish:{topic}'
    # 1280x720 frames at 30 Hz from the sample photos; idle holds them for a subscriber that
    # never comes (its timer still runs), the others publish to nobody.
    node = node_process(MEDIA_SOURCE, moment, pair, name, remaps={'image': topic}, params={
        'resource': str(ROOT / 'samples'), 'rate': 30.0, 'loop': True, 'width': 1280,
        'height': 720, 'wait_for_subscribers': 1 if moment == 'idle' else 0})
    with node:
        if moment == 'idle':
            node.wait_for_output('waiting for 1 subscriber', timeout=30)
            send_from_outside(node, pair)
        else:
            node.wait_for_output('signals sent', timeout=30)
        assert_ended_cleanly(node, f'media_source, {moment}, {pair}')


def test_a_session_without_a_stop_gives_back_the_signal_handlers():
    # A test that calls a node's main() in-process keeps its own Ctrl-C.
    def mine(signum, frame):
        raise AssertionError('not called here')
    previous = signal.signal(signal.SIGTERM, mine)
    try:
        before = signal.getsignal(signal.SIGINT)
        with ros_session(['session_test']):
            assert signal.getsignal(signal.SIGTERM) is not mine
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is before
    finally:
        signal.signal(signal.SIGTERM, previous)
