# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The launch files, checked without ros2 launch, and run for real where ros2 launch exists.

`launch` and `launch_ros` do not install in this venv, so each launch file is loaded against a
stand-in of the few classes it uses: every stand-in object only records its arguments. Calling
generate_launch_description() then gives a tree of records that the tests walk, resolving
LaunchConfiguration to the declared defaults and FindPackageShare('waste_classifier_ros') to the
source tree (setup.py installs launch/, config/, model/ and samples/ into share/ unchanged).
What they check: every argument is described; every executable is a console script of setup.py
or a known node of ros_deep_learning / rqt_image_view; every params file parses and names only
parameters the node declares; every default path exists; the topics join up.
"""

import ast
from importlib import util
import os
from pathlib import Path
import shutil
import signal
import sys
import types

from ament_index_python import packages
import link_install
import pytest
import yaml

from waste_classifier_ros.nodes import classifier_parameters

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = 'waste_classifier_ros'
LAUNCH_FILES = sorted((ROOT / 'launch').glob('*.launch.py'))
INSTALLED_HERE = packages.get_package_prefix
# Parameters the external nodes declare (ros_deep_learning src/node_video_*.cpp).
EXTERNAL_NODES = {
    ('ros_deep_learning', 'video_source'): {'resource', 'codec', 'width', 'height', 'framerate',
                                            'loop', 'flip', 'latency'},
    ('ros_deep_learning', 'video_output'): {'resource', 'codec', 'bitrate'},
    ('rqt_image_view', 'rqt_image_view'): set(),
}
STAND_IN_NAMES = {
    'launch': ['LaunchDescription'],
    'launch.actions': ['DeclareLaunchArgument', 'IncludeLaunchDescription', 'LogInfo',
                       'OpaqueFunction'],
    'launch.conditions': ['IfCondition'],
    'launch.launch_description_sources': ['PythonLaunchDescriptionSource'],
    'launch.substitutions': ['LaunchConfiguration', 'PathJoinSubstitution'],
    'launch_ros.actions': ['Node'],
    'launch_ros.parameter_descriptions': ['ParameterValue'],
    'launch_ros.substitutions': ['FindPackageShare'],
}


class Record:
    """Stand-in for a launch class: remembers how it was constructed, nothing else."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def perform(self, context):
        return resolve(self, context.configurations)


def _stand_in_modules():
    modules = {}
    for module_name, class_names in STAND_IN_NAMES.items():
        module = types.ModuleType(module_name)
        for class_name in class_names:
            setattr(module, class_name, type(class_name, (Record,), {}))
        modules[module_name] = module
    return modules


@pytest.fixture
def stand_in_launch(monkeypatch):
    for name, module in _stand_in_modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    # ros_deep_learning as on a Jetson (stream.launch.py stops without it); others as here.
    monkeypatch.setattr(packages, 'get_package_prefix', installed('ros_deep_learning'))


def installed(*names):
    """Return a get_package_prefix that finds `names` besides what is installed here."""
    def get_package_prefix(name):
        return f'/opt/ros/{name}' if name in names else INSTALLED_HERE(name)
    return get_package_prefix


def kind(record) -> str:
    return type(record).__name__


def resolve(value, configurations):
    """Evaluate substitutions the way launch would, with the given launch configurations."""
    if isinstance(value, (list, tuple)) and not isinstance(value, Record):
        return [resolve(item, configurations) for item in value]
    if not isinstance(value, Record):
        return value
    if kind(value) == 'LaunchConfiguration':
        return configurations[value.args[0]]
    if kind(value) == 'PathJoinSubstitution':
        return os.path.join(*(resolve(part, configurations) for part in value.args[0]))
    if kind(value) == 'FindPackageShare':
        return str(ROOT) if value.args[0] == PACKAGE else f'/opt/ros/share/{value.args[0]}'
    if kind(value) == 'ParameterValue':
        return resolve(value.args[0], configurations)
    raise AssertionError(f'cannot resolve {kind(value)} in this test')


def load_description(path: Path):
    spec = util.spec_from_file_location(path.stem.replace('.', '_'), path)
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


