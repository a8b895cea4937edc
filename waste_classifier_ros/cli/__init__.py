# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The command-line tools waste-classify and waste-review; they import core, backends, flywheel."""
