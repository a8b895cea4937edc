# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The last layer alone: a new classifier layer on features cached from the current ONNX model.

`HeadlessModel` reads the model's pooled features (the input of its last Gemm) beside its
probabilities, `features_of` caches them per folder, `fit_head` fits a layer started from (and
pulled towards) the current one, and `guarded_head` keeps that fit or a mix of it with the start
within the base sources' guard. `train_head` is the whole ``--scope head`` of
training.station.retrain; the learning curve calls fit_head and guarded_head with the same
settings (training.station.settings.HeadSettings).
"""

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
import torch

from training.recipe import calibration, evaluate, sources
from training.recipe.metrics import compute_metrics
from training.station import adapt
from training.station.settings import HeadSettings
from waste_classifier_ros.backends.onnx_runtime import input_size, open_session
from waste_classifier_ros.core import model_card
from waste_classifier_ros.core.atomic_files import atomic_write
from waste_classifier_ros.core.onnx_head import find_head
from waste_classifier_ros.flywheel.promotion import (
    GUARD_CONFIDENCE,
    STATION,
    Candidate,
    Guard,
    choose,
)

log = logging.getLogger(__name__)
Layer = tuple[np.ndarray, np.ndarray]  # (weight [classes, features], bias)


class HeadlessModel:
    """The current ONNX model with its pooled features as a second output.

    Called on a batch it returns probabilities and features side by side, one row per image, so
    training.recipe.evaluate.predict_folder (class maps, unreadable files, the deployment view) can
    drive it.
    """

    def __init__(self, path: Path, labels: Path) -> None:
        self.path = Path(path)
        self.model = onnx.load(str(path))
        self.features, self.weight, self.bias, self.trans_b = find_head(self.model)
        self.classes = model_card.read_labels(labels)
        graph = onnx.ModelProto()
        graph.CopyFrom(self.model)
        graph.graph.output.append(onnx.helper.make_tensor_value_info(
            self.features, onnx.TensorProto.FLOAT, None))
        self.session = open_session(graph.SerializeToString(), num_threads=0, log=log.info)
        self.input_name = self.session.get_inputs()[0].name
        self.input_size = input_size(self.session)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        probabilities, features = self.session.run(None, {self.input_name: batch})
        return np.hstack([probabilities, features.reshape(len(batch), -1)])

    def head(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the last layer as (weight [classes, features], bias)."""
        values = {i.name: numpy_helper.to_array(i) for i in self.model.graph.initializer}
        weight = values[self.weight] if self.trans_b else values[self.weight].T
        return np.ascontiguousarray(weight, np.float32), values[self.bias].astype(np.float32)

    def with_head(self, weight: np.ndarray, bias: np.ndarray) -> onnx.ModelProto:
        """Return a copy of the model whose last layer has the given weight and bias."""
        new = onnx.ModelProto()
        new.CopyFrom(self.model)
        for initializer in new.graph.initializer:
            if initializer.name in (self.weight, self.bias):
                value = bias if initializer.name == self.bias else (
                    weight if self.trans_b else weight.T)
                initializer.CopyFrom(numpy_helper.from_array(value.astype(np.float32),
                                                             initializer.name))
        return new


def _cache_key(model_sha256: str, folder: Path, class_map: evaluate.ClassMap) -> str:
    """Hash of the model, the folder's files (name, size, time) and the class map."""
    digest = hashlib.sha256(f'{model_sha256}\n{json.dumps(class_map, sort_keys=True)}'.encode())
    for path in sorted(Path(folder).rglob('*')):
        if path.is_file():
            info = path.stat()
            digest.update(f'{path}\t{info.st_size}\t{info.st_mtime_ns}\n'.encode())
    return digest.hexdigest()[:24]


