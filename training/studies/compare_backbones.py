# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""
Compare backbones and input sizes cheaply: frozen ImageNet features, a linear head, per source.

    python -m training.studies.compare_backbones efficientnet_lite0:224 efficientnet_lite1:240 \
        efficientnet_lite2:260 --json outputs/backbones.json

For each ``arch:size`` the frozen backbone (deployment preprocessing at that size) embeds every
train and val image of the configured sources once; a linear head is trained on the train
embeddings with the same class- and source-balanced weighting as training.recipe.train; each
source's val top-1 and macro-F1 are reported on their own. The backbone (with a 7-class head) is
exported to ONNX and timed in ONNX Runtime with one thread, the node's setting, on one frame. A
frozen linear probe ranks backbones by how well their features separate the classes; fine-tuning
lifts all of them, so read it as a ranking, not as the final accuracy.
"""

import argparse
import json
from pathlib import Path
import sys
import tempfile
import time
from typing import Any, Dict, Optional, Sequence, Tuple

from hydra import compose, initialize_config_dir
import numpy as np
import torch

from training.recipe import models, sources, train
from training.recipe.metrics import compute_metrics
from waste_classifier_ros.core.preprocessing import normalize_chw, resize_rgb

CONF_DIR = str(Path(__file__).parents[1] / 'conf')


@torch.no_grad()
def embed(model: models.Network, images: Sequence[np.ndarray], size: int,
          batch_size: int = 32) -> np.ndarray:
    """Pooled pre-logit features of each image through the deployment stretch at ``size``."""
    features = []
    for first in range(0, len(images), batch_size):
        batch = np.stack([normalize_chw(resize_rgb(rgb, size))
                          for rgb in images[first:first + batch_size]])
        tensor = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
        features.append(model.forward_head(model.forward_features(tensor), pre_logits=True))
    return torch.cat(features).numpy()


def fit_linear_head(features: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                    num_classes: int, epochs: int = 300) -> torch.nn.Linear:
    """Weighted multinomial logistic regression (full batch AdamW), standardised inputs inside."""
    torch.manual_seed(0)
    x = torch.from_numpy(features)
    y = torch.from_numpy(labels)
    w = torch.from_numpy(weights / weights.mean()).float()
    head = torch.nn.Linear(x.shape[1], num_classes)
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-2, weight_decay=1e-3)
    for _ in range(epochs):
        loss = (torch.nn.functional.cross_entropy(head(x), y, reduction='none') * w).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return head


def onnx_latency_ms(model: torch.nn.Module, size: int, repeats: int = 30) -> float:
    """Median single-frame latency in the node's ONNX Runtime session with one intra-op thread."""
    # The node's session options; onnxruntime is imported only when a backbone is timed.
    from waste_classifier_ros.backends.onnx_runtime import open_session

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'model.onnx'
        torch.onnx.export(model.eval(), (torch.zeros(1, 3, size, size),), str(path),
                          dynamo=False, opset_version=17, input_names=['input_0'])
        session = open_session(path, num_threads=1)
        frame = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
        for _ in range(5):
            session.run(None, {'input_0': frame})
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            session.run(None, {'input_0': frame})
            times.append(time.perf_counter() - tic)
    return 1000 * float(np.median(times))


def compare(candidates: Sequence[Tuple[str, int]], data: sources.MultiSourceData,
            classes: Sequence[str], balance_power: float) -> list:
    train = data.train
    weights = sources.sample_weights(train.labels, data.train_source_ids,
                                     [s['weight'] for s in data.info['sources']],
                                     len(classes), balance_power)
    rows = []
    for arch, size in candidates:
        tic = time.perf_counter()
        model = models.create_model(arch, len(classes), pretrained=True).eval()
        model = model.to(memory_format=torch.channels_last)
        train_features = embed(model, train.images, size)
        mean, std = train_features.mean(0), train_features.std(0) + 1e-6
        head = fit_linear_head((train_features - mean) / std, np.asarray(train.labels),
                               weights, len(classes))
        row: Dict[str, Any] = {'arch': arch, 'size': size, 'per_source': {}}
        for name, val_set in data.val.items():
            features = (embed(model, val_set.images, size) - mean) / std
            with torch.no_grad():
                probabilities = head(torch.from_numpy(features)).softmax(1).numpy()
            metrics = compute_metrics(probabilities, val_set.labels, classes)
            row['per_source'][name] = {
                'top1': metrics['top1'], 'macro_f1': metrics['macro_f1'],
                'min_recall': min(r['recall'] for r in metrics['per_class'].values()
                                  if r['support'])}
        row['embed_seconds'] = time.perf_counter() - tic
        row['onnx_ms_1_thread'] = onnx_latency_ms(model, size)
        row['parameters_m'] = sum(p.numel() for p in model.parameters()) / 1e6
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def format_row(row: dict) -> str:
    scores = '  '.join(f'{name}: top-1 {m["top1"]:.3f} F1 {m["macro_f1"]:.3f} '
                       f'min-recall {m["min_recall"]:.2f}'
                       for name, m in row['per_source'].items())
    return (f'{row["arch"]}@{row["size"]}: {scores} | ONNX Runtime 1 thread '
            f'{row["onnx_ms_1_thread"]:.1f} ms/frame, {row["parameters_m"]:.1f} M params '
            f'({row["embed_seconds"]:.0f} s)')


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('candidates', nargs='+', help='arch:size, e.g. efficientnet_lite0:224')
    parser.add_argument('--overrides', nargs='*', default=[],
                        help='training config overrides for the data, e.g. dataset=permissive')
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0 = all cores)')
    parser.add_argument('--json', help='write the rows here')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with initialize_config_dir(config_dir=CONF_DIR, version_base='1.3'):
        cfg = compose('train', overrides=args.overrides)
    candidates = [(c.split(':')[0], int(c.split(':')[1])) for c in args.candidates]
    # Validation images are kept stretched to the largest size; smaller ones shrink from it.
    classes, data = train.load_data(cfg, max(size for _, size in candidates))
    rows = compare(candidates, data, classes, cfg.balance_power)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2) + '\n', encoding='utf-8')
    return 0


if __name__ == '__main__':
    sys.exit(main())
