# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Export a training checkpoint to a jetson-inference-ready ONNX model with labels and model card.

    python -m training.recipe.export --checkpoint outputs/train/waste7/last.ckpt --out model/

The ONNX file has input ``input_0`` [N, 3, 224, 224] (dynamic batch) and output ``output_0``
[N, C] holding softmax probabilities, opset 17, in one self-contained file. The export is checked
with ``onnx.checker`` and against the PyTorch model on real images through the shared
preprocessing; a probability difference above ``--tolerance`` fails the export.
"""

import argparse
from pathlib import Path
import shlex
import sys
from typing import Mapping, Optional, Sequence, Union
import warnings

import numpy as np
import onnx
import torch
from torch import nn

from training.recipe import data, models, sources
from training.recipe.checkpoints import load_checkpoint, model_from_checkpoint, temperature
from waste_classifier_ros.backends.onnx_runtime import open_session
from waste_classifier_ros.core import model_card
from waste_classifier_ros.core.preprocessing import DESCRIPTION, to_tensor

MODEL_FILE = 'waste_classifier.onnx'
INPUT_NAME = 'input_0'
OUTPUT_NAME = 'output_0'
MAX_BYTES = 20 * 1024 * 1024


class WithSoftmax(nn.Module):
    """The deployed graph: the classifier followed by softmax, so outputs are probabilities."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images).softmax(dim=1)


def fold_temperature(model: nn.Module, value: float) -> nn.Module:
    """Divide the classifier layer's weights and bias by the calibration temperature.

    softmax(W x / T + b / T) is the calibrated softmax, so the deployed graph stays the plain
    network followed by softmax (what jetson-inference and TensorRT load) and needs no extra op.
    """
    head = models.head_module(model)
    with torch.no_grad():
        head.weight.div_(value)
        head.bias.div_(value)
    return model


def export_onnx(model: nn.Module, path: Path, input_size: int, opset: int) -> None:
    example = torch.zeros(1, 3, input_size, input_size)
    with warnings.catch_warnings():
        # The TorchScript exporter is chosen on purpose: it yields one plain opset-17 graph
        # that TensorRT on a Jetson parses; its deprecation notice is noise here.
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(
            WithSoftmax(model).eval(), (example,), str(path), dynamo=False, opset_version=opset,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], do_constant_folding=True,
            dynamic_axes={INPUT_NAME: {0: 'batch'}, OUTPUT_NAME: {0: 'batch'}})


