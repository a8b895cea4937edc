# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Waste classification for ROS 2: camera frames in, classes and bin decisions out."""
