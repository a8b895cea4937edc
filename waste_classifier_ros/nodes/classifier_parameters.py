# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The classifier node's parameters, declared once (name, default, description, change, range).

Everything else is made from `DECLARED`: the node's descriptors (classifier_node.PARAMETERS),
`Settings` (the live values a frame is classified with), `config/classifier.yaml` and the
parameter tables of docs/ros_interface.md and docs/flywheel.md (between `<!-- generated: NAME -->`
and `<!-- end generated: NAME -->`). After changing a declaration run

    python -m waste_classifier_ros.nodes.classifier_parameters

which rewrites those files; `--check` only says whether they are up to date (tests run it).
ROS-free, so that the files can be made and checked without a ROS environment.
"""

import argparse
from dataclasses import dataclass, make_dataclass, replace
import fnmatch
from pathlib import Path
import re
import sys
import textwrap
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

from waste_classifier_ros.flywheel.capture import Thresholds

Value = Union[bool, int, float, str, list]

RESTART = 'restart'  # read at start (read-only)
LIVE = 'live'        # a set takes effect from the next frame (a field of Settings)
SWITCH = 'switch'    # a set loads and checks a new model, then switches to it (live_model.py)


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Value
    description: str
    change: str = LIVE
    range: tuple[float, float] | None = None  # inclusive; for int and float parameters
    doc: str = ''  # more for the docs table only (markdown, links relative to docs/)

    @property
    def read_only(self) -> bool:
        return self.change == RESTART


DECLARED = (
    Parameter('model', '', "ONNX model file; '' = the shipped model/waste_classifier.onnx. "
              'Settable at run time (with labels and model_card in the same set when they are '
              'not beside it)', SWITCH, doc='([Switching the model without a restart]'
              '(#switching-the-model-without-a-restart))'),
    Parameter('labels', '', "labels.txt, one class per line; '' = beside the model", SWITCH),
    Parameter('model_card', '', "model_card.json whose sha256 and classes must match; '' = "
              'beside the model, checked when present', SWITCH),
    Parameter('backend', 'auto', 'auto | jetson | onnxruntime; auto = jetson-inference where it '
              'imports, else ONNX Runtime', RESTART),
    Parameter('engine_cache', '', "jetson backend: folder of TensorRT engines, one subfolder per "
              "model sha256; '' = $ROS_HOME/waste_classifier_engines "
              '(~/.ros/waste_classifier_engines)', RESTART,
              doc='([Jetson](jetson.md#tensorrt-engines-one-per-model))'),
    Parameter('execution_providers', ['CPUExecutionProvider'], 'ONNX Runtime execution providers '
              'in order of preference, e.g. TensorrtExecutionProvider, CUDAExecutionProvider; '
              'unavailable ones are skipped', RESTART),
    # One thread: a small model gains little from a second one and pays for waking it
    # (BENCHMARKS.md, finding 2); a robot needs its other cores.
    Parameter('num_threads', 1, 'ONNX Runtime intra-op threads, 0 = one per core; one is the '
              'cheapest per frame and as fast on 2 cores', RESTART, (0, 64)),
    Parameter('bins_file', '', "class -> bin YAML; '' = the shipped config/bins.yaml", RESTART,
              doc='([Bins](#bins))'),
    Parameter('reliable', False, 'subscribe to image RELIABLE instead of best effort (keep last 1 '
              'either way; best effort hears every camera driver)', RESTART),
    Parameter('top_k', 3, 'classes per ~/classification message, most probable first',
              range=(1, 1000)),
    Parameter('threshold', 0.5, 'minimum smoothed bin probability for a bin decision; below it '
              'the bin is unknown', range=(0.0, 1.0)),
    Parameter('smoothing_window', 5, 'frames averaged before a bin decision', range=(1, 1000)),
    Parameter('frames_to_confirm', 3, 'frames in a row the same bin must win before the decision '
              'changes', range=(1, 1000)),
    Parameter('roi', [0.0, 0.0, 1.0, 1.0], 'region of interest [x, y, width, height], normalised '
              'to the frame (0..1): the drop zone of the bin'),
    # The presence gate and the items (core/presence.py, core/items.py; docs/station_setup.md).
    Parameter('empty_reference_file', '', "file that keeps the empty zone's reference across "
              "restarts (written by ~/learn_empty, removed by ~/clear_empty); '' = not kept: "
              'teach the zone again after a restart', RESTART,
              doc='([Setting up a station](station_setup.md#teaching-the-empty-zone))'),
    Parameter('presence_cell_change', 0.15, 'how much a cell of the ROI must differ from the '
              'empty reference to count as changed, in log brightness or colour (0.15: about '
              '15 %)', range=(0.01, 2.0)),
    Parameter('presence_min_area', 0.02, 'share of the ROI that must change for an item (or a '
              'moving zone)', range=(0.001, 1.0)),
    Parameter('settle_frames', 2, 'frames in a row something must lie still in the zone before '
              'it is an item the bin is decided for', range=(1, 1000)),
    Parameter('empty_frames', 3, 'frames in a row without an item before ~/bin says empty',
              range=(1, 1000)),
    Parameter('empty_adapt_seconds', 60.0, "time constant of the empty reference's slow update "
              'while the zone stays empty (light drifting, auto exposure)', range=(1.0, 86400.0)),
    Parameter('overlay_show_fps', True, 'write the processed FPS on ~/overlay'),
    Parameter('overlay_jpeg_quality', 80, 'JPEG quality of ~/overlay/compressed (encoded only '
              'while someone subscribes to it)', RESTART, (1, 100)),
    Parameter('stall_timeout', 3.0, 'seconds without an image before /diagnostics warns that the '
              'camera stalled', range=(0.1, 3600.0)),
    Parameter('diagnostics_period', 1.0, 'seconds between /diagnostics messages',
              range=(0.05, 60.0)),
    # Capture for the data flywheel (capture.py); off by default: it writes camera photos to disk.
    Parameter('capture_enabled', False, 'save frames worth labelling (unsure, bin change, '
              '~/capture) into capture_inbox; off by default: it writes camera photos to disk'),
    Parameter('capture_inbox', '', "folder of captures, one subfolder per predicted class; "
              "'' = $ROS_HOME/waste_inbox (~/.ros/waste_inbox)", RESTART),
    Parameter('capture_min_score', 0.6, 'capture when the top-1 probability is below this',
              range=(0.0, 1.0)),
    Parameter('capture_min_margin', 0.2, 'capture when top-1 minus top-2 probability is below '
              'this', range=(0.0, 1.0)),
    Parameter('capture_min_interval', 2.0, 'seconds between automatic captures (a ~/capture '
              'request is not limited)', range=(0.0, 3600.0)),
    Parameter('capture_empty_interval', 600.0, 'seconds between captures of the empty zone '
              "(the station's floor, for the empty class); 0 = none", range=(0.0, 86400.0)),
    Parameter('capture_max_mb', 500.0, 'inbox size bound in MB; the oldest unreviewed captures '
              'are removed (and counted) to stay below it', range=(1.0, 1e6)),
    Parameter('capture_jpeg_quality', 90, 'JPEG quality of captures', range=(50, 100)),
    Parameter('capture_queue_size', 4, 'captures waiting to be written; when full, captures '
              '(never frames) are dropped', RESTART, (1, 64)),
    Parameter('record_path', '', 'MCAP file (rosbag2 format) to record the image and '
              "~/classification topics into; '' = no recording; an existing file is refused",
              RESTART),
)
BY_NAME = {parameter.name: parameter for parameter in DECLARED}
MODEL_PARAMETERS = tuple(p.name for p in DECLARED if p.change == SWITCH)
RUNTIME = tuple(p.name for p in DECLARED if p.change == LIVE)


def roi_problem(roi: Sequence[float]) -> str:
    """Return why `roi` is not a usable normalised [x, y, w, h], or '' when it is.

    The one rule of the parameters that a ROS descriptor cannot express; the node checks it at
    start and on every set.
    """
    if len(roi) != 4:
        return f'roi needs 4 values [x, y, width, height], got {len(roi)}'
    x, y, w, h = roi
    # Written as what must hold, so that a NaN anywhere fails it.
    if not (x >= 0.0 and y >= 0.0 and w > 0.0 and h > 0.0 and x + w <= 1.0 + 1e-9
            and y + h <= 1.0 + 1e-9):
        return (f'roi {list(roi)} must lie inside the frame: x, y >= 0, width, height > 0, '
                'x + width <= 1, y + height <= 1')
    return ''


class LiveSettings:
    """What Settings has besides its fields (and the type to annotate a Settings with)."""

    if TYPE_CHECKING:  # the fields come from DECLARED, which a type checker cannot read
        def __getattr__(self, name: str) -> Any: ...

    @property
    def capture(self) -> Thresholds:
        return Thresholds(self.capture_min_score, self.capture_min_margin,
                          self.capture_min_interval, self.capture_empty_interval)

    def changed(self, **values: Value) -> 'LiveSettings':
        """Return a copy with these live parameters set (a list becomes a tuple)."""
        return replace(self, **_frozen(values))  # type: ignore[type-var]

    @classmethod
    def of(cls, values: dict[str, Value]) -> 'LiveSettings':
        """Make the Settings of these parameter values (the live ones; the rest are ignored)."""
        return cls(**_frozen({name: values[name] for name in RUNTIME}))


def _frozen(values: dict[str, Value]) -> dict[str, Any]:
    return {name: tuple(value) if isinstance(value, list) else value
            for name, value in values.items()}


def _field_type(default: Value) -> type:
    return tuple if isinstance(default, list) else type(default)


# The live parameters, swapped as a whole so that a frame sees one consistent set.
Settings: type[LiveSettings] = make_dataclass(
    'Settings', [(name, _field_type(BY_NAME[name].default)) for name in RUNTIME],
    bases=(LiveSettings,), frozen=True)
Settings.__module__ = __name__


# The files made from DECLARED -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
YAML = ROOT / 'config' / 'classifier.yaml'
YAML_HEADER = '''\
# Defaults of the waste_classifier node, generated: edit the declaration in
# waste_classifier_ros/nodes/classifier_parameters.py and run
# python -m waste_classifier_ros.nodes.classifier_parameters. The /** key applies to the node
# under any name and namespace. Parameters read at start need a restart; the others change live
# (ros2 param set), the model too (model, labels, model_card: loaded and checked beside the
# serving one, then switched between two frames; docs/ros_interface.md).
/**:
  ros__parameters:
'''
# Page -> {block name: the parameters it lists (fnmatch patterns)}.
FLYWHEEL = ('capture_*', 'record_path')
PAGES: dict[Path, dict[str, Sequence[str]]] = {
    ROOT / 'docs' / 'ros_interface.md': {'parameters': ('*',)},
    ROOT / 'docs' / 'flywheel.md': {'capture_parameters': FLYWHEEL},
}
BLOCK = re.compile(r'(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated: \2 -->)', re.S)
CHANGES = {RESTART: 'at start', LIVE: 'live', SWITCH: 'live (switch)'}


def yaml_value(value: Value) -> str:
    """Write a default as YAML (and as the docs show it): '', true, 3, 0.5, [a, b]."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, list):
        return f'[{", ".join(yaml_value(item) for item in value)}]'
    if isinstance(value, str):
        return value or "''"
    return repr(value)


