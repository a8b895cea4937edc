# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The classifier's frame hand-off (frame_intake.FrameHandoff), without a node or DDS."""

import queue
import threading

import pytest

from waste_classifier_ros.nodes.frame_intake import FrameHandoff

WAIT_S = 10.0  # bound on every wait for the worker thread; never reached when it works


class Worker:
    """A FrameHandoff over fakes: frames waiting in 'DDS', a log of what the thread did."""

    def __init__(self, fail_on=(), go_on_after_failure=True):
        self.waiting = queue.SimpleQueue()  # frames that arrived while the gate was closed
        self.events = queue.SimpleQueue()  # ('processed', job, gate open?), ('woke',), ...
        self.held = {}  # job -> (Event set when its processing starts, Event it waits for)
        self.fail_on, self.go_on = set(fail_on), go_on_after_failure
        self.handoff = FrameHandoff(self.process, self.take_waiting, self.wake, self.failed)
        self.handoff.start()

    def process(self, job):
        if job in self.held:
            started, release = self.held[job]
            started.set()
            assert release.wait(WAIT_S), f'{job} was never released'
        if job in self.fail_on:
            raise ValueError(f'cannot classify {job}')
        self.events.put(('processed', job, self.handoff.gate.open))

    def hold(self, job):
        """Make the processing of `job` wait; return (started, release) events."""
        self.held[job] = threading.Event(), threading.Event()
        return self.held[job]

    def take_waiting(self):
        try:
            return self.waiting.get_nowait()
        except queue.Empty:
            return None

    def wake(self):
        self.events.put(('woke', self.handoff.gate.open))

    def failed(self, error):
        self.events.put(('failed', str(error)))
        return self.go_on

    def next_event(self):
        try:
            return self.events.get(timeout=WAIT_S)
        except queue.Empty:
            raise AssertionError(f'the worker did nothing within {WAIT_S} s') from None


@pytest.fixture
def worker():
    made = []

    def make(**kwargs):
        made.append(Worker(**kwargs))
        return made[-1]

    yield make
    for each in made:
        each.handoff.close()


def test_a_put_frame_is_processed_with_the_gate_closed_then_the_executor_is_woken(worker):
    w = worker()
    assert w.handoff.gate.open
    w.handoff.put('frame 1')
    assert w.next_event() == ('processed', 'frame 1', False)
    assert w.next_event() == ('woke', True)


def test_frames_that_arrive_meanwhile_are_taken_before_the_gate_opens(worker):
    w = worker()
    started, release = w.hold('frame 1')
    w.handoff.put('frame 1')
    assert started.wait(WAIT_S)
    w.waiting.put('frame 2')
    w.waiting.put('frame 3')
    release.set()
    assert [w.next_event() for _ in range(4)] == [
        ('processed', 'frame 1', False), ('processed', 'frame 2', False),
        ('processed', 'frame 3', False), ('woke', True)]


def test_while_the_executor_is_held_the_thread_takes_the_frames_itself(worker):
    w = worker()
    with w.handoff.executor_held():
        w.waiting.put('frame 1')  # no put(): the executor is busy elsewhere
        assert w.next_event() == ('processed', 'frame 1', False)
        assert w.next_event() == ('woke', True)
        w.waiting.put('frame 2')
        assert w.next_event() == ('processed', 'frame 2', False)
        assert w.next_event() == ('woke', True)


def test_a_failed_frame_is_reported_and_the_next_one_processed(worker):
    w = worker(fail_on={'frame 1'})
    w.handoff.put('frame 1')
    assert w.next_event() == ('failed', 'cannot classify frame 1')
    assert w.next_event() == ('woke', True)
    w.handoff.put('frame 2')
    assert w.next_event() == ('processed', 'frame 2', False)


def test_a_failure_that_ends_the_session_stops_the_thread(worker):
    w = worker(fail_on={'frame 1'}, go_on_after_failure=False)
    w.handoff.put('frame 1')
    assert w.next_event() == ('failed', 'cannot classify frame 1')
    w.handoff.close()
    assert not w.handoff.gate.open, 'the gate must stay closed: nothing will take the frames'
    assert w.events.empty(), 'the executor was woken after the session ended'


def test_close_ends_the_thread_and_later_frames_are_not_processed(worker):
    w = worker()
    w.handoff.put('frame 1')
    assert w.next_event() == ('processed', 'frame 1', False)
    assert w.next_event() == ('woke', True)
    w.handoff.close()
    w.handoff.put('frame 2')
    assert w.events.empty()
