# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The import arrows point one way: no circles, rooms by role, the nodes never reach training.

waste_classifier_ros/ is split into rooms (subpackages) whose docstrings say what each may import;
RULES below is that list, checked over every import statement of every file (wherever in the
file, lazy ones included). The checks are tried on planted bad edges first.
"""

import ast
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ('training', 'waste_classifier_ros', 'benchmarks')


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_names(path: Path) -> set:
    """Every name an import statement of ``path`` names (``from a import b``: a and a.b)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.update([node.module, *(f'{node.module}.{alias.name}' for alias in node.names)])
    return found


def project_imports(path: Path, modules: set) -> set:
    """Every project module ``path`` imports, wherever in the file the import statement is."""
    return imported_names(path) & modules


def import_graph() -> dict:
    files = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob('*.py')}
    modules = set(files)
    return {name: project_imports(path, modules) - {name} for name, path in files.items()}


def find_cycle(graph: dict):
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for neighbour in sorted(graph.get(node, ())):
            if state.get(neighbour) == 'open':
                return stack[stack.index(neighbour):] + [neighbour]
            if neighbour not in state:
                cycle = visit(neighbour)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_scan_finds_a_planted_circle():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_no_import_circles():
    graph = import_graph()
    assert 'training.recipe.checkpoints' in graph['training.recipe.train']
    cycle = find_cycle(graph)
    assert cycle is None, 'import circle: ' + ' -> '.join(cycle)


# What a robot runs: the nodes. Their imports, wherever in a file, never reach the training stack;
# at import time they load no optional feature's library either (extras.py).
NODES = ('waste_classifier_ros.nodes.classifier_node',
         'waste_classifier_ros.nodes.media_source_node',
         'waste_classifier_ros.nodes.station_web_node')
TRAINING_STACK = {'torch', 'torchvision', 'timm', 'albumentations', 'hydra', 'tensorboard'}
OPTIONAL_AT_IMPORT = {'mcap', 'aiohttp', 'onnxruntime'}


def every_import(path: Path) -> set:
    """Every module name ``path`` imports, wherever in the file, dotted prefixes included."""
    return {'.'.join(name.split('.')[:i]) for name in imported_names(path)
            for i in range(1, name.count('.') + 2)}


def reached_from(roots) -> set:
    """Return the module names imported, directly or through project modules, from `roots`."""
    files = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob('*.py')}
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in files:
            todo.extend(every_import(files[name]) - seen)
    return seen


def test_the_nodes_never_reach_the_training_stack():
    reached = reached_from(NODES)
    assert 'waste_classifier_ros.backends.onnx_runtime' in reached  # the scan follows imports
    assert not {n.split('.')[0] for n in reached} & TRAINING_STACK
    assert not [n for n in reached if n.split('.')[0] == 'training']
    assert 'mcap' in reached and 'aiohttp' in reached  # as features switched on


def test_importing_the_nodes_loads_no_optional_library():
    code = ('import sys\n'
            f'for name in {sorted(NODES)!r}:\n'
            '    __import__(name)\n'
            'print(sorted({m.split(".")[0] for m in sys.modules}))\n')
    run = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    loaded = set(ast.literal_eval(run.stdout.strip().splitlines()[-1]))
    assert 'rclpy' in loaded
    assert not loaded & (TRAINING_STACK | OPTIONAL_AT_IMPORT | {'training'})


