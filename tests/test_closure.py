# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The package as a robot installs it: the ROS 2 wheels and only what setup.py declares.

A fresh virtual environment with the ROS 2 wheels and what setup.py declares for the core,
nothing of .venv.

`pip install --no-index` from the wheelhouse make env keeps (.venv/.wheelhouse: the wheels of
devenv/runtime_wheels.txt and of setup.py's install_requires) puts the ROS 2 runtime and the
package, built from a copy of its sources, into a new environment; vision_msgs, which has no
wheel, is copied in as make env's rosidl build installed it. Then that environment's console
scripts run the classifier and the media source over DDS on the sample photos, with recording
switched on but mcap absent, and the station page and an MCAP playback without their library.
"""

import os
from pathlib import Path
import shutil
import subprocess
import sys
import time

import link_install
import pytest
from ros_harness import NodeProcess
from vision_msgs.msg import Classification

from waste_classifier_ros.core.extras import EXTRAS

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / '.venv'
WHEELHOUSE = VENV / '.wheelhouse'
VISION_MSGS_MANIFEST = VENV / '.build' / 'vision_msgs' / 'install_manifest.txt'
# What the Dockerfiles copy: the package's sources and share/ files.
SOURCES = ('setup.py', 'setup.cfg', 'package.xml', 'resource', 'waste_classifier_ros', 'launch',
           'config', 'model', 'samples')
CLASSES = {'cardboard', 'glass', 'metal', 'organic', 'paper', 'plastic', 'trash'}


def robot_environ(prefix: Path) -> dict:
    """Return this run's local ROS settings with nothing that points into .venv."""
    # The ROS wheels' bootstrapper restarts Python with LD_LIBRARY_PATH set to their libraries
    # and marks that in the environment: .venv's marker and path must not be inherited.
    environ = {key: value for key, value in os.environ.items()
               if key not in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME', 'LD_LIBRARY_PATH',
                              'CMAKE_PREFIX_PATH', 'PIP_FIND_LINKS')
               and not key.startswith('_ROS_WHEELS')}
    environ.update(PATH=f'{prefix / "bin"}:/usr/bin:/bin', AMENT_PREFIX_PATH=str(prefix),
                   FASTDDS_DEFAULT_PROFILES_FILE=str(
                       prefix / 'share/waste_classifier_ros/config/fastdds_shm.xml'),
                   PIP_CONFIG_FILE=os.devnull)
    return environ


@pytest.fixture(scope='module')
def robot(tmp_path_factory):
    """Make the fresh environment; return its prefix."""
    if not WHEELHOUSE.is_dir():
        pytest.fail(f'{WHEELHOUSE} is missing: run `make env`, which downloads it once')
    if not VISION_MSGS_MANIFEST.is_file():
        pytest.skip("vision_msgs came from the system, not from make env's build: there is "
                    'nothing to copy into a fresh environment')
    started = time.monotonic()
    work = tmp_path_factory.mktemp('closure')
    source, prefix = work / 'source', work / 'robot'
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name, **({'ignore': shutil.ignore_patterns(
            '__pycache__', '*.egg-info')} if (ROOT / name).is_dir() else {}))
    environ = robot_environ(prefix)
    subprocess.run([sys.executable, '-m', 'venv', str(prefix)], check=True, timeout=120)
    install = subprocess.run(
        [str(prefix / 'bin/python'), '-m', 'pip', 'install', '--no-index', '--find-links',
         str(WHEELHOUSE), '--progress-bar', 'off', '-r', str(ROOT / 'devenv/runtime_wheels.txt'),
         str(source)], env=environ, capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    for line in VISION_MSGS_MANIFEST.read_text().splitlines():
        relative = Path(line).relative_to(VENV)
        (prefix / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(line, prefix / relative)
    print(f'fresh environment made in {time.monotonic() - started:.1f} s')
    return prefix


def test_setup_py_declares_each_optional_library_as_an_extra():
    arguments = link_install.setup_arguments(ROOT)
    for name, extra in EXTRAS.items():
        if extra.extra:
            assert extra.pip in arguments['extras_require'][extra.extra], name
            assert extra.pip not in arguments['install_requires'], name
    assert 'onnxruntime' in arguments['install_requires']


def test_the_fresh_environment_has_the_core_and_nothing_else(robot):
    code = ('import importlib.util, waste_classifier_ros.nodes.classifier_node as node\n'
            'print(node.__file__)\n'
            "print([m for m in ('mcap', 'aiohttp', 'torch', 'timm', 'albumentations', 'training',"
            " 'pytest') if importlib.util.find_spec(m)])\n")
    run = subprocess.run([str(robot / 'bin/python'), '-c', code], env=robot_environ(robot),
                         capture_output=True, text=True, timeout=60, cwd=robot)
    assert run.returncode == 0, run.stderr
    where, present = run.stdout.splitlines()[-2:]
    assert where.startswith(str(robot)), where
    assert present == '[]', f'the core environment has {present}'


def test_the_core_classifies_the_samples_and_says_once_why_it_does_not_record(
        robot, probe, tmp_path):
    environ = robot_environ(robot)
    recording = tmp_path / 'day.mcap'
    classifier = NodeProcess.program(
        [robot / 'bin/classifier_node', '--ros-args', '-p', 'smoothing_window:=1',
         '-p', 'frames_to_confirm:=1', '-p', 'reliable:=true', '-p', f'record_path:={recording}'],
        env=environ)
    media = NodeProcess.program(
        [robot / 'bin/media_source', '--ros-args', '-p',
         f'resource:={robot}/share/waste_classifier_ros/samples', '-p', 'rate:=5.0',
         '-p', 'loop:=true', '-p', 'reliable:=true', '-p', 'wait_for_subscribers:=1'],
        env=environ)
    received = probe.collect(Classification, '/waste_classifier/classification')
    with classifier, media:
        line = classifier.wait_for_output('not recording', timeout=30)
        assert 'mcap' in line and '`pip install mcap`' in line, line
        classifier.wait_for_output('ready:', timeout=30)
        probe.wait_for_messages(received, count=21, timeout=40,
                                what='classifications of the sample photos')
        assert classifier.process.poll() is None
        output = classifier.output
    assert sum('mcap' in line for line in output.splitlines()) == 1, output
    assert not recording.exists()
    predicted = {msg.results[0].class_id for msg in received}
    # The shipped model on 21 photos of the seven classes: a pipeline that classifies.
    assert predicted <= CLASSES and len(predicted) >= 6, predicted


@pytest.mark.parametrize('command, library', [
    (['station_web', '--ros-args', '-p', 'port:=0'], 'aiohttp'),
    (['media_source', '--ros-args', '-p', 'resource:={tmp}/day.mcap'], 'mcap'),
])
def test_a_feature_without_its_library_is_one_clear_line(robot, tmp_path, command, library):
    (tmp_path / 'day.mcap').write_bytes(b'')
    command = [str(robot / 'bin' / command[0])] + [
        part.format(tmp=tmp_path) for part in command[1:]]
    run = subprocess.run(command, env=robot_environ(robot), capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1, run.stdout + run.stderr
    lines = [line for line in (run.stdout + run.stderr).splitlines() if library in line]
    assert len(lines) == 1 and f'`pip install {library}`' in lines[0], run.stdout + run.stderr
