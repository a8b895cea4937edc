# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
A tiny stand-in for the trained classifier, built with onnx.helper so tests need no torch.

The network averages each colour channel of the normalised input and scores the seven classes
by how well the colour matches a corner of the RGB cube, so a solid `COLOURS[name]` frame is
classified as `name` with probability above 0.99 and mid-grey is uncertain (no class above 0.4).
It has the shipped model's interface: input `input_0` [N, 3, 224, 224], output `output_0` [N, 7]
after a Softmax. `empty=True` appends an eighth class, `empty`, with no colour and a bias of its
own: it wins on a grey floor (probability about 0.7) and loses on a frame mostly of a class's
colour.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from waste_classifier_ros.core.model_card import sha256_file, write_card, write_labels

CLASSES = ['cardboard', 'glass', 'metal', 'organic', 'paper', 'plastic', 'trash']
# Sign of each channel (R, G, B) at the colour-cube corner that stands for the class.
_CORNERS = {
    'cardboard': (1, 1, -1), 'glass': (-1, -1, 1), 'metal': (1, -1, -1),
    'organic': (-1, 1, -1), 'paper': (1, 1, 1), 'plastic': (-1, 1, 1), 'trash': (1, -1, 1),
}
COLOURS = {name: tuple(230 if sign > 0 else 20 for sign in corner)
           for name, corner in _CORNERS.items()}
GREY = (128, 128, 128)
_GAIN = 2.0
EMPTY_BIAS = 3.5


def build_model(path, num_classes: int = len(CLASSES), softmax: bool = True,
                shift: int = 0, empty: bool = False) -> Path:
    """Write the ONNX model; num_classes other than 7 makes a model that disagrees with labels.

    `shift` gives class i the colour of class i - shift: another model of the same interface,
    whose answers tell it apart (shift 1 calls a glass-coloured frame metal).
    """
    corners = [_CORNERS[name] for name in CLASSES]
    corners = corners[-shift:] + corners[:-shift] if shift else corners
    corners = (corners * 2)[:num_classes]
    bias = [0.0] * num_classes
    if empty:
        corners, bias, num_classes = corners + [(0, 0, 0)], bias + [EMPTY_BIAS], num_classes + 1
    weights = (_GAIN * np.asarray(corners, dtype=np.float32)).T
    last = 'logits' if softmax else 'output_0'
    nodes = [
        helper.make_node('GlobalAveragePool', ['input_0'], ['pooled']),
        helper.make_node('Flatten', ['pooled'], ['features'], axis=1),
        helper.make_node('Gemm', ['features', 'weights', 'bias'], [last]),
    ]
    if softmax:
        nodes.append(helper.make_node('Softmax', ['logits'], ['output_0'], axis=1))
    graph = helper.make_graph(
        nodes, 'tiny_waste_classifier',
        [helper.make_tensor_value_info('input_0', TensorProto.FLOAT, ['N', 3, 224, 224])],
        [helper.make_tensor_value_info('output_0', TensorProto.FLOAT, ['N', num_classes])],
        initializer=[
            helper.make_tensor('weights', TensorProto.FLOAT, weights.shape, weights.ravel()),
            helper.make_tensor('bias', TensorProto.FLOAT, [num_classes], bias),
        ])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def write_model_dir(directory, **model_options) -> Path:
    """Write waste_classifier.onnx, labels.txt and a matching model_card.json; return the model."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = build_model(directory / 'waste_classifier.onnx', **model_options)
    classes = CLASSES + ['empty'] if model_options.get('empty') else CLASSES
    write_labels(directory / 'labels.txt', classes)
    write_card(directory / 'model_card.json', {
        'classes': classes, 'input_size': 224, 'onnx_sha256': sha256_file(model)})
    return model


def solid(colour, height: int = 48, width: int = 64) -> np.ndarray:
    """Make an HxWx3 uint8 RGB frame of one colour."""
    return np.full((height, width, 3), colour, dtype=np.uint8)