# The rooms of waste_classifier_ros/ and of training/, and the rooms each may import (its own
# included). demos/ may import anything in the package; training's rooms (training/*/__init__.py)
# only the ROS-free floors they share with the node (and flywheel.promotion for the promote rule
# and retrain's install), the recipe none of training's other rooms; tests/ and benchmarks/
# anything.
PACKAGE = 'waste_classifier_ros'
RULES = {
    '': set(),  # waste_classifier_ros/__init__.py
    'core': {'core'},
    'backends': {'core', 'backends'},
    'flywheel': {'core', 'flywheel'},
    'station_web': {'core', 'flywheel', 'station_web'},
    'cli': {'core', 'backends', 'flywheel', 'cli'},
    'nodes': {'core', 'backends', 'flywheel', 'station_web', 'nodes'},
    'demos': {'core', 'backends', 'flywheel', 'station_web', 'nodes', 'cli', 'demos'},
    'training': set(),  # training/__init__.py
    'training.recipe': {'core', 'backends', 'training.recipe'},
    'training.station': {'core', 'backends', 'flywheel', 'training.recipe', 'training.station'},
    'training.studies': {'core', 'backends', 'training.recipe', 'training.studies'},
}
# In these rooms a command (a module run with python -m) is imported by no module of training/:
# what two commands share lives in a library module of the room (tests may import a command).
COMMAND_ROOMS = {'training.station', 'training.studies'}
# Rooms that never import ROS itself (the nodes, the flywheel's recorder and demos do).
# ament_index_python is allowed: core.paths asks it where the installed files are, lazily, and
# falls back to the checkout.
ROS_FREE = {'core', 'backends', 'station_web', 'cli', 'training', 'training.recipe',
            'training.station', 'training.studies'}
ROS_TOP = {'rclpy', 'rcl_interfaces', 'rosbag2_py', 'launch', 'launch_ros', 'builtin_interfaces'}


def is_ros(name: str) -> bool:
    top = name.split('.')[0]
    return top in ROS_TOP or top.startswith('rosidl') or top.endswith(('_msgs', '_srvs'))


def room(module: str) -> str:
    """Return a module's room: its subpackage of the package or of training/, else its top name."""
    parts = module.split('.')
    if parts[0] == 'training':
        return '.'.join(parts[:2])
    if parts[0] != PACKAGE:
        return parts[0]
    return parts[1] if len(parts) > 1 else ''


def boundary_violations(imports: dict) -> list:
    """Return one line per import that leaves its room's rules, for {module: imported names}."""
    found = []
    for module, names in sorted(imports.items()):
        source = room(module)
        in_package = module.split('.')[0] == PACKAGE
        if module.split('.')[0] in (PACKAGE, 'training') and source not in RULES:
            folder = source.replace('.', '/') if not in_package else f'{PACKAGE}/{source}'
            found.append(f'{module}: in no room ({folder} is not in RULES)')
            continue
        for name in sorted(names):
            top = name.split('.')[0]
            ruled = top == PACKAGE or (top == 'training' and not in_package)
            if ruled and '.' in name and source in RULES:
                target = room(name)
                if target not in RULES[source]:
                    found.append(f'{module} imports {name}: {source or PACKAGE} may import '
                                 f'{", ".join(sorted(RULES[source])) or "nothing"}')
            if in_package and (top in TRAINING_STACK or top == 'training'):
                found.append(f'{module} imports {name}: the package never imports training')
            if source in ROS_FREE and is_ros(name):
                found.append(f'{module} imports {name}: {source} is ROS-free')
    return found


def command_imports(imports: dict, commands: set) -> list:
    """Return one line per module of training/ that imports a command of a COMMAND_ROOMS room."""
    return [f'{module} imports the command {name}: move what they share into a library module'
            for module, names in sorted(imports.items()) if module.split('.')[0] == 'training'
            for name in sorted(names & commands) if name != module]


def commands_of(files: dict) -> set:
    """Return the modules of COMMAND_ROOMS run as a command (``if __name__ == '__main__'``)."""
    return {name for name, path in files.items() if room(name) in COMMAND_ROOMS
            and "__name__ == '__main__'" in path.read_text(encoding='utf-8')}


