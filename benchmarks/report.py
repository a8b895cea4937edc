# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Targets, and the BENCHMARKS.md table written from one run's results.

The report is generated, never edited: the measured tables come from results.json and the
hand-written analysis from benchmarks/findings.md, which is copied in verbatim. After editing the
findings or the targets, `python -m benchmarks.report` re-checks the targets and rewrites
BENCHMARKS.md from the same results.json, without measuring anything again.
"""

import argparse
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
FINDINGS = HERE / 'findings.md'
# Rows measured apart from `make bench` by benchmarks.training_throughput (1 against N processes).
TRAINING_THROUGHPUT = HERE / 'training_throughput.json'

# (name, phase, figure path, comparison, limit); a limit of None is computed in check_targets.
_TARGETS = (
    ('1280x720 at 30 FPS: processed FPS >= 29.5', 'camera_1280x720', ('processed_fps',), '>=',
     29.5),
    ('1280x720 at 30 FPS: latency p50 <= 20 ms', 'camera_1280x720', ('latency_ms', 'p50'), '<=',
     20.0),
    ('1280x720 at 30 FPS: latency p99 <= 50 ms', 'camera_1280x720', ('latency_ms', 'p99'), '<=',
     50.0),
    ('1280x720 at 30 FPS, capture on: processed FPS >= 29.5', 'camera_1280x720_capture',
     ('processed_fps',), '>=', 29.5),
    ('1280x720 at 30 FPS, capture on: latency p50 <= 20 ms', 'camera_1280x720_capture',
     ('latency_ms', 'p50'), '<=', 20.0),
    ('1280x720 at 30 FPS, capture on: latency p99 <= 50 ms', 'camera_1280x720_capture',
     ('latency_ms', 'p99'), '<=', 50.0),
    ('flooded 640x480: processed FPS >= 0.7 x raw inference FPS (the faster of the two raw '
     'rows)', 'flood_640x480',
     ('processed_fps',), '>=', None),
    ('1280x720 at 30 FPS, model sets: longest pause in classifications around a set <= 100 ms',
     'camera_1280x720_swap', ('swap', 'max_gap_ms'), '<=', 100.0),
    ('1280x720 at 30 FPS, model sets: resident memory after them vs before <= +10 %',
     'camera_1280x720_swap', ('swap', 'rss_change_pct'), '<=', 10.0),
    ('1280x720 at 30 FPS, 5 station pages open: processed FPS >= 29.5', 'camera_1280x720_pages',
     ('processed_fps',), '>=', 29.5),
    ('1280x720 at 30 FPS, 5 station pages open: station_web CPU <= 0.15 cores',
     'camera_1280x720_pages', ('pages', 'station_web_cpu_cores'), '<=', 0.15),
    ('1280x720 at 30 FPS, 5 station pages open: station_web stopped by SIGINT <= 2 s',
     'camera_1280x720_pages', ('pages', 'station_web_stop_s'), '<=', 2.0),
)
# (name, figure path in results, comparison, limit): figures outside the node phases.
_RUN_TARGETS = (
    ('station page in Chromium: key press to next capture shown <= 300 ms (max of 10)',
     ('review_page', 'key_to_next_capture_max_ms'), '<=', 300.0),
    ('labelling in the grid view, 20 % of suggestions wrong: >= 30 photos a minute (page time '
     'measured, operator look and keys modelled)', ('labelling', 'grid_operator_per_min'), '>=',
     30.0),
    # benchmarks.lifecycle: the limits the robustness tests asserted before they lost the clock.
    ('classifier exits 0 on SIGINT while classifying 640x480 at 30 FPS: <= 2 s',
     ('lifecycle', 'classifier_sigint_stop_s'), '<=', 2.0),
    ('classifier exits 0 on SIGTERM while classifying 640x480 at 30 FPS: <= 2 s',
     ('lifecycle', 'classifier_sigterm_stop_s'), '<=', 2.0),
    ('classifier with a missing model file exits non-zero, from its start: <= 5 s',
     ('lifecycle', 'classifier_bad_model_exit_s'), '<=', 5.0),
    ('stalled-camera WARN after the publisher is killed: <= 1.5 s (stall_timeout 0.8 s + two '
     'diagnostics periods + 0.5 s)', ('lifecycle', 'stall_warning_after_kill_s'), '<=', 1.5),
    ('model notify with no classifier running (timeout 1 s) returns: <= 10 s',
     ('lifecycle', 'notify_without_node_s'), '<=', 10.0),
    # benchmarks.station_stream: issue 27's stream of 14 items, without and with the reference.
    *((f'station stream, {run.replace("_", " ")}: {name}', ('station_stream', run, *path),
       comparison, limit)
      for run in ('no_reference', 'reference_learned')
      for name, path, comparison, limit in (
          ('items decided (of 14) >= 13', ('items_decided',), '>=', 13.0),
          ('empty stretches with a bin announced (of 15) <= 1',
           ('empty_stretches_with_a_bin',), '<=', 1.0),
          ('item dropped -> bin decision, max <= 0.5 s', ('drop_to_bin_s', 'max'), '<=', 0.5),
          ('item taken away -> empty, max <= 1 s', ('removal_to_empty_s', 'max'), '<=', 1.0))),
)
_RSS_LIMIT_MB = 400.0
_RSS_GROWTH_PCT = 5.0
_CAMERA_PHASES = ('camera_640x480', 'camera_1280x720')


def rounded(value: Any, digits: int = 3) -> Any:
    """Round every float in a nest of dicts, lists and tuples (tuples become lists), for JSON."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    return value


