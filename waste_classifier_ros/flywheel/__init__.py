# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The data flywheel: capture, MCAP recording, review of labelled files, model promotion.

Imports core only, and its optional libraries when switched on: mcap, rclpy for a live node,
onnxruntime for the review order that reads the model's features (review_features).
"""