def test_the_room_rules_flag_planted_bad_edges():
    planted = {
        'waste_classifier_ros.core.bins': {'numpy', 'rclpy.node', 'waste_classifier_ros.flywheel'},
        'waste_classifier_ros.core.paths': {'ament_index_python.packages'},
        'waste_classifier_ros.backends.base': {'torch', 'waste_classifier_ros.core.preprocessing'},
        'waste_classifier_ros.flywheel.capture': {'waste_classifier_ros.demos.local_ros'},
        'waste_classifier_ros.station_web.app': {'waste_classifier_ros.nodes.shutdown'},
        'waste_classifier_ros.nodes.classifier_node': {'training.recipe.models',
                                                       'sensor_msgs.msg'},
        'waste_classifier_ros.stray': {'numpy'},
        'waste_classifier_ros.demos.demo': {'rclpy', 'waste_classifier_ros.nodes.classifier_node'},
        'training.recipe.evaluate': {'waste_classifier_ros.nodes.live_model', 'torch'},
        'training.recipe.transforms': {'training.studies.backgrounds'},
        'training.station.adapt': {'training.recipe.models', 'waste_classifier_ros.flywheel'},
        'training.stray': {'numpy'},
        'tests.test_demo': {'waste_classifier_ros.demos.demo'},
    }
    assert boundary_violations(planted) == [
        'training.recipe.evaluate imports waste_classifier_ros.nodes.live_model: training.recipe '
        'may import backends, core, training.recipe',
        'training.recipe.transforms imports training.studies.backgrounds: training.recipe may '
        'import backends, core, training.recipe',
        'training.stray: in no room (training/stray is not in RULES)',
        'waste_classifier_ros.backends.base imports torch: the package never imports training',
        'waste_classifier_ros.core.bins imports rclpy.node: core is ROS-free',
        'waste_classifier_ros.core.bins imports waste_classifier_ros.flywheel: core may import '
        'core',
        'waste_classifier_ros.flywheel.capture imports waste_classifier_ros.demos.local_ros: '
        'flywheel may import core, flywheel',
        'waste_classifier_ros.nodes.classifier_node imports training.recipe.models: the package '
        'never imports training',
        'waste_classifier_ros.station_web.app imports waste_classifier_ros.nodes.shutdown: '
        'station_web may import core, flywheel, station_web',
        'waste_classifier_ros.stray: in no room (waste_classifier_ros/stray is not in RULES)',
    ]


def test_every_module_keeps_to_the_rules_of_its_room():
    files = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob('*.py')}
    imports = {name: imported_names(path) for name, path in files.items()}
    assert 'waste_classifier_ros.core.image_codec' in imports['waste_classifier_ros.cli.classify']
    assert {room(name) for name in files if not name.startswith('benchmarks')} == set(RULES)
    assert boundary_violations(imports) == []


def test_the_command_rule_flags_a_planted_command_import():
    imports = {'training.station.learning_curve': {'training.station.retrain', 'numpy'},
               'training.station.retrain': {'training.station.last_layer'},
               'tests.test_retrain': {'training.station.retrain'}}
    assert command_imports(imports, {'training.station.retrain'}) == [
        'training.station.learning_curve imports the command training.station.retrain: move '
        'what they share into a library module']


def test_no_module_of_training_imports_a_station_or_study_command():
    files = {module_name(p): p for p in (ROOT / 'training').rglob('*.py')}
    commands = commands_of(files)
    assert {'training.station.retrain', 'training.station.learning_curve',
            'training.studies.backgrounds'} <= commands
    assert 'training.station.last_layer' not in commands
    assert command_imports({name: imported_names(path) for name, path in files.items()},
                           commands) == []


def test_importing_the_ros_free_rooms_loads_no_ros():
    modules = sorted(module_name(p) for name in ROS_FREE if not name.startswith('training')
                     for p in (ROOT / PACKAGE / name).rglob('*.py'))
    code = ('import sys\n'
            f'for name in {modules!r}:\n'
            '    __import__(name)\n'
            'print(sorted({m.split(".")[0] for m in sys.modules}))\n')
    run = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    loaded = set(ast.literal_eval(run.stdout.strip().splitlines()[-1]))
    assert 'waste_classifier_ros' in loaded and 'cv2' in loaded
    assert not [name for name in loaded if is_ros(name)], sorted(filter(is_ros, loaded))
    assert not loaded & (TRAINING_STACK | {'training'})
