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
from dataclasses import dataclass, field, replace
import fcntl
import json
import math
import os
from pathlib import Path
import shutil
from statistics import NormalDist
from typing import Any

from waste_classifier_ros.core.atomic_files import atomic_write, fsync_dir, write_durably
from waste_classifier_ros.core.model_card import ModelCardError, read_card

JOURNAL = '.install-pending.json'
LOCK = '.install.lock'
PREVIOUS = 'previous'  # <install folder>/previous/: the files the last install replaced
DEFAULT_NODE = '/waste_classifier'
# The station's own photos as one more source: its name in every comparison and model card.
STATION = 'station'
# The guard's and the choice's confidence: a difference counts where its paired 95 % interval
# excludes it (Guard, choose).
GUARD_CONFIDENCE = CHOICE_CONFIDENCE = 0.95
# Scopes, the cheapest (least changed) first: the choice's order among equals (choose).
SCOPE_COST = ('head', 'blocks', 'all')


@dataclass(frozen=True)
class Change:
    """Two models' top-1 on the same photos: the first's right answers, gains and losses.

    `gained`: photos the second got right where the first did not; `lost`: the reverse.
    """

    photos: int
    right: int
    gained: int
    lost: int

    @classmethod
    def between(cls, before: str, after: str) -> 'Change':
        """From per-photo outcomes ('1' right) in one photo order: compute_metrics' `right`."""
        if len(before) != len(after):
            raise ValueError(f'the two models were scored on {len(before)} and {len(after)} '
                             'photos: not the same ones')
        pairs = list(zip(before, after))
        return cls(len(pairs), before.count('1'), pairs.count(('0', '1')),
                   pairs.count(('1', '0')))

    @property
    def before(self) -> float:
        return self.right / self.photos if self.photos else 0.0

    @property
    def after(self) -> float:
        return (self.right + self.gained - self.lost) / self.photos if self.photos else 0.0

    def interval(self, confidence: float) -> tuple[float, float]:
        """Return the change in top-1 (a fraction) at `confidence`; 0: the change itself, twice.

        Bonett and Price's adjusted Wald interval for paired proportions (2012): one photo more
        of each kind of disagreement (gained, lost) and two more photos, then the normal
        interval of their difference. Unlike McNemar's exact test, which holds the number of
        disagreements fixed and so puts a change where every one went the same way at the
        interval's edge, it counts their spread too; its coverage is near the nominal one from a
        few dozen photos on.
        """
        change = (self.gained - self.lost) / self.photos if self.photos else 0.0
        if not confidence or not self.photos:
            return change, change
        z = NormalDist().inv_cdf((1 + confidence) / 2)
        up, down = ((count + 1) / (self.photos + 2) for count in (self.gained, self.lost))
        centre = up - down
        spread = z * math.sqrt((up + down - centre ** 2) / (self.photos + 2))
        return max(-1.0, centre - spread), min(1.0, centre + spread)

    def text(self, confidence: float) -> str:
        """'95.2% -> 94.1% (-1.1, 95% interval -2.3..+0.1 over 526 photos)' (in points)."""
        low, high = self.interval(confidence)
        spread = f', {100 * confidence:g}% interval {100 * low:+.1f}..{100 * high:+.1f}' \
            if confidence else ''
        return (f'{100 * self.before:.1f}% -> {100 * self.after:.1f}% '
                f'({100 * (self.after - self.before):+.1f}{spread} over {self.photos} photos)')


@dataclass(frozen=True)
class Paired:
    """One evaluation set scored by two models photo by photo: a Change per class."""

    per_class: Mapping[str, Change]

    @classmethod
    def of(cls, before: Mapping, after: Mapping) -> 'Paired':
        """From two compute_metrics results on the same photos (their per-class `right`)."""
        return cls({name: Change.between(outcomes, after['right'][name])
                    for name, outcomes in before['right'].items()})

    @property
    def top1(self) -> Change:
        rows = self.per_class.values()
        return Change(*(sum(getattr(row, name) for row in rows)
                        for name in ('photos', 'right', 'gained', 'lost')))

    def counts(self) -> dict[str, list[int]]:
        """Per class [photos, right before, gained, lost]: what comparison.json keeps."""
        return {name: [c.photos, c.right, c.gained, c.lost] for name, c in self.per_class.items()}

    @classmethod
    def from_counts(cls, counts: Mapping[str, Sequence[int]]) -> 'Paired':
        return cls({name: Change(*row) for name, row in counts.items()})


