# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""No import circles among the project's own modules; the nodes never reach the training stack."""

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
    assert 'training.train' in graph and 'training.checkpoints' in graph['training.train']
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
