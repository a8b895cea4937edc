# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
PyTorch weights rebuilt from an exported ONNX model, so a shipped model can be fine-tuned.

No PyTorch checkpoint ships with the model; the ONNX file is the one source of truth. The
export (training.recipe.export, TorchScript, ``do_constant_folding``) folded every BatchNorm into
the convolution before it and the calibration temperature into the classifier layer, so the ONNX
file holds, per convolution, ``W' = W * s`` and ``b' = beta - mean * s`` with
``s = gamma / sqrt(var + eps)``. The original statistics are gone; what is rebuilt is the same
function:

* ``model_from_onnx`` builds the timm network named by the card's ``arch`` and loads each
  convolution's ``W'`` (matched by the ONNX node name,
  ``/model/blocks/blocks.1/blocks.1.0/conv_pw/Conv`` -> ``blocks.1.0.conv_pw``), each output
  channel scaled to unit RMS with that scale ``c`` as its BatchNorm's weight and the rest of the
  BatchNorm the identity plus ``b'`` (``gamma=c``, ``beta=b'``, ``mean=0``, ``var=1-eps``).
  The scaling matters for fine-tuning: folded weights range from RMS 0.015 to 1 by layer, so
  an optimiser step of one size would barely move some layers and wreck others. In eval mode
  it gives the ONNX outputs (the tests hold it to 1e-4 on the sample photos). Its logits are
  the temperature-scaled ones the card states.
