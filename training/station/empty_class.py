# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
The shipped model learns ``empty``: an 8th class, appended, for a drop zone with no item.

    python -m training.station.empty_class --out model/    # held-out figures, then the model
    python -m training.station.empty_class                  # the held-out figures alone

The network and its seven item rows stay as they are; only a new row of the classifier layer
is fitted, on the ONNX model's own pooled features (ONNX Runtime, the deployment
preprocessing) of the base sources' training photos (label: their class) and of empty scenes
(training.recipe.empty_scenes: floors cut from the same training photos, synthetic surfaces,
the items' augmentation). With the item rows fixed, the choice between two items cannot
change: an item photo can only be lost to ``empty``, which the figures count.

Before the shipped fit, two leave-one-out folds measure empty scenes of sites the fit never
saw: the row is fitted on one source's floors and one half of the synthetic families and
scored on the other source's val floors and the other half (``FOLDS``). Then the row is fitted
on everything, the network rebuilt from the ONNX file (training.station.onnx_weights) with the
8-row layer is exported through training.recipe.export (softmax inside, the temperature stays
folded: the new row is fitted on the folded logits), and labels.txt and the card are written.
Evaluate the result per source with training.recipe.evaluate (the card's ``reproduce``).
"""

import argparse
import copy
import hashlib
import json
import logging
from pathlib import Path
import shlex
import sys
import time
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import torch

from training.recipe import calibration, data, empty_scenes, evaluate, export, models, sources
from training.recipe.metrics import compute_metrics
from training.recipe.transforms import train_augmentation
from training.station import last_layer, onnx_weights
from waste_classifier_ros.backends.onnx_runtime import open_session
from waste_classifier_ros.core import model_card
from waste_classifier_ros.core.atomic_files import atomic_write
from waste_classifier_ros.core.preprocessing import normalize_chw, resize_rgb

log = logging.getLogger(__name__)
EMPTY = empty_scenes.EMPTY
# (fitted on: floors of, families; scored on: val floors of, families)
FOLDS = (('waste7', 'A', 'realwaste', 'B'), ('realwaste', 'B', 'waste7', 'A'))
AUGMENT_STRENGTH = 0.6  # the shipped recipe's augment_strength (training/conf/train.yaml)
SURFACES = empty_scenes.SURFACES
# The empty-scenes row of model/metrics_val.json: both sources' val floors and every family.
SCENES_DIR = 'outputs/empty_scenes/val'
SCENES_COMMAND = (f'python -m training.recipe.empty_scenes --out {SCENES_DIR} '
                  '--floors ../shared/data/waste7/val --floors ../shared/data/realwaste/val '
                  '--families all --count 600 --seed 7')


def source_folders(split: str) -> dict:
    """Map each name to (folder, class_map) of the shipped dataset's sources (training/conf)."""
    return dict(evaluate.folders_to_evaluate(argparse.Namespace(
        dataset='field', split=split, data=[], class_map=[])))


def scene_features(model: last_layer.HeadlessModel, scenes: Iterable[np.ndarray],
                   batch_size: int = 32) -> np.ndarray:
    """Pooled features of scenes through the deployment preprocessing, one row each."""
    rows, batch = [], []
    for scene in scenes:
        batch.append(normalize_chw(resize_rgb(scene, model.input_size)))
        if len(batch) == batch_size:
            rows.append(model(np.stack(batch))[:, len(model.classes):])
            batch = []
    if batch:
        rows.append(model(np.stack(batch))[:, len(model.classes):])
    return np.concatenate(rows)


def _augmentation(size: int, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """Return the items' training augmentation as a function of one image, seeded."""
    pipeline = train_augmentation(size, AUGMENT_STRENGTH)
    pipeline.set_random_seed(seed)
    return lambda rgb: pipeline(image=rgb)['image']


def _images(model: last_layer.HeadlessModel, spec: dict) -> tuple:
    """Return the images ``spec`` describes (a generator) and their labels.

    kind ``empty``: empty scenes of floors (folders), families (A, B, all), floor_share, count,
    seed; kind ``items``: the photos of folders ({name: [folder, class_map]}). Both through the
    items' augmentation (seeded by seed) when augment is true.
    """
    augment = _augmentation(model.input_size, spec['seed']) if spec['augment'] else None
    if spec['kind'] == 'empty':
        photos = empty_scenes.list_photos([Path(f) for f in spec['floors']])
        scenes = empty_scenes.empty_scenes(
            spec['count'], spec['seed'], empty_scenes.FAMILY_SETS[spec['families']], photos,
            spec['floor_share'], augment)
        return scenes, np.full(spec['count'], len(model.classes))
    samples = [sample for name, (folder, class_map) in spec['folders'].items()
               for sample in sources.list_mapped(name, Path(folder), class_map,
                                                 model.classes)[0]]
    decoded = (data.read_rgb(path) for path, _ in samples)
    return ((augment(rgb) if augment else rgb for rgb in decoded if rgb is not None),
            np.array([label for _, label in samples]))


def cached_features(model: last_layer.HeadlessModel, cache: Path,
                    spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of the images ``spec`` describes, kept in ``cache`` by model and spec."""
    key = hashlib.sha256(json.dumps([model_card.sha256_file(model.path), spec],
                                    sort_keys=True).encode()).hexdigest()[:24]
    stored = cache / f'{spec["kind"]}_{key}.npz'
    if stored.is_file():
        with np.load(stored) as kept:
            return kept['features'], kept['labels']
    tic = time.perf_counter()
    images, labels = _images(model, spec)
    features = scene_features(model, images)
    if len(features) != len(labels):
        raise ValueError(f'{spec}: {len(labels) - len(features)} unreadable photos')
    cache.mkdir(parents=True, exist_ok=True)
    atomic_write(stored, lambda file: np.savez(file, features=features, labels=labels))
    log.info('features of %d images (%s) in %.0f s', len(features), spec,
             time.perf_counter() - tic)
    return features, labels


def fit_empty_row(items: np.ndarray, labels: np.ndarray, empties: np.ndarray,
                  layer: last_layer.Layer, steps: int = 400, lr: float = 0.01,
                  decay: float = 1e-5) -> tuple[np.ndarray, float]:
    """Fit the ``empty`` row (weight, bias) with the item rows of ``layer`` fixed.

    Cross-entropy over all eight classes, items and empty scenes weighted half and half, an L2
    penalty on the row's weight.
    """
    torch.manual_seed(0)
    x = torch.from_numpy(np.concatenate([items, empties]).astype(np.float32))
    layer = (np.array(layer[0], np.float32), np.array(layer[1], np.float32))
    y = torch.from_numpy(np.concatenate([labels, np.full(len(empties), len(layer[1]))]))
    share = torch.from_numpy(np.concatenate([np.full(len(items), 0.5 / len(items)),
                                             np.full(len(empties), 0.5 / len(empties))]))
    fixed = (x @ torch.from_numpy(layer[0]).T + torch.from_numpy(layer[1])).detach()
    weight = torch.zeros(x.shape[1], requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=lr)
    for _ in range(steps):
        logits = torch.cat([fixed, (x @ weight + bias)[:, None]], dim=1)
        loss = (torch.nn.functional.cross_entropy(logits, y.long(), reduction='none')
                * share.float()).sum() + decay * weight.square().sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return weight.detach().numpy(), float(bias.item())


def with_row(layer: last_layer.Layer, row: tuple[np.ndarray, float]) -> last_layer.Layer:
    return np.vstack([layer[0], row[0][None]]), np.append(layer[1], row[1]).astype(np.float32)


def item_figures(features: np.ndarray, labels: np.ndarray, layer: last_layer.Layer) -> dict:
    """Top-1 with and without the ``empty`` row, and the share of item photos called empty."""
    logits = features @ layer[0].T + layer[1]
    predicted = logits.argmax(1)
    items = len(layer[1]) - 1
    return {'images': len(labels), 'top1': float((predicted == labels).mean()),
            'top1_without_empty': float((logits[:, :items].argmax(1) == labels).mean()),
            'called_empty': float((predicted == items).mean())}


def empty_share(features: np.ndarray, layer: last_layer.Layer) -> float:
    """Share of the rows whose best class is the last (``empty``)."""
    return float(((features @ layer[0].T + layer[1]).argmax(1) == len(layer[1]) - 1).mean())


def at_item_rate(row: tuple[np.ndarray, float], items: np.ndarray, layer: last_layer.Layer,
                 rate: float) -> tuple[np.ndarray, float]:
    """Set the row's bias so that a share ``rate`` of ``items`` is called empty.

    The operating point is chosen on the training photos (plain and augmented), never on val.
    """
    logits = items @ layer[0].T + layer[1]
    margin = items @ row[0] + row[1] - logits.max(1)
    return row[0], row[1] - float(np.quantile(margin, 1 - rate))


class Features:
    """The cached features a fit and its scores need: item photos per source and split."""

    def __init__(self, model: last_layer.HeadlessModel, cache: Path, seed: int) -> None:
        self.model, self.cache, self.seed = model, cache, seed
        self.folders = {split: source_folders(split) for split in ('train', 'val')}
        self.items = {(name, split): last_layer.features_of(model, {name: folder}, cache)[name][:2]
                      for split, folders in self.folders.items()
                      for name, folder in folders.items()}
        augmented = cached_features(model, cache, {
            'kind': 'items', 'augment': True, 'seed': seed,
            'folders': {n: [str(f), m] for n, (f, m) in self.folders['train'].items()}})
        train = [self.items[name, 'train'] for name in self.folders['train']] + [augmented]
        self.train_items = np.concatenate([f for f, _ in train])
        self.train_labels = np.concatenate([labels for _, labels in train])

    def empties(self, sources_: Sequence[str], split: str, families: str, count: int,
                seed: int, floor_share: float = 0.5) -> np.ndarray:
        """Features of empty scenes: training ones augmented, scored ones as the camera sees."""
        floors = [str(self.folders[split][name][0]) for name in sources_]
        return cached_features(self.model, self.cache, {
            'kind': 'empty', 'floors': floors, 'families': families, 'count': count,
            'seed': seed, 'floor_share': floor_share, 'augment': split == 'train'})[0]

    def fit(self, empties: np.ndarray, rate: float) -> last_layer.Layer:
        """Return the 8-row layer: the item rows as they are and a fitted ``empty`` row."""
        layer = self.model.head()
        row = fit_empty_row(self.train_items, self.train_labels, empties, layer)
        return with_row(layer, at_item_rate(row, self.train_items, layer, rate))

    def item_scores(self, layer: last_layer.Layer) -> dict:
        return {name: item_figures(self.items[name, 'val'][0], self.items[name, 'val'][1], layer)
                for name in self.folders['val']}

    def val_metrics(self, layer: last_layer.Layer, classes: Sequence[str]) -> dict:
        """Each source's val metrics with ``layer``, as the card states them (export's)."""
        out = {}
        for name in self.folders['val']:
            features, labels = self.items[name, 'val']
            probabilities = calibration.softmax(features @ layer[0].T + layer[1])
            out[name] = export.summarise_metrics(compute_metrics(probabilities, labels, classes))
        return out


def held_out(features: Features, count: int, rate: float) -> list[dict]:
    """Score the leave-one-out folds: empties of floors and surfaces the fit never saw."""
    folds = []
    for fitted_source, fitted_families, scored_source, scored_families in FOLDS:
        layer = features.fit(features.empties([fitted_source], 'train', fitted_families,
                                               count, features.seed), rate)
        scored = {kind: empty_share(features.empties(
            [scored_source], 'val', scored_families, count // 4, features.seed + 1 + i,
            share), layer) for i, (kind, share) in enumerate((('floors', 1.0),
                                                              ('surfaces', 0.0)))}
        folds.append({'fitted_on': f'{fitted_source} train floors, families '
                                   f'{fitted_families}',
                      'scored_on': f'{scored_source} val floors, families {scored_families}',
                      'empty_called_empty': scored, 'items': features.item_scores(layer)})
        log.info('held out: %s', json.dumps(folds[-1]))
    return folds


def _probabilities(path: Path, images: np.ndarray) -> np.ndarray:
    session = open_session(path)
    return session.run(None, {session.get_inputs()[0].name: images})[0]


def export_with_row(model_path: Path, layer: last_layer.Layer, out_dir: Path,
                    images: np.ndarray, opset: int = 17) -> dict:
    """Export the rebuilt network with the 8-row layer; check it against torch and the old model.

    ``images``: preprocessed photos (N x 3 x size x size) for the checks. Returns the export
    facts for the card. The old model's item probabilities must be the new model's
    renormalised without ``empty``: the item rows did not move.
    """
    net: models.Network = onnx_weights.model_from_onnx(model_path)
    size = images.shape[-1]
    before = _probabilities(model_path, images)
    net.reset_classifier(len(layer[1]))
    head = models.head_module(net)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(layer[0]))
        head.bias.copy_(torch.from_numpy(layer[1]))
    net.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    # Written beside, renamed once checked: --out may be the model's own folder.
    path = out_dir / f'{Path(export.MODEL_FILE).stem}.new.onnx'
    export.export_onnx(net, path, size, opset)
    export.check_onnx(path, len(layer[1]), size)
    torch_diff = export.parity(net, path, images)
    items = _probabilities(path, images)[:, :-1]
    item_diff = float(np.abs(items / items.sum(1, keepdims=True) - before).max())
    if not max(torch_diff, item_diff) <= 1e-4:
        path.unlink()
        raise SystemExit(f'export failed: torch differs by {torch_diff:.1e}, the item '
                         f'probabilities from the old model by {item_diff:.1e}')
    path.replace(out_dir / export.MODEL_FILE)
    log.info('export: torch and ONNX Runtime agree to %.1e, the item probabilities with the old '
             'model to %.1e, on %d photos', torch_diff, item_diff, len(images))
    return {'parity_max_abs_diff': torch_diff, 'parity_images': len(images),
            'items_vs_previous_max_abs_diff': item_diff}


def card_with_empty(card: dict, out_dir: Path, facts: dict, command: str,
                    val_per_source: dict) -> dict:
    """Return the old card with ``empty`` appended to the classes and how it was learnt.

    ``val_per_source``: the new model's val metrics per source (the old ones are replaced; the
    selection of the training's kept epoch stays).
    """
    card = copy.deepcopy(card)
    facts['from_onnx_sha256'] = card['onnx_sha256']
    card['metrics']['val_per_source'] = val_per_source
    path = out_dir / export.MODEL_FILE
    card.update(classes=list(card['classes']) + [EMPTY], model_file=path.name,
                onnx_sha256=model_card.sha256_file(path), onnx_bytes=path.stat().st_size)
    card['empty_class'] = facts
    card['export'] = {**card['export'], **facts.pop('export'), 'command': command,
                      'torch': torch.__version__}
    evaluate_command = next(c for c in card['reproduce'] if 'training.recipe.evaluate' in c)
    card['reproduce'] = [c for c in card['reproduce'] if c != evaluate_command] + [
        command, SCENES_COMMAND, evaluate_command + f' --data empty_scenes={SCENES_DIR}']
    return card


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', default='model/waste_classifier.onnx', type=Path,
                        help='the 7-class model (labels.txt and model_card.json beside it)')
    parser.add_argument('--out', default=None, type=Path,
                        help='folder for the 8-class model, labels.txt and card '
                        '(default: none, only the held-out figures)')
    parser.add_argument('--scenes', type=int, default=1500,
                        help='empty training scenes per fold; the shipped fit takes twice')
    parser.add_argument('--item-rate', type=float, default=0.003,
                        help='share of the training item photos (plain and augmented) the '
                        "row's bias lets be called empty")
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--cache', type=Path, default=Path('outputs/empty_class/cache'))
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    args = parse_args(argv)
    labels = args.model.with_name('labels.txt')
    model = last_layer.HeadlessModel(args.model, labels)
    if EMPTY in model.classes:
        raise SystemExit(f'{args.model} already has the class {EMPTY!r}')
    tic = time.perf_counter()
    features = Features(model, args.cache, args.seed)
    folds = held_out(features, args.scenes, args.item_rate)
    print(json.dumps(folds, indent=2))
    if args.out is None:
        return 0
    names = list(features.folders['train'])
    layer = features.fit(features.empties(names, 'train', 'all', 2 * args.scenes, args.seed),
                         args.item_rate)
    facts = {'method': "one new row of the classifier layer fitted on the frozen network's "
                       'features; the network and the seven item rows unchanged',
             'generator': 'training.recipe.empty_scenes', 'families': list(SURFACES),
             'floors': {name: str(features.folders['train'][name][0]) for name in names},
             'scenes': 2 * args.scenes, 'seed': args.seed, 'item_rate': args.item_rate,
             'val_items': features.item_scores(layer), 'held_out': folds}
    parity_dir = features.folders['val'][names[0]]
    images = export.parity_images(parity_dir[0], model.classes, 64, model.input_size,
                                  parity_dir[1])
    facts['export'] = export_with_row(args.model, layer, args.out, images)
    facts['duration_s'] = round(time.perf_counter() - tic, 1)
    command = 'python -m training.station.empty_class ' + ' '.join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    card = card_with_empty(model_card.read_card(args.model.with_name('model_card.json')),
                           args.out, facts, command,
                           features.val_metrics(layer, model.classes + [EMPTY]))
    model_card.write_labels(args.out / 'labels.txt', card['classes'])
    model_card.write_card(args.out / 'model_card.json', card)
    print(f'wrote {args.out / export.MODEL_FILE} ({card["onnx_sha256"][:12]}...), labels.txt '
          f'and model_card.json: classes {", ".join(card["classes"])}, '
          f'{facts["duration_s"] / 60:.1f} min')
    return 0


if __name__ == '__main__':
    sys.exit(main())
