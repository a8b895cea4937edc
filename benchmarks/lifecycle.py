# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
How soon the classifier stops, refuses a bad start and reports a stalled camera.

The tests check that each of these happens, with bounds that only catch a hang, because a
wall-clock limit in a test fails on a busy machine; here each is timed once and reported against
the limit the tests used to assert (report.py's targets):

- the classifier, classifying 640x480 frames at 30 FPS, exits 0 after SIGINT; again after SIGTERM
  (tests/test_robustness_runtime.py, tests/test_robustness_faults.py);
- the classifier given a model file that does not exist exits non-zero, counted from its start
  (tests/test_robustness_config.py);
- the stalled-camera WARN on /diagnostics after the publisher is killed, with stall_timeout
  STALL_TIMEOUT_S and diagnostics every DIAGNOSTICS_PERIOD_S (tests/test_robustness_runtime.py);
- `promotion.notify_running_node` with no classifier running and a 1 s timeout returns
  (tests/test_promotion.py).

A figure is None when its process did not do what the tests require (exit 0, exit non-zero, say
"stalled"), so its target fails rather than timing the wrong thing.
"""

import contextlib
from pathlib import Path
import signal
import subprocess
import time
from typing import Callable, Iterator, Sequence

from benchmarks.collector import Collector
from benchmarks.publisher import READY
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.flywheel.promotion import notify_running_node

STALL_TIMEOUT_S = 0.8
DIAGNOSTICS_PERIOD_S = 0.1
NOTIFY_TIMEOUT_S = 1.0
# Bounds on each wait: only a hang takes this long.
_WAIT_S = 60.0


class Lifecycle:
    """Runs the classifier (`node_command`) and frames (`publisher_command(stamps)`) per figure."""

    def __init__(self, collector: Collector, environ: dict[str, str], node_command: list[str],
                 publisher_command: Callable[[Path], list[str]], work_dir: Path) -> None:
        self.collector, self.environ = collector, environ
        self.node_command, self.publisher_command = node_command, publisher_command
        self.work_dir = work_dir

    def figures(self) -> dict:
        print('[bench] lifecycle: stop on SIGINT and SIGTERM, a bad start, a stalled camera',
              flush=True)
        return {
            'classifier_sigint_stop_s': self.stop_while_classifying(signal.SIGINT),
            'classifier_sigterm_stop_s': self.stop_while_classifying(signal.SIGTERM),
            'classifier_bad_model_exit_s': self.bad_model_exit(),
            'stall_warning_after_kill_s': self.stall_warning(),
            'notify_without_node_s': notify_without_node(),
            'stall_timeout_s': STALL_TIMEOUT_S, 'diagnostics_period_s': DIAGNOSTICS_PERIOD_S,
        }

    @contextlib.contextmanager
    def _classifying(self, name: str, extra: Sequence[str] = ()) -> Iterator[
            tuple[subprocess.Popen, subprocess.Popen]]:
        """Start the node and the publisher; yield once a classification arrived."""
        with open(self.work_dir / f'lifecycle_{name}.node.log', 'w') as log:
            node = subprocess.Popen([*self.node_command, *extra], stdout=log,
                                    stderr=subprocess.STDOUT, env=self.environ)
            publisher: subprocess.Popen | None = None
            try:
                def alive() -> str:
                    code = node.poll()
                    return '' if code is None else f'the node exited with code {code}'

                self.collector.reset()
                self.collector.wait_for_node(_WAIT_S, alive)
                publisher = subprocess.Popen(
                    self.publisher_command(self.work_dir / f'lifecycle_{name}.stamps.npy'),
                    stdout=subprocess.PIPE, text=True, env=self.environ)
                line = publisher.stdout.readline() if publisher.stdout else ''
                if READY not in line:
                    raise RuntimeError(f'publisher did not start: {line!r}')
                self.collector.wait_for_result(_WAIT_S, alive)
                yield node, publisher
            finally:
                for process in (publisher, node):
                    if process is not None and process.poll() is None:
                        process.kill()
                    if process is not None:
                        process.wait()

    def stop_while_classifying(self, sig: signal.Signals) -> float | None:
        """Seconds from `sig` to the node's exit while it classifies; None unless it exits 0."""
        with self._classifying(sig.name.lower()) as (node, _):
            started = time.monotonic()
            node.send_signal(sig)
            code = node.wait(_WAIT_S)
            seconds = time.monotonic() - started
        return seconds if code == 0 else None

    def bad_model_exit(self) -> float | None:
        """Seconds from start to exit with a missing model file; None unless it exits non-zero."""
        command = [*self.node_command, '-p', 'model:=/nonexistent/waste_classifier.onnx']
        with open(self.work_dir / 'lifecycle_bad_model.node.log', 'w') as log:
            started = time.monotonic()
            node = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                    env=self.environ)
            try:
                code = node.wait(_WAIT_S)
            finally:
                if node.poll() is None:
                    node.kill()
                    node.wait()
        return time.monotonic() - started if code != 0 else None

    def stall_warning(self) -> float | None:
        """Seconds from killing the publisher to the node's 'stalled' WARN; None without one."""
        extra = ['-p', f'stall_timeout:={STALL_TIMEOUT_S}',
                 '-p', f'diagnostics_period:={DIAGNOSTICS_PERIOD_S}']
        with self._classifying('stall', extra) as (node, publisher):
            publisher.kill()
            killed = time.time_ns()
            deadline = time.monotonic() + _WAIT_S
            while time.monotonic() < deadline:
                status = self.collector.diagnostics
                if status.get('time_ns', 0) > killed and 'stalled' in status.get('message', ''):
                    node.send_signal(signal.SIGINT)
                    return (status['time_ns'] - killed) / 1e9
                time.sleep(DIAGNOSTICS_PERIOD_S / 10)  # polling the collector's latest status
        return None


def notify_without_node() -> float:
    """Seconds `notify_running_node` takes to say that no classifier is running."""
    started = time.monotonic()
    answer = notify_running_node(share_path('model', 'waste_classifier.onnx'),
                                 node='/nobody_here/waste_classifier', timeout=NOTIFY_TIMEOUT_S)
    seconds = time.monotonic() - started
    if answer.running:
        raise RuntimeError(f'a node answered as /nobody_here/waste_classifier: {answer}')
    return seconds
