# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The offline demo as a launch file: this package's media source -> the waste classifier.

For machines without ros_deep_learning. Plays the shipped sample photos (or any image, folder,
video file or /dev/videoN) through the classifier; `view:=true` shows the overlay:

    ros2 launch waste_classifier_ros demo.launch.py view:=true
    ros2 launch waste_classifier_ros demo.launch.py input:=/dev/video0 rate:=0.0

Photos are played as items in a drop zone, under the camera's smoothing: each lies in the zone
for `item_frames` frames with `gap_frames` frames of an empty floor before it, so each gets its
own decision on ~/bin and `empty` between them (the model's `empty` class, or the empty zone
taught with `ros2 service call /waste_classifier/learn_empty std_srvs/srv/Trigger` while the
floor shows). A video or camera plays as it comes.

`make demo` runs the same two nodes with the same params files, without ros2 launch.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('waste_classifier_ros')
    return LaunchDescription([
        DeclareLaunchArgument(
            'input', default_value=PathJoinSubstitution([share, 'samples']),
            description='image file, folder of images, video file or /dev/videoN to play'),
        DeclareLaunchArgument(
            'rate', default_value='5.0',
            description="frames per second (0 = a video's own rate or the camera rate)"),
        DeclareLaunchArgument(
            'item_frames', default_value='8',
            description='still images: frames each photo lies in the zone'),
        DeclareLaunchArgument(
            'gap_frames', default_value='4',
            description='still images: frames of an empty floor before each photo (0 = none)'),
        DeclareLaunchArgument(
            'loop', default_value='true', choices=['true', 'false'],
            description='play file inputs again and again'),
        DeclareLaunchArgument(
            'image_topic', default_value='/image',
            description='topic the media source publishes on and the classifier reads'),
        DeclareLaunchArgument(
            'source_params_file',
            default_value=PathJoinSubstitution([share, 'config', 'media_source.yaml']),
            description='media source parameters YAML'),
        Node(
            package='waste_classifier_ros',
            executable='media_source',
            name='media_source',
            output='screen',
            parameters=[LaunchConfiguration('source_params_file'), {
                'resource': ParameterValue(LaunchConfiguration('input'), value_type=str),
                'rate': ParameterValue(LaunchConfiguration('rate'), value_type=float),
                'item_frames': ParameterValue(LaunchConfiguration('item_frames'), value_type=int),
                'gap_frames': ParameterValue(LaunchConfiguration('gap_frames'), value_type=int),
                'loop': ParameterValue(LaunchConfiguration('loop'), value_type=bool),
            }],
            remappings=[('image', LaunchConfiguration('image_topic'))],
        ),
        # image_topic, view, params_file, model, backend, ... are declared (and described) by
        # classifier.launch.py; given on this command line they reach it unchanged.
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(
                PathJoinSubstitution([share, 'launch', 'classifier.launch.py']))),
    ])
