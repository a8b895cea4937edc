# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Recording and replay, over real DDS with real MCAP files.

The classifier records what it hears into an MCAP file in rosbag2's format; the mcap library
(with its own ROS 2 decoder, which parses the schemas we wrote) reads it back; the media source
plays it into a second classifier, whose own recording shows it got the very same pixels.
"""

from diagnostic_msgs.msg import DiagnosticArray
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
import numpy as np
import pytest
from rclpy.serialization import deserialize_message
from ros_harness import NodeProcess
from sensor_msgs.msg import Image
from tiny_model import COLOURS, GREY, solid
from vision_msgs.msg import Classification
import yaml

from waste_classifier_ros.core import image_codec
from waste_classifier_ros.flywheel.recording import image_topic, read_messages

pytestmark = pytest.mark.ros

CLASSIFIER = 'waste_classifier_ros.nodes.classifier_node'
CAMERA = '/bin_camera/image'
RESULTS = '/waste_classifier/classification'


def classifier(model, record_path):
    node = NodeProcess(CLASSIFIER, remaps={'image': CAMERA}, params={
        'model': str(model), 'record_path': str(record_path), 'reliable': True,
        'smoothing_window': 1, 'frames_to_confirm': 1}).start()
    node.wait_for_output('ready:', timeout=30)
    return node


def frames():
    """Six distinct frames in three encodings, one with row padding and an odd size."""
    rng = np.random.default_rng(7)
    out = []
    for i, (name, encoding) in enumerate([('glass', 'rgb8'), ('metal', 'bgr8'),
                                          ('paper', 'rgb8'), ('trash', 'bgra8'),
                                          ('plastic', 'rgb8'), ('organic', 'rgb8')]):
        rgb = solid(COLOURS[name], 61, 83)
        rgb[::7] = rng.integers(0, 256, rgb[::7].shape, np.uint8)  # not one colour: real pixels
        step, data = image_codec.encode(rgb, encoding, padding=3 if i == 2 else 0)
        msg = Image(encoding=encoding, height=61, width=83, step=step, data=data)
        msg.header.stamp.sec, msg.header.frame_id = 100 + i, 'bin_cam'
        out.append(msg)
    grey = solid(GREY, 48, 64)
    msg = Image(encoding='rgb8', height=48, width=64, step=64 * 3, data=grey.tobytes())
    msg.header.stamp.sec, msg.header.frame_id = 106, 'bin_cam'
    return out + [msg]


def latest(diagnostics, key) -> int:
    """Return the classifier's latest integer value of `key` on /diagnostics (0 if none)."""
    values = [int(kv.value) for array in diagnostics for status in array.status
              for kv in status.values if kv.key == key]
    return values[-1] if values else 0


def recorded(diagnostics) -> int:
    return latest(diagnostics, 'recording_recorded')


def wait_until_both_readers_match(probe, diagnostics):
    """Wait until the classifier's and its recorder's image readers matched the one publisher.

    The publisher's matched count is its side only; a reader that has not matched on its side
    yet drops the first frames, and the recording must hold every frame.
    """
    probe.wait_for(lambda: latest(diagnostics, 'image_publishers') >= 1, 15,
                   'the classifier reporting its image readers matched (image_publishers)')