def features_of(model: HeadlessModel, folders: dict, cache: Path | None = None) -> dict:
    """Map each name to (features, labels, current probabilities) of its (folder, class_map).

    With `cache`, features are kept in `cache/<key>.npz` and reused while the model and the
    folder's files are unchanged (a second retrain after more reviews only reads the new ones'
    folder again).
    """
    out = {}
    sha = model_card.sha256_file(model.path)
    for name, (folder, class_map) in folders.items():
        stored = cache / f'{_cache_key(sha, folder, class_map)}.npz' if cache else None
        if stored is not None and stored.is_file():
            with np.load(stored) as data:
                rows, labels = data['rows'], data['labels']
        else:
            predictions = evaluate.predict_folder(model, folder, class_map=class_map, name=name)
            rows, labels = predictions.probabilities, predictions.labels
            if stored is not None:
                stored.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(stored, lambda file: np.savez(file, rows=rows, labels=labels))
        count = len(model.classes)
        out[name] = (rows[:, count:], labels, rows[:, :count])
        log.info('%s: features of %d images from %s', name, len(labels), folder)
    return out


def start_of(current: Layer, settings: HeadSettings) -> tuple[np.ndarray, np.ndarray]:
    """Return the layer a fit starts from: the current one, or zeros with ``init='fresh'``."""
    if settings.init == 'fresh':
        return np.zeros_like(current[0]), np.zeros_like(current[1])
    return current


def fit_head(features: np.ndarray, labels: np.ndarray, draw: np.ndarray, weight: np.ndarray,
             bias: np.ndarray, settings: HeadSettings) -> Layer:
    """Fit softmax(features @ W.T + b) to labels, weighted by the draw, from (weight, bias).

    ``settings.anchor`` pulls W and b towards the starting layer (an L2 penalty on the
    difference), so the base sources keep what the current model knew; a fresh start
    (``init='fresh'``) has no pull.
    """
    steps, lr, seed = settings.steps, settings.lr, settings.seed
    anchor = 0.0 if settings.init == 'fresh' else settings.anchor
    torch.manual_seed(seed)
    x = torch.from_numpy(features.astype(np.float32))
    y = torch.from_numpy(labels.astype(np.int64))
    p = torch.from_numpy(draw.astype(np.float32))
    start_w = torch.from_numpy(np.array(weight, np.float32))
    start_b = torch.from_numpy(np.array(bias, np.float32))
    w, b = start_w.clone().requires_grad_(), start_b.clone().requires_grad_()
    optimizer = torch.optim.Adam([w, b], lr=lr)
    for _ in range(steps):
        loss = (torch.nn.functional.cross_entropy(x @ w.T + b, y, reduction='none') * p).sum()
        loss = loss + anchor * ((w - start_w).square().sum() + (b - start_b).square().sum())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return w.detach().numpy(), b.detach().numpy()


def mixed(start: Layer, fitted: Layer, share: float) -> Layer:
    """Return ``start + share * (fitted - start)`` (WiSE-FT for one linear layer)."""
    return (start[0] + share * (fitted[0] - start[0]), start[1] + share * (fitted[1] - start[1]))


def guarded_head(start: Layer, fitted: Layer, val: dict[str, tuple[np.ndarray, np.ndarray]],
                 classes: list[str], max_drop: float, max_class_drop: float, mix_steps: int,
                 confidence: float = GUARD_CONFIDENCE,
                 ) -> tuple[Layer, list[Candidate], Candidate | None]:
    """Return the fitted layer, or a mix of it with the start within the base sources' guard.

    ``val`` maps the station (``STATION``) and each base source to (features, labels) of its
    val photos. The candidates are the fitted layer and its mixes with the start (share
    a = 1 - i / mix_steps of the change; for one linear layer the mix of the two layers'
    logits), judged by promotion.Guard (the limits, ``confidence``: 0 strict) and chosen by
    promotion.choose as training.station.adapt chooses among mixes: of those within the guard
    that learnt on the station's val, the least change its val cannot tell from the best (top-1,
    then log-likelihood); when none is, the fitted layer, which the rule will refuse. Returns
    the kept layer, the candidates and the one chosen (None: none qualified, the fit kept).
    """
    def logits(layer: Layer, name: str) -> np.ndarray:
        return val[name][0] @ layer[0].T + layer[1]

    def metrics(layer: Layer) -> dict:
        return {name: compute_metrics(calibration.softmax(logits(layer, name)), labels, classes)
                for name, (_, labels) in val.items()}

    if STATION not in val:
        return fitted, [], None
    bases = [name for name in val if name != STATION]
    guard = Guard(max_drop, max_class_drop, confidence)
    first = metrics(start)
    candidates = []
    for share in [1.0] + [1 - i / mix_steps for i in range(1, mix_steps)]:
        layer = mixed(start, fitted, share)
        now = metrics(layer)
        candidates.append(Candidate.scored(first, now, bases, guard, share=share,
                                           log_likelihood=-calibration.negative_log_likelihood(
                                               logits(layer, STATION), val[STATION][1], 1.0)))
        log.info('head, %.2f of the change: %s', share,
                 adapt.scores_line(candidates[-1], {n: now[n] for n in bases}))
    chosen = choose(candidates, first[STATION]['top1'])
    if chosen is None:
        log.warning("no share of the last layer's change kept the guard on the base sources "
                    'and learnt on the station; keeping the fitted one (the promote rule will '
                    'say why)')
    return (mixed(start, fitted, chosen.share) if chosen and chosen.share < 1 else fitted), \
        candidates, chosen