@dataclass(frozen=True)
class Guard:
    """The base sources' guard: how much a candidate may lose on each base source's val photos.

    A base source may lose at most `max_drop` top-1 and, with `max_class_drop`, a class of it
    at most that recall (fractions: 0.01 = one point). With a `confidence` (the noise-aware
    guard) a loss counts only where the photos show it: the paired interval of the change
    (Change.interval) lies wholly beyond the limit, and a class is limited only with at least
    `min_class_photos` val photos (below, its interval is wider than the limit even for one
    photo; the class still counts in its source's top-1). With
    confidence 0 (the strict guard, the rule before the interval) the change itself counts,
    in every class with val photos.
    """

    max_drop: float = 0.01
    max_class_drop: float | None = 0.10
    confidence: float = GUARD_CONFIDENCE

    @property
    def min_class_photos(self) -> int:
        """Return the fewest val photos a class needs to be limited (1 for the strict guard).

        A class is limited where its interval can tell one photo from the limit: with one
        photo changed, Change.interval's half-width is about z * sqrt(3) / (photos + 2), below
        the limit from z * sqrt(3) / limit - 2 photos on (32 for 10 points at 95 %).
        """
        if not self.confidence or self.max_class_drop is None:
            return 1
        z = NormalDist().inv_cdf((1 + self.confidence) / 2)
        return math.ceil(z * math.sqrt(3) / max(self.max_class_drop, 1e-6) - 2)

    @property
    def name(self) -> str:
        return f'noise-aware guard ({100 * self.confidence:g}%)' if self.confidence else \
            'strict guard'

    def __str__(self) -> str:
        """State the rule in words, as the card and the page show it."""
        loses = (f'shown by its paired {100 * self.confidence:g}% interval to lose'
                 if self.confidence else 'losing')
        least = f'{self.min_class_photos} or more' if self.confidence else 'any'
        classes = '' if self.max_class_drop is None else (
            f', nor a class with {least} val photos more than {100 * self.max_class_drop:g} '
            'points of recall')
        return (f'{self.name}: no base source {loses} more than {100 * self.max_drop:g} '
                f'point(s) of top-1{classes}')

    def other(self) -> 'Guard':
        """Return the alternative an owner weighs: the strict guard, or the noise-aware one."""
        return replace(self, confidence=0.0 if self.confidence else GUARD_CONFIDENCE)

    def _beyond(self, change: Change, limit: float) -> bool:
        return change.interval(self.confidence)[1] < -limit - 1e-12

    def judge(self, name: str, paired: Paired) -> tuple[str, str]:
        """(why base source `name` breaks the guard, '' when it keeps it; its statement)."""
        line = f'{name} top-1 {paired.top1.text(self.confidence)}'
        if self._beyond(paired.top1, self.max_drop):
            return (f'{line}: beyond the {100 * self.max_drop:g}-point limit',) * 2
        for cls, change in paired.per_class.items():
            if self.max_class_drop is not None and change.photos >= self.min_class_photos and \
                    self._beyond(change, self.max_class_drop):
                return (f'{name} {cls} recall {change.text(self.confidence)}: beyond the '
                        f'{100 * self.max_class_drop:g}-point class limit',) * 2
        return '', f'{line}: within the {self.name}'

    def failure(self, changes: Mapping[str, Paired], base_names: Sequence[str]) -> str:
        """Return the first base source's reason to refuse, or '' when every one keeps it."""
        return next(filter(None, (self.judge(n, changes[n])[0] for n in base_names)), '')


def guard_failure(current: Mapping, new: Mapping, base_names: Sequence[str],
                  guard: Guard) -> str:
    """Why `new` breaks the base sources' guard against `current`, or '' when it keeps it.

    `current` and `new` map each evaluation set's name to compute_metrics' result on it (its
    `right` per class pairs the photos). A class a base source has no val photos of (`empty`:
    the base sources have no empty scenes) is not judged there (`unjudged` names them).
    """
    return guard.failure({n: Paired.of(current[n], new[n]) for n in base_names}, base_names)


def unjudged(result: Mapping, base_names: Sequence[str]) -> dict[str, list[str]]:
    """Per base source, the classes the guard skips there: those without val photos."""
    return {name: [cls for cls, row in result[name]['per_class'].items() if not row['support']]
            for name in base_names if name in result}


