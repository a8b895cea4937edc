# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
A model set while the classifier runs, over real DDS with real ONNX Runtime and tiny models.

Model A is tests/tiny_model.py's; model B (shift=1) has the same interface with its classes'
colours shifted, so a glass-coloured frame tells which of the two classified it (A: glass, B:
metal).
"""

import importlib.util
from pathlib import Path
import shutil
import sys
import time

from classifier_camera import Camera, names
import numpy as np
import onnx
from onnx import numpy_helper
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from ros_harness import NodeProcess
from test_classifier_node import CAMERA, PREFIX, STATUS_NAME, Parameters
from tiny_model import CLASSES, COLOURS, solid, write_model_dir
from vision_msgs.msg import Classification, LabelInfo

from waste_classifier_ros.core.model_card import read_card, sha256_file, write_card, write_labels
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.flywheel import promotion
from waste_classifier_ros.nodes.live_model import load_model, load_replacement
from waste_classifier_ros.nodes.qos import LATCHED

pytestmark = pytest.mark.ros

MODULE = 'waste_classifier_ros.nodes.classifier_node'
NO_JETSON = 'backend auto: jetson-inference not available'
GLASS = solid(COLOURS['glass'])
ANSWER = {'a': 'glass', 'b': 'metal'}  # to a glass-coloured frame


def variant(source: Path, folder: Path, change=None, classes=CLASSES, card=True) -> Path:
    """Write a model folder from `source`'s ONNX file edited by change(model); return the model."""
    model = onnx.load(str(source))
    if change is not None:
        change(model)
    folder.mkdir(parents=True)
    path = folder / 'waste_classifier.onnx'
    onnx.save(model, str(path))
    write_labels(folder / 'labels.txt', classes)
    if card:
        write_card(folder / 'model_card.json', {'classes': list(classes), 'input_size': 224,
                                                'onnx_sha256': sha256_file(path)})
    return path


def add_ballast(megabytes: int):
    """Make the file big (an unused constant), so that loading it takes a while."""
    def change(model):
        ballast = np.random.default_rng(0).random(megabytes << 18, dtype=np.float32)
        model.graph.initializer.append(numpy_helper.from_array(ballast, 'ballast'))
    return change


def rename_input(model):
    for node in model.graph.node:
        node.input[:] = ['images' if name == 'input_0' else name for name in node.input]
    model.graph.input[0].name = 'images'


def resize_input(model):
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = 256


@pytest.fixture(scope='module')
def models(model, tmp_path_factory):
    root = tmp_path_factory.mktemp('models')
    b = write_model_dir(root / 'b', shift=1)
    return {'a': model, 'b': b, 'big': variant(b, root / 'big', add_ballast(250))}


@pytest.fixture(scope='module')
def classifier(models, tmp_path_factory, ros_context):
    node = NodeProcess(MODULE, params={'model': str(models['a']), 'num_threads': 1,
                                       'smoothing_window': 1, 'frames_to_confirm': 1,
                                       'diagnostics_period': 0.2},
                       remaps={'image': CAMERA, '__ns': '/station'}).start()
    node.wait_for_output('ready:', timeout=30)
    yield node
    node.kill()


@pytest.fixture
def camera(classifier, probe):
    return Camera(probe, PREFIX, CAMERA, STATUS_NAME)


def set_model(path: Path) -> SetParameters.Request:
    return SetParameters.Request(parameters=[Parameter(name='model', value=ParameterValue(
        type=ParameterType.PARAMETER_STRING, string_value=str(path)))])


def live_sha(camera: Camera, expected: str) -> None:
    """Wait until /diagnostics reports `expected` as the model's sha256."""
    camera.status(lambda values: values['model_sha256'] == expected)


def serving(camera: Camera, parameters: Parameters, models, stamp: int) -> str:
    """Which model answers a glass frame, checked against the parameter and /diagnostics."""
    answer = names(camera.send(stamp, GLASS))[0]
    which = next(key for key, value in ANSWER.items() if value == answer)
    path = Path(parameters.get('model'))
    assert path == models[which] or which == 'b' and path == models['big'], (path, which)
    live_sha(camera, sha256_file(path))
    return which


