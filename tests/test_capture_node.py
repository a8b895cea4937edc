# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Capture in the running classifier, over real DDS.

What lands in the inbox, the ~/capture service, the counters in /diagnostics, the disk bound
and a SIGKILL in the middle of writing.
"""

import json
import signal

import cv2
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from ros_harness import NodeProcess
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger
from tiny_model import CLASSES, COLOURS, GREY, solid
from vision_msgs.msg import Classification

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.model_card import sha256_file
from waste_classifier_ros.flywheel.capture import list_captures, recover
from waste_classifier_ros.flywheel.review import ReviewSession

pytestmark = pytest.mark.ros

MODULE = 'waste_classifier_ros.nodes.classifier_node'
CAMERA = '/capture_cam'
PREFIX = '/waste_classifier'


def visible(inbox, pattern):
    """Files in the class folders, where review and training look (not in .tmp/)."""
    return sorted(p for p in inbox.glob(f'*/{pattern}') if not p.parent.name.startswith('.'))


def start(model, inbox, **params):
    settings = {'model': str(model), 'capture_enabled': True,
                'capture_inbox': str(inbox), 'capture_min_interval': 0.0,
                'diagnostics_period': 0.2, 'smoothing_window': 1, 'frames_to_confirm': 1,
                'reliable': True, **params}
    node = NodeProcess(MODULE, params=settings, remaps={'image': CAMERA}).start()
    node.wait_for_output('ready:', timeout=30)
    return node


class Station:
    """The test side: a camera publisher, the classifications, diagnostics, the service."""

    def __init__(self, probe):
        self.probe = probe
        self.publisher = probe.node.create_publisher(Image, CAMERA, 10)
        self.classifications = probe.collect(Classification, f'{PREFIX}/classification')
        self.diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
        self.service = probe.node.create_client(Trigger, f'{PREFIX}/capture')
        probe.wait_for_subscribers(self.publisher)
        probe.wait_for(lambda: probe.node.count_publishers(f'{PREFIX}/classification'), 10,
                       'the classifier to publish')

    def send(self, stamp, rgb):
        """Publish one frame (reliable) and wait for its classification."""
        step, data = image_codec.encode(rgb, 'rgb8')
        msg = Image(encoding='rgb8', height=rgb.shape[0], width=rgb.shape[1], step=step,
                    data=data)
        msg.header.stamp.sec = stamp
        msg.header.frame_id = 'bin_cam'
        self.publisher.publish(msg)
        self.probe.wait_for(
            lambda: any(m.header.stamp.sec == stamp for m in self.classifications), 10,
            f'the classification of frame {stamp}')

    def counters(self, predicate=lambda values: True):
        start = len(self.diagnostics)
        found = []

        def arrived():
            found[:] = [values for array in self.diagnostics[start:] for status in array.status
                        if predicate(values := {kv.key: kv.value for kv in status.values})]
            return found
        self.probe.wait_for(arrived, 10, 'capture counters in /diagnostics')
        return found[0]

    def call(self, client, request):
        self.probe.wait_for(client.service_is_ready, 10, f'the service {client.srv_name}')
        future = client.call_async(request)
        self.probe.wait_for(future.done, 10, f'the answer of {client.srv_name}')
        return future.result()

    def request(self) -> Trigger.Response:
        return self.call(self.service, Trigger.Request())

    def set(self, name: str, value: ParameterValue):
        client = self.probe.node.create_client(SetParameters, f'{PREFIX}/set_parameters')
        return self.call(client, SetParameters.Request(
            parameters=[Parameter(name=name, value=value)])).results[0]


def test_unsure_frames_and_requests_are_captured_for_review(model, tmp_path, probe):
    inbox = tmp_path / 'inbox'
    node = start(model, inbox, capture_min_score=0.6)
    try:
        station = Station(probe)
        station.send(1, solid(GREY, 90, 120))                # unsure: no class above 0.4
        values = station.counters(lambda v: v.get('captures_written') == '1')
        station.send(2, solid(COLOURS['metal'], 90, 120))    # sure, same bin twice: no capture
        station.send(3, solid(COLOURS['metal'], 90, 120))
        answer = station.request()
        assert answer.success and str(inbox) in answer.message
        station.send(4, solid(COLOURS['glass'], 90, 120))    # sure, but requested
        values = station.counters(lambda v: v.get('captures_written') == '3')
    finally:
        assert node.stop() == 0
    assert values['captures_dropped_queue_full'] == '0' and values['captures_failed'] == '0'
    sidecars = [json.loads(image.with_suffix('.json').read_text())
                for _, image, _ in list_captures(inbox)]
    assert [(s['stamp']['sec'], s['reason']) for s in sidecars] == [
        (1, 'unsure'), (2, 'bin_change'), (4, 'request')]
    unsure = sidecars[0]
    assert unsure['frame_id'] == 'bin_cam' and unsure['topk'][0]['score'] < 0.4
    assert unsure['model_sha256'] == sha256_file(model)
    assert unsure['roi'] == [0.0, 0.0, 1.0, 1.0] and (unsure['width'], unsure['height']) == (
        120, 90)
    assert sidecars[2]['topk'][0]['class'] == 'glass' and sidecars[2]['bin'] == 'glass'
    # The inbox is what review.py reads: the person corrects the request capture to glass.
    with ReviewSession(inbox, tmp_path / 'dataset', CLASSES) as session:
        pending = session.pending()
        assert [c.reason for c in pending] == ['unsure', 'bin_change', 'request']
        action = session.label(pending[2].id, 'glass')
    assert cv2.imread(str(action.destination)).shape == (90, 120, 3)


def test_capture_off_then_turned_on_live(model, tmp_path, probe):
    inbox = tmp_path / 'inbox'
    node = start(model, inbox, capture_enabled=False)
    try:
        station = Station(probe)
        answer = station.request()
        assert not answer.success and 'capture is off' in answer.message
        station.send(1, solid(GREY, 90, 120))
        assert not inbox.exists()  # off: nothing written, not even the folder
        refused = station.set('capture_min_score', ParameterValue(
            type=ParameterType.PARAMETER_DOUBLE, double_value=1.5))
        assert not refused.successful and 'capture_min_score' in refused.reason
        assert station.set('capture_enabled', ParameterValue(
            type=ParameterType.PARAMETER_BOOL, bool_value=True)).successful
        station.send(2, solid(GREY, 90, 120))
        station.counters(lambda v: v.get('captures_written') == '1')
    finally:
        assert node.stop() == 0
    [(_, image, _)] = list_captures(inbox)
    assert json.loads(image.with_suffix('.json').read_text())['stamp']['sec'] == 2


def test_a_full_disk_bound_drops_the_oldest_unreviewed_captures_and_counts_them(
        model, tmp_path, probe):
    inbox = tmp_path / 'inbox'
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), np.uint8)
    ok, jpeg = cv2.imencode('.jpg', noise, [cv2.IMWRITE_JPEG_QUALITY, 90])
    old = [f'2026010{day}T080000_00000{day}' for day in range(1, 6)]
    for day, name in enumerate(old):
        folder = inbox / CLASSES[day]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f'{name}.jpg').write_bytes(jpeg.tobytes())
        (folder / f'{name}.json').write_text(json.dumps({'topk': [
            {'class': CLASSES[day], 'score': 0.3}], 'reason': 'unsure'}))
    pair = len(jpeg) + (inbox / CLASSES[0] / f'{old[0]}.json').stat().st_size
    assert 5 * pair > 1e6 > 3 * pair  # five old captures pass the 1 MB bound, three fit
    node = start(model, inbox, capture_max_mb=1.0, capture_jpeg_quality=90)
    try:
        station = Station(probe)
        station.send(1, noise[..., ::-1].copy())  # unsure, and as large as the old ones
        values = station.counters(lambda v: v.get('captures_written') == '1')
    finally:
        assert node.stop() == 0
    left = [name for name, _, _ in list_captures(inbox)]
    evicted = int(values['captures_evicted'])
    assert evicted >= 2 and left[:5 - evicted] == old[evicted:]
    assert len(left) == 5 - evicted + 1 and left[-1] > old[-1]
    assert float(values['capture_inbox_mb']) <= 1.0
    assert sum(size for _, _, size in list_captures(inbox)) <= 1e6


def test_sigkill_while_capturing_leaves_no_half_written_capture(model, tmp_path, probe):
    inbox = tmp_path / 'inbox'
    node = start(model, inbox, capture_queue_size=8, reliable=False)
    station = Station(probe)
    rng = np.random.default_rng(1)
    frames = [image_codec.encode(rng.integers(0, 256, (720, 1280, 3), np.uint8), 'rgb8')
              for _ in range(4)]
    stamp = 0
    try:
        def captured():
            nonlocal stamp
            stamp += 1
            step, data = frames[stamp % len(frames)]
            msg = Image(encoding='rgb8', height=720, width=1280, step=step, data=data)
            msg.header.stamp.sec = stamp
            station.publisher.publish(msg)
            station.probe.spin_for(0.01)
            return len(visible(inbox, '*.json')) >= 6
        probe.wait_for(captured, 60, 'six captures written (every noise frame is unsure)')
        node.process.send_signal(signal.SIGKILL)  # while frames keep coming and being written
        assert node.wait_exit(10) == -signal.SIGKILL
    finally:
        node.kill()
    sidecars = visible(inbox, '*.json')
    images = visible(inbox, '*.jpg')
    assert len(sidecars) >= 6
    for sidecar in sidecars:
        data = json.loads(sidecar.read_text())
        assert data['reason'] == 'unsure' and len(data['topk']) == 5
        image = sidecar.with_suffix('.jpg')
        assert image.read_bytes()[-2:] == b'\xff\xd9', f'{image} is cut short'
        assert cv2.imread(str(image)).shape == (720, 1280, 3)
    # The JPEG is linked into place before its sidecar: at most the one in flight has none
    # yet, and the next writer removes it, with whatever was left in .tmp.
    orphans = [image for image in images if not image.with_suffix('.json').exists()]
    assert len(orphans) <= 1
    recover(inbox)
    assert visible(inbox, '*.jpg') == [s.with_suffix('.jpg') for s in sidecars]
    assert not (inbox / '.tmp').exists()
