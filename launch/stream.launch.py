# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The Jetson pipeline: camera -> waste classifier -> annotated video stream.

ros_deep_learning's video_source reads the camera (CSI, V4L2, RTSP, files, ...) and publishes
/video_source/raw; the classifier (classifier.launch.py) classifies it; ros_deep_learning's
video_output encodes the classifier's overlay and sends it out (RTP by default):

    ros2 launch waste_classifier_ros stream.launch.py output:=rtp://<your PC's IP>:1234
    ros2 launch waste_classifier_ros stream.launch.py input:=/dev/video0 backend:=onnxruntime

The default output address is the host PC of a Jetson in USB device mode.
"""

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


def generate_launch_description():
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
