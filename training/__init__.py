# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Training side of waste_classifier_ros: data, backbones, train / evaluate / export CLIs.

It needs torch, timm and Hydra but never ROS; the one thing it shares with the runtime is
``waste_classifier_ros.core.preprocessing`` (and the model card helpers), so what training measures
is what the deployed node sees.
"""