def config_yaml() -> str:
    """config/classifier.yaml: every parameter with its default, its description above it."""
    lines = [YAML_HEADER.rstrip('\n')]
    for parameter in DECLARED:
        text = parameter.description + ('' if parameter.change != RESTART else '; read at start')
        lines += textwrap.wrap(text + '.', 96, initial_indent='    # ',
                               subsequent_indent='    # ', break_on_hyphens=False)
        lines.append(f'    {parameter.name}: {yaml_value(parameter.default)}')
    return '\n'.join(lines) + '\n'


def _range(parameter: Parameter) -> str:
    if parameter.range is None:
        return ''
    low, high = (repr(int(v)) if float(v).is_integer() else repr(v) for v in parameter.range)
    return f'{low} .. {high}'


def markdown_table(patterns: Sequence[str] = ('*',)) -> str:
    """Make the docs table of the parameters matching `patterns`, in declaration order."""
    rows = ['| parameter | default | change | range | meaning |', '|---|---|---|---|---|']
    for p in DECLARED:
        if any(fnmatch.fnmatchcase(p.name, pattern) for pattern in patterns):
            meaning = ' '.join(filter(None, [p.description.replace('|', '\\|'), p.doc]))
            rows.append(f'| `{p.name}` | `{yaml_value(p.default)}` | {CHANGES[p.change]} | '
                        f'{_range(p)} | {meaning} |')
    return '\n'.join(rows) + '\n'


