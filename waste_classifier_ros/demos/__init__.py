# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The demos (make demo, flywheel-demo, demo-web) and the local DDS set-up tests and benchmarks use.

May import anything in the package; nothing in the package imports them (tests may).
"""
