# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
An exported model's last layer, found in its ONNX bytes: the features before it, read out.

`find_head` names the Gemm before the model's Softmax (its input is the pooled features, the
model's own view of a photo); `with_output` returns the same model with a tensor added as a
second output, for ONNX Runtime to return beside the probabilities. Both read and write the
protobuf wire format directly, because the `onnx` package is a training dependency and the node's
review (flywheel.review_features) needs the features too. Appending a field to a serialised
message is how protobuf merges messages, so `with_output` copies nothing but the bytes.
"""

from __future__ import annotations

import struct
from typing import Iterator, Protocol

# Field numbers of onnx.proto (ModelProto.graph, GraphProto.node/initializer/output, ...).
MODEL_GRAPH = 7
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_OUTPUT = 1, 5, 12
NODE_INPUT, NODE_OUTPUT, NODE_OP_TYPE, NODE_ATTRIBUTE = 1, 2, 4, 5
ATTRIBUTE_NAME, ATTRIBUTE_F, ATTRIBUTE_I = 1, 2, 3
TENSOR_NAME = 8
VALUE_NAME, VALUE_TYPE = 1, 2
FLOAT = 1  # TensorProto.FLOAT


class Serialisable(Protocol):
    def SerializeToString(self) -> bytes: ...  # noqa: N802 (protobuf's name)


def _varint(buffer: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buffer):
            raise ValueError('truncated protobuf varint: not an ONNX model')
        byte = buffer[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buffer: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """Yield (field number, value) of one message: an int (varint) or the field's bytes."""
    pos = 0
    while pos < len(buffer):
        key, pos = _varint(buffer, pos)
        kind = key & 7
        value: int | memoryview
        if kind == 0:
            value, pos = _varint(buffer, pos)
        elif kind in (1, 5):
            width = 8 if kind == 1 else 4
            value, pos = buffer[pos:pos + width], pos + width
        elif kind == 2:
            length, pos = _varint(buffer, pos)
            value, pos = buffer[pos:pos + length], pos + length
        else:
            raise ValueError(f'protobuf wire type {kind}: not an ONNX model')
        if pos > len(buffer):
            raise ValueError('truncated protobuf field: not an ONNX model')
        yield key >> 3, value


def _text(value: int | memoryview) -> str:
    if isinstance(value, int):
        raise ValueError('a string field holds a number: not an ONNX model')
    return bytes(value).decode('utf-8')


def _messages(buffer: memoryview, number: int) -> list[memoryview]:
    return [v for n, v in _fields(buffer) if n == number and isinstance(v, memoryview)]


def _strings(buffer: memoryview, number: int) -> list[str]:
    return [_text(v) for n, v in _fields(buffer) if n == number]


def _graph(model: bytes | Serialisable) -> memoryview:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    graphs = _messages(memoryview(data), MODEL_GRAPH)
    if not graphs:
        raise ValueError('no graph in the model: not an ONNX model')
    return memoryview(b''.join(graphs))  # repeated message fields merge, as protobuf reads them


def _attributes(node: memoryview) -> dict[str, dict]:
    """Return a node's attributes: name -> {field number: value}."""
    found = {}
    for attribute in _messages(node, NODE_ATTRIBUTE):
        fields = dict(_fields(attribute))
        found[_text(fields.get(ATTRIBUTE_NAME, memoryview(b'')))] = fields
    return found


def _plain_gemm(attributes: dict[str, dict]) -> bool:
    """Say whether a Gemm leaves its input as it is (no transA, alpha = beta = 1)."""
    for name in ('alpha', 'beta'):
        number = attributes.get(name, {}).get(ATTRIBUTE_F)
        if isinstance(number, memoryview) and struct.unpack('<f', number)[0] not in (0.0, 1.0):
            return False
    return not attributes.get('transA', {}).get(ATTRIBUTE_I)


def find_head(model: bytes | Serialisable) -> tuple[str, str, str, bool]:
    """(feature tensor, weight, bias, transB) of the Gemm before the Softmax.

    `model`: the serialised ONNX model, or an onnx.ModelProto. ValueError when the model does
    not end in a plain Gemm with constant weights followed by a Softmax.
    """
    graph = _graph(model)
    nodes = []
    for node in _messages(graph, GRAPH_NODE):
        nodes.append((node, _strings(node, NODE_INPUT), _strings(node, NODE_OP_TYPE)))
    producers = {out: entry for entry in nodes for out in _strings(entry[0], NODE_OUTPUT)}
    outputs = [_strings(value, VALUE_NAME) for value in _messages(graph, GRAPH_OUTPUT)]
    softmax = producers.get(outputs[0][0]) if outputs and outputs[0] else None
    gemm = producers.get(softmax[1][0]) if softmax and softmax[1] else None
    initializers = {name for tensor in _messages(graph, GRAPH_INITIALIZER)
                    for name in _strings(tensor, TENSOR_NAME)}
    if (softmax is None or softmax[2] != ['Softmax'] or gemm is None or gemm[2] != ['Gemm']
            or len(gemm[1]) != 3 or not set(gemm[1][1:]) <= initializers):
        raise ValueError('the model does not end in Gemm -> Softmax with constant weights, so '
                         'its classifier layer cannot be retrained on its own (export it with '
                         'training.recipe.export)')
    attributes = _attributes(gemm[0])
    if not _plain_gemm(attributes):
        raise ValueError('the last Gemm scales or transposes its input; not a plain layer')
    trans_b = bool(attributes.get('transB', {}).get(ATTRIBUTE_I))
    return gemm[1][0], gemm[1][1], gemm[1][2], trans_b


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited field: key, length, bytes."""
    return _varint_bytes(number << 3 | 2) + _varint_bytes(len(payload)) + payload


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def with_output(model: bytes, tensor: str) -> bytes:
    """Return the serialised model with `tensor` (float, any shape) as one more graph output."""
    tensor_type = _field(1, _varint_bytes(1 << 3) + _varint_bytes(FLOAT))  # TypeProto.tensor_type
    value = _field(VALUE_NAME, tensor.encode('utf-8')) + _field(VALUE_TYPE, tensor_type)
    return model + _field(MODEL_GRAPH, _field(GRAPH_OUTPUT, value))
