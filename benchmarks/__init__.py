# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
`make bench`: the classifier node measured against the raw-model limit, on this machine.

run.py orchestrates one run: raw ONNX Runtime and preprocessing limits (raw.py), then the node in
its own process fed by publisher.py over real DDS while collector.py records latencies, then the
training figures, and report.py writes BENCHMARKS.md and results.json.
"""
