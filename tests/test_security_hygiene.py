# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Security hygiene of the project's own Python: no shell, no eval, no pickle, safe checkpoints.

Every Python file git knows about (tracked or new, not ignored) is parsed and its syntax tree
searched, so comments and strings never trip the check and renamed imports do not hide a call:
no `shell=True`, no os.system/os.popen, no eval/exec, no pickle-family modules, no
`allow_pickle=True`, no yaml.load/full_load/unsafe_load, and every `torch.load` passes
`weights_only=True`. The checker is tested on bad snippets first, so a pass means something.
The real checkpoint loaders refuse a checkpoint with a planted object, and the code in it never
runs. The shipped model must match the sha256 in its card (the node refuses it otherwise; the
refusal itself is tested in test_robustness_config.py).
"""

import ast
from pathlib import Path
import subprocess

import pytest

from waste_classifier_ros.core.model_card import read_card, sha256_file

ROOT = Path(__file__).resolve().parent.parent
EXCLUDED = ('devenv/vision_msgs/',)  # generated message code
PICKLE_MODULES = {'pickle', 'cPickle', '_pickle', 'dill', 'shelve', 'marshal', 'joblib',
                  'cloudpickle'}


def _dotted(node) -> str:
    """Return 'a.b.c' for a Name/Attribute chain, '' for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return '.'.join(reversed(parts))
    return ''


def _is_true(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def problems(source: str, filename='<snippet>') -> list:
    """Return 'file:line: what' for every unsafe construct in `source`."""
    tree = ast.parse(source, filename)
    # Resolve `import torch as t` / `from os import system` so aliases are no hiding place.
    aliases = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split('.')[0]] = (
                    alias.name if alias.asname else alias.name.split('.')[0])
                if alias.name.split('.')[0] in PICKLE_MODULES:
                    found.append((node.lineno, f'imports {alias.name}'))
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f'{node.module}.{alias.name}'
            if node.module.split('.')[0] in PICKLE_MODULES:
                found.append((node.lineno, f'imports from {node.module}'))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        head, _, rest = name.partition('.')
        name = aliases.get(head, head) + (f'.{rest}' if rest else '')
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        line = node.lineno
        if 'shell' in keywords and not (isinstance(keywords['shell'], ast.Constant) and
                                        keywords['shell'].value is False):
            found.append((line, f'{name}(shell=...) runs a shell'))
        if name in ('os.system', 'os.popen', 'subprocess.getoutput',
                    'subprocess.getstatusoutput'):
            found.append((line, f'{name}() runs a shell'))
        if name in ('eval', 'exec', 'builtins.eval', 'builtins.exec'):
            found.append((line, f'{name}() runs arbitrary code'))
        if name.endswith(('pandas.read_pickle', 'pd.read_pickle')) or name == 'read_pickle':
            found.append((line, f'{name}() unpickles'))
        if 'allow_pickle' in keywords and not (isinstance(keywords['allow_pickle'],
                                                          ast.Constant) and
                                               keywords['allow_pickle'].value is False):
            found.append((line, f'{name}(allow_pickle=...) may unpickle'))
        if name in ('yaml.load', 'yaml.full_load', 'yaml.unsafe_load', 'yaml.load_all',
                    'yaml.full_load_all', 'yaml.unsafe_load_all'):
            found.append((line, f'{name}() can build arbitrary objects; use yaml.safe_load'))
        if name == 'torch.load' and not _is_true(keywords.get('weights_only')):
            found.append((line, 'torch.load without weights_only=True unpickles'))
    return [f'{filename}:{line}: {what}' for line, what in sorted(found)]


