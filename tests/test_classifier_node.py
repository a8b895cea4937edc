# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The waste_classifier node as its own process over real DDS, with real ONNX Runtime.

One node (tiny model, params file, namespace and image remap) serves the tests in this module
in order; the startup failures run as short-lived processes started side by side.
"""

import os
from pathlib import Path
import signal

from classifier_camera import Camera, names, scores
import numpy as np
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import GetParameters, SetParameters
from ros_harness import NodeProcess, write_params_file
from sensor_msgs.msg import Image
from tiny_model import CLASSES, COLOURS, GREY, build_model, solid, write_model_dir
from vision_msgs.msg import Classification, LabelInfo

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.model_card import sha256_file, write_card, write_labels
from waste_classifier_ros.nodes.qos import LATCHED

pytestmark = pytest.mark.ros

MODULE = 'waste_classifier_ros.nodes.classifier_node'
NAMESPACE = '/station'
PREFIX = f'{NAMESPACE}/waste_classifier'
CAMERA = '/camera/image_raw'
PARAMS = {
    'top_k': 3, 'threshold': 0.6, 'smoothing_window': 2, 'frames_to_confirm': 2,
    'stall_timeout': 1.0, 'diagnostics_period': 0.2, 'num_threads': 1,
}
STATUS_NAME = 'station/waste_classifier: classifier'  # namespaced: two stations do not mix
BIN_OF = {'cardboard': 'paper_recycling', 'paper': 'paper_recycling', 'glass': 'glass',
          'metal': 'mixed_recycling', 'plastic': 'mixed_recycling', 'organic': 'compost',
          'trash': 'landfill'}


@pytest.fixture(scope='module')
def classifier(model, tmp_path_factory, ros_context):
    params_file = write_params_file(tmp_path_factory.mktemp('params') / 'classifier.yaml', '/**',
                                    dict(PARAMS, model=str(model)))
    node = NodeProcess(MODULE, params_file=params_file,
                       remaps={'image': CAMERA, '__ns': NAMESPACE}).start()
    node.wait_for_output('ready:', timeout=30)
    yield node
    node.kill()


@pytest.fixture
def camera(classifier, probe):
    return Camera(probe, PREFIX, CAMERA, STATUS_NAME)


ENCODED = [('rgb8', 'cardboard'), ('bgr8', 'glass'), ('rgba8', 'metal'), ('bgra8', 'organic'),
           ('mono8', 'paper'), ('yuv422', 'plastic'), ('uyvy', 'trash'),
           ('yuv422_yuy2', 'metal'), ('yuyv', 'glass')]


def test_every_encoding_with_row_padding_is_classified_with_its_header(camera):
    for stamp, (encoding, expected) in enumerate(ENCODED, start=1):
        frame = solid(COLOURS[expected], 48, 64)
        result = camera.send(stamp, frame, encoding, padding=6, frame_id=f'cam_{encoding}')
        assert result.header.frame_id == f'cam_{encoding}'
        assert names(result)[0] == expected, f'{encoding}: {names(result)}'
        assert len(result.results) == 3 and set(names(result)) <= set(CLASSES)
        assert scores(result) == sorted(scores(result), reverse=True)
        assert 0.99 < scores(result)[0] and sum(scores(result)) <= 1.0 + 1e-5


def test_a_720p_frame_and_an_uncertain_frame(camera):
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:] = COLOURS['plastic']
    assert names(camera.send(20, frame, 'bgr8', padding=64))[0] == 'plastic'
    uncertain = camera.send(21, solid(GREY))
    assert scores(uncertain)[0] < 0.4


def test_a_burst_is_classified_newest_last_and_the_rest_counted_as_skipped(camera):
    # Skips are counted from gaps in a publisher's sequence numbers, so one frame goes first
    # to introduce this publisher.
    camera.send(40, solid(COLOURS['paper']))
    _, before = camera.status(lambda v: int(v['frames_processed']) >= 1)
    step, data = image_codec.encode(solid(COLOURS['paper'], 480, 640), 'rgb8')
    for stamp in range(41, 71):
        camera.publish(stamp, 'rgb8', 480, 640, step, data)
    camera.answer(camera.classifications, 70)

    def seen(values):
        return int(values['frames_received']) + int(values['frames_skipped'])
    _, after = camera.status(lambda v: seen(v) >= seen(before) + 30)
    assert int(after['frames_received']) - int(before['frames_received']) < 30
    assert int(after['frames_skipped']) > int(before['frames_skipped'])


def test_label_info_reaches_a_late_subscriber(camera, probe):
    label_info = probe.collect(LabelInfo, f'{PREFIX}/label_info', LATCHED)
    probe.wait_for_messages(label_info, what='latched label_info')
    assert [(c.class_id, c.class_name) for c in label_info[0].class_map] == list(
        enumerate(CLASSES))
    assert label_info[0].threshold == pytest.approx(PARAMS['threshold'])


def test_overlay_is_drawn_only_while_someone_subscribes(camera, probe):
    camera.send(30, solid(COLOURS['glass']))
    _, last = camera.status(lambda v: int(v['frames_processed']) >= 1)

    def send_until(overlay_drawn, stamps):
        # The classifier learns about (un)subscriptions asynchronously, so frames are sent
        # until the counters show one processed with (or without) an overlay.
        nonlocal last
        for stamp in stamps:
            camera.send(stamp, solid(COLOURS['organic'], 96, 128), 'yuyv', padding=4,
                        frame_id='overlay_cam')
            _, values = camera.status(
                lambda v: int(v['frames_processed']) > int(last['frames_processed']))
            drawn = int(values['frames_overlaid']) > int(last['frames_overlaid'])
            last = values
            if drawn == overlay_drawn:
                return stamp
        pytest.fail(f'no frame processed {"with" if overlay_drawn else "without"} an overlay')

    send_until(False, [31])
    overlays = []
    subscription = probe.node.create_subscription(Image, f'{PREFIX}/overlay', overlays.append,
                                                  10)
    stamp = send_until(True, range(32, 60))
    overlay = camera.answer(overlays, stamp)
    assert (overlay.encoding, overlay.height, overlay.width) == ('bgr8', 96, 128)
    assert overlay.header.frame_id == 'overlay_cam'
    pixels = image_codec.to_rgb(image_codec.decode(overlay.encoding, overlay.height,
                                                   overlay.width, overlay.step, overlay.data))
    assert np.abs(pixels[-10:, -10:].astype(int) - COLOURS['organic']).max() < 12
    assert (pixels[:20, :40] != pixels[-1, -1]).any(), 'text is drawn in the top-left corner'

    probe.node.destroy_subscription(subscription)
    send_until(False, range(60, 90))


def test_bin_decision_is_debounced_and_latched(camera, probe):
    # Settle on glass first so the metal frames below are a change of bin.
    for stamp in range(100, 105):
        camera.send(stamp, solid(COLOURS['glass']))
    probe.wait_for(lambda: camera.bins and names(camera.bins[-1])[0] == 'glass', 10,
                   'a glass decision')
    glass_decisions = len(camera.bins)

    metal = [camera.send(200 + i, solid(COLOURS['metal'])) for i in range(5)]
    assert all(names(m)[0] == 'metal' for m in metal)
    decision = camera.answer(camera.bins, 202)
    # Frame 200 averages glass and metal (unsure), 201 is the first confident mixed-recycling
    # frame, 202 the second: only then does the decision change, and only once.
    assert names(decision)[0] == 'mixed_recycling' and scores(decision)[0] > 0.99
    assert set(names(decision)) == {'paper_recycling', 'glass', 'mixed_recycling', 'compost',
                                    'landfill'}

    late = probe.collect(Classification, f'{PREFIX}/bin', LATCHED)
    probe.wait_for_messages(late, what='latched bin decision for a late subscriber')
    assert late[0].header.stamp.sec == 202 and names(late[0])[0] == 'mixed_recycling'
    assert [b.header.stamp.sec for b in camera.bins[glass_decisions:]] == [202]


def test_unconfident_frames_make_the_bin_unknown(camera, probe):
    for stamp in range(300, 304):
        camera.send(stamp, solid(GREY))
    probe.wait_for(lambda: [b for b in camera.bins if b.header.stamp.sec >= 300], 10,
                   'a bin decision on grey frames')
    decision = [b for b in camera.bins if b.header.stamp.sec >= 300][0]
    assert names(decision)[0] == 'unknown' and len(decision.results) == 6
    assert scores(decision)[0] > 0.4


def test_malformed_frames_are_dropped_counted_and_the_next_good_frame_classified(camera,
                                                                                  classifier):
    _, before = camera.status()
    rejected = int(before['frames_rejected'])
    bad = [
        {'encoding': 'rgb8', 'height': 4, 'width': 4, 'step': 12, 'data': bytes(20)},
        {'encoding': 'rgb8', 'height': 4, 'width': 4, 'step': 8, 'data': bytes(48)},
        {'encoding': 'rgb8', 'height': 0, 'width': 0, 'step': 0, 'data': b''},
        {'encoding': '32FC1', 'height': 4, 'width': 4, 'step': 16, 'data': bytes(64)},
    ]
    for stamp, fields in enumerate(bad, start=400):
        camera.publish(stamp, **fields)
        # Wait for each rejection: the subscription keeps only the newest frame.
        rejected += 1
        camera.status(lambda v, n=rejected: int(v['frames_rejected']) >= n)
    _, values = camera.status(lambda v: int(v['frames_rejected']) >= rejected)
    assert "unsupported encoding '32FC1'" in values['last_rejection']
    assert names(camera.send(410, solid(COLOURS['trash'])))[0] == 'trash'
    assert not [c for c in camera.classifications if 400 <= c.header.stamp.sec < 410]
    warnings = classifier.output.count('dropped a frame')
    assert 1 <= warnings < len(bad), 'rejections are logged, throttled'
    assert 'less than step*height' in classifier.output


def test_diagnostics_report_numbers_and_warn_when_the_camera_stalls(camera, model):
    camera.send(500, solid(COLOURS['paper']))
    status, values = camera.status(level=b'\x00')
    for key in ('input_fps', 'processed_fps', 'frames_received', 'frames_processed',
                'frames_skipped', 'frames_rejected', 'latency_p50_ms', 'latency_p95_ms'):
        assert key in values, key
    assert float(values['latency_p50_ms']) <= float(values['latency_p95_ms'])
    assert values['backend'] == status.hardware_id == 'onnxruntime'
    assert values['model_sha256'] == sha256_file(model)
    # A status published before the node's reader matched this test's camera can arrive late.
    camera.status(lambda v: v['image_publishers'] == '1')
    status, _ = camera.status(level=b'\x01', timeout=5.0)
    assert 'stalled' in status.message
    camera.send(501, solid(COLOURS['paper']))
    camera.status(level=b'\x00')


class Parameters:
    def __init__(self, probe):
        self.probe = probe
        self.set_client = probe.node.create_client(SetParameters, f'{PREFIX}/set_parameters')
        self.get_client = probe.node.create_client(GetParameters, f'{PREFIX}/get_parameters')

    def _call(self, client, request):
        probe = self.probe
        probe.wait_for(client.service_is_ready, 10, f'service {client.srv_name}')
        future = client.call_async(request)
        probe.wait_for(future.done, 10, f'a reply from {client.srv_name}')
        return future.result()

    def set(self, name, value):
        """Set one parameter; return the SetParametersResult."""
        return self._call(self.set_client, SetParameters.Request(parameters=[
            Parameter(name=name, value=_value(value))])).results[0]

    def get(self, name):
        value = self._call(self.get_client, GetParameters.Request(names=[name])).values[0]
        return {ParameterType.PARAMETER_DOUBLE: value.double_value,
                ParameterType.PARAMETER_INTEGER: value.integer_value,
                ParameterType.PARAMETER_DOUBLE_ARRAY: list(value.double_array_value),
                ParameterType.PARAMETER_STRING: value.string_value}[value.type]


def _value(value):
    if isinstance(value, bool):
        return ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=value)
    if isinstance(value, int):
        return ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=value)
    if isinstance(value, float):
        return ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value)
    if isinstance(value, list):
        return ParameterValue(type=ParameterType.PARAMETER_DOUBLE_ARRAY,
                              double_array_value=value)
    return ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value)


@pytest.mark.parametrize('name, value, reason', [
    ('threshold', 1.5, 'out of range'),
    ('top_k', 0, 'out of range'),
    ('roi', [0.5, 0.5, 0.8, 0.8], 'must lie inside the frame'),
    ('roi', [0.0, 0.0, 1.0], 'needs 4 values'),
    ('roi', [float('nan'), 0.0, 0.5, 0.5], 'must lie inside the frame'),
    ('model', '/tmp/other.onnx', 'other.onnx: model file not found'),
    ('smoothing_window', 'three', 'type'),
])
def test_invalid_parameters_are_rejected_with_the_reason_and_the_old_value_stays(
        camera, probe, name, value, reason):
    parameters = Parameters(probe)
    old = parameters.get(name)
    result = parameters.set(name, value)
    assert not result.successful and reason in result.reason
    assert parameters.get(name) == old
    assert names(camera.send(610, solid(COLOURS['glass'])))[0] == 'glass'


def test_runtime_parameters_change_the_output_live(camera, probe):
    parameters = Parameters(probe)
    assert parameters.set('top_k', 1).successful
    assert len(camera.send(600, solid(COLOURS['glass'])).results) == 1

    # Left half metal, right half glass: the ROI decides which one the node looks at.
    frame = solid(COLOURS['glass'], 48, 64)
    frame[:, :32] = COLOURS['metal']
    assert parameters.set('roi', [0.0, 0.0, 0.5, 1.0]).successful
    assert names(camera.send(601, frame)) == ['metal']
    assert parameters.set('roi', [0.5, 0.0, 0.5, 1.0]).successful
    assert names(camera.send(602, frame)) == ['glass']

    assert parameters.set('threshold', 0.75).successful
    label_info = probe.collect(LabelInfo, f'{PREFIX}/label_info', LATCHED)
    probe.wait_for(lambda: label_info and label_info[-1].threshold == pytest.approx(0.75), 10,
                   'label_info republished with the new threshold')
    assert parameters.set('overlay_show_fps', False).successful
    assert parameters.set('diagnostics_period', 0.1).successful
    for name in ('top_k', 'roi', 'threshold', 'diagnostics_period'):
        default = {'roi': [0.0, 0.0, 1.0, 1.0]}.get(name, PARAMS.get(name))
        assert parameters.set(name, default).successful


def test_sigint_stops_the_node_with_exit_code_0(classifier):
    assert classifier.stop(signal.SIGINT, timeout=10) == 0


def test_jetson_backend_through_the_standin_and_sigterm(model, probe, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).parent / 'standins'), os.environ.get('PYTHONPATH', '')]))
    with NodeProcess(MODULE, params={'model': str(model), 'backend': 'auto',
                                     'engine_cache': str(tmp_path)},
                     remaps={'image': CAMERA, '__ns': NAMESPACE}, env=env) as node:
        # The engine is built for this model's sha256 in the engine cache.
        node.wait_for_output(f'engine cache to {tmp_path / sha256_file(model)}', timeout=30)
        node.wait_for_output('ready: jetson backend', timeout=30)
        camera = Camera(probe, PREFIX, CAMERA, STATUS_NAME)
        assert names(camera.send(700, solid(COLOURS['organic'], 120, 160), 'bgra8'))[0] == \
            'organic'
        assert node.stop(signal.SIGTERM, timeout=10) == 0


def _broken_models(root: Path):
    """Name -> (params, text the error line must contain), each a different startup failure."""
    good = write_model_dir(root / 'good')
    not_onnx = root / 'not_onnx' / 'waste_classifier.onnx'
    not_onnx.parent.mkdir()
    not_onnx.write_text('this is not a protobuf')
    write_labels(not_onnx.with_name('labels.txt'), CLASSES)
    five = build_model((root / 'five').mkdir() or root / 'five' / 'waste_classifier.onnx',
                       num_classes=5)
    write_labels(five.with_name('labels.txt'), CLASSES)
    tampered = write_model_dir(root / 'tampered')
    write_card(tampered.with_name('model_card.json'), {'classes': CLASSES,
                                                        'onnx_sha256': 'f' * 64})
    missing_class = root / 'missing_class.yaml'
    missing_class.write_text('bins:\n  all: {colour: "#ffffff", classes: [cardboard, glass, '
                             'metal, organic, paper, plastic]}\n')
    unknown_class = root / 'unknown_class.yaml'
    unknown_class.write_text('bins:\n  all: {colour: "#ffffff", classes: [cardboard, glass, '
                             'metal, organic, paper, plastic, trash, styrofoam]}\n')
    return {
        'missing model': ({'model': str(root / 'nope.onnx')}, 'nope.onnx: model file not found'),
        'not onnx': ({'model': str(not_onnx)}, 'onnxruntime cannot load it as an ONNX model'),
        'label count': ({'model': str(five)}, 'lists 7 classes but'),
        'sha256': ({'model': str(tampered)}, 'does not match'),
        'bins missing class': ({'model': str(good), 'bins_file': str(missing_class)},
                               'missing_class.yaml: class "trash" is in no bin'),
        'bins unknown class': ({'model': str(good), 'bins_file': str(unknown_class)},
                               'names class "styrofoam"'),
        'unknown backend': ({'model': str(good), 'backend': 'tpu'}, "unknown backend 'tpu'"),
        'bad roi': ({'model': str(good), 'roi': [0.5, 0.5, 0.9, 0.1]}, 'inside the frame'),
    }


@pytest.fixture(scope='module')
def failed_starts(tmp_path_factory, ros_context):
    cases = _broken_models(tmp_path_factory.mktemp('broken'))
    processes = {name: NodeProcess(MODULE, params=params).start()
                 for name, (params, _) in cases.items()}
    yield {name: (processes[name], cases[name][1]) for name in cases}
    for process in processes.values():
        process.kill()


@pytest.mark.parametrize('case', ['missing model', 'not onnx', 'label count', 'sha256',
                                  'bins missing class', 'bins unknown class', 'unknown backend',
                                  'bad roi'])
def test_startup_failure_exits_non_zero_with_one_clear_line(failed_starts, case):
    process, message = failed_starts[case]
    assert process.wait_exit(timeout=30) != 0
    line = process.wait_for_output('cannot start:', timeout=1)
    assert message in line, process.output
