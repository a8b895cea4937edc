# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Studies: the measurements behind docs/model_card.md, each a command of its own.

`compare_backbones` (frozen features of EfficientNet-Lite0..2 and their latency), `backgrounds`
(the model on photos with new backdrops) and `model_card_doc` (the page's generated tables).

Imports the recipe and waste_classifier_ros.core / backends; nothing imports a study.
"""