def test_recorded_mcap_reads_back_and_replays_identical_pixels(model, tmp_path, probe):
    day = tmp_path / 'day.mcap'
    sent = frames()
    node = classifier(model, day)
    results = probe.collect(Classification, RESULTS)
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    publisher = probe.node.create_publisher(Image, CAMERA, 10)
    try:
        probe.wait_for_subscribers(publisher, count=2)  # the classifier and its recorder
        wait_until_both_readers_match(probe, diagnostics)
        probe.wait_for_publishers(RESULTS)
        for msg in sent:
            publisher.publish(msg)
            stamp = msg.header.stamp.sec
            probe.wait_for(lambda stamp=stamp: any(r.header.stamp.sec == stamp for r in results),
                           10, f'the answer to frame {stamp}')
        # The recorder's own image subscription may still hold the last frame: stop only once
        # /diagnostics counts every image and answer as recorded.
        try:
            probe.wait_for(lambda: recorded(diagnostics) >= 2 * len(sent), 15,
                           f'{2 * len(sent)} messages recorded (diagnostics)')
        except AssertionError as error:
            status = [(kv.key, kv.value) for array in diagnostics[-1:]
                      for kv in array.status[0].values]
            raise AssertionError(f'{error}; latest classifier status: {status}') from None
    finally:
        assert node.stop() == 0, node.output

    # The mcap library: rosbag2's profile, schema names and encodings, CDR that decodes.
    with open(day, 'rb') as file:
        reader = make_reader(file, decoder_factories=[DecoderFactory()])
        assert reader.get_header().profile == 'ros2'
        summary = reader.get_summary()
        schemas = {s.name: s.encoding for s in summary.schemas.values()}
        assert schemas == {'sensor_msgs/msg/Image': 'ros2msg',
                           'vision_msgs/msg/Classification': 'ros2msg'}
        assert {c.topic: c.message_encoding for c in summary.channels.values()} == {
            CAMERA: 'cdr', RESULTS: 'cdr'}
        for channel in summary.channels.values():
            [profile] = yaml.safe_load(channel.metadata['offered_qos_profiles'])
            assert (profile['reliability'], profile['history'], profile['depth']) == (1, 1, 10)
        decoded = [(channel.topic, message, ros_msg)
                   for _, channel, message, ros_msg in reader.iter_decoded_messages()]
    images = [(m, d) for topic, m, d in decoded if topic == CAMERA]
    answers = [d for topic, _, d in decoded if topic == RESULTS]
    assert len(images) == len(sent) and len(answers) == len(sent)
    for msg, (message, generic) in zip(sent, images):
        assert deserialize_message(message.data, Image) == msg  # rclpy's CDR, as rosbag2
        assert (generic.encoding, generic.height, generic.width, generic.step) == (
            msg.encoding, msg.height, msg.width, msg.step)
        assert bytes(generic.data) == bytes(msg.data)
        assert generic.header.stamp.sec == msg.header.stamp.sec
    assert [a.results[0].class_id for a in answers[:6]] == [
        'glass', 'metal', 'paper', 'trash', 'plastic', 'organic']
    assert image_topic(day)[:2] == (CAMERA, len(sent))

    # Replay through the media source into a second classifier that records what it got. The
    # source waits for a third reader, made here once both of the classifier's matched it.
    probe.node.destroy_publisher(publisher)
    replay = tmp_path / 'replay.mcap'
    second = classifier(model, replay)
    try:
        source = NodeProcess('waste_classifier_ros.nodes.media_source_node', remaps={
            'image': CAMERA}, params={'resource': str(day), 'reliable': True, 'rate': 5.0,
                                      'wait_for_subscribers': 3}).start()
        diagnostics.clear()
        wait_until_both_readers_match(probe, diagnostics)
        probe.node.create_subscription(Image, CAMERA, lambda _: None, 1)
        assert source.wait_exit(30) == 0, source.output
    finally:
        assert second.stop() == 0, second.output
    got = list(read_messages(replay, CAMERA, Image))
    assert len(got) == len(sent)
    for msg, again in zip(sent, got):
        assert again == msg  # pixels, size, encoding, step, header: all of it
    first = [r.results for r in read_messages(day, RESULTS, Classification)]
    second_answers = [r.results for r in read_messages(replay, RESULTS, Classification)]
    assert second_answers == first


def test_an_existing_recording_is_never_overwritten(model, tmp_path):
    taken = tmp_path / 'day.mcap'
    taken.write_bytes(b'yesterday')
    node = NodeProcess(CLASSIFIER, params={'model': str(model), 'record_path': str(taken)})
    with node:
        assert node.wait_exit(30) == 1
    assert 'exists already; recordings are never overwritten' in node.output
    assert taken.read_bytes() == b'yesterday'


def test_the_media_source_refuses_a_broken_recording(tmp_path):
    broken = tmp_path / 'cut.mcap'
    broken.write_bytes(b'\x89MCAP0\r\n not really')
    source = NodeProcess('waste_classifier_ros.nodes.media_source_node',
                         params={'resource': str(broken)})
    with source:
        assert source.wait_exit(30) == 1
    assert f'{broken}: not a readable MCAP file' in source.output