class Launch:
    """A launch file expanded as ros2 launch would with default (or given) arguments."""

    def __init__(self, path: Path, arguments=None):
        self.arguments = []  # (file, DeclareLaunchArgument record), included files' too
        self.nodes = []  # (Node record, its launch configurations)
        self.includes = []
        self.messages = []  # what LogInfo actions would print
        self._expand(path, dict(arguments or {}))

    def _expand(self, path, given):
        configurations = dict(given)
        for action in load_description(path).args[0]:
            self._action(path, action, configurations)

    def _action(self, path, action, configurations):
        if kind(action) == 'DeclareLaunchArgument':
            self.arguments.append((path.name, action))
            name = action.args[0]
            configurations.setdefault(
                name, resolve(action.kwargs.get('default_value'), configurations))
        elif kind(action) == 'Node':
            self.nodes.append((action, dict(configurations)))
        elif kind(action) == 'OpaqueFunction':
            context = types.SimpleNamespace(configurations=configurations)
            for produced in action.kwargs['function'](context):
                self._action(path, produced, configurations)
        elif kind(action) == 'LogInfo':
            self.messages.append(action.kwargs['msg'])
        elif kind(action) == 'IncludeLaunchDescription':
            source = action.args[0]
            assert kind(source) == 'PythonLaunchDescriptionSource'
            included = Path(resolve(source.args[0], configurations))
            assert included.is_file(), f'included launch file {included} does not exist'
            self.includes.append(included)
            passed = {name: resolve(value, configurations)
                      for name, value in action.kwargs.get('launch_arguments', ())}
            # Like ros2 launch: the including file's configurations reach the included one.
            self._expand(included, {**configurations, **passed})
        else:
            raise AssertionError(f'this test does not know the launch action {kind(action)}')

    def node(self, executable):
        matches = [(node, conf) for node, conf in self.nodes
                   if node.kwargs['executable'] == executable]
        assert len(matches) == 1, f'expected one {executable} node, got {len(matches)}'
        return matches[0]


def declared_parameters(module) -> set:
    """Names a node of this package declares, read from its source without importing it.

    `module` is the dotted module of its console script. Three forms are recognised:
    declare_parameter('name', ...) with a literal name, the keys of a module-level dict literal
    named ...PARAMETERS that the node declares in a loop, and a ...PARAMETERS made from a
    `DECLARED` table of parameters (the classifier's, classifier_parameters.py).
    """
    path = ROOT / f'{module.replace(".", "/")}.py'
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and getattr(node.func, 'attr', '') == 'declare_parameter'
                and node.args and isinstance(node.args[0], ast.Constant)):
            names.add(node.args[0].value)
        elif isinstance(node, ast.Assign) and any(
                getattr(target, 'id', '').endswith('PARAMETERS') for target in node.targets):
            if isinstance(node.value, ast.Dict):
                names.update(key.value for key in node.value.keys
                             if isinstance(key, ast.Constant))
            elif 'DECLARED' in ast.unparse(node.value):
                names.update(p.name for p in classifier_parameters.DECLARED)
    assert names, f'found no declared parameters in {path}'
    return names


def node_parameters(node, configurations) -> dict:
    """Merge the node's params files ('/**' and its own name) and inline dicts, as ROS does."""
    merged = {}
    for entry in node.kwargs.get('parameters', []):
        if isinstance(entry, dict):
            merged.update({name: resolve(value, configurations) for name, value in entry.items()})
            continue
        path = Path(resolve(entry, configurations))
        assert path.is_file(), f'params file {path} does not exist'
        document = yaml.safe_load(path.read_text())
        assert isinstance(document, dict), f'{path} is not a parameters YAML'
        for key, section in document.items():
            assert key in ('/**', node.kwargs.get('name')), f'{path}: unexpected key {key}'
            merged.update(section['ros__parameters'])
    return merged


def test_there_are_three_launch_files():
    assert [path.name for path in LAUNCH_FILES] == [
        'classifier.launch.py', 'demo.launch.py', 'stream.launch.py']


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_every_argument_is_described(stand_in_launch, path):
    launch = Launch(path)
    names = [(where, argument.args[0]) for where, argument in launch.arguments]
    assert len(names) == len(set(names)), f'an argument is declared twice in a file: {names}'
    for _, argument in launch.arguments:
        description = argument.kwargs.get('description', '')
        assert len(description) > 10, f'{argument.args[0]} has no useful description'
        choices = argument.kwargs.get('choices')
        if choices:
            assert argument.kwargs['default_value'] in choices, argument.args[0]


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize('web', ['false', 'true'])
def test_nodes_exist_and_get_only_declared_parameters(stand_in_launch, path, web):
    scripts = link_install.console_scripts(link_install.setup_arguments(ROOT))
    for node, configurations in Launch(path, {'web': web}).nodes:
        package, executable = node.kwargs['package'], node.kwargs['executable']
        parameters = node_parameters(node, configurations)
        if package != PACKAGE:
            assert (package, executable) in EXTERNAL_NODES, f'unknown node {package}/{executable}'
            declared = EXTERNAL_NODES[package, executable]
        else:
            assert executable in scripts, f'{executable} is not a console script of setup.py'
            module, function = scripts[executable].split(':')
            assert (ROOT / f'{module.replace(".", "/")}.py').is_file(), f'{module} is missing'
            declared = declared_parameters(module)
        unknown = set(parameters) - declared
        assert not unknown, f'{executable} does not declare {sorted(unknown)}'


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_default_paths_exist(stand_in_launch, path):
    launch = Launch(path)
    configurations = {}
    for node, node_configurations in launch.nodes:
        configurations.update(node_configurations)
    for name, value in configurations.items():
        if isinstance(value, str) and value.startswith(str(ROOT)):
            assert Path(value).exists(), f'default of {name} ({value}) does not exist'


