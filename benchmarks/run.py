# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
One benchmark run: raw limits, the node over DDS in nine phases and its stops, training figures.

    python -m benchmarks.run                     # what `make bench` runs (about eight minutes)
    python -m benchmarks.run --seconds 3 --flood-seconds 3 --overlay-seconds 3 --raw-seconds 1
    python -m benchmarks.run --only camera_1280x720_swap --merge   # one phase into results.json
    python -m benchmarks.run --only lifecycle --merge   # the stop and stall times into it
    python -m benchmarks.run --only review_page --merge   # the review page's key-to-capture
    python -m benchmarks.run --only station_stream --merge   # 14 items over DDS, timed
    python -m benchmarks.run --only labelling --merge   # photos labelled a minute, both views

Each node phase starts a fresh classifier node process, waits (bounded) for it to match this
process's collector, starts a publisher process, lets the pipeline warm up, then measures a
window: frames published and processed with stamps inside it, latency percentiles, the node's CPU
time (psutil) and resident memory. The whole machine's busy time is recorded too, because other
work on these shared cores shows up in every figure. The swap phase also sets the node's `model`
parameter (alternately --swap-model and the model under test) at even times in its window and
records each set's reply time, the longest pause between classifications around it, and the
node's resident memory before the first set and at the end. The pages phase also runs
station_web with five pages open on the node (benchmarks.pages) and measures its CPU time.
benchmarks.lifecycle times the node's stop on SIGINT and SIGTERM, its exit on a bad start and its
stalled-camera warning, benchmarks.review the station page's key press to next capture in
Chromium, which the tests check without a clock, benchmarks.station_stream a station's
stream of 14 items (one bin decision each, `empty` between them) with its latencies, and
benchmarks.labelling the photos a scripted operator labels a minute in the page's two views.
"""

import argparse
from dataclasses import dataclass
import datetime
import importlib.metadata
import json
import os
from pathlib import Path
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Sequence

import numpy as np
import psutil
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
import rclpy
from rclpy.client import Client
import yaml

from benchmarks import labelling, raw, report, review, station_stream
from benchmarks.collector import Collector
from benchmarks.lifecycle import Lifecycle
from benchmarks.pages import Pages
from benchmarks.publisher import READY
from waste_classifier_ros.backends import ModelFiles, resolve_model_files
from waste_classifier_ros.core.model_card import read_card
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.demos.local_ros import apply_local_ros_environ, clean_stale_shared_memory

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULE = 'waste_classifier_ros.nodes.classifier_node'
NODE_NAME = 'waste_classifier'
# Generous: the node imports onnxruntime and builds its session while the CPU may be busy.
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 10.0
# Four times the default rate limit of automatic captures (capture_min_interval 2 s).
CAPTURE_INTERVAL_S = 0.5
PAGES = 5  # station pages open in the pages phase
LIFECYCLE = 'lifecycle'  # --only's name for benchmarks.lifecycle's figures
REVIEW = 'review_page'  # --only's name for benchmarks.review's figures
STATION_STREAM = 'station_stream'  # --only's name for benchmarks.station_stream's figures
LABELLING = 'labelling'  # --only's name for benchmarks.labelling's figures


@dataclass(frozen=True)
class Phase:
    name: str
    width: int
    height: int
    rate: float          # frames per second; 0 = as fast as the publisher can
    seconds: float
    overlay: bool = False
    # Niceness of the flooding publisher: at 19 it sends as fast as the CPU the node leaves
    # idle allows, so the phase measures the node rather than a fight for the cores with its
    # load generator (BENCHMARKS.md, findings).
    publisher_nice: int = 0
    # Capture on (capture.py), every frame unsure, one capture per CAPTURE_INTERVAL_S.
    capture: bool = False
    # Station pages open (benchmarks.pages): station_web and this many viewers of the overlay.
    pages: int = 0
    # Model parameter sets spread over the window (the model goes live without a restart).
    swaps: int = 0

    @property
    def size(self) -> str:
        return f'{self.width}x{self.height}'


def phases(args: argparse.Namespace) -> list[Phase]:
    return [
        Phase('camera_640x480', 640, 480, 30.0, args.seconds),
        Phase('camera_1280x720', 1280, 720, 30.0, args.seconds),
        Phase('camera_1280x720_capture', 1280, 720, 30.0, args.seconds, capture=True),
        Phase('flood_640x480', 640, 480, 0.0, args.flood_seconds, publisher_nice=19),
        Phase('flood_640x480_equal_priority', 640, 480, 0.0, args.flood_seconds),
        Phase('camera_1280x720_overlay', 1280, 720, 30.0, args.overlay_seconds, overlay=True),
        Phase('flood_640x480_overlay', 640, 480, 0.0, args.overlay_seconds, overlay=True,
              publisher_nice=19),
        Phase('camera_1280x720_swap', 1280, 720, 30.0, args.swap_seconds, swaps=args.swaps),
        Phase('camera_1280x720_pages', 1280, 720, 30.0, args.seconds, pages=PAGES),
    ]


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    return {
        'cpu_model': model,
        'logical_cores': psutil.cpu_count(logical=True),
        'physical_cores': psutil.cpu_count(logical=False),
        'memory_gb': round(psutil.virtual_memory().total / 2**30, 1),
        'python': platform.python_version(),
        'onnxruntime': raw.onnxruntime.__version__,
        'rclpy': importlib.metadata.version('rclpy'),
        'rmw': os.environ.get('RMW_IMPLEMENTATION', ''),
        'kernel': platform.release(),
    }


def params_file_values(path: str | Path | None) -> dict:
    """Return the ros__parameters a params file gives the node (any matching node-name key)."""
    if not path:
        return {}
    document = yaml.safe_load(Path(path).read_text(encoding='utf-8')) or {}
    values = {}
    for key in ('/**', NODE_NAME, f'/{NODE_NAME}'):
        values.update((document.get(key) or {}).get('ros__parameters', {}))
    return values


def eval_subset(data_dir: Path, images: int, folder: Path) -> Path:
    """Link the first images of every class folder (sorted names) into `folder`."""
    classes = sorted(path for path in data_dir.iterdir() if path.is_dir())
    per_class = max(1, -(-images // max(1, len(classes))))
    if folder.exists():
        shutil.rmtree(folder)
    for source in classes:
        target = folder / source.name
        target.mkdir(parents=True)
        for image in sorted(path for path in source.iterdir() if path.is_file())[:per_class]:
            (target / image.name).symlink_to(image.resolve())
    return folder


def training_figures(files: ModelFiles, eval_data: str, eval_images: int,
                     work_dir: Path) -> list[dict]:
    """Training wall time and val top-1 from the model card; evaluation throughput, measured."""
    card = read_card(files.card_path) if files.card_path else {}
    rows = []
    training = card.get('training', {})
    if 'duration_s' in training:
        rows.append({'figure': 'training wall time, full recipe (s)',
                     'value': training['duration_s'],
                     'source': f'model card: {card.get("arch", "?")}, '
                               f'{training.get("epochs", "?")} epochs'})
    for name, val in card.get('metrics', {}).get('val_per_source', {}).items():
        rows.append({'figure': f'{name} val top-1 (%)', 'value': 100.0 * val['top1'],
                     'source': f'model card: {val.get("num_images", "?")} val images'})
    if eval_data and Path(eval_data).is_dir():
        subset = eval_subset(Path(eval_data), eval_images, work_dir / 'eval_subset')
        metrics_path = work_dir / 'eval_metrics.json'
        print(f'[bench] training.recipe.evaluate on {eval_images} images of {eval_data}',
              flush=True)
        subprocess.run([sys.executable, '-m', 'training.recipe.evaluate',
                        '--model', str(files.model),
                        '--labels', str(files.labels_path), '--data', str(subset),
                        '--json', str(metrics_path), '--png-dir', str(work_dir)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        # One folder is one source; its report holds the count and both throughputs.
        report = json.loads(metrics_path.read_text(encoding='utf-8'))
        metrics = next(iter(report['per_source'].values()))
        source = f'training.recipe.evaluate, {metrics["num_images"]} val images, batch 32'
        rows += [
            {'figure': 'evaluation throughput, decode + preprocess + infer (images/s)',
             'value': metrics['images_per_s'], 'source': source},
            {'figure': 'evaluation throughput, model only (images/s)',
             'value': metrics['model_images_per_s'], 'source': source},
        ]
    return rows


def percentiles(values_ms: np.ndarray) -> dict[str, float | None]:
    if values_ms.size == 0:
        return {'p50': None, 'p95': None, 'p99': None, 'max': None}
    p50, p95, p99 = np.percentile(values_ms, [50, 95, 99])
    return {'p50': round(float(p50), 2), 'p95': round(float(p95), 2),
            'p99': round(float(p99), 2), 'max': round(float(values_ms.max()), 2)}


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _minor_faults(pid: int) -> int | None:
    """Minor page faults of a process so far (Linux), or None where /proc cannot tell."""
    try:
        # Field 10 of /proc/<pid>/stat; the command name in field 2 may contain spaces.
        return int(Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[7])
    except (OSError, IndexError, ValueError):
        return None


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, 'iowait', 0.0)


class Bench:
    """Starts the node and the publisher for each phase and turns what they did into figures."""

    def __init__(self, args: argparse.Namespace, environ: dict[str, str], collector: Collector,
                 work_dir: Path) -> None:
        self.args = args
        self.environ = environ
        self.collector = collector
        self.work_dir = work_dir
        self.me = psutil.Process()
        self.set_parameters: Client = collector.node.create_client(
            SetParameters, f'/{NODE_NAME}/set_parameters')

    def node_command(self, phase: Phase) -> list[str]:
        params: dict[str, object] = {'num_threads': self.args.num_threads}
        if phase.capture:
            inbox = self.work_dir / 'capture_inbox'
            shutil.rmtree(inbox, ignore_errors=True)
            params.update(capture_enabled=True, capture_inbox=str(inbox), capture_min_score=1.0,
                          capture_min_interval=CAPTURE_INTERVAL_S)
        for key in ('model', 'labels', 'model_card'):
            if getattr(self.args, key):
                params[key] = getattr(self.args, key)
        command = [sys.executable, '-m', self.args.node_module, '--ros-args',
                   '-r', f'__node:={NODE_NAME}']
        if self.args.params_file:
            command += ['--params-file', str(self.args.params_file)]
        for key, value in params.items():
            command += ['-p', f'{key}:={json.dumps(value)}']
        return command

    def lifecycle(self) -> dict:
        """benchmarks.lifecycle's figures: this node command, 640x480 frames at 30 FPS."""
        phase = Phase(LIFECYCLE, 640, 480, 30.0, _START_TIMEOUT)
        return report.rounded(Lifecycle(
            self.collector, self.environ, self.node_command(phase),
            lambda stamps: self.publisher_command(phase, stamps), self.work_dir).figures())

    def publisher_command(self, phase: Phase, stamps: Path) -> list[str]:
        return [sys.executable, '-m', 'benchmarks.publisher', '--width', str(phase.width),
                '--height', str(phase.height), '--rate', str(phase.rate),
                '--stamps', str(stamps), '--match-timeout', str(_START_TIMEOUT),
                '--nice', str(phase.publisher_nice),
                # An upper bound in case this process dies without stopping it.
                '--duration', str(phase.seconds + 10 * self.args.warmup + _START_TIMEOUT)]

    def run_phase(self, phase: Phase) -> dict:
        log_path = self.work_dir / f'{phase.name}.node.log'
        stamps_path = self.work_dir / f'{phase.name}.stamps.npy'
        print(f'[bench] {phase.name}: {phase.size} at '
              f'{f"{phase.rate:g} FPS" if phase.rate else "flood"}, {phase.seconds:g} s'
              f'{", overlay subscribed" if phase.overlay else ""}'
              f'{f", publisher nice {phase.publisher_nice}" if phase.publisher_nice else ""}',
              flush=True)
        pages = Pages(self.environ, self.work_dir / f'{phase.name}.station_web.log',
                      phase.pages) if phase.pages else None
        with open(log_path, 'w') as log:
            spawned = time.monotonic()
            node = subprocess.Popen(self.node_command(phase), stdout=log, stderr=subprocess.STDOUT,
                                    env=self.environ)
            publisher: subprocess.Popen[str] | None = None
            try:
                node_ps = psutil.Process(node.pid)

                def alive() -> str:
                    code = node.poll()
                    return '' if code is None else f'the node exited with code {code}'

                self.collector.wait_for_node(_START_TIMEOUT, alive)
                if phase.swaps and not self.set_parameters.wait_for_service(_START_TIMEOUT):
                    raise RuntimeError(f'no {self.set_parameters.srv_name} service')
                matched_s = time.monotonic() - spawned
                self.collector.watch_overlay(phase.overlay)
                self.collector.reset()
                rss_ready = node_ps.memory_info().rss
                publisher = subprocess.Popen(
                    self.publisher_command(phase, stamps_path), stdout=subprocess.PIPE,
                    text=True, env=self.environ)
                line = publisher.stdout.readline() if publisher.stdout else ''
                if READY not in line:
                    raise RuntimeError(f'publisher did not start: {line!r}')
                self.collector.wait_for_result(_START_TIMEOUT, alive)
                first_result_s = time.monotonic() - spawned
                if pages:
                    pages.start(_START_TIMEOUT)
                    pages.mark()
                figures = self._measure(phase, node_ps, psutil.Process(publisher.pid))
                if pages:
                    figures['pages'] = dict(pages.figures(), **pages.stop())
                strangers = self.collector.strangers()
                publisher.send_signal(signal.SIGINT)
                summary = json.loads(publisher.communicate(timeout=_STOP_TIMEOUT)[0]
                                     .strip().splitlines()[-1])
                self.collector.wait_quiet(0.5, _STOP_TIMEOUT)
            except BaseException:
                for process in (publisher, node):
                    if process and process.poll() is None:
                        process.kill()
                        process.wait()
                print(log_path.read_text(), file=sys.stderr)
                raise
            finally:
                self.collector.watch_overlay(False)
                if pages:
                    pages.stop()
            node.send_signal(signal.SIGINT)
            try:
                node_exit = node.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                node.kill()
                node_exit = node.wait()
        swaps = figures.pop('swaps')
        figures.update(self._results(figures, np.load(stamps_path)))
        if swaps:
            figures['swap'] = self._swap_results(phase, swaps, figures['node_rss_end_mb'])
        figures.update({
            'name': phase.name, 'size': phase.size, 'rate': phase.rate or 'flood',
            'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
            'publisher_nice': phase.publisher_nice,
            'overlay_subscribed': phase.overlay, 'node_rss_ready_mb': rss_ready / 2**20,
            'node_matched_after_s': matched_s, 'first_result_after_s': first_result_s,
            'publisher': summary, 'node_exit_code': node_exit,
            'overlay_frames_received': self.collector.overlay_frames,
            'foreign_nodes_on_domain': strangers,
            'diagnostics': self.collector.diagnostics,
        })
        return report.rounded(figures)

    def _measure(self, phase: Phase, node: psutil.Process, publisher: psutil.Process) -> dict:
        # The warm-up is a timed part of the experiment, not a wait for an event.
        time.sleep(self.args.warmup)
        processes = {'node': node, 'publisher': publisher, 'bench': self.me}
        cpu_start = {name: _cpu_seconds(process) for name, process in processes.items()}
        busy_start = _machine_busy_seconds()
        faults_start = _minor_faults(node.pid)
        load_start = os.getloadavg()[0]
        t0 = time.time_ns()
        rss = [node.memory_info().rss]
        start = time.monotonic()
        end = start + phase.seconds
        # Swap k at the middle of the k-th of `swaps` equal slices of the window; the last one
        # goes back to the model under test (an even count).
        due = [start + (k + 0.5) * phase.seconds / phase.swaps for k in range(phase.swaps)]
        models = [self.args.swap_model, self.args.model or str(share_path(
            'model', 'waste_classifier.onnx'))]
        swaps: list[dict] = []
        while (remaining := end - time.monotonic()) > 0:
            time.sleep(max(0.0, min(1.0, remaining, *(t - time.monotonic() for t in due[:1]))))
            if due and time.monotonic() >= due[0]:
                due.pop(0)
                swaps.append(self._swap(models[len(swaps) % 2], node.memory_info().rss))
            rss.append(node.memory_info().rss)
        t1 = time.time_ns()
        cpu = {name: _cpu_seconds(process) - cpu_start[name]
               for name, process in processes.items()}
        window = (t1 - t0) / 1e9
        busy = _machine_busy_seconds() - busy_start
        faults_end = _minor_faults(node.pid)
        return {
            'window': (t0, t1), 'window_s': window,
            'cpu_s': cpu,
            'node_minor_faults': (faults_end - faults_start
                                  if faults_start is not None and faults_end is not None
                                  else None),
            'machine_busy_cores': busy / window,
            'other_processes_cores': max(0.0, busy - sum(cpu.values())) / window,
            'loadavg_1min': (load_start, os.getloadavg()[0]),
            'node_rss_start_mb': rss[0] / 2**20, 'node_rss_end_mb': rss[-1] / 2**20,
            'node_rss_max_mb': max(rss) / 2**20,
            'node_rss_growth_pct': 100.0 * (rss[-1] - rss[0]) / rss[0],
            'swaps': swaps,
        }

    def _swap_results(self, phase: Phase, swaps: list[dict], rss_end_mb: float) -> dict:
        """Return the swap figures; save the times behind them and their picture."""
        stamps, arrivals = self.collector.results()
        first, last = swaps[0]['sent_ns'] - 2 * 10**9, swaps[-1]['replied_ns'] + 2 * 10**9
        arrivals = np.sort(arrivals[(arrivals >= first) & (arrivals <= last)])
        sets = np.array([[swap['sent_ns'], swap['replied_ns']] for swap in swaps])
        np.savez(self.work_dir / f'{phase.name}.times.npz', arrivals=arrivals, sets=sets)
        report.swap_picture(arrivals, sets, self.work_dir / f'{phase.name}.png')
        return swap_figures(swaps, arrivals, rss_end_mb * 2**20)

    def _swap(self, model: str, rss: int) -> dict:
        """Set the node's model parameter and wait for the reply."""
        request = SetParameters.Request(parameters=[Parameter(name='model', value=ParameterValue(
            type=ParameterType.PARAMETER_STRING, string_value=model))])
        replied = threading.Event()
        sent = time.time_ns()
        future = self.set_parameters.call_async(request)
        future.add_done_callback(lambda _: replied.set())
        if not replied.wait(_START_TIMEOUT):
            raise RuntimeError(f'no reply to setting model {model} within {_START_TIMEOUT} s')
        response = future.result()
        if response is None:
            raise RuntimeError(f'setting model {model} failed: {future.exception()}')
        result = response.results[0]
        if not result.successful:
            raise RuntimeError(f'the node refused model {model}: {result.reason}')
        return {'model': model, 'sent_ns': sent, 'replied_ns': time.time_ns(), 'rss': rss}

    def _results(self, figures: dict, published_stamps: np.ndarray) -> dict:
        t0, t1 = figures.pop('window')
        window = figures['window_s']
        published = int(np.count_nonzero((published_stamps >= t0) & (published_stamps < t1)))
        stamps, arrivals = self.collector.results()
        inside = (stamps >= t0) & (stamps < t1)
        processed = int(np.count_nonzero(inside))
        latency_ms = (arrivals[inside] - stamps[inside]) / 1e6
        return {
            'published': published,
            'published_fps': published / window,
            'processed': processed,
            'processed_fps': processed / window,
            'skipped': published - processed,
            'latency_ms': percentiles(latency_ms),
            'node_cpu_ms_per_frame': (1e3 * figures['cpu_s']['node'] / processed
                                      if processed else None),
            'node_cpu_cores': figures['cpu_s']['node'] / window,
            'node_minor_faults_per_frame': (figures['node_minor_faults'] / processed
                                            if processed and figures['node_minor_faults']
                                            is not None else None),
            'publisher_cpu_cores': figures['cpu_s']['publisher'] / window,
        }


