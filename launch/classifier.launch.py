# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The waste classifier alone, on any image topic.

For a camera driver of your own (usb_cam, v4l2_camera, a RealSense, a bag being played):

    ros2 launch waste_classifier_ros classifier.launch.py image_topic:=/camera/image_raw
    ros2 launch waste_classifier_ros classifier.launch.py image_topic:=/image_raw view:=true
    ros2 launch waste_classifier_ros classifier.launch.py web:=true   # page on 127.0.0.1:8080

Model, labels, backend and bins file left empty keep the params file's values (by default the
shipped model and config/bins.yaml). stream.launch.py and demo.launch.py include this file.
"""

from ament_index_python.packages import PackageNotFoundError, get_package_prefix
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

# Launch arguments that override the params file only when given (an empty value keeps it).
OVERRIDES = {
    'model': 'ONNX model path (empty: the params file, by default the shipped model)',
    'labels': 'labels.txt path (empty: the file beside the model)',
    'model_card': 'model_card.json path (empty: the file beside the model, checked when present)',
    'backend': 'auto | jetson | onnxruntime (empty: the params file, by default auto)',
    'bins_file': 'class -> bin map YAML (empty: the params file, by default config/bins.yaml)',
}


def _classifier(context):
    overrides = {name: LaunchConfiguration(name).perform(context) for name in OVERRIDES}
    return [Node(
        package='waste_classifier_ros',
        executable='classifier_node',
        name='waste_classifier',
        namespace=LaunchConfiguration('namespace'),
        output='screen',
        parameters=[LaunchConfiguration('params_file'),
                    {name: value for name, value in overrides.items() if value}],
        remappings=[('image', LaunchConfiguration('image_topic'))],
    )]


def _viewer(context):
    if LaunchConfiguration('view').perform(context) != 'true':
        return []
    try:
        get_package_prefix('rqt_image_view')
    except PackageNotFoundError:
        return [LogInfo(msg='view:=true ignored: rqt_image_view is not installed')]
    namespace = LaunchConfiguration('namespace').perform(context).strip('/')
    overlay = '/'.join(part for part in ('', namespace, 'waste_classifier', 'overlay') if part)
    return [Node(package='rqt_image_view', executable='rqt_image_view',
                 arguments=['/' + overlay])]


# The station web page (web:=true): station_web on this classifier's topics, on 127.0.0.1.
WEB = {
    'web_port': ('8080', 'port of the station web page (web:=true), on 127.0.0.1'),
    'web_inbox': ('', "capture inbox the page reviews ('' = review off)"),
    'web_dataset': ('', "dataset the page's review moves captures into ('' = review off)"),
}


def _web(context):
    if LaunchConfiguration('web').perform(context) != 'true':
        return []
    namespace = LaunchConfiguration('namespace').perform(context).strip('/')
    classifier = '/'.join(part for part in ('', namespace, 'waste_classifier') if part)
    values = {name: LaunchConfiguration(name).perform(context) for name in WEB}
    bins_file = LaunchConfiguration('bins_file').perform(context)
    return [Node(
        package='waste_classifier_ros', executable='station_web', name='station_web',
        namespace=LaunchConfiguration('namespace'), output='screen',
        parameters=[{'classifier': '/' + classifier, 'port': int(values['web_port']),
                     'inbox': values['web_inbox'], 'dataset': values['web_dataset'],
                     **({'bins_file': bins_file} if bins_file else {})}],
    )]


def generate_launch_description():
    default_params = PathJoinSubstitution(
        [FindPackageShare('waste_classifier_ros'), 'config', 'classifier.yaml'])
    return LaunchDescription([
        DeclareLaunchArgument(
            'image_topic', default_value='/image',
            description='sensor_msgs/Image topic to classify'),
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='namespace of the classifier (its topics are <ns>/waste_classifier/...)'),
        DeclareLaunchArgument(
            'params_file', default_value=default_params,
            description='classifier parameters YAML (the /**: key applies in any namespace)'),
        *[DeclareLaunchArgument(name, default_value='', description=description)
          for name, description in OVERRIDES.items()],
        DeclareLaunchArgument(
            'view', default_value='false', choices=['true', 'false'],
            description='also start rqt_image_view on the annotated overlay'),
        DeclareLaunchArgument(
            'web', default_value='false', choices=['true', 'false'],
            description='also start the station web page (live view, bin, health, review)'),
        *[DeclareLaunchArgument(name, default_value=default, description=description)
          for name, (default, description) in WEB.items()],
        OpaqueFunction(function=_classifier),
        OpaqueFunction(function=_viewer),
        OpaqueFunction(function=_web),
    ])
