# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
A small harness for tests that run ROS nodes as separate processes over real DDS.

NodeProcess starts `python -m <module>` (or a script) with `--ros-args`, gathers its output on a
reader thread so a test can wait for a line, and stops it with a signal, returning the exit code.
RosProbe is the test's own rclpy node: it publishes, subscribes and spins until a condition holds
or a deadline passes, then fails with a message that says what it was waiting for.
Every process inherits the machine-local ROS environment that conftest.py sets up.
"""

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor


def _ros_args(params_file=None, params=None, remaps=None, name=None, log_level=None):
    args = ['--ros-args']
    if params_file:
        args += ['--params-file', str(params_file)]
    for key, value in (params or {}).items():
        # JSON is valid YAML for every parameter type ROS accepts on the command line.
        args += ['-p', f'{key}:={json.dumps(value)}']
    for source, target in (remaps or {}).items():
        args += ['-r', f'{source}:={target}']
    if name:
        args += ['-r', f'__node:={name}']
    if log_level:
        args += ['--log-level', log_level]
    return args


class NodeProcess:
    """A ROS node (or any ROS program) in its own process."""

    def __init__(self, target, *, params_file=None, params=None, remaps=None, name=None,
                 args=(), log_level=None, env=None):
        entry = [str(target)] if str(target).endswith('.py') else ['-m', target]
        self.command = [sys.executable, '-u', *entry, *map(str, args),
                        *_ros_args(params_file, params, remaps, name, log_level)]
        self._env = env
        self._own_group = False
        self._lines = []
        self._ended = False
        self._changed = threading.Condition()
        self.process = None

    @classmethod
    def program(cls, command, env=None) -> 'NodeProcess':
        """Any other command line (`ros2 launch ...`) in a process group of its own."""
        process = cls(command[0], env=env)
        process.command = [str(part) for part in command]
        process._own_group = True
        return process

    def start(self):
        # Python dumps every thread's stack on SIGABRT: what wait_exit shows of a hung process.
        env = dict(self._env if self._env is not None else os.environ, PYTHONFAULTHANDLER='1')
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
            text=True, bufsize=1, start_new_session=self._own_group)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return ''.join(self._lines)

    def wait_for_output(self, text, timeout=10.0) -> str:
        """Block until a line containing `text` was printed; return that line."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self._lines[seen:]:
                    if text in line:
                        return line
                seen = len(self._lines)
                if self._ended:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        raise AssertionError(
            f'{self.command[3:5]} did not print {text!r} within {timeout} s '
            f'(exit code {self.process.poll()}); its output:\n{self.output}')

    def wait_exit(self, timeout=10.0) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)  # its threads' stacks, then it ends
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self._wait_for_end_of_output(5)
            raise AssertionError(
                f'process did not exit within {timeout} s; its output, then its stacks at '
                f'SIGABRT:\n{self.output}') from None
        return code

    def _wait_for_end_of_output(self, timeout):
        with self._changed:
            self._changed.wait_for(lambda: self._ended, timeout)

    def stop(self, sig=signal.SIGINT, timeout=5.0) -> int:
        """Send `sig` and return the exit code; fail if the process ignores it."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.wait_exit(timeout)

    def interrupt_group(self, sig=signal.SIGINT):
        """Signal the whole process group, as a terminal's Ctrl-C does (program() only)."""
        assert self._own_group, 'only a program() has a process group of its own'
        os.killpg(self.process.pid, sig)

    def kill(self):
        if self.process and self._own_group:
            try:  # the program's children too, even when the program itself has ended
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()


class RosProbe:
    """The test's own node, spun only while the test waits for something."""

    def __init__(self, node):
        self.node = node
        self._executor = SingleThreadedExecutor(context=node.context)
        self._executor.add_node(node)

    def collect(self, msg_type, topic, qos=10) -> list:
        """Subscribe and return the list the received messages are appended to."""
        received = []
        self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def wait_for(self, predicate, timeout, what):
        """Spin until predicate() is true; fail naming `what` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f'timed out after {timeout} s waiting for {what}')
            self._executor.spin_once(timeout_sec=min(remaining, 0.1))

    def wait_for_messages(self, received, count=1, timeout=10.0, what='messages'):
        self.wait_for(lambda: len(received) >= count, timeout,
                      f'{count} {what} (got {len(received)})')
        return received

    def wait_for_subscribers(self, publisher, count=1, timeout=10.0):
        self.wait_for(lambda: publisher.get_subscription_count() >= count, timeout,
                      f'{count} subscriber(s) on {publisher.topic_name}')

    def wait_for_publishers(self, topic, count=1, timeout=10.0):
        self.wait_for(lambda: self.node.count_publishers(topic) >= count, timeout,
                      f'{count} publisher(s) on {topic}')

    def spin_for(self, seconds):
        """Keep processing callbacks for a while (to show that nothing arrives)."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self._executor.spin_once(timeout_sec=remaining)

    def destroy(self):
        self._executor.remove_node(self.node)
        self._executor.shutdown()
        self.node.destroy_node()


def write_params_file(path, node_name, params) -> Path:
    """Write a ROS 2 parameters YAML for `node_name` (use '/**' for any node)."""
    import yaml
    path = Path(path)
    path.write_text(yaml.safe_dump({node_name: {'ros__parameters': params}}))
    return path


def init_context():
    context = rclpy.context.Context()
    rclpy.init(context=context)
    return context
