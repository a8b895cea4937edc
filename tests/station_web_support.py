# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Helpers for the station page tests: inbox captures as capture.py writes them."""

import json
from pathlib import Path

import cv2
from tiny_model import COLOURS, solid


def write_capture(inbox: Path, predicted: str, name: str, score: float = 0.42,
                  reason: str = 'unsure', colour=None, top: str = '',
                  bin_name: str = 'unknown') -> Path:
    """Write `<inbox>/<predicted>/<name>.jpg` and its sidecar; return the JPEG path.

    The model's top class is `top` ('': `predicted`, the folder it is filed under).
    """
    folder = Path(inbox) / predicted
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / f'{name}.jpg'
    rgb = solid(colour or COLOURS[top or predicted], height=120, width=160)
    assert cv2.imwrite(str(image), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    sidecar = {'stamp': {'sec': 1796000000, 'nanosec': 0}, 'frame_id': 'camera',
               'model_sha256': '0' * 64,
               'topk': [{'class': top or predicted, 'score': score},
                        {'class': 'trash', 'score': 0.3}],
               'reason': reason, 'bin': bin_name, 'roi': [0.0, 0.0, 1.0, 1.0]}
    image.with_suffix('.json').write_text(json.dumps(sidecar), encoding='utf-8')
    return image


def files_under(root: Path) -> set:
    """Every file below `root`, relative, as posix strings (the review lock left out)."""
    return {p.relative_to(root).as_posix() for p in Path(root).rglob('*')
            if p.is_file() and p.name != '.review.lock'}


def write_retrain_result(retrain_dir: Path, live_model: Path, wins: bool = True,
                         name: str = '2026-12-04_22-00-00', class_drop: bool = False) -> Path:
    """Write what training.station.retrain leaves in outputs/retrain/<time>/ for a child model.

    The child is live_model with another bias (so another sha256, the same classes); its
    comparison says it is better on the station's val, 80% -> 90% (or worse, 80% -> 75%, with
    wins=False), and one photo of 700 worse on the base source waste7 (95.0% -> 94.9%), or,
    with class_drop, waste7 glass 95% -> 75% (20 of 100 photos; 10 gained elsewhere): what
    retrain refuses for its class limit (10 points). Returns the folder.
    """
    import onnx
    from onnx import numpy_helper

    from waste_classifier_ros.core.model_card import sha256_file, write_card

    folder = Path(retrain_dir) / name
    folder.mkdir(parents=True)
    model = onnx.load(str(live_model))
    for index, tensor in enumerate(model.graph.initializer):
        if tensor.name == 'bias':
            bias = numpy_helper.to_array(tensor) + (0.01 if wins else 0.02)
            model.graph.initializer[index].CopyFrom(numpy_helper.from_array(bias, 'bias'))
    child = folder / live_model.name
    onnx.save(model, str(child))
    (folder / 'labels.txt').write_bytes(live_model.with_name('labels.txt').read_bytes())
    classes = json.loads(live_model.with_name('model_card.json').read_text())['classes']
    write_card(folder / 'model_card.json', {
        'classes': classes, 'input_size': 224, 'model_file': child.name,
        'onnx_sha256': sha256_file(child),
        'parent': {'onnx_sha256': sha256_file(live_model), 'path': str(live_model)},
        'retrain': {'date': '2026-12-04T22:00:00+00:00',
                    'data': {'sources': [{'name': 'waste7'}, {'name': 'station'}]}}})
    # Per class [photos, right before, gained, lost] (promotion.Paired.counts).
    station = {c: [20, 16, 2, 0] if wins else [20, 16, 0, 1] for c in classes}
    waste7 = {c: [100, 95, 0, 0] for c in classes}
    if class_drop:
        waste7 |= {'glass': [100, 95, 0, 20], 'metal': [100, 95, 5, 0],
                   'paper': [100, 95, 5, 0]}
    else:
        waste7['glass'] = [100, 95, 0, 1]
    comparison = {'station': _comparison_row(station), 'waste7': _comparison_row(waste7)}
    trade_off = {'guard': 'noise-aware guard (95%)', 'other': 'strict guard',
                 'lines': ['noise-aware guard (95%) (in use): blocks epoch 5, station val 90.0%',
                           'strict guard: blocks mix 0.25 of epoch 5, station val 85.0% (-5.0 '
                           'points on the station)'], 'candidates': []}
    (folder / 'comparison.json').write_text(json.dumps({'comparison': comparison,
                                                        'trade_off': trade_off}))
    return folder


def _comparison_row(counts: dict) -> dict:
    """Return a comparison.json row (training.station.comparison.summary) from paired counts."""
    photos = sum(row[0] for row in counts.values())
    return {'current': {'top1': sum(row[1] for row in counts.values()) / photos},
            'new': {'top1': sum(row[1] + row[2] - row[3] for row in counts.values()) / photos},
            'recall_current': {c: row[1] / row[0] for c, row in counts.items()},
            'recall_new': {c: (row[1] + row[2] - row[3]) / row[0] for c, row in counts.items()},
            'support': {c: row[0] for c, row in counts.items()}, 'paired': counts}
