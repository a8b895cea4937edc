# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The media source: resource URIs, frame iteration, and the node over real DDS."""

from itertools import islice
from pathlib import Path
import signal

import cv2
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from ros_harness import NodeProcess
from sensor_msgs.msg import Image

from waste_classifier_ros.core.image_codec import Frame
from waste_classifier_ros.core.media_reader import (
    RecordingReader,
    ResourceError,
    Staging,
    empty_floor,
    loop_count,
    natural_rate,
    open_source,
    parse_resource,
    play,
)
from waste_classifier_ros.core.presence import PresenceGate, changed_share, thumbnail
from waste_classifier_ros.nodes.media_source_node import to_image_msg

SAMPLES = Path(__file__).resolve().parent.parent / 'samples'
MODULE = 'waste_classifier_ros.nodes.media_source_node'


def _write_images(folder, count=3, size=(48, 64)):
    folder.mkdir(exist_ok=True)
    for index in range(count):
        frame = np.full((*size, 3), 40 * index, np.uint8)
        cv2.imwrite(str(folder / f'frame_{index}.png'), frame)
    return folder


def _write_video(path, count=5, size=(48, 64)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10.0, size[::-1])
    assert writer.isOpened(), 'OpenCV cannot write MJPG .avi here'
    for index in range(count):
        writer.write(np.full((*size, 3), 30 * index, np.uint8))
    writer.release()
    return path


def test_folder_lists_images_in_name_order(tmp_path):
    folder = _write_images(tmp_path / 'shots')
    (folder / 'notes.txt').write_text('not an image')
    resource = parse_resource(str(folder))
    assert resource.kind == 'images'
    assert [Path(p).name for p in resource.images] == ['frame_0.png', 'frame_1.png',
                                                       'frame_2.png']


def test_uri_forms(tmp_path):
    image = _write_images(tmp_path / 'one', count=1) / 'frame_0.png'
    video = _write_video(tmp_path / 'clip.avi')
    assert parse_resource(str(image)).images == (str(image),)
    assert parse_resource(f'file://{image}').images == (str(image),)
    assert parse_resource(f'file://{video}').kind == 'video'
    assert parse_resource(str(video)).location == str(video)


@pytest.mark.parametrize('uri, message', [
    ('', 'empty'),
    ('/no/such/photo.jpg', 'no such file or folder'),
    ('/dev/video97', 'no such camera device'),
    ('v4l2:///dev/video97', 'no such camera device'),
    ('csi://0', 'ros_deep_learning video_source'),
    ('rtsp://camera.local/stream', 'ros_deep_learning video_source'),
    ('ftp://host/file.jpg', 'unknown scheme'),
])
def test_bad_uris_say_why(uri, message):
    with pytest.raises(ResourceError, match=message):
        parse_resource(uri)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ResourceError, match='folder has no images'):
        parse_resource(str(tmp_path))


def test_undecodable_files_fail_at_open(tmp_path):
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not a jpeg')
    with pytest.raises(ResourceError, match='cannot read or decode image'):
        open_source(parse_resource(str(broken)))
    not_video = tmp_path / 'notes.txt'
    not_video.write_text('hello')
    with pytest.raises(ResourceError, match='cannot open video'):
        open_source(parse_resource(str(not_video)))


def test_loop_counts(tmp_path):
    resource = parse_resource(str(_write_images(tmp_path / 'shots')))
    assert len(list(play(resource, loop=0))) == 3
    assert len(list(play(resource, loop=2))) == 9
    forever = [frame[0, 0, 0] for frame in islice(play(resource, loop=-1), 10)]
    assert forever == [0, 40, 80] * 3 + [0]


def test_staged_photos_are_held_with_an_empty_floor_between(tmp_path):
    resource = parse_resource(str(_write_images(tmp_path / 'shots', count=2, size=(30, 40))))
    frames = list(open_source(resource, staging=Staging(item_frames=3, gap_frames=2)))
    floor = empty_floor(30, 40)
    kinds = ['floor' if np.array_equal(f, floor) else f'photo {f[0, 0, 0]}' for f in frames]
    assert kinds == ['floor'] * 2 + ['photo 0'] * 3 + ['floor'] * 2 + ['photo 40'] * 3 + \
        ['floor'] * 2
    assert len(list(play(resource, loop=1, staging=Staging(2, 1)))) == 2 * (2 * 3 + 1)
    with pytest.raises(ResourceError, match='item_frames must be at least 1'):
        open_source(resource, staging=Staging(item_frames=0))
    video = parse_resource(str(_write_video(tmp_path / 'clip.avi', count=5)))
    assert len(list(open_source(video, staging=Staging(4, 2)))) == 5  # plays as it comes