def _phase(results: dict, name: str) -> dict:
    return next((phase for phase in results.get('phases', []) if phase['name'] == name), {})


def _get(mapping: dict, path: Sequence[str]) -> Any:
    value: Any = mapping
    for key in path:
        value = (value or {}).get(key)
    return value


def _check(name: str, measured: float | None, comparison: str, limit: float) -> dict:
    if measured is None:
        passed = False
    else:
        passed = measured >= limit if comparison == '>=' else measured <= limit
    return {'name': name, 'measured': measured, 'target': f'{comparison} {limit:g}',
            'passed': passed}


def limit_fps(results: dict) -> float:
    # ONNX Runtime's defaults win on an idle machine, the node's session options on a busy one;
    # the limit is whichever was faster in this run.
    return max(results['raw']['inference']['fps'], results['raw']['backend']['fps'])


def check_targets(results: dict) -> list[dict]:
    raw_fps = limit_fps(results)
    checks = []
    for name, phase, path, comparison, limit in _TARGETS:
        if limit is None:
            limit = round(0.7 * raw_fps, 1)
        checks.append(_check(name, _get(_phase(results, phase), path), comparison, limit))
    for name, path, comparison, limit in _RUN_TARGETS:
        checks.append(_check(name, _get(results, path), comparison, limit))
    rss_max = max((phase['node_rss_max_mb'] for phase in results.get('phases', [])),
                  default=None)
    checks.append(_check(f'node resident memory <= {_RSS_LIMIT_MB:g} MB (max over all phases)',
                         rss_max, '<=', _RSS_LIMIT_MB))
    for name in _CAMERA_PHASES:
        growth = _phase(results, name).get('node_rss_growth_pct')
        checks.append(_check(f'{name}: resident memory growth over the window <= '
                             f'{_RSS_GROWTH_PCT:g} %', growth, '<=', _RSS_GROWTH_PCT))
    return checks


def _fmt(value: object, digits: int = 1) -> str:
    if value is None:
        return 'n/a'
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(_fmt(cell) if not isinstance(cell, str) else cell
                                for cell in row) + ' |' for row in rows]
    return lines + ['']


def _phase_rows(results: dict) -> list[list]:
    rows = []
    for phase in results['phases']:
        latency = phase['latency_ms']
        rate = phase['rate'] if phase['rate'] == 'flood' else f'{phase["rate"]:g} FPS'
        if phase.get('publisher_nice'):
            rate += f' (publisher nice {phase["publisher_nice"]})'
        rows.append([
            phase['name'], phase['size'], rate, 'yes' if phase['overlay_subscribed'] else 'no',
            _fmt(phase['window_s'], 0), _fmt(phase['published_fps']),
            _fmt(phase['processed_fps']), phase['skipped'], _fmt(latency['p50']),
            _fmt(latency['p95']), _fmt(latency['p99']), _fmt(phase['node_cpu_ms_per_frame'], 2),
            _fmt(phase['node_cpu_cores'], 2),
            _fmt(phase.get('node_minor_faults_per_frame'), 0),
            _fmt(phase['publisher_cpu_cores'], 2),
            f'{phase["node_rss_start_mb"]:.0f} -> {phase["node_rss_end_mb"]:.0f} '
            f'({phase["node_rss_growth_pct"]:+.1f} %)',
            _fmt(phase['other_processes_cores'], 2),
        ])
    return rows


