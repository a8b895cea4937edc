# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Model files, startup checks and both backends (jetson through its stand-in) on a tiny model."""

from pathlib import Path
import sys

import numpy as np
import pytest
from tiny_model import CLASSES, COLOURS, GREY, build_model, solid, write_model_dir

from waste_classifier_ros.backends import (
    BackendError,
    as_probabilities,
    create_backend,
    resolve_model_files,
    top_k,
)
from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.model_card import ModelCardError, write_card, write_labels

STANDINS = str(Path(__file__).parent / 'standins')


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    return resolve_model_files(str(write_model_dir(tmp_path_factory.mktemp('model'))))


@pytest.fixture
def no_jetson(monkeypatch):
    monkeypatch.setitem(sys.modules, 'jetson_inference', None)


@pytest.fixture
def jetson_standin(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(STANDINS)
    for name in ('jetson_inference', 'jetson_utils'):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setenv('ROS_HOME', str(tmp_path / 'ros_home'))  # the default engine cache
    yield
    # Imported stand-ins must not outlive the test: a later 'auto' backend would find them.
    for name in ('jetson_inference', 'jetson_utils'):
        sys.modules.pop(name, None)


def test_model_files_are_found_beside_the_model(files):
    assert files.labels == CLASSES
    assert files.labels_path.name == 'labels.txt'
    assert files.card_path.name == 'model_card.json'
    assert len(files.sha256) == 64


def test_onnxruntime_classifies_each_colour_as_its_class(files, no_jetson):
    logged = []
    backend = create_backend('auto', files, log=logged.append)
    assert backend.name == 'onnxruntime' and backend.input_size == 224
    assert 'using onnxruntime' in logged[0]
    for name, colour in COLOURS.items():
        probabilities = backend.classify(solid(colour))
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
        assert CLASSES[int(np.argmax(probabilities))] == name and probabilities.max() > 0.99
    assert backend.classify(solid(GREY)).max() < 0.4


def test_frames_of_any_encoding_give_the_same_probabilities(files, no_jetson):
    backend = create_backend('onnxruntime', files)
    rgb = solid(COLOURS['organic'], 120, 160)
    expected = backend.classify(rgb)
    for encoding in ('bgr8', 'rgba8', 'mono8', 'yuyv'):
        step, data = image_codec.encode(rgb, encoding, 4)
        frame = image_codec.decode(encoding, 120, 160, step, data)
        if encoding in ('bgr8', 'rgba8'):
            np.testing.assert_allclose(backend.classify_frame(frame), expected, atol=1e-6)
        else:
            assert backend.classify_frame(frame).shape == expected.shape


def test_unavailable_execution_providers_are_logged_and_cpu_is_used(files):
    logged = []
    backend = create_backend('onnxruntime', files,
                             execution_providers=['TensorrtExecutionProvider',
                                                  'CPUExecutionProvider'],
                             num_threads=1, log=logged.append)
    assert backend.providers == ['CPUExecutionProvider']
    assert any('TensorrtExecutionProvider' in line for line in logged)


def test_jetson_backend_on_the_standin_matches_onnxruntime(files, jetson_standin):
    logged = []
    jetson = create_backend('auto', files, log=logged.append)
    assert jetson.name == 'jetson' and jetson.input_size == 224 and not logged
    onnx = create_backend('onnxruntime', files)
    for colour in [*COLOURS.values(), GREY]:
        frame = solid(colour, 90, 160)
        np.testing.assert_allclose(jetson.classify(frame), onnx.classify(frame), atol=1e-5)


def test_jetson_sees_what_training_saw_on_a_textured_720p_frame(files, jetson_standin):
    # imageNet samples the nearest pixel when it scales; stretched beforehand with the shared
    # preprocessing, its scale is 1 and its input is the training input.
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    rgb[:, :400] = COLOURS['trash']
    frame = image_codec.decode('rgb8', 720, 1280, *image_codec.encode(rgb, 'rgb8', 32))
    jetson = create_backend('jetson', files)
    onnx = create_backend('onnxruntime', files)
    np.testing.assert_allclose(jetson.classify_frame(frame), onnx.classify_frame(frame),
                               atol=1e-6)


def test_jetson_load_failures_name_the_files(tmp_path, jetson_standin):
    model = build_model(tmp_path / 'model.onnx', num_classes=5)
    write_labels(tmp_path / 'labels.txt', CLASSES)
    with pytest.raises(BackendError, match=f'{model}: jetson-inference cannot load it with '
                                           f'labels {tmp_path / "labels.txt"}'):
        create_backend('jetson', resolve_model_files(str(model)))
    model.write_text('not a model')
    with pytest.raises(BackendError, match='jetson-inference cannot load it'):
        create_backend('jetson', resolve_model_files(str(model)))


def test_a_changed_model_gets_an_engine_of_its_own(tmp_path, jetson_standin):
    import jetson_inference
    engines = tmp_path / 'engines'
    model = write_model_dir(tmp_path / 'model')
    builds = jetson_inference.imageNet.builds
    builds.clear()

    def answer_to_glass():
        backend = create_backend('jetson', resolve_model_files(str(model)), engine_cache=engines)
        return CLASSES[int(np.argmax(backend.classify(solid(COLOURS['glass']))))]

    first = resolve_model_files(str(model)).sha256
    assert answer_to_glass() == 'glass' and len(builds) == 1
    # jetson-inference's own cache file, beside the model's copy in the model's sha256 folder.
    assert builds[0] == f'{engines / first / model.name}.1.1.8602.GPU.FP16.engine'
    assert answer_to_glass() == 'glass' and len(builds) == 1  # the engine is reused
    # The same file name, another model (a retrain installed over it): a new engine.
    write_model_dir(model.parent, shift=1)
    assert answer_to_glass() == 'metal' and len(builds) == 2
    second = resolve_model_files(str(model)).sha256
    assert (engines / second).is_dir()
    write_model_dir(model.parent)  # back to the first: its engine is found again
    assert answer_to_glass() == 'glass' and len(builds) == 2
    # Only the three most recently used folders stay: the second model's goes.
    for shift in (2, 3):
        write_model_dir(model.parent, shift=shift)
        answer_to_glass()
    kept = {path.name for path in engines.iterdir()}
    assert len(kept) == 3 and first in kept and second not in kept


def test_the_default_engine_cache_is_under_ros_home(files, jetson_standin, tmp_path):
    backend = create_backend('jetson', files)
    assert backend.model_in_cache == (tmp_path / 'ros_home' / 'waste_classifier_engines'
                                      / files.sha256 / files.model.name)


def test_jetson_requested_without_jetson_inference_is_an_error(files, no_jetson):
    with pytest.raises(BackendError, match='cannot import jetson-inference'):
        create_backend('jetson', files)


def test_unknown_backend_is_an_error(files):
    with pytest.raises(BackendError, match="unknown backend 'tensorflow'"):
        create_backend('tensorflow', files)


def test_missing_model(tmp_path):
    with pytest.raises(ModelCardError, match='model file not found'):
        resolve_model_files(str(tmp_path / 'missing.onnx'))


def test_file_that_is_not_onnx(tmp_path):
    model = tmp_path / 'model.onnx'
    model.write_text('not a model')
    write_labels(tmp_path / 'labels.txt', CLASSES)
    with pytest.raises(BackendError, match=f'{model}: onnxruntime cannot load it'):
        create_backend('onnxruntime', resolve_model_files(str(model)))


def test_one_session_opener_for_files_and_serialised_graphs(files):
    # training.recipe.evaluate and retraining open their sessions with the node's open_session.
    from waste_classifier_ros.backends.onnx_runtime import input_size, open_session

    batch = np.zeros((2, 3, 224, 224), np.float32)
    from_file = open_session(files.model)
    from_bytes = open_session(files.model.read_bytes(), num_threads=1)
    assert input_size(from_bytes) == 224
    name = from_file.get_inputs()[0].name
    np.testing.assert_array_equal(from_file.run(None, {name: batch})[0],
                                  from_bytes.run(None, {name: batch})[0])
    with pytest.raises(BackendError, match='the ONNX graph: onnxruntime cannot load it'):
        open_session(b'not a model')


def test_label_count_must_match_model_output(tmp_path):
    model = build_model(tmp_path / 'model.onnx', num_classes=5)
    write_labels(tmp_path / 'labels.txt', CLASSES)
    with pytest.raises(ModelCardError, match='lists 7 classes but .* outputs 5'):
        create_backend('onnxruntime', resolve_model_files(str(model)))


def test_sha256_must_match_the_card(tmp_path):
    model = write_model_dir(tmp_path)
    write_card(tmp_path / 'model_card.json', {'classes': CLASSES, 'onnx_sha256': '0' * 64})
    with pytest.raises(ModelCardError, match='does not match'):
        resolve_model_files(str(model))


def test_explicit_card_must_exist(tmp_path):
    model = write_model_dir(tmp_path)
    (tmp_path / 'model_card.json').unlink()
    assert resolve_model_files(str(model)).card_path is None
    with pytest.raises(ModelCardError, match='cannot read model card'):
        resolve_model_files(str(model), model_card=str(tmp_path / 'model_card.json'))


def test_logits_are_turned_into_probabilities(tmp_path):
    model = build_model(tmp_path / 'logits.onnx', softmax=False)
    write_labels(tmp_path / 'labels.txt', CLASSES)
    backend = create_backend('onnxruntime', resolve_model_files(str(model)))
    probabilities = backend.classify(solid(COLOURS['metal']))
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert CLASSES[int(np.argmax(probabilities))] == 'metal'
    np.testing.assert_array_equal(as_probabilities(probabilities), probabilities)


def test_top_k_is_sorted_and_clipped():
    probabilities = np.array([0.1, 0.5, 0.05, 0.35], dtype=np.float32)
    assert [index for index, _ in top_k(probabilities, 3)] == [1, 3, 0]
    assert len(top_k(probabilities, 10)) == 4