@pytest.mark.parametrize('snippet, expected', [
    ('import subprocess\nsubprocess.run("ls", shell=True)', 'shell'),
    ('from subprocess import Popen as P\nP(cmd, shell=flag)', 'shell'),
    ('import os\nos.system("rm -rf /tmp/x")', 'os.system'),
    ('from os import popen\npopen(cmd)', 'os.popen'),
    ('value = eval(text)', 'eval'),
    ('exec(compile(src, "f", "exec"))', 'exec'),
    ('import pickle\npickle.loads(blob)', 'pickle'),
    ('from joblib import load', 'joblib'),
    ('import numpy as np\nnp.load(path, allow_pickle=True)', 'allow_pickle'),
    ('import yaml\nyaml.load(stream, Loader=yaml.Loader)', 'safe_load'),
    ('import torch\ntorch.load(path)', 'weights_only'),
    ('import torch as t\nt.load(path, weights_only=False)', 'weights_only'),
    ('from torch import load\nload(path, map_location="cpu")', 'weights_only'),
])
def test_the_checker_finds_each_unsafe_construct(snippet, expected):
    found = problems(snippet)
    assert found and expected in found[0], f'{snippet!r} gave {found}'


def test_the_checker_accepts_the_safe_forms():
    safe = '''
import subprocess, torch, yaml, numpy as np
subprocess.run([sys.executable, "-m", "x"], check=True, shell=False)
torch.load(path, map_location="cpu", weights_only=True)
yaml.safe_load(text)
np.load(path)
model.eval()
ast.literal_eval(text)
# eval(x) and shell=True in a comment are not code
help_text = "never call eval() or pickle.load()"
'''
    assert problems(safe) == []


def _sources():
    listed = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard', '*.py'],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / name for name in listed
            if not name.startswith(EXCLUDED) and (ROOT / name).is_file()]


def test_the_scan_sees_the_whole_project():
    names = {path.relative_to(ROOT).as_posix() for path in _sources()}
    for expected in ('waste_classifier_ros/nodes/classifier_node.py', 'tests/conftest.py',
                     'waste_classifier_ros/backends/onnx_runtime.py'):
        assert expected in names
    assert len(names) > 30


def test_project_python_has_no_shell_eval_pickle_or_unsafe_checkpoint_loads():
    found = []
    for path in _sources():
        found += problems(path.read_text(encoding='utf-8'), str(path.relative_to(ROOT)))
    assert not found, 'unsafe constructs:\n' + '\n'.join(found)


class _Planted:
    """Unpickling this would call open(marker, 'w'), creating the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_checkpoint_loaders_refuse_a_planted_object_without_running_it(tmp_path):
    torch = pytest.importorskip('torch')
    from training.recipe import evaluate, models, train
    marker = tmp_path / 'code_ran'
    planted = tmp_path / 'planted.ckpt'
    torch.save({'format': train.CHECKPOINT_FORMAT, 'model': {}, 'payload': _Planted(marker)},
               planted)
    loaders = {
        'train.load_checkpoint (resume=...)': lambda: train.load_checkpoint(planted),
        'evaluate.load_classifier (--model x.ckpt)': lambda: evaluate.load_classifier(planted),
        'models._load_state_dict (weights=...)': lambda: models._load_state_dict(planted),
    }
    for name, load in loaders.items():
        with pytest.raises(Exception) as refused:
            load()
        assert not marker.exists(), f'{name} ran code from the checkpoint'
        # weights_only names the global it blocked: proof the payload was there and was refused.
        assert 'GLOBAL io.open' in str(refused.value), (
            f'{name} failed for another reason: {refused.value!r}')


def test_the_shipped_model_matches_its_card():
    model = ROOT / 'model' / 'waste_classifier.onnx'
    card = model.with_name('model_card.json')
    if not model.is_file():
        pytest.skip('no shipped model in model/ yet (training exports it)')
    assert card.is_file(), f'{model} ships without {card.name}'
    expected = read_card(card).get('onnx_sha256')
    assert expected, f'{card} has no onnx_sha256, so the node cannot check the model'
    assert sha256_file(model) == expected, f'{model} does not match the sha256 in {card}'

