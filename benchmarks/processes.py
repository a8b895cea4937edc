# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Start a node process and wait for its ready line; stop one as Ctrl+C would (the benchmarks')."""

from pathlib import Path
import re
import signal
import subprocess
import sys
import time
from typing import Any


def start_node(arguments: list[str], log: Any, ready: re.Pattern, timeout: float
               ) -> tuple[subprocess.Popen, re.Match]:
    """Start `python -m <arguments>` writing to `log`; return it and the line matching `ready`."""
    node = subprocess.Popen([sys.executable, '-m', *arguments], stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        found = ready.search(Path(log.name).read_text())
        if found:
            return node, found
        if node.poll() is not None or time.monotonic() > deadline:
            node.kill()
            raise RuntimeError(f'{arguments[0]} did not start: {Path(log.name).read_text()}')
        time.sleep(0.1)  # polling a log file another process writes


def stop_node(node: subprocess.Popen, timeout: float = 10.0) -> float:
    """Stop a process with SIGINT, killing it after `timeout`; return the seconds it took."""
    started = time.monotonic()
    node.send_signal(signal.SIGINT)
    try:
        node.wait(timeout)
    except subprocess.TimeoutExpired:
        node.kill()
        node.wait()
    return time.monotonic() - started
