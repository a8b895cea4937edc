# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Package hygiene: licence headers, package.xml, and a real colcon build of the package."""

import os
from pathlib import Path
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import link_install
import pytest

ROOT = Path(__file__).resolve().parent.parent
HEADER = ('# Copyright 2026 The waste_classifier_ros Authors',
          '# SPDX-License-Identifier: Apache-2.0')
SKIPPED_DIRS = {'.venv', '.git', 'build', 'install', 'log', 'outputs', 'multirun', 'runs',
                'demo_output', 'bench_output', '__pycache__'}


def _source_files():
    for path in ROOT.rglob('*'):
        relative = path.relative_to(ROOT)
        if SKIPPED_DIRS.intersection(relative.parts) or not path.is_file():
            continue
        if path.suffix in ('.py', '.sh') or relative.as_posix() in ('Makefile', '.ci/run'):
            yield relative


def test_every_source_file_carries_the_licence_header():
    missing = [str(path) for path in _source_files()
               if not all(line in (ROOT / path).read_text().splitlines()[:6] for line in HEADER)]
    assert not missing, f'files without the Apache-2.0 header lines {HEADER}: {missing}'


def test_package_xml_declares_the_runtime_dependencies():
    package = ElementTree.parse(ROOT / 'package.xml').getroot()
    assert package.get('format') == '3'
    assert package.findtext('name') == 'waste_classifier_ros'
    exec_depends = {element.text for element in package.iter('exec_depend')}
    assert {'rclpy', 'rcl_interfaces', 'sensor_msgs', 'std_msgs', 'vision_msgs',
            'diagnostic_msgs', 'python3-numpy', 'python3-opencv', 'python3-yaml'} <= exec_depends
    assert package.find('export/build_type').text == 'ament_python'


@pytest.mark.skipif(shutil.which('colcon') is None, reason='colcon is not installed')
def test_colcon_build_installs_runnable_console_scripts(tmp_path):
    build = subprocess.run(
        ['colcon', '--log-base', str(tmp_path / 'log'), 'build', '--base-paths', str(ROOT),
         '--build-base', str(tmp_path / 'build'), '--install-base', str(tmp_path / 'install'),
         '--packages-select', 'waste_classifier_ros'],
        cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert build.returncode == 0, build.stdout + build.stderr
    install = tmp_path / 'install' / 'waste_classifier_ros'
    share = install / 'share' / 'waste_classifier_ros'
    for name in ('package.xml', 'config/bins.yaml', 'config/classifier.yaml',
                 'launch/stream.launch.py', 'model/waste_classifier.onnx', 'model/labels.txt'):
        assert (share / name).is_file(), f'{name} is not installed into {share}'
    scripts = install / 'lib' / 'waste_classifier_ros'
    arguments = link_install.setup_arguments(ROOT)
    assert sorted(os.listdir(scripts)) == sorted(link_install.console_scripts(arguments))
    # make env (devenv/link_install.py) lays out the same files as this colcon build.
    planned = link_install.plan(ROOT, arguments['data_files'])
    colcon_adds_files_here = Path('share/waste_classifier_ros')  # package.dsv, hooks
    for directory in {relative.parent for relative in planned} - {colcon_adds_files_here}:
        files = [p.name for p in (install / directory).iterdir() if not p.is_dir()]
        assert sorted(files) == sorted(
            relative.name for relative in planned if relative.parent == directory), directory
    assert all((install / relative).is_file() for relative in planned)
    site = next((install / 'lib').glob('python3*/site-packages'))
    environ = dict(os.environ, PYTHONPATH=f'{site}{os.pathsep}{os.environ.get("PYTHONPATH", "")}',
                   AMENT_PREFIX_PATH=f'{install}{os.pathsep}{os.environ["AMENT_PREFIX_PATH"]}')
    run = subprocess.run([sys.executable, str(scripts / 'waste-classify'), '--help'],
                         env=environ, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'usage' in run.stdout.lower()