def test_a_model_set_at_run_time_goes_live_and_is_reported(classifier, camera, probe, models):
    parameters = Parameters(probe)
    assert parameters.set('model', str(models['a'])).successful
    assert serving(camera, parameters, models, 1) == 'a'
    label_info = probe.collect(LabelInfo, f'{PREFIX}/label_info', LATCHED)
    probe.wait_for(lambda: label_info, 10, 'the latched label_info')
    before = len(label_info)

    result = parameters.set('model', str(models['b']))
    assert result.successful, result.reason
    assert serving(camera, parameters, models, 2) == 'b'
    probe.wait_for(lambda: len(label_info) > before, 10, 'label_info republished')
    assert [c.class_name for c in label_info[-1].class_map] == CLASSES
    line = classifier.wait_for_output(f'sha256 {sha256_file(models["b"])[:12]}', timeout=5)
    assert 'model switched' in line


def test_classifying_goes_on_while_a_big_model_loads(camera, probe, models):
    parameters = Parameters(probe)
    assert parameters.set('model', str(models['a'])).successful
    assert names(camera.send(10, GLASS))[0] == 'glass'
    arrivals = []
    probe.node.create_subscription(
        Classification, f'{PREFIX}/classification',
        lambda msg: arrivals.append(msg.header.stamp.sec), 10)
    future = parameters.set_client.call_async(set_model(models['big']))
    sent = time.monotonic()
    stamp = 1000

    def next_frame_when_answered():
        # The next frame as soon as the last one is answered (or 0.1 s without an answer).
        nonlocal sent, stamp
        if arrivals and arrivals[-1] == stamp or time.monotonic() - sent > 0.1:
            sent, stamp = time.monotonic(), stamp + 1
            camera.publish(stamp, 'rgb8', *GLASS.shape[:2], GLASS.shape[1] * 3,
                           GLASS.tobytes())
        return future.done()
    probe.wait_for(next_frame_when_answered, 30, 'the reply to the model set')
    while_loading = len(arrivals)
    assert future.result().results[0].successful, future.result().results[0].reason
    # Answers while it loaded (a node that stopped would answer none until the reply); the
    # longest pause around a set is make bench's swap-phase figure (target 100 ms).
    assert while_loading > 3, f'{while_loading} frames answered while the big model loaded'
    assert names(camera.send(150, GLASS))[0] == 'metal'


@pytest.fixture(scope='module')
def bad(models, tmp_path_factory):
    root = tmp_path_factory.mktemp('bad')
    a = models['a']
    truncated = root / 'truncated' / 'waste_classifier.onnx'
    truncated.parent.mkdir()
    truncated.write_bytes(a.read_bytes()[:300])
    write_labels(truncated.with_name('labels.txt'), CLASSES)
    six = variant(a, root / 'six', card=False)
    write_labels(six.with_name('labels.txt'), CLASSES[:6])
    tampered = variant(a, root / 'tampered')
    shutil.copyfile(models['b'], tampered)
    renamed = ['carton'] + CLASSES[1:]
    return {
        'missing': (root / 'nope.onnx', 'nope.onnx: model file not found'),
        'truncated': (truncated, 'onnxruntime cannot load it as an ONNX model'),
        'input name': (variant(a, root / 'name', rename_input),
                       "input images of 3x224x224 differs from the running model's input_0"),
        'input size': (variant(a, root / 'size', resize_input),
                       "input input_0 of 3x256x256 differs from the running model's input_0 of "
                       '3x224x224'),
        'label count': (six, 'lists 6 classes but'),
        'card sha256': (tampered, 'does not match'),
        'bins classes': (variant(a, root / 'bins', classes=renamed),
                         'names class "cardboard", which the model does not have'),
    }


