# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The inference backend fails on one frame; SIGTERM ends a busy node cleanly.

One node runs with `backend:=jetson` on the jetson-inference stand-in, wrapped by
tests/fault_standins so that imageNet.Classify raises on its third call. Frames go one at a
time (reliable) so each can be followed: the third is dropped and counted, the fourth and fifth
are classified, and nothing else changes. From then on each inference takes 0.1 s more, and a
30 FPS camera must be skipped, frame by frame accounted for, newest classified last. Then the
same node, busy with 0.1 s inferences, a camera and an overlay subscriber, gets SIGTERM. Last,
SIGINT and SIGTERM arrive while a node is still loading its model (a slow engine build).
"""

from pathlib import Path
import signal

from builtin_interfaces.msg import Time
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from robustness_support import (
    HANG_S,
    STANDINS,
    Camera,
    Diagnostics,
    assert_clean_exit,
    classifier,
    env_with_pythonpath,
    image_msg,
    start_classifier,
    tiny_model,
)
from sensor_msgs.msg import Image
from tiny_model import COLOURS, solid
from vision_msgs.msg import Classification

pytestmark = pytest.mark.ros

FAULT_STANDINS = Path(__file__).resolve().parent / 'fault_standins'
FAILING_FRAME = 3
# The node runs the backend once at startup (warm-up), so frame N is Classify call N + 1.
WARM_UP_CALLS = 1
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
NAME = 'rb_faults'
FRAMES_IN_FAULT_TEST = 5
SLOW_INFERENCE_S = 0.1


@pytest.fixture(scope='module')
def node(tmp_path_factory):
    """One jetson node for the module: Classify fails on frame 3 and is slow from frame 6."""
    env = env_with_pythonpath(FAULT_STANDINS, STANDINS)
    env['WCR_STANDIN_CLASSIFY_FAILS_ON'] = str(FAILING_FRAME + WARM_UP_CALLS)
    # After the fault test's five frames every inference takes 0.1 s more: 10 FPS at most.
    env['WCR_STANDIN_CLASSIFY_SLOW_FROM'] = str(FRAMES_IN_FAULT_TEST + 1 + WARM_UP_CALLS)
    env['WCR_STANDIN_CLASSIFY_SECONDS'] = str(SLOW_INFERENCE_S)
    process = start_classifier(
        NAME, tiny_model(tmp_path_factory.mktemp('model')), env=env,
        params={'backend': 'jetson', 'reliable': True, 'diagnostics_period': 0.1,
                'engine_cache': str(tmp_path_factory.mktemp('engines'))})
    yield process
    process.kill()


DROP_COUNTERS = ('skipped', 'rejected', 'failed')


def _dropped(counts):
    # Every way the node may drop a frame; a backend failure is its own counter, frames_failed.
    return sum(counts.get(key, 0) for key in DROP_COUNTERS)


def test_backend_exception_drops_that_frame_counts_it_and_classifies_the_next(probe, node):
    assert 'jetson backend' in node.output, node.output
    diagnostics = Diagnostics(probe, NAME)
    received = probe.collect(Classification, f'/{NAME}/classification', qos=RELIABLE)
    publisher = probe.node.create_publisher(Image, f'/{NAME}/image', RELIABLE)
    probe.wait_for_subscribers(publisher)
    colours = ['metal', 'glass', 'paper', 'plastic', 'cardboard']
    for index, name in enumerate(colours, start=1):
        publisher.publish(image_msg(solid(COLOURS[name]), stamp=Time(sec=index)))
        counts = diagnostics.wait_until(
            lambda c, n=index: c.get('received') == n and c['processed'] + _dropped(c) == n,
            3, f'frame {index} to be classified or counted as dropped')
        if index == FAILING_FRAME:
            assert counts['processed'] == FAILING_FRAME - 1 and _dropped(counts) == 1, counts
            assert counts.get('failed') == 1, f'not counted as a backend failure: {counts}'
            reason = diagnostics.values().get('last_failure', '')
            assert 'injected fault' in reason, f'diagnostics last_failure is {reason!r}'
        else:
            probe.wait_for(lambda n=index: any(m.header.stamp.sec == n for m in received),
                           5, f'the classification of frame {index}')
    assert [m.header.stamp.sec for m in received] == [1, 2, 4, 5]
    assert [m.results[0].class_id for m in received] == ['metal', 'glass', 'plastic',
                                                        'cardboard']
    assert counts['processed'] == 4 and _dropped(counts) == 1, counts
    assert 'injected fault' in node.output, 'the failure was not logged with its reason'
    assert node.process.poll() is None, node.output


def test_a_model_too_slow_for_the_camera_skips_frames_and_counts_every_one(probe, node):
    diagnostics = Diagnostics(probe, NAME)
    received = probe.collect(Classification, f'/{NAME}/classification', qos=RELIABLE)
    diagnostics.wait_until(lambda c: True, 5, 'diagnostics')
    before = diagnostics.counts()
    camera = Camera(probe, f'/{NAME}/image', rate=30.0, qos=RELIABLE, stamp_with_count=True,
                    msgs=[image_msg(solid(COLOURS['glass']), 'bgr8')])
    camera.on = False
    probe.wait_for_subscribers(camera.publisher)
    camera.on = True
    probe.wait_for(lambda: len(received) >= 15, 20, '15 classifications at 10 FPS')
    camera.on = False
    sent = camera.sent
    # The newest frame waits in the keep-last-1 queue and is taken when inference is free.
    probe.wait_for(lambda: received and received[-1].header.stamp.sec == sent, 5,
                   f'the last frame sent ({sent}) to be classified last')
    # Skips are counted from sequence gaps after this publisher's first frame that got through.
    first = received[0].header.stamp.sec
    counts = diagnostics.wait_until(
        lambda c: c['received'] - before['received'] + c['skipped'] - before['skipped'] ==
        sent - first + 1, 5, f'frames {first}..{sent} to be counted as received or skipped')
    delta = {key: counts[key] - before.get(key, 0) for key in counts}
    assert delta['processed'] + delta['rejected'] + delta['failed'] == delta['received'], delta
    assert delta['skipped'] > delta['received'], f'a 10 FPS model at 30 FPS must skip: {delta}'
    stamps = [m.header.stamp.sec for m in received]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), \
        'classified frames must come newest-last, each once'
    assert len(received) == delta['processed'], (len(received), delta)


def test_sigterm_while_classifying_on_jetson_exits_0(probe, node):
    # SIGINT is the last test of test_robustness_runtime.py, on the onnxruntime backend.
    assert node.process.poll() is None, f'the node is gone:\n{node.output}'
    camera = Camera(probe, f'/{NAME}/image', rate=20.0, qos=RELIABLE)
    received = probe.collect(Classification, f'/{NAME}/classification')
    overlays = probe.collect(Image, f'/{NAME}/overlay', qos=1)
    try:
        probe.wait_for(lambda: len(received) >= 5 and overlays, 20,
                       'classifications and an overlay')
    except AssertionError as error:
        raise AssertionError(f'{error} ({camera.sent} frames sent, {len(received)} '
                             f'classified); node output:\n{node.output}') from None
    assert_clean_exit(node, signal.SIGTERM)


LOAD_SECONDS = 1.5


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_a_signal_while_the_model_loads_exits_0_without_a_traceback(tmp_path, sig):
    # A TensorRT engine build takes minutes on a first start; launch or systemd may stop the
    # node meanwhile. The stand-in says it is building, then takes LOAD_SECONDS.
    env = env_with_pythonpath(FAULT_STANDINS, STANDINS)
    env['WCR_STANDIN_LOAD_SECONDS'] = str(LOAD_SECONDS)
    node = classifier(f'rb_load_{sig.name.lower()}', tiny_model(tmp_path / 'model'), env=env,
                      params={'backend': 'jetson'}).start()
    try:
        node.wait_for_output('building the TensorRT engine', timeout=20)
        # The node's handler only records the stop (nodes/shutdown.py): the node ends once the
        # load returns, as it would after an engine build in C++.
        code = node.stop(sig, timeout=LOAD_SECONDS + HANG_S)
    finally:
        node.kill()
    assert 'Traceback' not in node.output, node.output
    assert code == 0, f'exit code {code} after {sig.name} during startup:\n{node.output}'