def _overlay_rows(results: dict) -> list[list]:
    rows = []
    for base in ('camera_1280x720', 'flood_640x480'):
        for name in (base, f'{base}_overlay'):
            phase = _phase(results, name)
            if phase:
                rows.append([name, 'yes' if phase['overlay_subscribed'] else 'no',
                             _fmt(phase['processed_fps']), _fmt(phase['latency_ms']['p50']),
                             _fmt(phase['latency_ms']['p99']),
                             _fmt(phase['node_cpu_ms_per_frame'], 2),
                             phase['overlay_frames_received']])
    return rows


def _flood_rows(results: dict) -> list[list]:
    limit = limit_fps(results)
    return [[phase['name'], str(phase.get('publisher_nice', 0)),
             'yes' if phase['overlay_subscribed'] else 'no', _fmt(phase['published_fps']),
             _fmt(phase['processed_fps']), _fmt(limit), _fmt(phase['processed_fps'] / limit, 2)]
            for phase in results['phases'] if phase['rate'] == 'flood']


def _swap_lines(results: dict) -> list[str]:
    phase = _phase(results, 'camera_1280x720_swap')
    swap = phase.get('swap')
    if not swap:
        return ['No swap phase in this run.', '']
    models = ' and '.join(sorted({f'`{Path(model).parent.name}/{Path(model).name}`'
                                  for model in swap['models']}))
    return [
        f"The swap phase ({phase['size']} at {phase['rate']:g} FPS, measured {phase['date']}) "
        f"sets the node's `model` parameter {swap['count']} times in its "
        f"{phase['window_s']:.0f} s window, alternately {models}. Reply: the set sent to its "
        'reply (load, checks, switch). Pause: the longest interval between two '
        'classifications from 1 s before a set to 1 s after its reply (33 ms at 30 FPS); '
        'elsewhere: the same between classifications away from every set, for comparison.',
        '',
        *_table(['sets', 'reply ms p50', 'reply ms max', 'longest pause around a set ms',
                 'longest pause elsewhere ms', 'p99 latency ms', 'node RSS MB before the '
                 'first set -> end of window'], [[
                     swap['count'], _fmt(swap['reply_ms']['p50']),
                     _fmt(swap['reply_ms']['max']), _fmt(swap['max_gap_ms']),
                     _fmt(swap['max_gap_ms_elsewhere']), _fmt(phase['latency_ms']['p99']),
                     f"{swap['rss_before_mb']:.0f} -> {swap['rss_after_mb']:.0f} "
                     f"({swap['rss_change_pct']:+.1f} %)"]]),
    ]


def swap_picture(arrivals: np.ndarray, sets: np.ndarray, path: Path) -> None:
    """Plot the interval before each classification over time, model sets shaded."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    start = arrivals[0]
    figure, axis = plt.subplots(figsize=(10, 3.2))
    for sent, replied in sets:
        axis.axvspan((sent - start) / 1e9, (replied - start) / 1e9, color='orange', alpha=0.3,
                     lw=0)
    axis.plot((arrivals[1:] - start) / 1e9, (arrivals[1:] - arrivals[:-1]) / 1e6, '.',
              markersize=3)
    axis.axhline(100, color='red', lw=0.8, ls='--', label='100 ms')
    axis.set_xlabel('seconds (shaded: a model set, sent to reply)')
    axis.set_ylabel('ms since the previous classification')
    axis.set_title('1280x720 at 30 FPS while the model is set at run time')
    axis.legend(loc='upper right')
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _throughput_rows() -> list[dict]:
    if not TRAINING_THROUGHPUT.is_file():
        return []
    return json.loads(TRAINING_THROUGHPUT.read_text(encoding='utf-8'))['rows']


def _training_lines(training: list[dict]) -> list[str]:
    if not training:
        return ['No training figures: the model card has none and no evaluation data was given.',
                '']
    return _table(['figure', 'value', 'source'],
                  [[row['figure'], _fmt(row['value'], 2), row['source']] for row in training])


def _stream_lines(stream: dict) -> list[str]:
    """benchmarks.station_stream's figures: a row per run, the photos it played."""
    if 'skipped' in stream or not stream:
        return [f'Not measured: {stream.get("skipped", "not run")}.', '']
    rows = [[run.replace('_', ' '), f'{figures["items_decided"]} / {figures["items"]}',
             figures['items_correct'], figures['items_unknown'],
             f'{figures["empty_stretches_with_a_bin"]} / {figures["empty_stretches"]}',
             _fmt(figures['drop_to_bin_s']['median'], 2), _fmt(figures['drop_to_bin_s']['max'], 2),
             f'{figures["removals_announced_empty"]} / {figures["items"]}',
             _fmt(figures['removal_to_empty_s']['median'], 2),
             _fmt(figures['removal_to_empty_s']['max'], 2)]
            for run, figures in stream.items() if run in ('no_reference', 'reference_learned')]
    return [
        '`python -m benchmarks.station_stream`: 14 held-out photos (waste7 and RealWaste val) as '
        'items for 2.5 s, each between empty stretches of 3 s of its own floor, 640x480 at '
        '15 FPS through a fresh node over DDS; with the reference learned each site is taught '
        "(~/learn_empty) before its item. Latencies run from the first frame's stamp to the "
        "~/bin message's arrival. Photos: " + ', '.join(f'`{photo}`' for photo in
                                                       stream.get('photos', [])) + '.',
        '',
        *_table(['run', 'items decided', 'right bin', 'unknown', 'empty stretches with a bin',
                 'drop -> bin median s', 'max s', 'removals -> empty', 'removal -> empty '
                 'median s', 'max s'], rows)]


