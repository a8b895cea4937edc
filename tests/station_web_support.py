# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Helpers for the station page tests: inbox captures as capture.py writes them."""

import json
from pathlib import Path

import cv2
from tiny_model import COLOURS, solid


def write_capture(inbox: Path, predicted: str, name: str, score: float = 0.42,
                  reason: str = 'unsure', colour=None) -> Path:
    """Write `<inbox>/<predicted>/<name>.jpg` and its sidecar; return the JPEG path."""
    folder = Path(inbox) / predicted
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / f'{name}.jpg'
    rgb = solid(colour or COLOURS[predicted], height=120, width=160)
    assert cv2.imwrite(str(image), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    sidecar = {'stamp': {'sec': 1796000000, 'nanosec': 0}, 'frame_id': 'camera',
               'model_sha256': '0' * 64,
               'topk': [{'class': predicted, 'score': score}, {'class': 'trash', 'score': 0.3}],
               'reason': reason, 'bin': 'unknown', 'roi': [0.0, 0.0, 1.0, 1.0]}
    image.with_suffix('.json').write_text(json.dumps(sidecar), encoding='utf-8')
    return image


def files_under(root: Path) -> set:
    """Every file below `root`, relative, as posix strings (the review lock left out)."""
    return {p.relative_to(root).as_posix() for p in Path(root).rglob('*')
            if p.is_file() and p.name != '.review.lock'}
