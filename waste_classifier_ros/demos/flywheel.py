# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
`make flywheel-demo`: the whole data flywheel on one machine, offline, in minutes.

1. Photos of a style the model has never seen (RealWaste: real waste on a concrete floor; the
   shipped model learnt from TrashNet objects on white posterboard) play through the media source
   into the classifier node with capture on, over real ROS 2 topics.
2. The captures (the frames the model was unsure of, and bin changes) are labelled from the
   photos' known classes, standing in for the person, through review.py, the same module
   `waste-review` and the station page use; a fifth go to the station's held-out val by the
   review's fixed rule.
3. training.station.retrain (a module call, `python -m training.station.retrain`, read back
   from the JSON it writes) adapts the model (`--scope`, default retrain's) on the base sources
   plus the station's photos and compares the current and the new model, on the station's val,
   on each base source's val and on the style's own held-out photos (RealWaste's val, never
   played).
4. It prints the before/after figures and writes a PNG. The new model goes into the demo's own
   folder, never over model/.
5. training.station.learning_curve draws station accuracy against the number of labelled
   photos, per scope, for this run's station (`--curve-scopes ''` skips it).
6. It tells the afternoon: photos labelled, the operator's minutes at the page's measured rate,
   the retrain's minutes, the held-out accuracy before and after, and what the next photos
   buy by the published curve of a new station (docs/images/new_station_curve.json).

    python -m waste_classifier_ros.demos.flywheel [--per-class 40] [--output flywheel_output]

The training side is not part of the installed package: it must be importable (a checkout, or
on PYTHONPATH); data roots are relative to where you run, as for training. Exit code 0 when the
retrained model reaches --min-accuracy (60%) top-1 on the style's held-out photos, 1 otherwise
or when a step fails (it names the step and shows the log).
"""

import argparse
import importlib.util
import json
from pathlib import Path
import shutil
import subprocess
import sys
import time
from typing import Sequence

import numpy as np
import rclpy
from sensor_msgs.msg import Image
from vision_msgs.msg import Classification
import yaml

from waste_classifier_ros.core.model_card import read_card, read_labels
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.demos.demo import DemoError, NodeRun, ros_args
from waste_classifier_ros.demos.local_ros import apply_local_ros_environ, clean_stale_shared_memory
from waste_classifier_ros.flywheel.review import ReviewSession

STYLE_SOURCE = 'realwaste'  # a source config of the training side's conf/source/
CAPTURE = {'capture_enabled': 'true', 'capture_min_interval': '0.0', 'capture_queue_size': '32',
           'reliable': 'true', 'smoothing_window': '1', 'frames_to_confirm': '1'}
QUIET_S = 3.0
# Where a model that has not seen the new style may be: the shipped one, or a permissive one
# beside it when the shipped model is trained on the style too.
MODELS = (Path('model/waste_classifier.onnx'), Path('model/permissive/waste_classifier.onnx'))
# Photos an operator labels a minute in the page's grid view: benchmarks.labelling (BENCHMARKS.md;
# the page's time measured in Chromium, the operator's look and keys modelled), 2026-12-07.
GRID_PHOTOS_PER_MINUTE = 39.2
# The learning curve of RealWaste as a new station (README, "A new station"): its scope and set.
CURVE = (Path('docs/images/new_station_curve.json'), 'blocks,head', 'new_style_heldout')
MORE = 250  # the next step the afternoon proposes: this many more labelled photos


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='flywheel-demo', description=__doc__.split('\n')[1])
    parser.add_argument('--model', type=Path,
                        help='a model that has not seen the style (default: the first of '
                        f'{", ".join(str(p) for p in MODELS)} whose card does not list it)')
    parser.add_argument('--style', type=Path,
                        help='source config of the new style: root and class_map (default: '
                             'training/conf/source/realwaste.yaml of the importable training)')
    parser.add_argument('--base-dataset', default='permissive',
                        help='base sources of the retrain (training/conf/dataset/)')
    parser.add_argument('--per-class', type=int, default=40,
                        help="photos played per class folder of the style's train split")
    parser.add_argument('--rate', type=float, default=8.0, help='photos per second')
    parser.add_argument('--scope', choices=('head', 'blocks', 'all'),
                        help="the retrain's scope (retrain --scope; default its own)")
    # What a station of the demo's ~300 photos reaches by the curve of a new station (README:
    # 62.5% at 250 photos, the range over labelling orders down to 62.5%), with a margin.
    parser.add_argument('--min-accuracy', type=float, default=60.0,
                        help="held-out top-1 (%%) the retrained model must reach on the style's "
                        'val')
    parser.add_argument('--curve-scopes', default='blocks,head',  # retrain's default --scope
                        help="scopes of the learning curve drawn after the retrain; '' = none")
    parser.add_argument('--output', type=Path, default=Path('flywheel_output'))
    parser.add_argument('--timeout', type=float, default=120.0)
    return parser.parse_args(argv)


def training_folder() -> Path | None:
    """Return the importable training side's folder (without importing it), or None."""
    spec = importlib.util.find_spec('training')
    folders = list(spec.submodule_search_locations or []) if spec else []
    return Path(folders[0]) if folders else None


def default_style() -> Path:
    """Find the training side's source config of the style (without importing training)."""
    training_module('training')
    return Path(training_folder() or '') / 'conf' / 'source' / f'{STYLE_SOURCE}.yaml'


def style_config(path: Path) -> tuple[Path, dict]:
    """Root (relative to where you run, as for training) and class map of the style."""
    config = yaml.safe_load(path.read_text(encoding='utf-8'))
    return Path(config['root']).resolve(), config['class_map']


def has_seen(model: Path, style: Path, style_root: Path) -> bool:
    """Whether the model card lists the style among the sources the model was trained on."""
    card = read_card(model.with_name('model_card.json'))
    seen = [s.get('name') for s in card.get('sources', [])] + [
        card.get('dataset', {}).get('root')]
    return any(name in (style.stem, str(style_root)) for name in seen if name)


def unseen_model(args: argparse.Namespace, style_root: Path) -> Path:
    candidates = [args.model] if args.model else [share_path(*p.parts) for p in MODELS]
    for model in candidates:
        if model.is_file() and not has_seen(model, args.style, style_root):
            return model.resolve()
    raise DemoError(f'no model that has not seen {style_root} among '
                    f'{", ".join(map(str, candidates))}; pass --model of one (a permissive model)')


def choose_photos(train: Path, class_map: dict, per_class: int, folder: Path) -> dict:
    """Link an even spread of each class folder's photos into `folder`, in playing order.

    Returns the link name -> project class; the names sort in the order they are played.
    """
    folder.mkdir(parents=True)
    chosen = []
    for source_class in sorted(p.name for p in train.iterdir() if p.is_dir()):
        photos = sorted((train / source_class).glob('*.jpg'))
        step = max(1, len(photos) // per_class)
        chosen += [(photo, class_map[source_class]) for photo in photos[::step][:per_class]]
    # Interleave the classes, as items arrive at a bin, with a fixed shuffle.
    chosen = [chosen[i] for i in sorted(range(len(chosen)), key=lambda i: (i * 7919) % 10007)]
    truth = {}
    for i, (photo, project_class) in enumerate(chosen):
        name = f'{i:05d}.jpg'
        (folder / name).symlink_to(photo)
        truth[name] = project_class
    return truth


def play(args: argparse.Namespace, photos: Path, count: int, inbox: Path,
         logs: Path) -> list:
    """Play the photos through the classifier with capture on; return the image stamps in order.

    The demo listens to the camera topic like any node: the n-th image stamp is the n-th photo.
    """
    clean_stale_shared_memory()
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('flywheel_demo', context=context)
    stamps: list[tuple[int, int]] = []
    answers: list[Classification] = []
    node.create_subscription(Image, '/image', lambda m: stamps.append(
        (m.header.stamp.sec, m.header.stamp.nanosec)), 100)
    node.create_subscription(Classification, '/waste_classifier/classification',
                             answers.append, 100)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    classifier = NodeRun('classifier_node', ros_args(
        share_path('config', 'classifier.yaml'),
        {**CAPTURE, 'model': str(args.model), 'capture_inbox': str(inbox)}),
        logs / 'classifier.log')
    source = None
    try:
        deadline = time.monotonic() + args.timeout
        while node.count_publishers('/waste_classifier/classification') == 0:
            classifier.check_running('starting')
            if time.monotonic() > deadline:
                raise DemoError(f'the classifier did not start within {args.timeout} s')
            executor.spin_once(timeout_sec=0.1)
        source = NodeRun('media_source_node', [
            '--ros-args', '-p', f'resource:={photos}', '-p', f'rate:={args.rate}',
            '-p', 'reliable:=true', '-p', 'wait_for_subscribers:=2'], logs / 'media_source.log')
        deadline = time.monotonic() + count / args.rate + args.timeout
        # Until every photo is answered or, once the source has finished, no answer came for
        # QUIET_S (a frame the classifier skipped is simply not captured).
        last = (0, time.monotonic())
        while len(answers) < count:
            classifier.check_running('classifying')
            now = time.monotonic()
            if len(answers) != last[0]:
                last = (len(answers), now)
            if source.process.poll() is not None and now - last[1] > QUIET_S:
                break
            if now > deadline:
                raise DemoError(f'{len(answers)} of {count} photos classified in time')
            executor.spin_once(timeout_sec=0.1)
        if source.process.wait(args.timeout) != 0:
            raise DemoError(f'the media source failed:\n{source.log_tail()}')
    finally:
        if source is not None:
            source.stop()
        classifier.stop()  # writes what is queued before it exits
        executor.shutdown()
        node.destroy_node()
        context.try_shutdown()
    print(f'[flywheel] 1. played {len(stamps)} photos of the new style, {len(answers)} '
          'classified')
    return stamps


def label_captures(inbox: Path, station: Path, classes: list, stamps: list,
                   truth: dict) -> dict:
    """Label every capture from the known class of its photo, through review.py."""
    photo_of = dict(zip(stamps, sorted(truth)))
    reasons: dict[str, int] = {}
    with ReviewSession(inbox, station, classes) as session:
        for capture in session.pending():
            stamp = capture.sidecar['stamp']
            name = photo_of[(stamp['sec'], stamp['nanosec'])]
            session.label(capture.id, truth[name])
            reasons[capture.reason] = reasons.get(capture.reason, 0) + 1
        counts = session.progress()
    split = {s: sum(1 for _ in (station / s).glob('*/*.jpg')) for s in ('train', 'val')}
    print(f'[flywheel] 2. {counts["labelled"]} captures labelled through review.py '
          f'({", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))}): '
          f'{split["train"]} to train, {split["val"]} to the station\'s val')
    return split


def training_module(name: str) -> None:
    """Refuse early, and say how, when the training side is not importable here."""
    if importlib.util.find_spec('training') is None:
        raise DemoError(f'{name} is not importable from this Python ({sys.executable}): the '
                        'training side is not part of the installed package; run from a '
                        'checkout (or put it on PYTHONPATH) with the training extras '
                        '(pip install waste_classifier_ros[training])')


def run_module(module: str, arguments: list, log_path: Path, step: str) -> None:
    """Run `python -m module` as the installed environment would; its output goes to a log."""
    training_module(module)
    with open(log_path, 'w', encoding='utf-8') as log:
        done = subprocess.run([sys.executable, '-m', module, *arguments], stdout=log,
                              stderr=subprocess.STDOUT)
    if done.returncode != 0:
        text = log_path.read_text(encoding='utf-8')
        raise DemoError(f'{step}: {module} failed ({done.returncode}):\n{text[-3000:]}')


def retrain(args: argparse.Namespace, station: Path, style_root: Path, logs: Path) -> dict:
    """training.station.retrain as a module call; its result is the comparison.json it writes."""
    out = args.output / 'retrain'
    run_module('training.station.retrain', [
        '--station', str(station), '--dataset', args.base_dataset, '--model', str(args.model),
        '--out', str(out), '--install-dir', str(args.output / 'model'), '--node', '',
        '--eval', f'new_style_heldout={style_root / "val"}:{args.style}',
        '--png', str(args.output / 'flywheel.png'),
        *(['--scope', args.scope] if args.scope else [])], logs / 'retrain.log', '3. retrain')
    report = json.loads((out / 'comparison.json').read_text(encoding='utf-8'))
    print(f'[flywheel] 3. retrained ({report["scope"]} scope, {report["duration_s"]:.0f} s): '
          f'current vs new model, recall per class\n{report["table"]}')
    return report


def learning_curve(args: argparse.Namespace, station: Path, style_root: Path,
                   logs: Path) -> None:
    """Station accuracy against labelled photos, per scope, for this run's station."""
    out = args.output / 'curve'
    run_module('training.station.learning_curve', [
        '--station', str(station), '--dataset', args.base_dataset, '--model', str(args.model),
        '--eval', f'new_style_heldout={style_root / "val"}:{args.style}',
        '--scopes', args.curve_scopes, '--counts', '0,25,50,100,200,all', '--out', str(out),
        '--title', 'flywheel demo: top-1 against labelled station photos'],
        logs / 'learning_curve.log', '5. learning curve')
    report = json.loads((out / 'curve.json').read_text(encoding='utf-8'))
    print(f'[flywheel] 5. learning curve ({report["seconds"]:.0f} s), {out / "curve.png"}:\n'
          f'{report["table"]}')


def curve_file() -> Path | None:
    """Return the published curve beside the importable training side (a checkout), or None."""
    folder = training_folder()
    path = folder.parent / CURVE[0] if folder else None
    return path if path is not None and path.is_file() else None


def next_step(curve: dict, labelled: int, more: int = MORE) -> tuple[float, float] | None:
    """Return the held-out top-1 the curve reads at `labelled` and `labelled + more` (linear).

    None past the curve's last count (nothing measured there to read).
    """
    summary = curve['summary'][CURVE[1]]
    counts = sorted(int(n) for n in summary)
    if labelled + more > counts[-1]:
        return None
    means = [summary[str(n)][CURVE[2]]['mean'] for n in counts]
    return (float(np.interp(labelled, counts, means)),
            float(np.interp(labelled + more, counts, means)))


def afternoon(labelled: int, retrain_s: float, before: float, after: float,
              curve_path: Path | None) -> str:
    """Return the afternoon: labels, operator and retrain minutes, accuracy, what is next."""
    text = (f'[flywheel] 6. the afternoon: {labelled} photos labelled, about '
            f'{labelled / GRID_PHOTOS_PER_MINUTE:.0f} operator minutes at '
            f"{GRID_PHOTOS_PER_MINUTE:g} photos a minute in the page's grid view; the retrain "
            f'{retrain_s / 60:.1f} min; held-out top-1 {100 * before:.1f}% -> {100 * after:.1f}%.')
    step = next_step(json.loads(curve_path.read_text(encoding='utf-8')), labelled) \
        if curve_path else None
    if step is None:
        return text
    now, then = step
    return (f'{text} Next: label {MORE} more (about {MORE / GRID_PHOTOS_PER_MINUTE:.0f} '
            f'minutes) for about {100 * (then - now):+.0f} points (the curve of RealWaste as a '
            f'new station reads {100 * now:.0f}% at {labelled} and {100 * then:.0f}% at '
            f'{labelled + MORE}: {CURVE[0]})')


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.output = args.output.resolve()
    apply_local_ros_environ()
    try:
        args.style = (args.style or default_style()).resolve()
        style_root, class_map = style_config(args.style)
        args.model = unseen_model(args, style_root)
        print(f'[flywheel] model {args.model}, which has not seen {style_root}')
        shutil.rmtree(args.output, ignore_errors=True)
        logs = args.output / 'logs'
        logs.mkdir(parents=True)
        truth = choose_photos(style_root / 'train', class_map, args.per_class,
                              args.output / 'played')
        stamps = play(args, args.output / 'played', len(truth), args.output / 'inbox', logs)
        split = label_captures(args.output / 'inbox', args.output / 'station',
                               read_labels(args.model.with_name('labels.txt')), stamps, truth)
        report = retrain(args, args.output / 'station', style_root, logs)
        heldout = report['comparison']['new_style_heldout']
        before, after = heldout['current']['top1'], heldout['new']['top1']
        print(f'[flywheel] 4. held-out photos of the new style '
              f'({heldout["current"]["num_images"]}, never played): top-1 {100 * before:.1f}% '
              f'before, {100 * after:.1f}% after ({100 * (after - before):+.1f} points); '
              f'promote rule: {report["decision"]}; picture: {args.output / "flywheel.png"}')
        if args.curve_scopes:
            learning_curve(args, args.output / 'station', style_root, logs)
        print(afternoon(sum(split.values()), report['duration_s'], before, after,
                        curve_file()))
    except DemoError as error:
        print(f'[flywheel] FAILED: {error}', file=sys.stderr)
        return 1
    if 100 * after < args.min_accuracy:
        print(f'[flywheel] FAILED: {100 * after:.1f}% on the held-out photos is below '
              f'{args.min_accuracy:g}%', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
