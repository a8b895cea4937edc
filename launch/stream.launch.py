# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The Jetson pipeline: camera -> waste classifier -> annotated video stream.

Needs ros_deep_learning (the `video_source` and `video_output` nodes of jetson-inference's ROS
container, docs/jetson.md), which this package's environment does not install. video_source
reads the camera (CSI, V4L2, RTSP, files, ...) and publishes /video_source/raw; the classifier
(classifier.launch.py) classifies it; video_output encodes the classifier's overlay and sends
it out (RTP by default):

    ros2 launch waste_classifier_ros stream.launch.py output:=rtp://<your PC's IP>:1234
    ros2 launch waste_classifier_ros stream.launch.py input:=/dev/video0 backend:=onnxruntime

The second line is for a machine with ros_deep_learning whose model runs on ONNX Runtime. The
default output address is the host PC of a Jetson in USB device mode. Where ros_deep_learning is
not installed this file stops before starting anything, with one line (MISSING) naming the
launch files that run without it: demo.launch.py plays a camera, video or folder through this
package's media source (`input:=/dev/video0 rate:=0.0`), classifier.launch.py runs on any
camera driver's topic.
"""

from ament_index_python.packages import PackageNotFoundError, get_package_prefix
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

# name -> (default, description, parameter type) of video_source / video_output arguments.
VIDEO_SOURCE_ARGS = {
    'input': ('csi://0', 'camera or stream URI: csi://0, /dev/video0, rtsp://..., file.mp4', str),
    'input_width': ('0', 'capture width in pixels (0 = the camera default)', int),
    'input_height': ('0', 'capture height in pixels (0 = the camera default)', int),
    'input_codec': ('unknown', 'codec of a compressed input: h264, h265, mjpeg, ...', str),
    'input_flip': ('', 'flip/rotate the input: none, rotate-180, horizontal, vertical, ...', str),
    'input_latency': ('2000', 'jitter buffer of network inputs in milliseconds', int),
}
VIDEO_OUTPUT_ARGS = {
    'output': ('rtp://192.168.55.100:1234',
               'where the overlay goes: rtp://<viewer IP>:<port>, display://0, file.mp4', str),
    'output_codec': ('h264', 'codec of the output stream: h264, h265, vp8, vp9, mjpeg', str),
    'output_bitrate': ('4000000', 'output bitrate in bits per second', int),
}


def _video_node(executable, args, **kwargs):
    prefix = 'input_' if executable == 'video_source' else 'output_'
    return Node(
        package='ros_deep_learning', executable=executable, output='screen',
        parameters=[{
            name.removeprefix(prefix) if name.startswith(prefix) else 'resource':
            ParameterValue(LaunchConfiguration(name), value_type=value_type)
            for name, (_, _, value_type) in args.items()}],
        **kwargs)


MISSING = ('stream.launch.py needs ros_deep_learning (video_source, video_output; see '
           "docs/jetson.md), which is not installed here; without it: 'ros2 launch "
           "waste_classifier_ros demo.launch.py input:=/dev/video0 rate:=0.0' (this package's "
           "media source) or 'classifier.launch.py image_topic:=<your camera topic>'")


def require_ros_deep_learning():
    """Raise RuntimeError(MISSING) where ros_deep_learning is not installed."""
    try:
        get_package_prefix('ros_deep_learning')
    except PackageNotFoundError:
        # Else launch fails later, naming only the package it could not find.
        raise RuntimeError(MISSING) from None


def generate_launch_description():
    require_ros_deep_learning()
    classifier_launch = PathJoinSubstitution(
        [FindPackageShare('waste_classifier_ros'), 'launch', 'classifier.launch.py'])
    overlay = PathJoinSubstitution(
        ['/', LaunchConfiguration('namespace'), 'waste_classifier', 'overlay'])
    return LaunchDescription([
        *[DeclareLaunchArgument(name, default_value=default, description=description)
          for name, (default, description, _) in {**VIDEO_SOURCE_ARGS,
                                                  **VIDEO_OUTPUT_ARGS}.items()],
        DeclareLaunchArgument(
            'image_topic', default_value='/video_source/raw',
            description='camera topic the classifier reads (video_source publishes raw)'),
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='namespace of the classifier (its topics are <ns>/waste_classifier/...)'),
        _video_node('video_source', VIDEO_SOURCE_ARGS),
        # model, labels, backend, bins_file and params_file are declared (and described) by
        # classifier.launch.py; given on this command line they reach it unchanged.
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(classifier_launch),
            launch_arguments={'image_topic': LaunchConfiguration('image_topic'),
                              'namespace': LaunchConfiguration('namespace')}.items()),
        _video_node('video_output', VIDEO_OUTPUT_ARGS,
                    remappings=[('/video_output/image_in', overlay)]),
    ])