def decide(changes: Mapping[str, Paired], base_names: Sequence[str], guard: Guard,
           station: str = STATION) -> tuple[bool, str]:
    """(wins, reason): better top-1 on the station's val, and every base source within `guard`.

    A win's reason states each base source's change (Guard.judge).
    """
    if station not in changes:
        return False, 'no station val photos to judge on'
    total = changes[station].top1
    gain = total.after - total.before
    if gain <= 0:
        return False, f'not better on the station ({100 * gain:+.1f} points)'
    verdicts = [guard.judge(name, changes[name]) for name in base_names]
    failure = next(filter(None, (why for why, _ in verdicts)), '')
    if failure:
        return False, failure
    return True, f'{100 * gain:+.1f} points on the station; ' + '; '.join(
        line for _, line in verdicts)


def promote_decision(current: Mapping, new: Mapping, base_names: Sequence[str], guard: Guard,
                     station: str = STATION) -> tuple[bool, str]:
    """`decide` on guard_failure's inputs, with the station's val (named `station`) among them."""
    return decide({n: Paired.of(current[n], new[n]) for n in current if n in new}, base_names,
                  guard, station)


def judge_comparison(comparison: Mapping, base_names: Sequence[str],
                     guard: Guard) -> tuple[bool, str]:
    """`decide` on the `comparison` of a retrain's comparison.json.

    `comparison` maps each evaluation set to its `paired` counts (Paired.counts). Raises
    KeyError naming what a row lacks. The verdict is the one retrain gave under the same guard.
    """
    return decide({name: Paired.from_counts(row['paired']) for name, row in comparison.items()},
                  base_names, guard)


@dataclass(frozen=True)
class Candidate:
    """One candidate model scored on the station's and the base sources' val.

    An epoch of a fit (`epoch`, `share` 1), a WiSE-FT mix of the start and a fit (`share` < 1 of
    the change), or a retrain scope's kept model (`scope`). `guard` is the guard in use's
    reason ('' within the guard), `other_guard` the alternative's (Guard.other), `base_lines`
    each base source's statement; `station_top1` is None without station val photos, and
    `log_likelihood` the station val's (0 without); `station_right` per station val photo '1'
    where right (pairs candidates in `choose`).
    """

    station_top1: float | None
    base_top1: Mapping[str, float]
    guard: str = ''
    log_likelihood: float = 0.0
    share: float = 1.0
    epoch: int = 0
    scope: str = ''
    facts: Mapping = field(default_factory=dict, compare=False)  # loss, seconds: reported only
    base_lines: tuple[str, ...] = field(default=(), compare=False)
    other_guard: str = field(default='', compare=False)
    station_right: str = field(default='', compare=False)

    @classmethod
    def scored(cls, start: Mapping, now: Mapping, base_names: Sequence[str], guard: Guard,
               station: str = STATION, **fields: Any) -> 'Candidate':
        """Return a model scored on val sets (`now`: name -> compute_metrics), judged by `start`.

        The station's val (`station`) may be missing; `fields` are the other fields.
        """
        changes = {n: Paired.of(start[n], now[n]) for n in base_names}
        verdicts = [guard.judge(n, changes[n]) for n in base_names]
        scored = now.get(station)
        return cls(None if scored is None else scored['top1'],
                   {n: now[n]['top1'] for n in base_names},
                   next(filter(None, (why for why, _ in verdicts)), ''),
                   base_lines=tuple(line for _, line in verdicts),
                   other_guard=guard.other().failure(changes, base_names),
                   station_right='' if scored is None else ''.join(scored['right'].values()),
                   **fields)

    @classmethod
    def from_row(cls, row: Mapping) -> 'Candidate':
        """Return the candidate `row` wrote (its log-likelihood and facts are not kept)."""
        return cls(row['station_top1'], row['base_top1'], row['guard'], share=row['share'],
                   epoch=row['epoch'], scope=row.get('scope', ''),
                   base_lines=tuple(row['base']), other_guard=row['other_guard'],
                   station_right=row['station_right'])

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

    def cost(self) -> int:
        """How much of the network moved: the scope's place in SCOPE_COST.

        Not the share of a mix: the mixes are there to keep the base sources, which the guard
        already holds, and a mix the val cannot tell from its epoch was the worse of the two on
        the new style wherever measured (docs/flywheel.md, "Where the plateau comes from").
        """
        return SCOPE_COST.index(self.scope) if self.scope in SCOPE_COST else len(SCOPE_COST)

    def within_noise(self, best: 'Candidate', confidence: float) -> bool:
        """Whether the station's val cannot tell this candidate from `best` (not beaten by it).

        The paired interval of their difference at `confidence` includes 0.
        """
        if self is best:
            return True
        if not confidence or not self.station_right or \
                len(self.station_right) != len(best.station_right):
            return False
        return Change.between(best.station_right, self.station_right).interval(confidence)[1] >= 0

    def label(self) -> str:
        """'blocks epoch 5', 'head mix 0.25', 'mix 0.5 of epoch 3'."""
        what = (f'mix {self.share:g} of epoch {self.epoch}' if self.epoch and self.share < 1
                else f'epoch {self.epoch}' if self.epoch
                else f'mix {self.share:g}' if self.share < 1 else 'fit')
        return f'{self.scope} {what}' if self.scope else what

    def row(self, kept: bool | None = None) -> dict:
        """Return the candidate as a report row (JSON), with whether it is the one kept."""
        out: dict[str, object] = {'scope': self.scope} if self.scope else {}
        out |= {'epoch': self.epoch, 'share': self.share, **self.facts,
                'station_top1': self.station_top1, 'base_top1': dict(self.base_top1),
                'guard': self.guard, 'base': list(self.base_lines),
                'other_guard': self.other_guard, 'station_right': self.station_right}
        return out if kept is None else out | {'kept': kept}


