# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""`make bench` on a very short setting with the tiny model: it runs and writes its files.

The figures themselves are benchmark targets, read in BENCHMARKS.md, never asserted here.
"""

import json
from pathlib import Path
import subprocess
import sys

import pytest
from tiny_model import write_model_dir

from benchmarks.report import check_targets, markdown

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.ros


def test_short_benchmark_writes_report_and_results(tmp_path):
    model = write_model_dir(tmp_path / 'model')
    swap_model = write_model_dir(tmp_path / 'other_model')
    report, results = tmp_path / 'BENCHMARKS.md', tmp_path / 'results.json'
    # One-second windows: a window only has to hold some frames here (the figures are never
    # asserted), and each second counts nine times.
    command = [sys.executable, '-m', 'benchmarks.run', '--seconds', '1', '--flood-seconds', '1',
               '--overlay-seconds', '1', '--swap-seconds', '1', '--swaps', '2', '--warmup', '0.25',
               '--raw-seconds', '0.5', '--swap-model', str(swap_model),
               '--model', str(model), '--report', str(report), '--json', str(results),
               '--eval-images', '7', '--station-stream-data', '', '--labelling-photos', '5',
               '--work-dir', str(tmp_path / 'work')]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr

    figures = json.loads(results.read_text())
    assert figures['machine']['logical_cores'] >= 1
    assert figures['raw']['inference']['runs'] > 0
    assert [item['size'] for item in figures['raw']['preprocessing']] == ['640x480', '1280x720']
    assert [phase['name'] for phase in figures['phases']] == [
        'camera_640x480', 'camera_1280x720', 'camera_1280x720_capture', 'flood_640x480',
        'flood_640x480_equal_priority', 'camera_1280x720_overlay', 'flood_640x480_overlay',
        'camera_1280x720_swap', 'camera_1280x720_pages']
    # The capture phase really captured: JPEGs with their sidecars in the phase's inbox.
    captured = list((tmp_path / 'work' / 'capture_inbox').rglob('*.jpg'))
    assert captured and all(path.with_suffix('.json').is_file() for path in captured)
    nice = {phase['name']: phase['publisher_nice'] for phase in figures['phases']}
    assert nice['flood_640x480'] == 19 and nice['flood_640x480_equal_priority'] == 0
    for phase in figures['phases']:
        assert phase['published'] > 0, phase
        assert phase['processed'] > 0, phase
        assert phase['node_exit_code'] == 0, phase
        assert phase['latency_ms']['p50'] > 0, phase
    overlay = {phase['name']: phase['overlay_frames_received'] for phase in figures['phases']}
    assert overlay['camera_1280x720_overlay'] > 0
    assert overlay['camera_1280x720'] == 0
    # Every target but the station stream's was measured (it needs the shared photos, left out
    # here), and its verdict is its figure against its limit.
    targets = figures['targets']
    assert len(targets) == 30, [target['name'] for target in targets]
    assert figures['station_stream'] == {'skipped': 'no data folder given'}
    unmeasured = [target for target in targets if target['name'].startswith('station stream')]
    assert len(unmeasured) == 8
    assert all(target['measured'] is None and not target['passed'] for target in unmeasured)
    targets = [target for target in targets if target not in unmeasured]
    # The swap phase set the model twice, back to the model under test, and drew its picture.
    swap = figures['phases'][-2]['swap']
    assert swap['count'] == 2 and swap['models'] == [str(swap_model), str(model)]
    assert (tmp_path / 'work' / 'camera_1280x720_swap.png').stat().st_size > 10_000
    # The pages phase had station_web and five pages, each fed live frames, and stopped it.
    pages = figures['phases'][-1]['pages']
    assert pages['count'] == 5 and len(pages['frames_per_page_fps']) == 5
    assert min(pages['frames_per_page_fps']) > 0 and pages['station_web_cpu_cores'] > 0
    assert pages['station_web_exit_code'] == 0 and pages['station_web_stop_s'] > 0
    # The lifecycle: the node exited 0 on SIGINT and on SIGTERM, non-zero on a missing model,
    # warned of the stalled camera (each figure is None otherwise: its target's check below).
    assert set(figures['lifecycle']) >= {
        'classifier_sigint_stop_s', 'classifier_sigterm_stop_s', 'classifier_bad_model_exit_s',
        'stall_warning_after_kill_s', 'notify_without_node_s'}
    # The review in Chromium: every key press showed the next capture, each one timed.
    assert len(figures['review_page']['key_to_next_capture_ms']) == 10
    # The scripted operator labelled every capture right in both views.
    assert all(figures['labelling'][view]['all_landed_right'] for view in ('grid', 'single'))
    for target in targets:
        assert target['measured'] is not None, target
        comparison, limit = target['target'].split()
        assert target['passed'] == _holds(target['measured'], comparison, float(limit)), target

    # The report shows this run's figures: each target's verdict, each phase's processed FPS.
    text = report.read_text()
    assert figures['machine']['cpu_model'] in text
    for target in targets:
        verdict = 'PASS' if target['passed'] else 'FAIL'
        assert f"| {target['name']} | {target['measured']:.1f} ({target['target']}) | " \
            f'{verdict} |' in text, target
    for target in unmeasured:
        assert f"| {target['name']} | n/a ({target['target']}) | FAIL |" in text, target
    for phase in figures['phases']:
        assert f"| {phase['name']} | {phase['size']} |" in text, phase['name']
        row = next(line for line in text.splitlines()
                   if line.startswith(f"| {phase['name']} | {phase['size']} |"))
        assert f" {phase['processed_fps']:.1f} |" in row, (phase['name'], row)


    # One phase measured again into the same results: the others and the raw rows stay.
    again = [*command[:3], '--only', 'camera_640x480', '--merge', *command[3:]]
    done = subprocess.run(again, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    merged = json.loads(results.read_text())
    assert [phase['name'] for phase in merged['phases']] == [
        phase['name'] for phase in figures['phases']]
    assert merged['phases'][1:] == figures['phases'][1:] and merged['raw'] == figures['raw']
    assert merged['phases'][0]['date'] > figures['phases'][0]['date']


def _holds(measured: float, comparison: str, limit: float) -> bool:
    return measured >= limit if comparison == '>=' else measured <= limit


def test_targets_fail_on_a_slow_or_missing_figure():
    figures = json.loads((ROOT / 'benchmarks' / 'results.json').read_text())
    verdicts = {target['name']: target['passed'] for target in check_targets(figures)}
    assert all(verdicts.values()), verdicts  # the committed run met every target
    camera = next(phase for phase in figures['phases'] if phase['name'] == 'camera_1280x720')
    camera['latency_ms']['p50'] = 20.5
    del camera['processed_fps']
    figures['raw']['inference']['fps'] = 200.0  # the flood now needs 140 FPS
    failed = [target['name'] for target in check_targets(figures) if not target['passed']]
    assert failed == ['1280x720 at 30 FPS: processed FPS >= 29.5',
                      '1280x720 at 30 FPS: latency p50 <= 20 ms',
                      'flooded 640x480: processed FPS >= 0.7 x raw inference FPS (the faster of '
                      'the two raw rows)']


def test_a_node_that_cannot_start_fails_the_run_fast(tmp_path):
    model = write_model_dir(tmp_path / 'model')
    params = tmp_path / 'bad.yaml'
    params.write_text("/**:\n  ros__parameters:\n    backend: 'no-such-backend'\n")
    command = [sys.executable, '-m', 'benchmarks.run', '--only', 'camera_640x480',
               '--seconds', '1', '--raw-seconds', '0.2', '--eval-data', '', '--model', str(model),
               '--params-file', str(params), '--report', str(tmp_path / 'B.md'),
               '--json', str(tmp_path / 'r.json'), '--work-dir', str(tmp_path / 'work')]
    # Well inside the 60 s the benchmark would otherwise wait for the node to appear.
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=45)
    assert done.returncode != 0
    assert 'the node exited with code 1' in done.stderr, done.stderr
    assert "unknown backend 'no-such-backend'" in done.stderr
    assert not (tmp_path / 'r.json').exists()


def test_report_warns_about_a_model_swapped_mid_run_and_foreign_nodes():
    figures = json.loads((ROOT / 'benchmarks' / 'results.json').read_text())
    assert '**Warning:**' not in markdown(figures)
    figures['phases'][1]['diagnostics']['values']['model_sha256'] = '0' * 64
    figures['phases'][2]['foreign_nodes_on_domain'] = ['/someone_elses_node']
    text = markdown(figures)
    assert f'another model than the raw rows in {figures["phases"][1]["name"]}' in text
    assert 'shared this ROS domain and may have sent frames to the node under test: ' \
        '/someone_elses_node' in text
