# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The ROS nodes (classifier, media source, station page) and their ROS helpers.

Wiring only: the logic lives in plain modules. Imports core, backends, flywheel and station_web;
only demos/ and tests import a node.
"""