def check_onnx(path: Path, num_classes: int, input_size: int) -> onnx.ModelProto:
    """Checker-clean, self-contained, small enough, and with the interface the node expects."""
    graph_model = onnx.load(str(path))
    onnx.checker.check_model(graph_model, full_check=True)
    external = [t.name for t in graph_model.graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise RuntimeError(f'{path}: weights stored outside the file: {external[:3]}')
    if path.stat().st_size > MAX_BYTES:
        raise RuntimeError(f'{path}: {path.stat().st_size} bytes is over the 20 MB limit')
    (graph_input,), (graph_output,) = graph_model.graph.input, graph_model.graph.output
    dims = [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    out_dims = [d.dim_param or d.dim_value for d in graph_output.type.tensor_type.shape.dim]
    if graph_input.name != INPUT_NAME or dims[1:] != [3, input_size, input_size] \
            or not isinstance(dims[0], str):
        raise RuntimeError(f'{path}: unexpected input {graph_input.name} {dims}')
    if graph_output.name != OUTPUT_NAME or out_dims[1:] != [num_classes]:
        raise RuntimeError(f'{path}: unexpected output {graph_output.name} {out_dims}')
    return graph_model


def parity_images(data_dir: Union[str, Path], classes: Sequence[str], count: int, input_size: int,
                  class_map: Optional[Mapping] = None) -> np.ndarray:
    """Up to ``count`` real images spread over the classes, through the shared preprocessing."""
    samples, _ = sources.list_mapped(Path(data_dir).name, Path(data_dir), class_map, classes)
    picked = [samples[i] for i in np.linspace(0, len(samples) - 1, min(count, len(samples)),
                                               dtype=int)]
    tensors = [to_tensor(rgb, input_size) for rgb in (data.read_rgb(path) for path, _ in picked)
               if rgb is not None]
    if not tensors:
        raise ValueError(f'{data_dir}: no readable images for the parity check')
    return np.concatenate(tensors)


def parity(model: nn.Module, path: Path, images: np.ndarray) -> float:
    """Max |p_torch - p_onnx| over the images, run as one batch and one by one."""
    session = open_session(path)
    with torch.no_grad():
        expected = WithSoftmax(model).eval()(torch.from_numpy(images)).numpy()
    batched = session.run(None, {INPUT_NAME: images})[0]
    single = np.concatenate([session.run(None, {INPUT_NAME: image[None]})[0]
                             for image in images])
    return float(max(np.abs(batched - expected).max(), np.abs(single - expected).max()))


def summarise_metrics(metrics: dict) -> dict:
    return {key: metrics[key] for key in ('num_images', 'top1', 'top5', 'macro_f1')} | {
        'per_class': metrics['per_class']}


def build_card(checkpoint: dict, onnx_path: Path, max_diff: float, num_parity: int,
               opset: int, export_command: str) -> dict:
    config = checkpoint['config']
    calibration = checkpoint.get('calibration')
    metrics = checkpoint['metrics']
    best = checkpoint.get('best') or {}
    return {
        'name': 'waste_classifier',
        'arch': checkpoint['arch'],
        'model_file': onnx_path.name,
        'onnx_sha256': model_card.sha256_file(onnx_path),
        'onnx_bytes': onnx_path.stat().st_size,
        'opset': opset,
        'input_name': INPUT_NAME,
        'output_name': OUTPUT_NAME,
        'output': 'softmax probabilities, one per class in label order'
                  + (f' (temperature {calibration["temperature"]:.3f} folded into the '
                     'classifier layer)' if calibration else ''),
        'classes': list(checkpoint['classes']),
        'input_size': checkpoint['input_size'],
        'preprocessing': DESCRIPTION,
        'sources': [{key: source[key] for key in ('name', 'licence', 'url', 'weight', 'train',
                                                  'val', 'skipped_unreadable', 'class_map')}
                    for source in checkpoint['dataset']['sources']],
        'dataset': {key: checkpoint['dataset'][key] for key in ('train', 'val',
                                                                 'files_sha256')},
        'metrics': {'val_per_source': {name: summarise_metrics(m)
                                       for name, m in metrics['per_source'].items()},
                    'selection': {**metrics['selection'], 'kept_epoch': best.get('epoch')}},
        'calibration': calibration,
        'training': {
            'config': config,
            'epochs': config['epochs'],
            'kept_epoch': checkpoint['epoch'],
            'duration_s': round(checkpoint.get('run_seconds', checkpoint['train_seconds']), 1),
            'command': checkpoint['command'],
            'resumes': checkpoint['resumes'],
        },
        'reproduce': [
            checkpoint['command'],
            export_command,
            f'python -m training.recipe.evaluate --model {onnx_path} --dataset field '
            f'--json {onnx_path.parent}/metrics_val.json --png-dir {onnx_path.parent}',
        ],
        'export': {
            'command': export_command,
            'parity_max_abs_diff': max_diff,
            'parity_images': num_parity,
            'torch': torch.__version__,
            'onnx': onnx.__version__,
        },
    }


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--checkpoint', required=True, help='training checkpoint (best.ckpt)')
    parser.add_argument('--out', default='model', help='output folder (default: model/)')
    parser.add_argument('--data', help='class-per-folder images for the parity check '
                        "(default: the val split of the checkpoint's first source)")
    parser.add_argument('--parity-images', type=int, default=64)
    parser.add_argument('--tolerance', type=float, default=1e-4)
    parser.add_argument('--opset', type=int, default=17)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.opset < 17:
        raise SystemExit('--opset must be 17 or newer')
    checkpoint = load_checkpoint(args.checkpoint)
    model = fold_temperature(model_from_checkpoint(checkpoint), temperature(checkpoint))
    classes = checkpoint['classes']
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / MODEL_FILE

    export_onnx(model, onnx_path, checkpoint['input_size'], args.opset)
    check_onnx(onnx_path, len(classes), checkpoint['input_size'])
    first_source = checkpoint['dataset']['sources'][0]
    data_dir = args.data or Path(first_source['root']) / 'val'
    images = parity_images(data_dir, classes, args.parity_images, checkpoint['input_size'],
                           None if args.data else first_source['class_map'])
    max_diff = parity(model, onnx_path, images)
    print(f'parity on {len(images)} real images from {data_dir}: max |p_torch - p_onnx| = '
          f'{max_diff:.2e} (tolerance {args.tolerance:.0e})')
    if not max_diff <= args.tolerance:
        onnx_path.unlink()
        raise SystemExit(f'export failed: ONNX output differs from PyTorch by {max_diff:.2e}')

    command = 'python -m training.recipe.export ' + ' '.join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    card = build_card(checkpoint, onnx_path, max_diff, len(images), args.opset, command)
    model_card.write_labels(out_dir / 'labels.txt', classes)
    model_card.write_card(out_dir / 'model_card.json', card)
    print(f'wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB, sha256 '
          f'{card["onnx_sha256"][:12]}...), labels.txt and model_card.json in {out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