def choose(candidates: Sequence[Candidate], start_station: float | None = None,
           incumbent: Candidate | None = None, guarded: bool = True,
           key: Callable[[Candidate], tuple] = Candidate.by_station,
           confidence: float = CHOICE_CONFIDENCE) -> Candidate | None:
    """Return the candidate kept: the least changed of those as good as the best, else None.

    A candidate qualifies within the guard (unless `guarded` is False) when it learnt on the
    station (`start_station`: one that did not could not win by the rule); the incumbent (the
    candidate already kept) qualifies, learnt or not. The best is the highest `key` (ties: the
    incumbent, then the earlier). Of the qualifying candidates the station's val cannot tell
    from the best (Candidate.within_noise at `confidence`; 0: none but the best), the least
    changed is kept (Candidate.cost: the last layer before the blocks before the whole network;
    equal cost: the higher key), so the kept one is never below the
    best by more than the noise. None when nothing qualifies.
    """
    pool = [incumbent] if incumbent is not None else []
    pool += [c for c in candidates if not (guarded and c.guard) and c.learnt(start_station)]
    if not pool:
        return None
    best = pool[0]
    for candidate in pool[1:]:
        if key(candidate) > key(best):
            best = candidate
    within = [c for c in pool if c.within_noise(best, confidence)]
    cheapest = min(c.cost() for c in within)
    kept = None
    for candidate in within:
        if candidate.cost() == cheapest and (kept is None or key(candidate) > key(kept)):
            kept = candidate
    return kept


def trade_off(candidates: Sequence[Candidate], kept: Candidate, guard: Guard,
              start_station: float | None) -> dict:
    """Return what the guard in use costs the station, against the other (Guard.other).

    Every candidate with its station val, each base source's statement and both guards'
    verdicts; the one kept, and the one `choose` keeps among the same candidates under the
    other guard (scopes ranked as retrain ranks them). `kept` is matched by scope, epoch, share.
    """
    other = guard.other()
    theirs = choose([replace(c, guard=c.other_guard) for c in candidates], start_station,
                    key=Candidate.by_bases)

    def same(a: Candidate | None, b: Candidate) -> bool:
        return a is not None and (a.scope, a.epoch, a.share) == (b.scope, b.epoch, b.share)

    def summary(name: str, chosen: Candidate | None) -> str:
        if chosen is None:
            return f'{name}: no candidate qualifies'
        return f'{name}: {chosen.label()}, station val {_percent(chosen.station_top1)}'

    ours, gap = kept.station_top1, ''
    if theirs is not None and theirs.station_top1 is not None and ours is not None:
        gap = f' ({100 * (theirs.station_top1 - ours):+.1f} points on the station)'
    lines = [summary(f'{guard.name} (in use)', kept) + ''.join(
        f'; {line}' for line in kept.base_lines), summary(other.name, theirs) + gap]
    return {'guard': guard.name, 'other': other.name, 'lines': lines,
            'candidates': [{'candidate': c.label(), 'station_top1': c.station_top1,
                            'base': list(c.base_lines), 'guard': c.guard,
                            'other_guard': c.other_guard, 'kept': same(c, kept),
                            'other_kept': same(theirs, c)} for c in candidates]}


def _percent(value: float | None) -> str:
    return '-' if value is None else f'{100 * value:.1f}%'


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