def swap_figures(swaps: list[dict], arrivals: np.ndarray, rss_end: float) -> dict:
    """Reply times, the longest pause in classifications around each set, memory after them.

    Around a set means from 1 s before it was sent to 1 s after its reply (ns clock).
    """
    gaps: list[float | None] = []
    around = np.zeros(len(arrivals), bool)
    for swap in swaps:
        close = (arrivals >= swap['sent_ns'] - 10**9) & (arrivals <= swap['replied_ns'] + 10**9)
        near = arrivals[close]
        around |= close
        gaps.append(float(np.diff(near).max()) / 1e6 if len(near) > 1 else None)
    # Pauses between two classifications neither of which is near a set: the machine's own.
    elsewhere = np.diff(arrivals)[~(around[1:] | around[:-1])]
    rss_before = swaps[0]['rss']
    return {
        'count': len(swaps),
        'reply_ms': percentiles(np.array([(s['replied_ns'] - s['sent_ns']) / 1e6
                                          for s in swaps])),
        'max_gap_ms_per_swap': gaps,
        'max_gap_ms': None if None in gaps else max(gap for gap in gaps if gap is not None),
        'max_gap_ms_elsewhere': float(elsewhere.max()) / 1e6 if len(elsewhere) else None,
        'rss_mb_at_each_set': [s['rss'] / 2**20 for s in swaps],
        'rss_before_mb': rss_before / 2**20, 'rss_after_mb': rss_end / 2**20,
        'rss_change_pct': 100.0 * (rss_end - rss_before) / rss_before,
        'models': [s['model'] for s in swaps],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--seconds', type=float, default=60.0,
                        help='measured window of each 30 FPS phase without overlay')
    parser.add_argument('--flood-seconds', type=float, default=30.0)
    parser.add_argument('--overlay-seconds', type=float, default=30.0)
    parser.add_argument('--warmup', type=float, default=3.0,
                        help='seconds of frames before each window opens')
    parser.add_argument('--raw-seconds', type=float, default=15.0,
                        help='seconds of raw inference (preprocessing: a fifth of it per size)')
    parser.add_argument('--swap-seconds', type=float, default=30.0,
                        help='measured window of the swap phase')
    parser.add_argument('--swaps', type=int, default=10,
                        help='model parameter sets in the swap phase (even: it ends on --model)')
    permissive = share_path('model', 'permissive', 'waste_classifier.onnx')
    parser.add_argument('--swap-model', default=str(permissive),
                        help='the model the swap phase alternates with (default: the shipped '
                        'permissive model)')
    parser.add_argument('--only', nargs='+', metavar='PHASE',
                        help=f'run only these node phases, {LIFECYCLE!r} '
                        f'(benchmarks.lifecycle), {REVIEW!r} (benchmarks.review) or '
                        f'{STATION_STREAM!r} (benchmarks.station_stream) or {LABELLING!r} '
                        '(benchmarks.labelling) (for profiling and A/B runs)')
    parser.add_argument('--merge', action='store_true',
                        help='with --only: put the measured phases into the existing --json '
                        'results (replacing those of the same name, keeping its raw and '
                        'training figures) and rewrite the report from them')
    parser.add_argument('--node-module', default=NODE_MODULE,
                        help='the node to measure, run as python -m (to compare a variant)')
    parser.add_argument('--model', default='', help="ONNX model ('' = the shipped model)")
    parser.add_argument('--labels', default='')
    parser.add_argument('--model-card', default='')
    default_params = share_path('config', 'classifier.yaml')
    parser.add_argument('--params-file', default=str(default_params)
                        if default_params.is_file() else '',
                        help='the node parameters YAML (default: config/classifier.yaml)')
    parser.add_argument('--num-threads', type=int, default=None,
                        help='node and raw-inference threads (default: the params file, else 0)')
    default_eval = ROOT.parent / 'shared' / 'data' / 'waste7' / 'val'
    parser.add_argument('--eval-data', default=str(default_eval) if default_eval.is_dir() else '',
                        help='class-per-folder images to time training.recipe.evaluate on '
                        "(default: waste7's val split where present; '' skips it)")
    parser.add_argument('--eval-images', type=int, default=140)
    parser.add_argument('--station-stream-data', default=str(station_stream.DEFAULT_DATA),
                        help='the folder holding waste7/val and realwaste/val for the station '
                        "stream ('' skips it: its figure says why)")
    parser.add_argument('--labelling-photos', type=int, default=labelling.PHOTOS,
                        help='captures the scripted operator labels in each view')
    parser.add_argument('--report', default=str(ROOT / 'BENCHMARKS.md'))
    parser.add_argument('--json', default=str(ROOT / 'benchmarks' / 'results.json'))
    parser.add_argument('--work-dir', default=str(ROOT / 'bench_output'))
    args = parser.parse_args(argv)
    if args.merge and not args.only:
        parser.error('--merge measures only the phases --only names')
    if args.num_threads is None:
        args.num_threads = int(params_file_values(args.params_file).get('num_threads', 0))
    files = resolve_model_files(args.model, args.labels, args.model_card)
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)

    started = datetime.datetime.now(datetime.timezone.utc)
    if args.merge:
        # One or more phases measured again into an earlier full run: its other figures stay.
        results = json.loads(Path(args.json).read_text(encoding='utf-8'))
        measured = node_phases(args, work_dir, files.model)
        fresh = {phase['name']: phase for phase in measured.pop('phases')}
        order = [phase.name for phase in phases(args)]
        results['phases'] = sorted(
            [phase for phase in results['phases'] if phase['name'] not in fresh]
            + list(fresh.values()), key=lambda phase: order.index(phase['name']))
        results.update(measured)
        write_results(args, results)
        return
    results = {
        'date': started.isoformat(timespec='seconds'),
        'machine': machine(),
        'loadavg_at_start': list(os.getloadavg()),
        'model': {'path': str(files.model), 'sha256': files.sha256,
                  'card': str(files.card_path) if files.card_path else None},
        'settings': {key: value for key, value in vars(args).items()
                     if key not in ('report', 'json', 'work_dir')},
    }
    print(f'[bench] raw inference of {files.model.name}, {args.num_threads} threads', flush=True)
    results['raw'] = {
        'inference': raw.inference(files.model, args.num_threads, args.raw_seconds),
        'backend': raw.backend(files.model, args.num_threads, args.raw_seconds),
        'preprocessing': [raw.preprocessing(width, height, args.raw_seconds / 5)
                          for width, height in ((640, 480), (1280, 720))],
        'presence_gate': raw.presence_gate(1280, 720, args.raw_seconds / 5),
    }
    results.update(node_phases(args, work_dir, files.model))
    results['training'] = training_figures(files, args.eval_data, args.eval_images, work_dir)
    results['duration_s'] = round(
        (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(), 1)
    results['loadavg_at_end'] = list(os.getloadavg())
    write_results(args, results)


def node_phases(args: argparse.Namespace, work_dir: Path, model: Path) -> dict:
    """Run the node phases, the lifecycle, the review page, the stream (all, or what --only names).

    Returns {'phases': [...], 'lifecycle': {...}, 'review_page': {...}, 'station_stream': {...},
    'labelling': {...}}, without those that --only leaves out; all on a ROS graph of their own.
    """
    environ = apply_local_ros_environ()
    clean_stale_shared_memory()
    context = rclpy.context.Context()
    rclpy.init(context=context)
    collector = Collector(context, NODE_NAME)
    try:
        bench = Bench(args, environ, collector, work_dir)
        measured: dict = {'phases': [bench.run_phase(phase) for phase in phases(args)
                                     if not args.only or phase.name in args.only]}
        if not args.only or LIFECYCLE in args.only:
            measured['lifecycle'] = bench.lifecycle()
        if not args.only or REVIEW in args.only:
            print('[bench] the station page in Chromium: key press to next capture', flush=True)
            measured[REVIEW] = review.figures(model)
        if not args.only or STATION_STREAM in args.only:
            measured[STATION_STREAM] = station_stream.figures(
                args.station_stream_data, args.model, args.params_file, work_dir)
        if not args.only or LABELLING in args.only:
            print('[bench] labelling in Chromium: the grid against one at a time', flush=True)
            measured[LABELLING] = labelling.figures(model, args.labelling_photos)
        return measured
    finally:
        collector.close()
        context.try_shutdown()


def write_results(args: argparse.Namespace, results: dict) -> None:
    results['targets'] = report.check_targets(results)
    Path(args.json).write_text(json.dumps(results, indent=2) + '\n', encoding='utf-8')
    Path(args.report).write_text(report.markdown(results), encoding='utf-8')
    print(f'[bench] wrote {args.report} and {args.json}')
    failed = [target['name'] for target in results['targets'] if not target['passed']]
    if failed:
        print(f'[bench] targets missed: {", ".join(failed)}')


if __name__ == '__main__':
    main()