* ``unfold_batchnorm`` gives every BatchNorm statistics again: the per-channel mean ``m`` and
  variance ``v`` of its input measured on photos (the base sources' training photos), with
  ``gamma = c * sqrt(v + eps)`` and ``beta = b' + c * m``, so eval-mode outputs stay the same
  while the statistics are real ones. Only then does re-estimating the statistics on a
  station's photos (training.station.adapt, label-free) mean what it means for a network trained
  with BatchNorm: each channel standardised on the station's statistics and mapped back to the
  scale and shift it had on the base sources.
"""

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import onnx
from onnx import numpy_helper
import torch
from torch import nn

from training.recipe import models
from waste_classifier_ros.core import model_card


def _module_name(node: onnx.NodeProto) -> str:
    """``/model/blocks/blocks.1/blocks.1.0/conv_pw/Conv`` -> ``blocks.1.0.conv_pw``."""
    parts = node.name.strip('/').split('/')
    if len(parts) < 3 or parts[0] != 'model' or parts[-1] != node.op_type:
        raise ValueError(f'ONNX node {node.name!r} does not name a module of an exported '
                         'training model (export it with training.recipe.export)')
    name = ''
    for part in parts[1:-1]:  # each scope is a full module name or a child's own name
        name = part if part.startswith(f'{name}.') or not name else f'{name}.{part}'
    return name


def _batchnorm_after(model: nn.Module) -> dict:
    """Map each convolution's module name to the BatchNorm that follows it in timm's layout."""
    pairs = {'conv_stem': 'bn1', 'conv_head': 'bn2'}
    for name, module in model.named_modules():
        if hasattr(module, 'conv_dw'):
            pairs[f'{name}.conv_dw'] = f'{name}.bn2' if hasattr(module, 'conv_pwl') \
                else f'{name}.bn1'
            if hasattr(module, 'conv_pwl'):
                pairs[f'{name}.conv_pw'] = f'{name}.bn1'
                pairs[f'{name}.conv_pwl'] = f'{name}.bn3'
            else:
                pairs[f'{name}.conv_pw'] = f'{name}.bn2'
    return pairs


def model_from_onnx(path: Path, arch: str | None = None) -> nn.Module:
    """Rebuild the network of an ONNX file written by training.recipe.export, in eval mode.

    ``arch`` defaults to the card's (``model_card.json`` beside the file). The result outputs
    the logits whose softmax is the ONNX output (the card's temperature stays folded in).
    """
    path = Path(path)
    card_path = path.with_name('model_card.json')
    card = model_card.read_card(card_path) if card_path.exists() else {}
    arch = arch or card.get('arch')
    if arch not in models.LITE_ARCHS:
        raise ValueError(f'{path}: arch {arch!r} cannot be rebuilt from ONNX (one of '
                         f'{", ".join(models.LITE_ARCHS)}; the card names it)')
    graph = onnx.load(str(path)).graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == 'Conv']
    gemms = [n for n in graph.node if n.op_type == 'Gemm']
    if len(gemms) != 1:
        raise ValueError(f'{path}: expected one classifier layer (Gemm), found {len(gemms)}')
    head_weight = values[gemms[0].input[1]]
    transposed = any(a.name == 'transB' and a.i for a in gemms[0].attribute)
    head_weight = head_weight if transposed else head_weight.T
    model = models.create_model(arch, head_weight.shape[0], pretrained=False)
    modules = dict(model.named_modules())
    followers = _batchnorm_after(model)
    if len(convs) != len(followers):
        raise ValueError(f'{path}: {len(convs)} convolutions, but {arch} has {len(followers)}')
    with torch.no_grad():
        for node in convs:
            name = _module_name(node)
            conv, norm = modules.get(name), modules.get(followers.get(name, ''))
            if conv is None or norm is None or len(node.input) != 3:
                raise ValueError(f'{path}: convolution {node.name} has no place in {arch}')
            weight = torch.from_numpy(values[node.input[1]].copy())
            if weight.shape != conv.weight.shape:
                raise ValueError(f'{path}: {name} is {tuple(weight.shape)}, {arch} expects '
                                 f'{tuple(conv.weight.shape)}')
            # Each output channel's weights at unit RMS, the scale moved into the BatchNorm's
            # weight: an optimiser step then means the same for every layer (BatchNorm gave
            # the original weights that scale freedom; the folded ones range over 100x).
            scale = weight.square().mean(dim=(1, 2, 3)).sqrt().clamp_min(1e-12)
            conv.weight.copy_(weight / scale.view(-1, 1, 1, 1))
            norm.weight.copy_(scale)
            norm.bias.copy_(torch.from_numpy(values[node.input[2]].copy()))
            norm.running_mean.zero_()
            norm.running_var.fill_(1.0 - norm.eps)
        head = models.head_module(model)
        head.weight.copy_(torch.from_numpy(np.array(head_weight, np.float32)))
        head.bias.copy_(torch.from_numpy(values[gemms[0].input[2]].copy()))
    return model.eval()


def batchnorms(model: nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


@torch.no_grad()
def unfold_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Give each BatchNorm of a rebuilt model the statistics of its input on ``batches``.

    Eval-mode outputs are unchanged (up to float rounding): ``gamma = c * sqrt(v + eps)`` and
    ``beta = b' + c * m`` undo the standardisation by the measured mean ``m`` and variance
    ``v``.
    Returns the number of images measured.
    """
    norms = batchnorms(model)
    sums: dict[int, list[Any]] = {id(m): [0.0, 0.0, 0] for m in norms}

    def measure(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        x = inputs[0].double()
        entry = sums[id(module)]
        entry[0] = entry[0] + x.sum(dim=(0, 2, 3))
        entry[1] = entry[1] + x.square().sum(dim=(0, 2, 3))
        entry[2] += x.shape[0] * x.shape[2] * x.shape[3]

    hooks = [m.register_forward_pre_hook(measure) for m in norms]
    model.eval()
    count = 0
    try:
        for images in batches:
            model(images)
            count += len(images)
    finally:
        for hook in hooks:
            hook.remove()
    if not count:
        raise ValueError('no photos to measure the normalisation statistics on')
    for module in norms:
        total, squares, n = sums[id(module)]
        mean = total / n
        var = (squares / n - mean.square()).clamp_min(0.0)
        if not torch.allclose(module.running_mean, torch.zeros_like(module.running_mean)):
            raise ValueError('unfold_batchnorm expects the folded form of model_from_onnx')
        module.bias.add_(module.weight * mean.float())
        module.weight.mul_(torch.sqrt(var + module.eps).float())
        module.running_mean.copy_(mean.float())
        module.running_var.copy_(var.float())
    return count
