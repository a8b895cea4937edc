# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Which capture to label first: the ones that teach the next retrain most, by a plain rule.

`rank` orders pending captures from what the review knows of them: how unsure the model was
(`uncertainty`, from the sidecar's top-k: one minus the margin between the first two classes),
the class it predicted, and, when the model's penultimate features are at hand
(flywheel.review_features), where each capture sits in the model's own view of the station.
The rule is k-center greedy with distances weighted by uncertainty: each next capture is the one
whose distance to everything already labelled or picked, times ``1 + UNSURE_WEIGHT * uncertainty``,
is largest. So the first picks spread over what the station sees, an unsure capture wins over a
sure one at the same distance, and the second and third capture of an item that sat in the zone
(near-duplicates of one already picked) come late. Before anything else, the first pick of each
predicted class comes early (the most useful of each class not yet covered), so every class is
in the first labels. Captures within `DUPLICATE_DISTANCE` of a photo already in the dataset go
last. Without features every distance is the same: the order is every class first, then the
most unsure first, ties in capture order. Plain numpy; no model, no files.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

UNSURE_WEIGHT = 2.0  # an unsure capture (margin 0) counts as 3x as far as a sure one (margin 1)
# Distance (on unit-length features) under which a capture repeats a labelled photo: the
# retrain learns next to nothing from it. With the waste7-only model on RealWaste, 74 % of a
# photo's jittered copies (crop, brightness) sit closer to it than this, and 1.5 % of distinct
# photos to their nearest other (medians 0.36 and 0.71; training/station/review_order.py).
DUPLICATE_DISTANCE = 0.4
PROJECTED = 128      # features are projected to this many dimensions (distances kept ~ +-10 %)
GREEDY_PICKS = 400   # picked one by one; the rest by their score after these (bounded time)


def uncertainty(topk: object) -> float:
    """One minus the margin of the first two scores of a sidecar's ``topk`` list, in [0, 1].

    ValueError, with what is wrong, when ``topk`` is not a non-empty list of {'score': number}.
    """
    if not isinstance(topk, list) or not topk:
        raise ValueError(f'topk is not a non-empty list ({topk!r:.60})')
    try:
        scores = [float(entry['score']) for entry in topk[:2]]
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(f'topk score unreadable ({error!r})') from None
    if not all(np.isfinite(scores)):
        raise ValueError(f'topk scores not finite ({scores})')
    margin = scores[0] - (scores[1] if len(scores) > 1 else 0.0)
    return float(np.clip(1.0 - margin, 0.0, 1.0))


def _unit(features: np.ndarray, what: str) -> np.ndarray:
    """Unit-length rows projected to PROJECTED dimensions (a fixed random projection)."""
    features = np.asarray(features, np.float32)
    if features.ndim != 2 or not np.isfinite(features).all():
        raise ValueError(f'{what}: features must be a finite [count, dimensions] array, got '
                         f'shape {features.shape}' + ('' if features.ndim != 2 else
                                                      ' with non-finite values'))
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    if unit.shape[1] <= PROJECTED:
        return unit
    projection = np.random.default_rng(0).standard_normal((unit.shape[1], PROJECTED))
    return unit @ (projection / np.sqrt(PROJECTED)).astype(np.float32)


def _distances_to(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distance from each point to its nearest among ``others`` (inf when there are none)."""
    if not len(others):
        return np.full(len(points), np.inf, np.float32)
    nearest = np.full(len(points), np.inf, np.float32)
    for first in range(0, len(others), 1024):  # bounded memory for a large dataset
        block = others[first:first + 1024]
        squared = ((points ** 2).sum(1)[:, None] - 2 * points @ block.T
                   + (block ** 2).sum(1)[None, :])
        nearest = np.minimum(nearest, np.sqrt(np.maximum(squared, 0)).min(1))
    return nearest


def rank(uncertain: Sequence[float], predicted: Sequence[str],
         features: np.ndarray | None = None,
         labelled: np.ndarray | None = None) -> list[int]:
    """Return the indices of the captures in the order to review them (see the module's doc).

    ``uncertain``: each capture's uncertainty; ``predicted``: its predicted class; ``features``:
    the model's features of each capture, or None (no model); ``labelled``: the features of the
    dataset's photos (None or empty: none labelled yet).
    """
    count = len(uncertain)
    if len(predicted) != count or (features is not None and len(features) != count):
        raise ValueError(f'{count} uncertainties, {len(predicted)} classes and '
                         f'{"no" if features is None else len(features)} feature rows: '
                         'one of each per capture')
    weight = 1.0 + UNSURE_WEIGHT * np.asarray(uncertain, np.float64)
    if features is None:
        distance = np.ones(count)
        points = None
        duplicate = np.zeros(count, bool)
    else:
        points = _unit(features, 'captures')
        others = _unit(labelled, 'labelled photos') if labelled is not None and len(labelled) \
            else np.zeros((0, points.shape[1]), np.float32)
        distance = _distances_to(points, others).astype(np.float64)
        duplicate = distance < DUPLICATE_DISTANCE
    return _greedy(weight, np.asarray(predicted, object), points, distance, duplicate)


def _greedy(weight: np.ndarray, predicted: np.ndarray, points: np.ndarray | None,
            distance: np.ndarray, duplicate: np.ndarray) -> list[int]:
    """Pick by largest distance x weight: uncovered classes first, duplicates last."""
    count = len(weight)
    free = ~duplicate
    uncovered = set(predicted[free])
    order: list[int] = []
    # Before anything is labelled every distance is infinite: a large finite stand-in lets the
    # weight (uncertainty) decide among them.
    far = np.where(np.isinf(distance), 1e6, distance)
    while len(order) < min(count, GREEDY_PICKS) and free.any():
        allowed = free & np.isin(predicted, list(uncovered)) if uncovered else free
        score = np.where(allowed, far * weight, -1.0)
        pick = int(np.argmax(score))  # ties: the earlier capture
        order.append(pick)
        free[pick] = False
        uncovered.discard(predicted[pick])
        if points is not None:
            step = np.sqrt(((points - points[pick]) ** 2).sum(1))
            far = np.minimum(far, step)
    rest = np.flatnonzero(free)
    order.extend(rest[np.argsort(-(far * weight)[rest], kind='stable')].tolist())
    late = np.flatnonzero(duplicate)
    order.extend(late[np.argsort(-(far * weight)[late], kind='stable')].tolist())
    return order
