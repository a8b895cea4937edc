# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The model card: the JSON file beside an exported ONNX model that says what the model is.

Written by training.recipe.export, read by the node and the CLI. It carries the classes in output
order, the input size and preprocessing, dataset counts, metrics, the training config and the
sha256 of the ONNX file, so a runtime can refuse a model that does not match its card.
"""

import hashlib
import json
from pathlib import Path
from typing import Sequence

CARD_VERSION = 1


class ModelCardError(ValueError):
    """The model, its labels or its card disagree, or one of them cannot be read."""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for block in iter(lambda: stream.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def read_labels(path: str | Path) -> list[str]:
    """Read a jetson-inference labels.txt: one class name per line, in output order."""
    try:
        lines = Path(path).read_text(encoding='utf-8').splitlines()
    except OSError as error:
        raise ModelCardError(f'{path}: cannot read labels file ({error.strerror})') from None
    labels = [line.strip() for line in lines if line.strip()]
    if not labels:
        raise ModelCardError(f'{path}: labels file has no class names')
    if len(set(labels)) != len(labels):
        raise ModelCardError(f'{path}: labels file repeats a class name')
    return labels


def write_labels(path: str | Path, classes: Sequence[str]) -> None:
    Path(path).write_text(''.join(f'{name}\n' for name in classes), encoding='utf-8')


def write_card(path: str | Path, card: dict) -> None:
    Path(path).write_text(json.dumps({'card_version': CARD_VERSION, **card}, indent=2) + '\n',
                          encoding='utf-8')


def read_card(path: str | Path) -> dict:
    try:
        card = json.loads(Path(path).read_text(encoding='utf-8'))
    except OSError as error:
        raise ModelCardError(f'{path}: cannot read model card ({error.strerror})') from None
    except json.JSONDecodeError as error:
        raise ModelCardError(f'{path}: model card is not valid JSON ({error})') from None
    if not isinstance(card, dict) or 'classes' not in card:
        raise ModelCardError(f'{path}: model card has no "classes" list')
    return card


def verify(model_path: str | Path, card: dict, labels: list,
           card_path: str | Path = 'model card') -> None:
    """Check that the ONNX file and labels are the ones the card describes."""
    expected = card.get('onnx_sha256')
    if expected:
        actual = sha256_file(model_path)
        if actual != expected:
            raise ModelCardError(
                f'{model_path}: sha256 {actual[:12]}... does not match {card_path} '
                f'({expected[:12]}...); the model file was changed or belongs to another card')
    if list(card['classes']) != list(labels):
        raise ModelCardError(
            f'{card_path}: classes {card["classes"]} differ from the labels file {labels}')
