# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
One clean end for every node of this package under SIGINT and SIGTERM, however many arrive.

A Ctrl-C under `ros2 launch` delivers SIGINT twice to every node, 1-10 ms apart: once from the
terminal to the process group, once forwarded by launch. rclpy's own handler shuts the context
down (which ends spin) and then runs Python's handler for the signal, whose default raises
KeyboardInterrupt on whatever line the main thread has reached: in a callback mid-publish, in the
cleanup after spin, or, for the second signal, after main() has returned, where nothing catches
it and the process dies by SIGINT (launch reports `exit code -2` as an ERROR).

`ros_session()` replaces that with a handler that only records the request, so rclpy's shutdown
is the one way a node stops: its main() leaves spin, cleans up and returns normally. An rclpy
error raised because the context went down mid-call (a publish, a node being created) ends the
session like the shutdown it is. The session's executor is made before any signal can shut the
context down (rclpy cannot make one on a dead context without printing a traceback, and its
global executor is thrown away and remade at shutdown). Once a stopped session is over the
process ignores further SIGINT and SIGTERM: it is already on its way out.

    def main(args=None):
        with ros_session(args) as executor:
            rclpy.spin(MyNode(), executor)
        return 0

A node whose construction can fail on bad parameters uses ``spin_node`` instead, which also
logs the reason and returns 1.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
import signal
import threading

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def ros_session(args: list[str] | None = None) -> Iterator[Executor]:
    """Run the block inside rclpy.init(args) with an executor; SIGINT/SIGTERM end it cleanly.

    Call it from a node's main() in the main thread and spin the yielded executor. Signal
    handlers that were there before are put back when the session ends without a stop request
    (so a test calling main() in-process keeps its own Ctrl-C); after a stop request, further
    stop signals are ignored.
    """
    stopped = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopped.set())
                for signum in STOP_SIGNALS}
    try:
        # Held back until the executor exists; rclpy.init installs rclpy's handlers, which shut
        # the context down and then call ours.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            context = rclpy.init(args=args)
            executor = SingleThreadedExecutor()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        with context:
            if stopped.is_set():  # a signal came before rclpy's handlers were in place
                rclpy.try_shutdown()
            try:
                yield executor
            except (ExternalShutdownException, RuntimeError):
                # RCLError and InvalidHandle are RuntimeErrors: the context went down mid-call.
                if rclpy.ok():
                    raise
            finally:
                executor.shutdown()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if stopped.is_set() else handler)


def spin_node(make_node: Callable[[], Node], startup_errors: tuple[type[Exception], ...],
              logger_name: str, args: list[str] | None = None) -> int:
    """Run a node's main(): make it in a ros_session, spin it until shutdown, close it.

    ``make_node`` raising one of ``startup_errors`` (bad parameters, a missing model, a port in
    use) is logged as fatal under ``logger_name`` and returns 1; a stop signal returns 0. The
    node's ``close()`` releases what it holds beside the ROS entities (``destroy_node()``
    for a node without one).
    """
    with ros_session(args) as executor:
        try:
            node = make_node()
        except startup_errors as error:
            rclpy.logging.get_logger(logger_name).fatal(f'cannot start: {error}')
            return 1
        try:
            rclpy.spin(node, executor)
        finally:
            getattr(node, 'close', node.destroy_node)()
    return 0
