# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
How a node that takes camera-sized messages many times a second keeps their cost down.

`keep_frame_buffers_mapped()`: each received frame lands in fresh multi-megabyte buffers; glibc
unmaps (or trims) them when freed, so the next frame faults every page in again (about 2000
page faults and 3 ms of CPU per 720p frame in the classifier, BENCHMARKS.md finding 7). Higher
thresholds keep them mapped; call it once at the start of the node's main(). With those
thresholds glibc also keeps what a large object freed (a replaced model's engine in the
classifier): `return_freed_memory()` gives it back, once after such a release.

`Gate`: a callback group that the executor leaves out of its wait set while closed. A
subscription in it with keep-last 1 is not taken while closed: newer messages replace older
ones inside DDS without being copied into Python, and opening the gate (then triggering a guard
condition to wake the executor) takes the newest. A node that needs fewer frames than arrive
takes only those it uses.

`FrameHandoff`: the classifier's frames from the executor to its inference thread, behind such a
gate. The subscription callback `put`s a frame: the gate closes and the frame waits in a slot of
one for the thread. The thread processes it, then every frame that came meanwhile (it takes them
from DDS itself, without a round trip through the executor), and only then opens the gate and
wakes the executor (a guard condition) to wait on the subscription again: a slow model skips
frames instead of queueing latency. While the executor is held up (`executor_held()`, around a
model loading in a parameter callback) no callback can `put`, so the thread takes the frames
itself, looking every `poll` seconds, and classifying never stops. Plain threads and callables,
so it is tested without a node (tests/test_frame_intake.py).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
import ctypes
import ctypes.util
import functools
import threading
from typing import Generic, TypeVar

from rclpy.callback_groups import CallbackGroup

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library('c')
    return ctypes.CDLL(name) if name else None


def keep_frame_buffers_mapped() -> None:
    """Keep freed buffers of up to 32 MB mapped (no-op where the C library has no mallopt)."""
    libc = _libc()
    if libc is not None and hasattr(libc, 'mallopt'):
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 128 << 20)


def return_freed_memory() -> None:
    """Give the memory glibc keeps after large frees back to the system (malloc_trim).

    In the classifier a replaced model's engine left about 15 MB a switch (243 -> 341 MB after
    10 switches in `make bench`'s swap phase) until trimmed once after each switch
    (BENCHMARKS.md, model sets under load). No-op where the C library has no malloc_trim.
    """
    libc = _libc()
    if libc is not None and hasattr(libc, 'malloc_trim'):
        libc.malloc_trim(0)


class Gate(CallbackGroup):
    """A callback group whose entities run only while `open` is true."""

    def __init__(self, is_open: bool = True) -> None:
        super().__init__()
        self.open = is_open

    def can_execute(self, entity: object) -> bool:
        return self.open

    def beginning_execution(self, entity: object) -> bool:
        return self.open

    def ending_execution(self, entity: object) -> None:
        pass


Job = TypeVar('Job')


class FrameHandoff(Generic[Job]):
    """The newest frame from the executor to one worker thread; the module docstring says how.

    `process(job)` classifies a frame; `take_waiting()` takes one that arrived meanwhile (None
    when there is none); `wake()` wakes the executor once the gate is open again; `failed(error)`
    is told what `process` or `take_waiting` raised and says whether to go on (False ends the
    thread).
    """

    def __init__(self, process: Callable[[Job], None], take_waiting: Callable[[], Job | None],
                 wake: Callable[[], None], failed: Callable[[Exception], bool],
                 poll: float = 0.002) -> None:
        self.gate = Gate()  # the callback group of the subscription whose frames are handed off
        self._process, self._take_waiting = process, take_waiting
        self._wake, self._failed, self._poll = wake, failed, poll
        self._slot: Job | None = None  # the frame put, not yet taken by the thread
        self._changed = threading.Condition()
        self._running = True
        self._executor_held = False
        self._thread = threading.Thread(target=self._work, name='inference', daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, job: Job) -> None:
        """Hand a frame to the thread (from the subscription's callback); the gate closes."""
        with self._changed:
            self.gate.open = False
            self._slot = job
            self._changed.notify()

    @contextmanager
    def executor_held(self) -> Iterator[None]:
        """While the block runs in the executor's thread, the worker takes the frames itself."""
        with self._changed:
            self._executor_held = True
            self._changed.notify()
        try:
            yield
        finally:
            self._executor_held = False

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after the frame it is on; wait for it up to `timeout` seconds."""
        with self._changed:
            self._running = False
            self._changed.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _next(self) -> Job | None:
        """Wait for the next frame; None once closed."""
        with self._changed:
            while self._running:
                if self._slot is not None:
                    job, self._slot = self._slot, None
                    return job
                if self._executor_held:
                    waiting = self._take_waiting()
                    if waiting is not None:
                        self.gate.open = False
                        return waiting
                self._changed.wait(self._poll if self._executor_held else None)
        return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                while job is not None:
                    self._process(job)
                    job = self._take_waiting()
            except Exception as error:  # noqa: BLE001 - the thread must outlive a frame
                if not self._failed(error):
                    return
            self.gate.open = True
            self._wake()
