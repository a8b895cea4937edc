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
"""

import ctypes
import ctypes.util
import functools

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
