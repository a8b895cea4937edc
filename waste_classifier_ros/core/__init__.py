# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The core, ROS-free and torch-free: what the node and training/ must agree on. Imports no ROS.

Preprocessing (the deployment view; training imports it), the image codec, the model card and
labels, bins, the overlay, diagnostics statistics, atomic files, paths, the optional-library
helper and the media source's reader. Imports numpy, cv2, yaml and the standard library only,
and no other subpackage.
"""
