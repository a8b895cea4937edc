# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Promoting a retrained model: the rule, an install that a kill cannot tear, a running node told.

The rule, one for every caller: `promote_decision` (better top-1 on the station's val, and
`guard_failure`: no base source more than a limit worse in top-1, nor any of its classes in
recall), `judge_comparison` (the same on the comparison.json training.station.retrain writes, as
the station page reads it), and among candidate models (epochs, WiSE-FT mixes, scopes: each a
`Candidate`) the pure `choose`. training.station's retrain, adapt and learning curve call these;
`STATION` is the station source's name there. `install` puts a model, its labels
and its card into a folder all or nothing: every file is first copied under a temporary name in
that folder and flushed to disk, then a journal naming the renames is written (itself atomically),
the renames are done and the journal removed. A kill before the journal exists leaves the old files
(and temporary ones the next install removes); a kill after it leaves complete new files, and the
next `install` into that folder (or `finish_interrupted_install`) does the renames that are left.
At no point is a file in the folder half written. The files an install replaces are first kept
in `previous/` in that folder (a whole set, swapped in by renames); `roll_back` installs them
back, one step back that is itself an install. `notify_running_node` asks a running
classifier to switch to the installed files (one atomic set of its `model`, `labels` and
`model_card` parameters: the node loads and checks the model beside the one it serves, docs/
ros_interface.md), and says when none is up. Nothing here imports torch; rclpy is imported only
to notify.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
import fcntl
import json
import os
from pathlib import Path
import shutil

from waste_classifier_ros.core.atomic_files import atomic_write, fsync_dir, write_durably
from waste_classifier_ros.core.model_card import ModelCardError, read_card

JOURNAL = '.install-pending.json'
LOCK = '.install.lock'
PREVIOUS = 'previous'  # <install folder>/previous/: the files the last install replaced
DEFAULT_NODE = '/waste_classifier'
# The station's own photos as one more source: its name in every comparison and model card.
STATION = 'station'


def guard_failure(current: Mapping, new: Mapping, base_names: Sequence[str], max_drop: float,
                  max_class_drop: float | None = None) -> str:
    """Why `new` breaks the base sources' guard against `current`, or '' when it keeps it.

    `current` and `new` map each evaluation set's name to training.recipe.evaluate's per-source
    result (its `top1` in 0..1, `per_class` recall and support); the limits are fractions (0.01
    = one point). A base source may lose at most `max_drop` top-1 and, with `max_class_drop`, no
    class of it with val photos more than that recall; the reason names the source and class.
    A class a base source has no val photos of (`empty`: the base sources have no empty
    scenes) is not judged there (`unjudged` names them): its recall is 0 whatever the model.
    """
    for name in base_names:
        drop = current[name]['top1'] - new[name]['top1']
        if drop > max_drop:
            return f'{100 * drop:.1f} points worse on {name} (limit {100 * max_drop:g})'
        if max_class_drop is None:
            continue
        for cls, row in current[name]['per_class'].items():
            after = new[name]['per_class'][cls]['recall']
            if row['support'] and row['recall'] - after > max_class_drop:
                return (f'{name} {cls} recall {100 * row["recall"]:.1f}% -> '
                        f'{100 * after:.1f}% ({100 * (row["recall"] - after):.1f} points, '
                        f'class limit {100 * max_class_drop:g})')
    return ''


def unjudged(result: Mapping, base_names: Sequence[str]) -> dict[str, list[str]]:
    """Per base source, the classes the guard skips there: those without val photos."""
    return {name: [cls for cls, row in result[name]['per_class'].items() if not row['support']]
            for name in base_names if name in result}


def promote_decision(current: Mapping, new: Mapping, base_names: Sequence[str], max_drop: float,
                     station: str = STATION,
                     max_class_drop: float | None = None) -> tuple[bool, str]:
    """(wins, reason): better top-1 on the station's val, and within the base sources' guard.

    The inputs are guard_failure's, with the station's val (named `station`) among the sets.
    """
    if station not in current:
        return False, 'no station val photos to judge on'
    gain = new[station]['top1'] - current[station]['top1']
    if gain <= 0:
        return False, f'not better on the station ({100 * gain:+.1f} points)'
    guard = guard_failure(current, new, base_names, max_drop, max_class_drop)
    if guard:
        return False, guard
    classes = '' if max_class_drop is None else \
        f', no class more than {100 * max_class_drop:g} points'
    return True, f'{100 * gain:+.1f} points on the station, no base source more than ' \
        f'{100 * max_drop:g} point(s) worse{classes}'


