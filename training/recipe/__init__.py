# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The recipe: from class-per-folder photos to the shipped ONNX model and its card.

`sources` (several sources, class maps, the balanced draw), `data` (decoding, the image cache),
`transforms` and `backdrops` (the augmentation), `empty_scenes` (frames with no item, for the
`empty` class), `models` (the backbones), `train` (the Hydra CLI) with `distributed` and
`checkpoints`, `calibration` (the temperature), `metrics`, `evaluate` (per source, ONNX or
checkpoint) and `export` (ONNX and model card).

Imports the recipe itself and waste_classifier_ros.core / backends only: never station/ or
studies/.
"""
