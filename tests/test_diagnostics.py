# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Pipeline counters, rates, latency percentiles and the stalled-camera warning."""

from waste_classifier_ros.core.diagnostics import OK, WARN, PipelineStats


def test_counts_rates_and_latency():
    stats = PipelineStats(now=0.0)
    for i in range(20):
        stats.received(1.0 + i * 0.1)
        stats.processed(1.0 + i * 0.1, latency_s=0.010 + 0.001 * (i % 10), overlaid=i < 5)
    stats.rejected('step 3 is smaller than a row')
    stats.failed('RuntimeError: CUDA error')
    level, message, values = stats.report(now=3.0, stall_timeout=1.0)
    values = dict(values)
    assert level == OK and message == 'classifying at 10.0 FPS'
    assert values['input_fps'] == values['processed_fps'] == '10.0'
    assert (values['frames_received'], values['frames_processed'], values['frames_skipped'],
            values['frames_rejected'], values['frames_overlaid']) == ('20', '20', '0', '1', '5')
    assert values['latency_p50_ms'] == '14.5' and float(values['latency_p95_ms']) > 18.0
    assert values['last_rejection'] == 'step 3 is smaller than a row'
    assert (values['frames_failed'], values['last_failure']) == ('1', 'RuntimeError: CUDA error')


def test_gaps_in_each_publishers_sequence_numbers_count_as_skipped_input():
    stats = PipelineStats(now=0.0)
    for now, publisher, sequence in [(1.0, b'a', 1), (1.1, b'a', 2), (1.2, b'a', 6),
                                     (1.3, b'b', 40), (1.4, b'b', 41), (1.5, b'a', 7),
                                     (1.6, None, None), (1.7, b'b', 45)]:
        stats.received(now, publisher, sequence)
    values = dict(stats.report(now=2.0, stall_timeout=1.0)[2])
    assert (values['frames_received'], values['frames_skipped']) == ('8', '6')
    assert values['input_fps'] == '7.0'


def test_stall_warning_before_the_first_frame_and_after_the_last():
    stats = PipelineStats(now=0.0)
    assert stats.report(now=0.5, stall_timeout=1.0)[0] == OK
    assert stats.seconds_since_last_frame(0.5) is None
    level, message, values = stats.report(now=2.0, stall_timeout=1.0)
    assert level == WARN and 'no image received yet for 2.0 s' in message
    assert dict(values)['latency_p50_ms'] == 'nan'
    stats.received(2.5)
    assert stats.report(now=3.0, stall_timeout=1.0)[0] == OK
    level, message, values = stats.report(now=6.0, stall_timeout=1.0)
    assert level == WARN and 'no image for 3.5 s' in message
    assert stats.seconds_since_last_frame(6.0) == 3.5
    assert dict(values)['input_fps'] == '0.0'


def test_the_rate_is_the_same_whenever_it_is_read_and_falls_when_frames_stop():
    # The overlay reads the FPS just before a frame's tick, /diagnostics between frames: at
    # 1 FPS they showed 0.5 and 1.0 (a window count depends on where its edge falls).
    stats = PipelineStats(now=0.0)
    readings = []
    for second in range(1, 11):
        readings.append(stats.fps(second - 1e-6))  # just before this frame
        stats.processed(float(second), latency_s=0.01, overlaid=True)
        readings.append(stats.fps(second + 0.5))  # between frames
    assert readings[6:] == [1.0] * len(readings[6:]), readings
    assert 0.0 < stats.fps(11.5) < stats.fps(10.5) == 1.0  # no frame since 10.0
    assert stats.fps(12.1) == 0.0  # none inside the last 2 s