def test_setup_installs_what_the_launch_files_use():
    installed = dict(link_install.setup_arguments(ROOT)['data_files'])
    share = f'share/{PACKAGE}'
    assert sorted(installed[f'{share}/launch']) == [
        f'launch/{path.name}' for path in LAUNCH_FILES]
    for name in ('config/classifier.yaml', 'config/media_source.yaml', 'config/bins.yaml'):
        assert name in installed[f'{share}/config'], f'setup.py does not install {name}'
    assert sorted(installed[f'{share}/samples']) == sorted(
        f'samples/{path.name}' for path in (ROOT / 'samples').glob('*.jpg'))


def test_stream_wires_camera_classifier_and_video_output(stand_in_launch):
    launch = Launch(ROOT / 'launch' / 'stream.launch.py', {'namespace': 'kitchen'})
    source, source_conf = launch.node('video_source')
    assert node_parameters(source, source_conf) == {
        'resource': 'csi://0', 'width': '0', 'height': '0', 'codec': 'unknown', 'flip': '',
        'latency': '2000'}
    classifier, conf = launch.node('classifier_node')
    assert resolve(classifier.kwargs['remappings'], conf) == [['image', '/video_source/raw']]
    assert resolve(classifier.kwargs['namespace'], conf) == 'kitchen'
    output, output_conf = launch.node('video_output')
    assert resolve(output.kwargs['remappings'], output_conf) == [
        ['/video_output/image_in', '/kitchen/waste_classifier/overlay']]
    assert node_parameters(output, output_conf)['codec'] == 'h264'


def test_stream_without_ros_deep_learning_names_what_runs_instead(stand_in_launch,
                                                                  monkeypatch):
    monkeypatch.setattr(packages, 'get_package_prefix', INSTALLED_HERE)
    with pytest.raises(RuntimeError) as stopped:
        Launch(ROOT / 'launch' / 'stream.launch.py')
    message = str(stopped.value)
    assert '\n' not in message
    assert 'needs ros_deep_learning' in message and 'not installed here' in message
    # The launch file it names runs here: its media source plays the camera instead.
    instead = message.partition('demo.launch.py ')[2].split("'")[0].split()
    assert instead == ['input:=/dev/video0', 'rate:=0.0'], message
    arguments = dict(argument.split(':=') for argument in instead)
    source, conf = Launch(ROOT / 'launch' / 'demo.launch.py', arguments).node('media_source')
    assert node_parameters(source, conf)['resource'] == '/dev/video0'


@pytest.mark.ros
@pytest.mark.skipif(shutil.which('ros2') is None, reason='ros2 launch is not installed here')
def test_stream_launch_for_real_without_ros_deep_learning_says_so():
    from ros_harness import NodeProcess

    try:
        INSTALLED_HERE('ros_deep_learning')
        pytest.skip('ros_deep_learning is installed here')
    except packages.PackageNotFoundError:
        pass
    launch = NodeProcess.program([shutil.which('ros2'), 'launch', PACKAGE, 'stream.launch.py'])
    with launch:
        code = launch.wait_exit(timeout=60)
    assert code != 0 and 'demo.launch.py input:=/dev/video0' in launch.output, launch.output
    assert 'process started' not in launch.output, launch.output