def train_head(parent: HeadlessModel, train_splits: list[sources.SourceSplit],
               weights: list[float], station_val: Path | None, settings: HeadSettings,
               cache: Path | None) -> tuple[onnx.ModelProto, dict, dict | None, Candidate]:
    """Learn the last layer on cached features: (new graph, facts, calibration, kept candidate).

    ``train_splits`` are the base sources' then the station's; ``station_val`` its val folder
    (None: none, and only ``--promote`` installs). The kept layer (guarded_head) gets a
    temperature fitted on the station's val, folded in.
    """
    cached = features_of(parent, _folders(train_splits, station_val), cache)
    names = [split.source.name for split in train_splits]
    x = np.concatenate([cached[n][0] for n in names])
    y = np.concatenate([cached[n][1] for n in names])
    ids = np.concatenate([np.full(len(cached[n][1]), i) for i, n in enumerate(names)])
    draw = sources.sample_weights(y, ids, weights, len(parent.classes), settings.balance_power)
    fitted = fit_head(x, y, draw, *start_of(parent.head(), settings), settings)
    val = {name: cached[f'{name} val'][:2] for name in names[:-1]}
    if 'station val' in cached:
        val[STATION] = cached['station val'][:2]
    (weight, bias), mixes, chosen = guarded_head(
        parent.head(), fitted, val, parent.classes, settings.max_drop, settings.max_class_drop,
        settings.mix_steps, settings.guard_confidence)
    report = None
    if STATION in val:
        logits = {STATION: val[STATION][0] @ weight.T + bias}
        temperature = calibration.fit_temperature(logits, {STATION: val[STATION][1]})
        report = calibration.calibration_report(logits, {STATION: val[STATION][1]}, temperature)
        weight, bias = weight / temperature, bias / temperature
    method = {'scope': 'head',
              'method': "new classifier layer on the parent's cached features, "
                        + ('started from zero' if settings.init == 'fresh' else
                           "started from and anchored to the parent's layer"),
              'steps': settings.steps, 'lr': settings.lr, 'anchor': settings.anchor,
              'mixes': [c.row(c is chosen) for c in mixes],
              'kept_share': chosen.share if chosen else 1.0,
              'train': {n: int(len(cached[n][1])) for n in names}}
    kept = chosen or (mixes[0] if mixes else Candidate(None, {}))
    return parent.with_head(weight, bias), method, report, kept


def _folders(train_splits: list[sources.SourceSplit],
             station_val: Path | None) -> dict[str, tuple[Path, evaluate.ClassMap]]:
    """Return the folders whose features the last layer needs: train splits and val folders."""
    folders = {split.source.name: (split.source.root / split.split, split.source.class_map)
               for split in train_splits}
    if station_val is not None:
        folders['station val'] = (station_val, None)
    for split in train_splits[:-1]:  # the base sources' val, for the guard
        folders[f'{split.source.name} val'] = (split.source.root / 'val', split.source.class_map)
    return folders


def save_model(graph: onnx.ModelProto, path: Path) -> None:
    """Write an ONNX file under a temporary name, then rename: never half written."""
    atomic_write(path, lambda file: onnx.save(graph, file))


