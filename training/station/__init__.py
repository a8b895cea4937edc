# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Station adaptation: the deployed model retrained on one station's reviewed photos.

Four commands: `retrain` (plan -> train -> compare -> install), `learning_curve` (accuracy
against the number of labelled photos), `probe` (the linear-probe ceiling of a trunk) and
`empty_class` (the shipped model's `empty` class, one row on its frozen features). Under
them the libraries: `inputs` (the photos learnt from and scored on), `last_layer` (a new
classifier layer on cached features), `adapt` (the last blocks or the whole network),
`onnx_weights` (a network rebuilt from its ONNX file) and `tool` (the commands' shared start).

Imports the recipe, these libraries, and waste_classifier_ros.core, backends and
flywheel.promotion (the promote rule, the station's name, the install). A command imports no
other command: what two of them share lives in a library.
"""