def test_classifier_arguments_override_the_params_file_only_when_given(stand_in_launch):
    path = ROOT / 'launch' / 'classifier.launch.py'
    classifier, conf = Launch(path).node('classifier_node')
    assert classifier.kwargs['name'] == 'waste_classifier'
    assert node_parameters(classifier, conf) == yaml.safe_load(
        (ROOT / 'config' / 'classifier.yaml').read_text())['/**']['ros__parameters']
    launch = Launch(path, {'model': '/models/mine.onnx', 'image_topic': '/camera/image_raw'})
    classifier, conf = launch.node('classifier_node')
    assert node_parameters(classifier, conf)['model'] == '/models/mine.onnx'
    assert resolve(classifier.kwargs['remappings'], conf) == [['image', '/camera/image_raw']]


def test_classifier_view_starts_rqt_image_view_on_the_overlay(stand_in_launch, monkeypatch):
    monkeypatch.setattr(packages, 'get_package_prefix', installed('rqt_image_view'))
    path = ROOT / 'launch' / 'classifier.launch.py'
    viewer, _ = Launch(path, {'view': 'true', 'namespace': 'bin1'}).node('rqt_image_view')
    assert viewer.kwargs['arguments'] == ['/bin1/waste_classifier/overlay']
    assert not [node for node, _ in Launch(path).nodes
                if node.kwargs['package'] == 'rqt_image_view'], 'viewer started without view:=true'


def test_view_without_rqt_image_view_installed_starts_the_classifier_anyway(stand_in_launch):
    # A missing viewer must not fail the launch after the classifier started (orphaning it).
    launch = Launch(ROOT / 'launch' / 'classifier.launch.py', {'view': 'true'})
    assert [node.kwargs['package'] for node, _ in launch.nodes] == ['waste_classifier_ros']
    assert launch.messages == ['view:=true ignored: rqt_image_view is not installed']


def test_web_starts_the_station_page_on_the_classifier(stand_in_launch):
    path = ROOT / 'launch' / 'classifier.launch.py'
    assert not [node for node, _ in Launch(path).nodes
                if node.kwargs['executable'] == 'station_web'], 'page started without web:=true'
    launch = Launch(path, {'web': 'true', 'namespace': 'bin1', 'web_port': '8090',
                           'web_inbox': '/data/inbox', 'web_dataset': '/data/set'})
    web, conf = launch.node('station_web')
    assert node_parameters(web, conf) == {'classifier': '/bin1/waste_classifier', 'port': 8090,
                                          'inbox': '/data/inbox', 'dataset': '/data/set'}
    for demo in ('demo.launch.py', 'stream.launch.py'):
        Launch(ROOT / 'launch' / demo, {'web': 'true'}).node('station_web')


def test_demo_plays_the_samples_into_the_classifier(stand_in_launch):
    launch = Launch(ROOT / 'launch' / 'demo.launch.py')
    source, conf = launch.node('media_source')
    parameters = node_parameters(source, conf)
    assert parameters['resource'] == str(ROOT / 'samples')
    # Items with the empty floor between: each photo decided on its own under the smoothing.
    assert (parameters['item_frames'], parameters['gap_frames']) == ('8', '4')
    assert resolve(source.kwargs['remappings'], conf) == [['image', '/image']]
    classifier, conf = launch.node('classifier_node')
    assert resolve(classifier.kwargs['remappings'], conf) == [['image', '/image']]


@pytest.mark.ros
@pytest.mark.skipif(shutil.which('ros2') is None, reason='ros2 launch is not installed here')
def test_demo_launch_for_real(probe, tmp_path):
    from ros_harness import NodeProcess
    from tiny_model import write_model_dir
    from vision_msgs.msg import Classification

    model = write_model_dir(tmp_path / 'model')
    received = probe.collect(Classification, '/waste_classifier/classification')
    launch = NodeProcess.program([shutil.which('ros2'), 'launch', PACKAGE, 'demo.launch.py',
                                  f'model:={model}', 'rate:=5.0'])
    with launch:
        try:
            probe.wait_for(lambda: len(received) >= 3 or launch.process.poll() is not None,
                           timeout=60, what='3 classifications via ros2 launch')
        except AssertionError as error:
            raise AssertionError(f'{error}; ros2 launch output:\n{launch.output}') from None
        code = launch.process.poll()
        assert code is None, f'ros2 launch ended early with exit code {code}:\n{launch.output}'
        # Ctrl-C in a terminal: SIGINT to the launch and both nodes, then launch's own SIGINT.
        launch.interrupt_group(signal.SIGINT)
        code = launch.wait_exit(timeout=30)
    output = launch.output
    assert code == 0, f'exit code {code}:\n{output}'
    started = output.count('process started with pid')
    assert started >= 2 and output.count('process has finished cleanly') == started, output
    assert 'process has died' not in output and 'Traceback' not in output, output