def render_page(page: str, blocks: dict[str, Sequence[str]]) -> str:
    """Rewrite the page's generated parameter blocks; a missing or unknown block is an error."""
    found = {match.group(2) for match in BLOCK.finditer(page)}
    if found != set(blocks):
        raise ValueError(f'generated blocks {sorted(found)}, expected {sorted(blocks)}')
    return BLOCK.sub(lambda m: m.group(1) + markdown_table(blocks[m.group(2)]) + m.group(4), page)


def generated_files() -> dict[Path, Callable[[str], str]]:
    """Each generated file and how its new text is made from its current text."""
    def page(blocks: dict[str, Sequence[str]]) -> Callable[[str], str]:
        return lambda text: render_page(text, blocks)

    made: dict[Path, Callable[[str], str]] = {YAML: lambda _: config_yaml()}
    made.update((path, page(blocks)) for path, blocks in PAGES.items())
    return made


def out_of_date() -> list[Path]:
    """Return the generated files whose text differs from what DECLARED makes."""
    return [path for path, make in generated_files().items()
            if make(path.read_text(encoding='utf-8')) != path.read_text(encoding='utf-8')]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--check', action='store_true',
                        help='only say which generated files are out of date (exit 1 if any)')
    args = parser.parse_args(argv)
    stale = out_of_date()
    if args.check:
        for path in stale:
            print(f'{path.relative_to(ROOT)} is out of date: run '
                  'python -m waste_classifier_ros.nodes.classifier_parameters')
        return 1 if stale else 0
    for path, make in generated_files().items():
        if path in stale:
            path.write_text(make(path.read_text(encoding='utf-8')), encoding='utf-8')
            print(f'rewrote {path.relative_to(ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
