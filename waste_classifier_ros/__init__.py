# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Waste classification for ROS 2: camera frames in, classes and bin decisions out.

Rooms by role, each subpackage's docstring saying what it may import (tests/test_import_graph.py
checks): core (ROS-free, torch-free), backends, flywheel, station_web, nodes, cli, demos. Nothing
here imports torch, timm or training/.
"""