def _labelling_lines(labelling: dict) -> list[str]:
    """benchmarks.labelling's figures: a row per view."""
    if 'skipped' in labelling or not labelling:
        return [f'Not measured: {labelling.get("skipped", "not run")}.', '']
    views = (('grid', 'grid (batch) view'), ('single', 'one at a time'))
    return [
        '`python -m benchmarks.labelling`: a scripted operator in Chromium (1280x800) labels '
        f'{labelling["grid"]["photos"]} captures of the samples/ photos, '
        f'{labelling["wrong_suggestions"]} with a wrong suggestion, in each view, waiting for '
        'each photo shown; every label checked in the dataset. Page: the measured time alone '
        '(an operator who needs no time to look). Operator: the measured time plus the '
        "keystroke-level model's 1.35 s to look and decide a photo and 0.28 s a key.",
        '',
        *_table(['view', 'photos', 'page s', 'page photos/min', 'keys/photo',
                 'operator photos/min', 'all labels right'],
                [[name, labelling[view]['photos'], _fmt(labelling[view]['seconds'], 2),
                  _fmt(labelling[view]['per_min']), _fmt(labelling[view]['keys_per_photo'], 2),
                  _fmt(labelling[view]['operator_per_min']),
                  'yes' if labelling[view]['all_landed_right'] else 'NO']
                 for view, name in views])]


def _warning_lines(results: dict) -> list[str]:
    lines = []
    strangers = sorted({name for phase in results['phases']
                        for name in phase.get('foreign_nodes_on_domain', [])})
    if strangers:
        lines += ['**Warning:** nodes of another run shared this ROS domain and may have sent '
                  f'frames to the node under test: {", ".join(strangers)}.', '']
    # The node reports the sha256 of the model it loaded; a model replaced during the run
    # would make the phases measure different files.
    loaded = {phase['name']: phase['diagnostics'].get('values', {}).get('model_sha256')
              for phase in results['phases']}
    other = [name for name, sha in loaded.items() if sha and sha != results['model']['sha256']]
    if other:
        lines += [f'**Warning:** the node loaded another model than the raw rows in '
                  f'{", ".join(other)}: the model file changed during the run.', '']
    return lines