def judge_comparison(comparison: Mapping, base_names: Sequence[str], max_drop: float,
                     max_class_drop: float | None = None) -> tuple[bool, str]:
    """`promote_decision` on the `comparison` of a retrain's comparison.json.

    `comparison` maps each evaluation set to its `current` and `new` top-1 (`top1`), per-class
    recalls (`recall_current`, `recall_new`) and val photos per class (`support`; a comparison
    without it counts every class, which changes no verdict: a class without photos has recall
    0 in both). Raises KeyError naming what a row lacks. The verdict is the one retrain gave.
    """
    def side(row: Mapping, which: str) -> dict:
        support = row.get('support') or {}
        return {'top1': row[which]['top1'],
                'per_class': {cls: {'recall': recall, 'support': support.get(cls, 1)}
                              for cls, recall in row[f'recall_{which}'].items()}}

    current = {name: side(row, 'current') for name, row in comparison.items()}
    new = {name: side(row, 'new') for name, row in comparison.items()}
    return promote_decision(current, new, base_names, max_drop, STATION, max_class_drop)


@dataclass(frozen=True)
class Candidate:
    """One candidate model scored on the station's and the base sources' val.

    An epoch of a fit (`epoch`, `share` 1), a WiSE-FT mix of the start and a fit (`share` < 1 of
    the change), or a retrain scope's kept model (`scope`). `guard` is guard_failure's reason
    ('' within the guard); `station_top1` is None without station val photos, and
    `log_likelihood` the station val's (0 without).
    """

    station_top1: float | None
    base_top1: Mapping[str, float]
    guard: str = ''
    log_likelihood: float = 0.0
    share: float = 1.0
    epoch: int = 0
    scope: str = ''
    facts: Mapping = field(default_factory=dict, compare=False)  # loss, seconds: reported only

    def by_station(self) -> tuple[float, float]:
        """Station top-1, then log-likelihood; without station val the order (later first)."""
        if self.station_top1 is None:
            return self.epoch - 1 + self.share, 0.0
        return self.station_top1, self.log_likelihood

    def by_bases(self) -> tuple[float, float]:
        """Station top-1, then the base sources' mean top-1 (how scopes are ranked)."""
        base = self.base_top1
        return self.station_top1 or 0.0, sum(base.values()) / len(base) if base else 0.0

    def learnt(self, start_station: float | None) -> bool:
        """Better on the station's val than the start (None: no start to beat)."""
        return start_station is None or (self.station_top1 or 0.0) > start_station

    def row(self, kept: bool | None = None) -> dict:
        """Return the candidate as a report row (JSON), with whether it is the one kept."""
        out: dict[str, object] = {'scope': self.scope} if self.scope else {}
        out |= {'epoch': self.epoch, 'share': self.share, **self.facts,
                'station_top1': self.station_top1, 'base_top1': dict(self.base_top1),
                'guard': self.guard}
        return out if kept is None else out | {'kept': kept}


def choose(candidates: Sequence[Candidate], start_station: float | None = None,
           incumbent: Candidate | None = None, guarded: bool = True,
           key: Callable[[Candidate], tuple] = Candidate.by_station) -> Candidate | None:
    """Return the candidate kept: the highest `key` among those that qualify, else `incumbent`.

    A candidate qualifies within the guard (unless `guarded` is False) when it learnt on the
    station (`start_station`: one that did not could not win by the rule). The incumbent (the
    candidate already kept, which need not have learnt) is replaced only by a higher key; ties
    go to the incumbent, then to the earlier candidate. None when nothing qualifies.
    """
    kept = incumbent
    for candidate in candidates:
        if guarded and candidate.guard or not candidate.learnt(start_station):
            continue
        if kept is None or key(candidate) > key(kept):
            kept = candidate
    return kept


def _complete(folder: Path) -> list[Path]:
    """Do the renames the journal names (those not done yet), then remove the journal."""
    journal = folder / JOURNAL
    renames = json.loads(journal.read_text(encoding='utf-8'))
    for temporary, final in renames:
        if (folder / temporary).exists():
            os.replace(folder / temporary, folder / final)
    fsync_dir(folder)
    journal.unlink()
    fsync_dir(folder)
    return [folder / final for _, final in renames]


def _finish_locked(folder: Path) -> list[Path]:
    finished = _complete(folder) if (folder / JOURNAL).exists() else []
    for stray in folder.glob('.*.install.tmp'):  # staged by an install killed before its journal
        if stray.is_dir():  # a copy of the replaced files, not yet or no longer previous/
            shutil.rmtree(stray)
        else:
            stray.unlink()
    return finished


