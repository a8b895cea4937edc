# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Bad configuration at startup: the node process exits non-zero with one clear line.

Each case breaks one thing (the model, its labels, its card, bins.yaml, the backend, a startup
parameter). Every case runs the node's own main() in this process (milliseconds each); a few
also run as real node processes, side by side, for the exit code of the process itself.
Checked each time: non-zero exit, a single FATAL line naming the file and the problem, no
traceback and no stray unformatted lines. How soon the process exits (target 5 s) is a figure of
`make bench` (benchmarks/lifecycle.py), not asserted on a busy machine.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
import json
import shutil
import sys

import pytest
from robustness_support import HANG_S, STANDINS, classifier, env_with_pythonpath, tiny_model
from tiny_model import CLASSES, build_model

from waste_classifier_ros.core.model_card import write_card, write_labels
from waste_classifier_ros.nodes import classifier_node

pytestmark = pytest.mark.ros

# The ROS console format: every line the node prints starts with its severity in brackets.
SEVERITIES = ('[DEBUG]', '[INFO]', '[WARN]', '[ERROR]', '[FATAL]')

GOOD_BINS = '''bins:
  paper: {label: Paper, colour: '#2f7fe0', classes: [cardboard, paper]}
  glass: {label: Glass, colour: '#2ca02c', classes: [glass]}
  mixed: {label: Mixed, colour: '#ffc20e', classes: [metal, plastic]}
  compost: {label: Compost, colour: '#9b6a3c', classes: [organic]}
  landfill: {label: Landfill, colour: '#9a9a9a', classes: [trash]}
'''


class Yaml(str):
    """A parameter value written as YAML text as it is (JSON has no NaN)."""


@dataclass
class Case:
    """One broken setup: node parameters, and what its FATAL line must say."""

    params: dict
    expected: tuple
    jetson: bool = False


def _model_copy(good, folder, name='waste_classifier.onnx'):
    folder.mkdir()
    for path in good.parent.iterdir():
        shutil.copy(path, folder / path.name)
    return folder / name