def markdown(results: dict) -> str:
    machine = results['machine']
    raw = results['raw']
    lines = [
        '# Benchmarks',
        '',
        'Generated by `make bench` (`python -m benchmarks.run`) from one run; the figures are in',
        '`benchmarks/results.json`. Do not edit by hand: the analysis below the tables comes',
        'from `benchmarks/findings.md`.',
        '',
        *_table(['date (UTC)', 'CPU', 'cores', 'memory', 'load average at start / end',
                 'run time'], [[
                     results['date'], machine['cpu_model'],
                     f'{machine["logical_cores"]} logical, {machine["physical_cores"]} physical',
                     f'{machine["memory_gb"]:g} GB',
                     f'{results["loadavg_at_start"][0]:.2f} / {results["loadavg_at_end"][0]:.2f}',
                     f'{results["duration_s"]:.0f} s']]),
        f'Model: `{Path(results["model"]["path"]).name}` (sha256 '
        f'`{results["model"]["sha256"][:12]}`), ONNX Runtime {machine["onnxruntime"]}, '
        f'rclpy {machine["rclpy"]} on {machine["rmw"]}, Python {machine["python"]}, '
        f'node and raw inference with num_threads = {raw["inference"]["num_threads"]} '
        '(0 = ONNX Runtime default).',
        '',
        *_warning_lines(results),
        '## Targets',
        '',
        *_table(['target', 'measured', 'pass'], [
            [check['name'], f'{_fmt(check["measured"])} ({check["target"]})',
             'PASS' if check['passed'] else 'FAIL'] for check in results['targets']]),
        '## The limit: raw inference and preprocessing',
        '',
        *_table(['what', 'FPS', 'ms mean', 'ms p50', 'ms p95', 'runs'], [
            [f'ONNX Runtime inference, batch 1, {raw["inference"]["num_threads"]} threads',
             _fmt(raw['inference']['fps']), _fmt(raw['inference']['ms_mean'], 2),
             _fmt(raw['inference']['ms_p50'], 2), _fmt(raw['inference']['ms_p95'], 2),
             raw['inference']['runs']],
            [f"the node's ONNX Runtime backend (its session options), "
             f'{raw["backend"]["num_threads"]} threads', _fmt(raw['backend']['fps']),
             _fmt(raw['backend']['ms_mean'], 2), _fmt(raw['backend']['ms_p50'], 2),
             _fmt(raw['backend']['ms_p95'], 2), raw['backend']['runs']],
            *[[f'preprocessing {item["size"]} rgb8 -> tensor', _fmt(item['fps']),
               _fmt(item['ms_mean'], 3), _fmt(item['ms_p50'], 3), _fmt(item['ms_p95'], 3),
               item['runs']] for item in raw['preprocessing']],
            *[[f'presence gate {gate["size"]} (thumbnail + look, a taught empty zone)',
               _fmt(gate['fps']), _fmt(gate['ms_mean'], 3), _fmt(gate['ms_p50'], 3),
               _fmt(gate['ms_p95'], 3), gate['runs']] for gate in [raw['presence_gate']]
              if 'presence_gate' in raw],
        ]),
        '## The node over DDS',
        '',
        'Each phase is a fresh node process fed by a publisher process over Fast DDS shared '
        'memory; figures cover the measured window after a warm-up. Latency: header stamp to '
        "the Classification's arrival at the collector. Skipped: frames published in the "
        'window without a Classification. CPU in cores = CPU seconds per second of window; '
        '"other" is the rest of the machine (neither node, publisher nor benchmark).',
        '',
        *_table(['phase', 'size', 'rate', 'overlay', 'window s', 'published FPS',
                 'processed FPS', 'skipped', 'p50 ms', 'p95 ms', 'p99 ms', 'node CPU ms/frame',
                 'node CPU cores', 'node page faults/frame', 'publisher CPU cores',
                 'node RSS MB start -> end',
                 'other CPU cores'], _phase_rows(results)),
        '## Flooded: the node against the limit',
        '',
        'The limit is the faster of the two raw-inference rows, at the same thread count.',
        '',
        *_table(['phase', 'publisher nice', 'overlay', 'published FPS', 'processed FPS',
                 'limit FPS', 'ratio'], _flood_rows(results)),
        '## Overlay subscribed versus not',
        '',
        *_table(['phase', 'overlay subscribed', 'processed FPS', 'p50 ms', 'p99 ms',
                 'node CPU ms/frame', 'overlay frames received'], _overlay_rows(results)),
        '## Model sets under load',
        '',
        *_swap_lines(results),
        "## A station's stream: one decision per item",
        '',
        *_stream_lines(results.get('station_stream') or {}),
        '## Labelling on the station page',
        '',
        *_labelling_lines(results.get('labelling') or {}),
        '## Training',
        '',
        *_training_lines((results.get('training') or []) + _throughput_rows()),
    ]
    if FINDINGS.is_file():
        lines += ['## Findings', '', FINDINGS.read_text(encoding='utf-8').strip(), '']
    return '\n'.join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description='Re-check the targets in results.json and rewrite BENCHMARKS.md from it.')
    parser.add_argument('--json', default=str(HERE / 'results.json'))
    parser.add_argument('--report', default=str(HERE.parent / 'BENCHMARKS.md'))
    args = parser.parse_args(argv)
    results = json.loads(Path(args.json).read_text(encoding='utf-8'))
    results['targets'] = check_targets(results)
    Path(args.json).write_text(json.dumps(results, indent=2) + '\n', encoding='utf-8')
    Path(args.report).write_text(markdown(results), encoding='utf-8')


if __name__ == '__main__':
    main()
