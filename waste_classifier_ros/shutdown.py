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
session like the shutdown it is. Once a stopped session is over the process ignores further
SIGINT and SIGTERM: it is already on its way out.

    def main(args=None):
        with ros_session(args):
            node = MyNode()
            rclpy.spin(node)
        return 0
"""

from collections.abc import Iterator
from contextlib import contextmanager
import signal
import threading

import rclpy
from rclpy.executors import ExternalShutdownException

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def ros_session(args: list[str] | None = None) -> Iterator[None]:
    """Run the block inside rclpy.init(args); SIGINT/SIGTERM end it cleanly, not by exception.

    Call it from a node's main() in the main thread. Signal handlers that were there before are
    put back when the session ends without a stop request (so a test calling main() in-process
    keeps its own Ctrl-C); after a stop request, further stop signals are ignored.
    """
    stopped = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopped.set())
                for signum in STOP_SIGNALS}
    try:
        # rclpy installs its handlers here and calls ours from them after shutting down.
        with rclpy.init(args=args):
            if stopped.is_set():  # a signal came before rclpy's handlers were in place
                rclpy.try_shutdown()
            try:
                yield
            except (ExternalShutdownException, RuntimeError):
                # RCLError and InvalidHandle are RuntimeErrors: the context went down mid-call.
                if rclpy.ok():
                    raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if stopped.is_set() else handler)
