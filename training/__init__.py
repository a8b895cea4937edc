# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Training side of waste_classifier_ros, in three rooms by role; torch, timm and Hydra, never ROS.

* ``recipe``: how the shipped model is made (sources, data, augmentation, backbones, train,
  calibrate, evaluate, export);
* ``station``: a deployed model adapted to one station's reviewed photos (retrain, the learning
  curve, the linear probe and the libraries under them);
* ``studies``: one-off measurements behind the docs (backbones, backgrounds, the model card page).

The arrows point one way: studies and station import the recipe, nothing imports a study, and
the recipe imports neither. From the package, training imports only the ROS-free floors it shares
with the node (``waste_classifier_ros.core``: the preprocessing and the model card;
``backends.onnx_runtime``; ``flywheel.promotion`` for the promote rule and the install), so what
training measures is what the deployed node sees. Configs (Hydra) live in ``conf/``.
tests/test_import_graph.py enforces these rules.
"""
