# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Soak: 10 minutes of 640x480 frames at 30 FPS into the classifier node (opt-in: `make soak`).

The test's own node publishes best effort, as a camera driver does, cycling through the seven
class colours a second each, with an overlay subscriber so the whole pipeline runs. It samples
the node's resident memory every 10 s. At the end it stops the camera, waits for the node's
diagnostics counters to settle and requires:

- resident memory after the warm-up grows by at most 5%, at its peak and at the end;
- every frame sent is accounted for: either the node took it and counted it as processed,
  rejected or failed, or it was replaced in the keep-last-1 queue and counted as skipped (from
  the publication sequence numbers); nothing vanished uncounted;
- the node is alive, printed no traceback, and exits 0 on SIGINT.

WCR_SOAK_SECONDS sets the length (default 600); the warm-up is 60 s or a fifth of a shorter run.
The tiny test model keeps the soak about the node, not the network; WCR_SOAK_MODEL=path.onnx
(labels.txt and model_card.json beside it) soaks a real one.
"""

import json
import os
from pathlib import Path
import signal
import statistics
import time

import pytest
import rclpy
from rclpy.qos import qos_profile_sensor_data
from robustness_support import (
    Camera,
    Diagnostics,
    assert_clean_exit,
    image_msg,
    node_rss,
    start_classifier,
    tiny_model,
)
from ros_harness import RosProbe
from sensor_msgs.msg import Image
from tiny_model import CLASSES, COLOURS, solid
from vision_msgs.msg import Classification

pytestmark = [pytest.mark.soak, pytest.mark.ros]

SECONDS = float(os.environ.get('WCR_SOAK_SECONDS', '600'))
WARM_UP = min(60.0, SECONDS / 5)
FPS = 30.0
HEIGHT, WIDTH = 480, 640
SAMPLE_EVERY = 10.0
MAX_GROWTH = 0.05
NAME = 'rb_soak'


@pytest.mark.timeout(SECONDS + 300)
def test_soak_30_fps_640x480(tmp_path, ros_context, capsys):
    model = Path(os.environ['WCR_SOAK_MODEL']) if 'WCR_SOAK_MODEL' in os.environ else \
        tiny_model(tmp_path / 'model')
    node = start_classifier(NAME, model, params={'num_threads': 1})
    probe = RosProbe(rclpy.create_node('rb_soak_probe', context=ros_context))
    try:
        frames = [image_msg(solid(COLOURS[name], HEIGHT, WIDTH), 'bgr8') for name in CLASSES]
        camera = Camera(probe, f'/{NAME}/image', rate=FPS, msgs=frames, repeat=int(FPS),
                        qos=qos_profile_sensor_data)
        camera.on = False
        diagnostics = Diagnostics(probe, NAME)
        classifications = []
        probe.node.create_subscription(Classification, f'/{NAME}/classification',
                                       lambda msg: classifications.append(msg.results[0].class_id)
                                       if len(classifications) < 100_000 else None, 10)
        probe.collect(Image, f'/{NAME}/overlay', qos=1)
        probe.wait_for_subscribers(camera.publisher)
        probe.wait_for(lambda: probe.node.count_subscribers(f'/{NAME}/overlay') and
                       probe.node.count_publishers(f'/{NAME}/overlay'), 10, 'the overlay link')

        camera.on = True
        started = time.monotonic()
        samples = []  # (seconds since start, RSS bytes)

        def sample():
            elapsed = time.monotonic() - started
            if not samples or elapsed - samples[-1][0] >= SAMPLE_EVERY:
                samples.append((elapsed, node_rss(node)))
                assert node.process.poll() is None, f'the node died:\n{node.output[-4000:]}'
            return elapsed >= SECONDS

        probe.wait_for(sample, SECONDS + 30, f'{SECONDS:.0f} s of frames')
        camera.on = False
        elapsed = time.monotonic() - started
        samples.append((elapsed, node_rss(node)))
        sent = camera.sent

        def settled(counts):
            # Taken frames end processed, rejected or failed; the ones never taken (replaced in
            # the keep-last-1 queue) are counted as skipped from publication sequence gaps.
            handled = sum(counts.get(key, 0) for key in ('processed', 'rejected', 'failed'))
            return (counts.get('received', 0) + counts.get('skipped', 0) == sent and
                    handled == counts.get('received'))
        try:
            counts = diagnostics.wait_until(settled, 10, 'the counters to account for all frames')
        except AssertionError:
            counts = diagnostics.counts()
        values = diagnostics.values()

        after_warm_up = [rss for t, rss in samples if t >= WARM_UP] or [samples[-1][1]]
        final = statistics.median(rss for _, rss in samples[-3:])
        growth = final / after_warm_up[0] - 1.0
        peak_growth = max(after_warm_up) / after_warm_up[0] - 1.0
        summary = {
            'seconds': round(elapsed, 1), 'sent': sent, 'sent_fps': round(sent / elapsed, 2),
            'counts': counts, 'latency_p50_ms': values.get('latency_p50_ms'),
            'latency_p95_ms': values.get('latency_p95_ms'),
            'classes_seen': ' '.join(sorted(set(classifications))),
            'rss_mib_at_s': ' '.join(f'{t:.0f}:{rss / 2**20:.1f}' for t, rss in samples),
            'rss_growth_after_warm_up': f'{100 * growth:.2f}% (peak {100 * peak_growth:.2f}%)',
            'model': str(model),
        }
        report = json.dumps(summary, indent=1)
        with capsys.disabled():
            print(f'\nsoak summary:\n{report}')

        assert sent >= 0.9 * FPS * SECONDS, f'the publisher fell behind:\n{report}'
        assert max(growth, peak_growth) <= MAX_GROWTH, (
            f'RSS grew {100 * max(growth, peak_growth):.1f}% after warm-up:\n{report}')
        unaccounted = sent - counts.get('received', 0) - counts.get('skipped', 0)
        assert unaccounted == 0, (
            f'{unaccounted} frames sent are neither received nor counted as skipped:\n{report}')
        assert settled(counts), f'frames received but not accounted for:\n{report}'
        assert counts['processed'] >= 0.5 * sent, f'the node processed under half:\n{report}'
        if 'WCR_SOAK_MODEL' not in os.environ:
            # The tiny model names each solid colour's class: the whole pipeline ran throughout.
            assert set(CLASSES) <= set(classifications), report
        assert 'Traceback' not in node.output, node.output[-4000:]
        assert_clean_exit(node, signal.SIGINT)
    finally:
        probe.destroy()
        node.kill()