def _write_model_that_cannot_run(path):
    """Write an ONNX model that loads (7 outputs declared) but whose Reshape fails on any input."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node('GlobalAveragePool', ['input_0'], ['pooled']),
         helper.make_node('Flatten', ['pooled'], ['features'], axis=1),
         helper.make_node('Reshape', ['features', 'shape'], ['output_0'])],
        'cannot_run',
        [helper.make_tensor_value_info('input_0', TensorProto.FLOAT, ['N', 3, 224, 224])],
        [helper.make_tensor_value_info('output_0', TensorProto.FLOAT, ['N', 7])],
        initializer=[helper.make_tensor('shape', TensorProto.INT64, [2], [-1, 7])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _cases(root):
    good = tiny_model(root / 'good')
    cases = {}

    cases['missing model'] = Case({'model': str(root / 'nowhere' / 'model.onnx')},
                                  (str(root / 'nowhere' / 'model.onnx'), 'not found'))

    truncated = _model_copy(good, root / 'truncated')
    truncated.write_bytes(good.read_bytes()[:200])
    (truncated.parent / 'model_card.json').unlink()
    cases['truncated model'] = Case({'model': str(truncated)},
                                    (str(truncated), 'cannot load it as an ONNX model'))

    not_onnx = _model_copy(good, root / 'not_onnx')
    not_onnx.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(300))
    (not_onnx.parent / 'model_card.json').unlink()
    cases['non-ONNX model'] = Case({'model': str(not_onnx)},
                                   (str(not_onnx), 'cannot load it as an ONNX model'))

    empty = _model_copy(good, root / 'empty_model')
    empty.write_bytes(b'')
    (empty.parent / 'model_card.json').unlink()
    cases['empty model file'] = Case({'model': str(empty)}, (str(empty), 'ONNX'))

    directory = root / 'a_folder.onnx'
    directory.mkdir()
    cases['model is a folder'] = Case({'model': str(directory)}, (str(directory), 'not found'))

    cannot_run = root / 'cannot_run' / 'waste_classifier.onnx'
    cannot_run.parent.mkdir()
    _write_model_that_cannot_run(cannot_run)
    write_labels(cannot_run.with_name('labels.txt'), CLASSES)
    cases['model loads but cannot run'] = Case({'model': str(cannot_run)},
                                               (str(cannot_run), 'fails to run'))

    five = root / 'five'
    five.mkdir()
    build_model(five / 'waste_classifier.onnx', num_classes=5)
    write_labels(five / 'labels.txt', CLASSES)
    cases['labels count mismatch'] = Case(
        {'model': str(five / 'waste_classifier.onnx')},
        (str(five / 'labels.txt'), '7 classes', 'outputs 5'))

    no_labels = _model_copy(good, root / 'no_labels')
    (no_labels.parent / 'labels.txt').unlink()
    cases['labels file missing'] = Case({'model': str(no_labels)},
                                        (str(no_labels.parent / 'labels.txt'), 'labels'))

    blank_labels = _model_copy(good, root / 'blank_labels')
    (blank_labels.parent / 'labels.txt').write_text('\n\n')
    cases['labels file empty'] = Case({'model': str(blank_labels)},
                                      (str(blank_labels.parent / 'labels.txt'), 'no class'))

    other_sha = _model_copy(good, root / 'other_sha')
    write_card(other_sha.parent / 'model_card.json', {'classes': CLASSES,
                                                      'onnx_sha256': 'ab' * 32})
    cases['sha256 differs from the card'] = Case(
        {'model': str(other_sha)},
        (str(other_sha), str(other_sha.parent / 'model_card.json'), 'sha256', 'does not match'))

    swapped = _model_copy(good, root / 'swapped_classes')
    write_labels(swapped.parent / 'labels.txt', [CLASSES[1], CLASSES[0], *CLASSES[2:]])
    cases['card classes differ from labels'] = Case(
        {'model': str(swapped)}, (str(swapped.parent / 'model_card.json'), 'differ'))

    bad_card = _model_copy(good, root / 'bad_card')
    (bad_card.parent / 'model_card.json').write_text('{"classes": [')
    cases['card is not JSON'] = Case({'model': str(bad_card)},
                                     (str(bad_card.parent / 'model_card.json'), 'JSON'))

    def bins_case(name, text, *expected):
        path = root / f'bins_{len(cases)}.yaml'
        if text is not None:
            path.write_text(text)
        cases[name] = Case({'model': str(good), 'bins_file': str(path)}, (str(path), *expected))

    bins_case('bins.yaml missing', None, 'cannot read')
    bins_case('bins.yaml not YAML', 'bins: [paper, {glass: \n', 'not valid YAML')
    bins_case('bins.yaml tab-indented', 'bins:\n\tglass: {classes: [glass]}\n', 'YAML')
    bins_case('bins.yaml empty', '', 'bins:')
    bins_case('bins.yaml a list', '- glass\n- paper\n', 'bins:')
    bins_case('bins.yaml class missing', GOOD_BINS.replace(', classes: [trash]', ', classes: []'),
              'trash', 'no bin')
    bins_case('bins.yaml unknown class', GOOD_BINS.replace('[glass]', '[glass, styrofoam]'),
              'styrofoam')
    bins_case('bins.yaml class twice', GOOD_BINS.replace('[organic]', '[organic, glass]'),
              'glass', 'repeats')
    bins_case('bins.yaml no classes list', GOOD_BINS.replace(', classes: [glass]', ''),
              'glass', 'classes')
    bins_case('bins.yaml bad colour', GOOD_BINS.replace("'#2ca02c'", 'green'), 'colour')

    cases['unknown backend'] = Case({'model': str(good), 'backend': 'tensorflow'},
                                    ("'tensorflow'", 'unknown backend'))
    cases['jetson backend without jetson-inference'] = Case(
        {'model': str(good), 'backend': 'jetson'}, ('jetson', 'cannot import'))
    # On a Jetson, imageNet raises when TensorRT cannot parse the model; the stand-in does too.
    cases['jetson backend, model not ONNX'] = Case(
        {'model': str(not_onnx), 'backend': 'jetson'}, (str(not_onnx),), jetson=True)
    cases['jetson backend, labels count mismatch'] = Case(
        {'model': str(five / 'waste_classifier.onnx'), 'backend': 'jetson'},
        (str(five / 'labels.txt'),), jetson=True)

    cases['top_k out of range'] = Case({'model': str(good), 'top_k': 0}, ('top_k', 'range'))
    cases['threshold wrong type'] = Case({'model': str(good), 'threshold': 'high'},
                                         ('threshold',))
    cases['roi not a number'] = Case({'model': str(good), 'roi': Yaml('[.nan, 0.0, 0.5, 0.5]')},
                                     ('roi',))
    cases['roi outside the frame'] = Case({'model': str(good), 'roi': [0.5, 0.5, 0.8, 0.2]},
                                          ('roi', 'inside the frame'))
    return cases


def _lines_problem(output, case) -> str:
    """Return what is wrong with the startup output, or '' when it is one clear FATAL line."""
    if 'Traceback' in output:
        return 'the node crashed with a traceback instead of saying why'
    lines = [line for line in output.splitlines() if line.strip()]
    # jetson-inference logs on its own ([TRT] lines; the stand-in prints its engine build too).
    stray = [line for line in lines if not line.startswith((*SEVERITIES, '[TRT]'))]
    if stray:
        return f'the error must be one line, but these lines are not log lines: {stray}'
    fatal = [line for line in lines if line.startswith('[FATAL]')]
    if len(fatal) != 1:
        return f'expected one FATAL line, got {len(fatal)}'
    missing = [text for text in case.expected if text not in fatal[0]]
    if missing:
        return f'the FATAL line does not mention {missing}'
    return ''


@pytest.fixture(scope='module')
def cases(tmp_path_factory):
    return _cases(tmp_path_factory.mktemp('bad_config'))


CASES = [
    'missing model', 'truncated model', 'non-ONNX model', 'empty model file', 'model is a folder',
    'model loads but cannot run', 'labels count mismatch', 'labels file missing',
    'labels file empty',
    'sha256 differs from the card', 'card classes differ from labels', 'card is not JSON',
    'bins.yaml missing', 'bins.yaml not YAML', 'bins.yaml tab-indented', 'bins.yaml empty',
    'bins.yaml a list', 'bins.yaml class missing', 'bins.yaml unknown class',
    'bins.yaml class twice', 'bins.yaml no classes list', 'bins.yaml bad colour',
    'unknown backend', 'jetson backend without jetson-inference',
    'jetson backend, model not ONNX', 'jetson backend, labels count mismatch',
    'top_k out of range', 'threshold wrong type', 'roi outside the frame', 'roi not a number',
]


# Real node processes, for the exit code of the process. tests/test_classifier_node.py already
# starts processes for missing model, not ONNX, label count, sha256, bins class missing or
# unknown, unknown backend and a bad ROI; these add the load paths it does not reach.
PROCESS_CASES = ['truncated model', 'bins.yaml not YAML', 'jetson backend, model not ONNX',
                 'model loads but cannot run']


def test_the_table_covers_every_case(cases):
    assert sorted(cases) == sorted(CASES)
    assert set(PROCESS_CASES) <= set(CASES)


@pytest.mark.parametrize('name', CASES)
def test_main_refuses_bad_configuration_with_one_clear_line(cases, name, capfd, monkeypatch):
    """The node's own main() in this process: cheap enough for every case in the table."""
    case = cases[name]
    monkeypatch.setitem(sys.modules, 'jetson_inference', None)
    if case.jetson:
        monkeypatch.syspath_prepend(str(STANDINS))
        for module in ('jetson_inference', 'jetson_utils'):
            monkeypatch.delitem(sys.modules, module, raising=False)
    args = ['classifier_node', '--ros-args']
    for key, value in {'backend': 'onnxruntime', 'num_threads': 1, **case.params}.items():
        args += ['-p', f'{key}:={value if isinstance(value, Yaml) else json.dumps(value)}']
    try:
        code = classifier_node.main(args=args)
    except Exception as error:  # noqa: BLE001 - the failure under test is any escaping error
        pytest.fail(f'{name}: main() raised {type(error).__name__}: {error} instead of '
                    'returning non-zero with a message')
    output = capfd.readouterr().err
    assert code not in (0, None), f'{name}: main() returned {code}; output:\n{output}'
    problem = _lines_problem(output, case)
    assert not problem, f'{name}: {problem}; output:\n{output}'


def _run(name, case):
    env = env_with_pythonpath(STANDINS) if case.jetson else None
    node = classifier(f'bad_config_{PROCESS_CASES.index(name)}', case.params['model'],
                      params=case.params, env=env)
    node.start()
    try:
        code = node.wait_exit(timeout=HANG_S)
    finally:
        node.kill()
    return code, node.output


@pytest.fixture(scope='module')
def outcomes(cases):
    # Side by side: each process spends most of its life importing, one core each.
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_run, name, cases[name]) for name in PROCESS_CASES}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize('name', PROCESS_CASES)
def test_node_process_exits_non_zero_with_one_clear_line(cases, outcomes, name):
    code, output = outcomes[name]
    assert code not in (0, None), f'{name}: exit code {code}; output:\n{output}'
    problem = _lines_problem(output, cases[name])
    assert not problem, f'{name}: {problem}; output:\n{output}'
