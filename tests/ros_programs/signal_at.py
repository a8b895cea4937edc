# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Run one of this package's nodes and send it two stop signals at a chosen moment of its work.

    python signal_at.py MOMENT FIRST SECOND GAP_MS MODULE [--ros-args ...]

MOMENT says when, from inside the node's process, so that it is hit every time rather than by
luck: `publish:<topic>` just before the node's first publish on that topic, `classify` as the
first frame's inference starts, `imread:<n>` as OpenCV starts decoding the n-th image file. There
the first signal is sent at once and the second GAP_MS later, from a timer thread, both with
os.kill to this process as a terminal and `ros2 launch` send them; then the node's own call goes
ahead, racing the shutdown the signals start. It prints `signals sent at MOMENT` first, so the
test knows the moment came. The node runs through `python -m MODULE` exactly as otherwise.
"""

import functools
import os
import runpy
import signal
import sys
import threading


def send_two_signals(moment: str, first: str, second: str, gap_ms: float) -> None:
    print(f'signals sent at {moment}', flush=True)
    os.kill(os.getpid(), signal.Signals[first])
    # Not a daemon: the interpreter waits for it, so the second signal is sent even when the
    # node has already returned from main() by then, as launch's would be.
    threading.Timer(gap_ms / 1000.0, os.kill, (os.getpid(), signal.Signals[second])).start()


def hook(owner, name: str, when, fire) -> None:
    """Wrap owner.name so that fire() runs once, before the call for which when(...) is true."""
    original = getattr(owner, name)
    fired = threading.Event()

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        if not fired.is_set() and when(*args, **kwargs):
            fired.set()
            fire()
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def main() -> None:
    moment, first, second, gap_ms, module = sys.argv[1:6]
    fire = functools.partial(send_two_signals, moment, first, second, float(gap_ms))
    kind, _, detail = moment.partition(':')
    if kind == 'publish':
        from rclpy.publisher import Publisher
        hook(Publisher, 'publish', lambda publisher, *_: publisher.topic_name == detail, fire)
    elif kind == 'classify':
        from waste_classifier_ros.backends import Backend
        hook(Backend, 'classify_frame', lambda *_: True, fire)
    elif kind == 'imread':
        import cv2
        calls = iter(range(1, 1 << 30))
        hook(cv2, 'imread', lambda *_: next(calls) == int(detail), fire)
    else:
        sys.exit(f'unknown moment {moment!r}')
    sys.argv = [module, *sys.argv[6:]]
    runpy.run_module(module, run_name='__main__', alter_sys=True)


if __name__ == '__main__':
    main()