def test_the_empty_floor_looks_the_same_at_every_size_and_unlike_a_photo():
    # A presence gate taught on the floor of one photo size sees the zone empty at another.
    gate = PresenceGate()
    small, large = (thumbnail(Frame(empty_floor(h, w), 'bgr8')) for h, w in ((384, 512),
                                                                               (524, 524)))
    assert changed_share(small, large, gate.cell_change) == 0.0
    for sample in ('glass_1.jpg', 'organic_1.jpg'):  # posterboard, concrete
        photo = thumbnail(Frame(cv2.imread(str(SAMPLES / sample)), 'bgr8'))
        assert gate.holds_item(changed_share(photo, small, gate.cell_change)), sample
    assert empty_floor(24, 32).shape == (24, 32, 3) and empty_floor(24, 32).std() > 1


def test_loop_parameter_values():
    assert [loop_count(v) for v in (False, True, 0, 3, -1)] == [0, -1, 0, 3, -1]
    with pytest.raises(ResourceError, match='loop must be'):
        loop_count(-2)
    with pytest.raises(ResourceError, match='loop must be'):
        loop_count('twice')


def test_video_frames_and_resize(tmp_path):
    resource = parse_resource(str(_write_video(tmp_path / 'clip.avi', count=5)))
    frames = list(play(resource, width=32, height=24))
    assert len(frames) == 5
    assert {frame.shape for frame in frames} == {(24, 32, 3)}
    assert len(list(play(resource, loop=1))) == 10


def test_a_recording_is_read_through_the_reader_it_is_given(tmp_path):
    day = tmp_path / 'day.mcap'
    day.write_bytes(b'')
    resource = parse_resource(str(day))
    assert resource.kind == 'recording'
    with pytest.raises(ResourceError, match='recordings cannot be played here'):
        open_source(resource)
    read = []

    def messages(path, topic):
        read.append((path, topic))
        return iter(['first', 'second'])

    recordings = RecordingReader(lambda path: ('/camera', 2, 0.5), messages, (KeyError,))
    assert list(open_source(resource, loop=1, recordings=recordings)) == ['first', 'second'] * 2
    assert read == [(day, '/camera')] * 2
    assert natural_rate(resource, recordings) == 2.0

    def unreadable(path):
        raise KeyError(f'{path}: not a recording')

    with pytest.raises(ResourceError, match='day.mcap: not a recording'):
        open_source(resource, recordings=RecordingReader(unreadable, messages, (KeyError,)))


def test_image_message_fields():
    frame = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    msg = to_image_msg(frame, Image().header.stamp, 'bin_camera')
    assert (msg.height, msg.width, msg.step, msg.encoding) == (2, 3, 9, 'bgr8')
    assert msg.header.frame_id == 'bin_camera'
    assert bytes(msg.data) == frame.tobytes()


@pytest.mark.ros
def test_node_plays_a_folder_reliably_and_exits_0(probe):
    received = []
    probe.node.create_subscription(
        Image, '/media_test/image', received.append,
        QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    node = NodeProcess(MODULE, params={
        'resource': str(SAMPLES), 'rate': 50.0, 'frame_id': 'bin_camera', 'reliable': True,
        'wait_for_subscribers': 1}, remaps={'image': '/media_test/image'})
    with node:
        node.wait_for_output('waiting for 1 subscriber')
        files = sorted(SAMPLES.glob('*.jpg'))
        probe.wait_for_messages(received, len(files), timeout=20, what='sample frames')
        assert node.wait_exit(timeout=15) == 0, node.output
    assert f'end of input after {len(files)} frames' in node.output
    for path, msg in zip(files, received, strict=True):
        expected = cv2.imread(str(path))
        assert (msg.header.frame_id, msg.encoding) == ('bin_camera', 'bgr8')
        assert (msg.height, msg.width, msg.step) == (*expected.shape[:2], expected.shape[1] * 3)
        assert bytes(msg.data) == expected.tobytes(), path.name
    stamps = [(m.header.stamp.sec, m.header.stamp.nanosec) for m in received]
    assert stamps == sorted(set(stamps)), 'stamps must be distinct and increasing'


@pytest.mark.ros
def test_node_with_missing_resource_fails_clearly():
    with NodeProcess(MODULE, params={'resource': '/no/such/folder'}) as node:
        assert node.wait_exit(timeout=15) == 1
    assert '/no/such/folder: no such file or folder' in node.output


@pytest.mark.ros
def test_looping_node_runs_until_interrupted(probe):
    received = probe.collect(Image, '/media_loop/image', qos=qos_profile_sensor_data)
    node = NodeProcess(MODULE, params={'resource': str(SAMPLES / 'glass_1.jpg'), 'rate': 20.0,
                                       'loop': True},
                       remaps={'image': '/media_loop/image'})
    with node:
        probe.wait_for_messages(received, 3, timeout=20, what='repeated frames of one image')
        assert node.stop(signal.SIGINT) == 0, node.output
