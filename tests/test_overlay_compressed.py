# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""~/overlay/compressed over real DDS: JPEG only while someone subscribes, and it decodes.

This is what rqt_image_view, rviz and Foxglove show as the `compressed` transport of ~/overlay
(sensor_msgs/CompressedImage, format "jpeg"). The classifier runs as its own process with the
tiny test network; the test publishes camera frames and decodes what comes back with OpenCV.
"""

import cv2
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import pytest
from ros_harness import NodeProcess
from sensor_msgs.msg import CompressedImage, Image
from tiny_model import COLOURS, solid

from waste_classifier_ros.core import image_codec

pytestmark = pytest.mark.ros

STATUS_NAME = 'waste_classifier: classifier'


@pytest.fixture(scope='module')
def classifier(model):
    with NodeProcess('waste_classifier_ros.nodes.classifier_node', params={
            'model': str(model), 'diagnostics_period': 0.1, 'overlay_jpeg_quality': 90,
            'num_threads': 1}) as node:
        node.wait_for_output('ready:', timeout=60)
        yield node


def test_the_overlay_comes_as_jpeg_only_while_someone_subscribes(classifier, probe):
    camera = probe.node.create_publisher(Image, '/image', 10)
    statuses = probe.collect(DiagnosticArray, '/diagnostics')
    probe.wait_for_subscribers(camera)

    def values():
        mine = [s for a in statuses for s in a.status if s.name == STATUS_NAME]
        return {kv.key: kv.value for kv in mine[-1].values} if mine else {}

    def send(stamp):
        step, data = image_codec.encode(solid(COLOURS['organic'], 96, 128), 'rgb8')
        msg = Image(encoding='rgb8', height=96, width=128, step=step, data=data)
        msg.header.stamp.sec, msg.header.frame_id = stamp, 'overlay_cam'
        camera.publish(msg)

    def processed():
        return int(values().get('frames_processed', 0))

    # The publisher sees the match before the node's subscription may: under load a single
    # first frame can be lost to discovery, so a frame goes out each round until one is in.
    stamps = iter(range(1, 1000))

    def classified():
        if processed() >= 1:
            return True
        send(next(stamps))
        return False
    probe.wait_for(classified, 30, 'a frame classified')
    assert values()['frames_overlaid'] == '0'  # nobody listens: nothing drawn, nothing encoded

    received = probe.collect(CompressedImage, '/waste_classifier/overlay/compressed')
    for stamp in range(1000, 1060):  # the classifier learns of the subscriber asynchronously
        send(stamp)
        before = processed()
        probe.wait_for(lambda: processed() > before or received, 15, f'frame {stamp} handled')
        if received:
            break
    probe.wait_for_messages(received, 1, timeout=10, what='compressed overlays')
    overlay = received[-1]
    assert overlay.format == 'jpeg' and overlay.header.frame_id == 'overlay_cam'
    bgr = cv2.imdecode(np.frombuffer(bytes(overlay.data), np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None and bgr.shape == (96, 128, 3)
    rgb = bgr[..., ::-1].astype(int)
    assert np.abs(rgb[-10:, -10:] - COLOURS['organic']).max() < 16  # the frame itself
    assert (rgb[:20, :40] != rgb[-1, -1]).any(), 'the overlay text is drawn in the top-left'