class _Locked:
    """An exclusive lock on the folder's install lock file: one install at a time."""

    def __init__(self, folder: Path) -> None:
        self._file = open(folder / LOCK, 'a')

    def __enter__(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self._file.close()  # closing releases the lock


def finish_interrupted_install(folder: Path) -> list[Path]:
    """Complete an install a kill interrupted after staging; return the files it finished."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    with _Locked(folder):
        return _finish_locked(folder)


def install(files: Sequence[Path], target_dir: Path) -> list[Path]:
    """Copy `files` into target_dir (same names), all or nothing; return the installed paths.

    The files it replaces are kept in `target_dir/previous/` first (`roll_back` puts them back).
    """
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    with _Locked(target_dir):
        _finish_locked(target_dir)
        return _install_locked(list(map(Path, files)), target_dir)


def _install_locked(files: list[Path], target_dir: Path) -> list[Path]:
    renames = []
    for path in files:
        temporary = f'.{path.name}.{os.getpid()}.install.tmp'
        write_durably(target_dir / temporary, path, exclusive=False)
        renames.append((temporary, path.name))
    fsync_dir(target_dir)
    # After staging: the files to install may be the ones in previous/ (a roll back).
    _keep_replaced(target_dir, [path.name for path in files])
    # From here on the install completes, now or at the next look.
    atomic_write(target_dir / JOURNAL, json.dumps(renames).encode('utf-8'))
    return _complete(target_dir)


def _keep_replaced(folder: Path, names: list[str]) -> None:
    """Copy those of `names` that `folder` holds into folder/previous/, in place of what it held.

    The copies are made and flushed in a hidden folder that then replaces previous/ by renames,
    so previous/ always holds one whole set. A kill before those renames leaves previous/ as it
    was; between them, no previous/ (and a hidden folder the next install removes).
    """
    replaced = [name for name in names if (folder / name).is_file()]
    if not replaced:
        return
    staging = folder / f'.{PREVIOUS}.{os.getpid()}.install.tmp'
    staging.mkdir()
    for name in replaced:
        write_durably(staging / name, folder / name)
    fsync_dir(staging)
    previous = folder / PREVIOUS
    if previous.exists():
        retired = folder / f'.{PREVIOUS}-retired.{os.getpid()}.install.tmp'
        os.replace(previous, retired)
        shutil.rmtree(retired)
    os.replace(staging, previous)
    fsync_dir(folder)


def roll_back(model: Path) -> Path:
    """Install the files kept in previous/ beside `model` back; return the model path now in use.

    One step back: the roll back is an install like any other (all or nothing), so previous/
    then holds what it replaced and a second roll back returns to it. The model path is the
    `model_file` of the card put back (the same name as `model` unless the two differ).
    FileNotFoundError when previous/ holds nothing.
    """
    model = Path(model)
    folder = model.parent
    with _Locked(folder):
        _finish_locked(folder)
        kept = sorted(p for p in (folder / PREVIOUS).glob('*') if p.is_file()) \
            if (folder / PREVIOUS).is_dir() else []
        if not kept:
            raise FileNotFoundError(f'nothing to roll back to: no {PREVIOUS}/ model kept in '
                                    f'{folder} (an install keeps the model it replaces there)')
        _install_locked(kept, folder)
    try:
        return folder / read_card(folder / 'model_card.json').get('model_file', model.name)
    except ModelCardError:
        return model


@dataclass(frozen=True)
class NodeAnswer:
    """What a running classifier said to a switch request."""

    node: str
    running: bool
    switched: bool
    reason: str

    def __str__(self) -> str:
        if not self.running:
            return f'no classifier node {self.node} is running ({self.reason}); it loads the ' \
                'new model when it starts'
        if self.switched:
            return f'{self.node} switched to the new model'
        return f'{self.node} refused the new model and keeps its own: {self.reason}'


def notify_running_node(model: Path, labels: Path | None = None, model_card: Path | None = None,
                        node: str = DEFAULT_NODE, timeout: float = 5.0,
                        reply_timeout: float = 300.0) -> NodeAnswer:
    """Ask the classifier `node` (fully qualified) to switch to `model` with one parameter set.

    `labels` and `model_card` default to the files beside the model. Uses the ROS environment of
    the calling process (ROS_DOMAIN_ID and so on) in a context of its own, so a caller that runs
    rclpy already is not disturbed. Waits at most `timeout` seconds for the node to appear and
    `reply_timeout` for its answer: the node answers once the new model is loaded and checked,
    which on a Jetson includes building its TensorRT engine (minutes the first time).
    """
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParametersAtomically
    import rclpy
    from rclpy.client import Client
    from rclpy.executors import SingleThreadedExecutor

    model = Path(model).resolve()
    values = {'model': model,
              'labels': Path(labels).resolve() if labels else model.with_name('labels.txt'),
              'model_card': (Path(model_card).resolve() if model_card
                             else model.with_name('model_card.json'))}
    request = SetParametersAtomically.Request(parameters=[
        Parameter(name=name, value=ParameterValue(type=ParameterType.PARAMETER_STRING,
                                                  string_value=str(value)))
        for name, value in values.items()])
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        client_node = rclpy.create_node(f'waste_promotion_{os.getpid()}', context=context,
                                        start_parameter_services=False)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(client_node)
        client: Client = client_node.create_client(SetParametersAtomically,
                                                   f'{node}/set_parameters_atomically')
        if not client.wait_for_service(timeout_sec=timeout):
            return NodeAnswer(node, False, False, f'no answer within {timeout:g} s')
        future = client.call_async(request)
        executor.spin_until_future_complete(future, timeout_sec=reply_timeout)
        if not future.done():
            return NodeAnswer(node, True, False, f'no reply within {reply_timeout:g} s')
        response = future.result()
        if response is None:  # the call failed (service gone) rather than answered
            return NodeAnswer(node, True, False, 'the parameter service call failed')
        result = response.result
        return NodeAnswer(node, True, result.successful, result.reason)
    finally:
        rclpy.try_shutdown(context=context)