@pytest.mark.parametrize('case', ['missing', 'truncated', 'input name', 'input size',
                                  'label count', 'card sha256', 'bins classes'])
def test_a_bad_model_is_refused_with_the_reason_and_the_old_one_serves(camera, probe, models,
                                                                       bad, case):
    parameters = Parameters(probe)
    path, reason = bad[case]
    before = parameters.get('model')
    result = parameters.set('model', str(path))
    assert not result.successful and reason in result.reason, result.reason
    assert parameters.get('model') == before
    which = serving(camera, parameters, models, 200 + len(case))
    assert Path(before) in (models[which], models['big'])


def test_twenty_swaps_in_a_row_and_two_at_once_leave_one_model_live(classifier, camera, probe,
                                                                    models):
    parameters = Parameters(probe)
    for i in range(20):
        key = 'ab'[i % 2]
        result = parameters.set('model', str(models[key]))
        assert result.successful, result.reason
        assert names(camera.send(300 + i, GLASS))[0] == ANSWER[key], i
    assert serving(camera, parameters, models, 330) == 'b'

    # Two clients at once: both sets succeed, one after the other; the last one is live.
    other = Parameters(probe)
    futures = [p.set_client.call_async(set_model(models[key]))
               for p, key in ((parameters, 'a'), (other, 'b'))]
    probe.wait_for(lambda: all(f.done() for f in futures), 20, 'both replies')
    assert all(f.result().results[0].successful for f in futures)
    serving(camera, parameters, models, 331)
    assert classifier.output.count('model switched') >= 22


def test_promotion_tells_the_running_node(camera, models, tmp_path):
    target = tmp_path / 'installed'
    promotion.install([models['a'].with_name(n) for n in (
        'waste_classifier.onnx', 'labels.txt', 'model_card.json')], target)
    answer = promotion.notify_running_node(target / 'waste_classifier.onnx', node=PREFIX)
    assert answer.running and answer.switched, str(answer)
    assert names(camera.send(400, GLASS))[0] == 'glass'
    live_sha(camera, sha256_file(models['a']))
    # Promoted over the same files: the same parameter values load the new contents.
    promotion.install([models['b'].with_name(n) for n in (
        'waste_classifier.onnx', 'labels.txt', 'model_card.json')], target)
    answer = promotion.notify_running_node(target / 'waste_classifier.onnx', node=PREFIX)
    assert answer.switched and 'switched' in str(answer)
    assert names(camera.send(401, GLASS))[0] == 'metal'
    live_sha(camera, read_card(target / 'model_card.json')['onnx_sha256'])


def test_a_replacement_loads_on_the_running_backend_without_resolving_auto_again(
        models, monkeypatch):
    monkeypatch.setitem(sys.modules, 'jetson_inference', None)  # not installed
    logged = []
    engine = {'backend': 'auto', 'bins_file': share_path('config', 'bins.yaml'),
              'log': logged.append}
    running = load_model(str(models['a']), '', '', **engine)
    assert running.backend.name == 'onnxruntime'
    assert [line for line in logged if NO_JETSON in line] == logged[:1]
    new = load_replacement(running, str(models['b']), '', '', **engine)
    assert new.backend.name == 'onnxruntime' and new.files.model == models['b']
    assert sum(NO_JETSON in line for line in logged) == 1, logged


def test_backend_auto_says_once_that_jetson_inference_is_missing(classifier, probe, models,
                                                                  bad, tmp_path):
    # The classifier runs with the default backend, auto; every model set, refused or not, used
    # to look for jetson-inference again and say so again.
    parameters = Parameters(probe)
    assert not parameters.set('model', str(bad['label count'][0])).successful
    last = variant(models['b'], tmp_path / 'last')  # a path no earlier test switched to
    assert parameters.set('model', str(last)).successful
    # Printed after everything the set's load printed.
    classifier.wait_for_output(f'model switched: now model {last}', timeout=10)
    missing = importlib.util.find_spec('jetson_inference') is None
    assert classifier.output.count(NO_JETSON) == int(missing), classifier.output
