# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
`make demo`: the shipped sample photos through the real nodes over real ROS 2 topics.

Starts the classifier node and the media source node as separate processes with the params files
the launch files use (config/classifier.yaml, config/media_source.yaml), on a DDS graph that
stays on this machine (its own domain id, shared memory only). The photos are played as a camera
over a drop zone sees items: each photo lies in the zone for ITEM_FRAMES frames, with GAP_FRAMES
frames of the empty floor before it (and after the last), and the classifier runs with the
camera's smoothing and its presence gate, taught the empty floor first (as an operator's
~/learn_empty would: `teach_empty_zone`). So each photo gets one bin decision on ~/bin, and
`empty` between them. The demo listens like any other node: the images on `image` (their order
names the photo or the floor of each header stamp), the classifications, the bin decisions and
the annotated overlay. Then it prints one line per photo with its class and its item's bin
decision, the decisions in order, writes the overlay frames and a contact sheet PNG, and prints
the accuracy on the samples (the true class is the file name before `_<n>`).

    python -m waste_classifier_ros.demos.demo [--samples DIR] [--output DIR] [--model FILE]
"""

import argparse
from dataclasses import dataclass
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Callable, Mapping, Sequence

import cv2
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Classification, LabelInfo
import yaml

from waste_classifier_ros.core.bins import EMPTY
from waste_classifier_ros.core.diagnostics import classifier_status_name
from waste_classifier_ros.core.image_codec import Frame, decode, to_bgr
from waste_classifier_ros.core.media_reader import ResourceError, empty_floor, parse_resource
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.core.presence import HISTORY, PresenceGate, thumbnail
from waste_classifier_ros.demos.local_ros import apply_local_ros_environ, clean_stale_shared_memory

CLASSIFIER = 'waste_classifier'
# An item lies still long enough for the camera's defaults to decide it (settle_frames 2, then
# frames_to_confirm 3 of smoothing_window 5: the 5th frame), with frames to spare for ones a
# busy machine skips; the floor long enough for empty_frames (3) to announce `empty`.
ITEM_FRAMES, GAP_FRAMES = 10, 4
TILE = (256, 192)
COLUMNS = 4


@dataclass
class Result:
    """What came back for one sample photo: its class (last frame), its item's bin decision."""

    path: Path
    label: str = ''
    score: float = 0.0
    overlay: np.ndarray | None = None
    decision: str = ''
    decision_score: float = 0.0

    @property
    def truth(self) -> str:
        return self.path.stem.rsplit('_', 1)[0]

    @property
    def correct(self) -> bool:
        return self.label == self.truth


class DemoError(RuntimeError):
    """The demo could not run to the end; the message says what to look at."""


def add_playback_arguments(parser: argparse.ArgumentParser, samples_help: str, output: Path,
                           output_help: str, rate: float) -> None:
    """Add the options every demo shares: the photos, the output folder, the model, pace."""
    parser.add_argument('--samples', type=Path, default=share_path('samples'), help=samples_help)
    parser.add_argument('--output', type=Path, default=output, help=output_help)
    parser.add_argument('--model', default='',
                        help='ONNX model with labels.txt and model_card.json beside it '
                             '(default: the shipped model/waste_classifier.onnx)')
    parser.add_argument('--rate', type=float, default=rate, help='camera frames per second')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='seconds to wait for each step before giving up')


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='waste-classifier-demo', description=__doc__.strip().splitlines()[0])
    add_playback_arguments(
        parser, 'folder of photos named <class>_<n>.jpg (default: the shipped ones)',
        Path('demo_output'), 'folder for the overlay frames, the contact sheet and node logs',
        rate=12.0)
    return parser.parse_args(argv)


def ros_args(params_file: str | Path, overrides: Mapping[str, object]) -> list[str]:
    args = ['--ros-args', '--params-file', str(params_file)]
    for name, value in overrides.items():
        args += ['-p', f'{name}:={value}']
    return args


class NodeRun:
    """A node of this package (a module of nodes/) in a child process, its output in a log file."""

    def __init__(self, module: str, args: Sequence[str], log_path: Path):
        self.log_path = log_path
        with open(log_path, 'w', encoding='utf-8') as log:
            self.process = subprocess.Popen(
                [sys.executable, '-u', '-m', f'waste_classifier_ros.nodes.{module}', *args],
                stdout=log, stderr=subprocess.STDOUT)

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(encoding='utf-8', errors='replace').splitlines()
        return '\n'.join('    ' + line for line in text[-lines:])

    def check_running(self, what: str) -> None:
        if self.process.poll() is not None:
            raise DemoError(f'{self.log_path.stem} exited with code {self.process.returncode} '
                            f'while {what}:\n{self.log_tail()}')

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


class Listener:
    """The demo's own rclpy node: records what the two nodes publish.

    `plan` says what each image in turn shows (a photo, or None for the floor); of the overlays
    it keeps the newest of each photo, so that a long play does not pile frames up.
    """

    def __init__(self, node: Node, plan: Sequence[Path | None]):
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        # Best effort matches a publisher of either reliability; locally nothing is lost.
        any_publisher = QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT)
        latched = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node = node
        self.plan = plan
        self.images: list[Image] = []
        self.shows: dict[tuple, Path | None] = {}  # image stamp -> what it shows
        self.classifications: list[Classification] = []
        self.overlays: dict[Path | tuple, Image] = {}  # photo (or, not yet known, stamp) -> newest
        self.bins: list[Classification] = []
        self.label_info: list[LabelInfo] = []
        self.classifier_image_publishers = 0
        self._classifier_status = classifier_status_name(f'/{CLASSIFIER}')
        self.image_sub = node.create_subscription(Image, 'image', self.on_image, reliable)
        for msg_type, name, qos, callback in (
                (Classification, 'classification', any_publisher, self.classifications.append),
                (Image, 'overlay', any_publisher, self.on_overlay),
                (Classification, 'bin', latched, self.bins.append),
                (LabelInfo, 'label_info', latched, self.label_info.append)):
            node.create_subscription(msg_type, f'{CLASSIFIER}/{name}', callback, qos)
        node.create_subscription(DiagnosticArray, '/diagnostics', self.on_diagnostics, 10)

    def on_image(self, msg: Image) -> None:
        if len(self.images) < len(self.plan):
            self.shows[_stamp(msg.header)] = self.plan[len(self.images)]
        self.images.append(msg)

    def on_overlay(self, msg: Image) -> None:
        stamp = _stamp(msg.header)
        if stamp not in self.shows:  # its image not heard yet: kept until collect_results
            self.overlays[stamp] = msg
            return
        shown = self.shows[stamp]
        if shown is not None:
            self.overlays[shown] = msg

    def on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == self._classifier_status:
                values = {value.key: value.value for value in status.values}
                self.classifier_image_publishers = int(values.get('image_publishers', 0))

    def both_readers_matched(self) -> bool:
        """Whether this program's and the classifier's image readers matched the media source."""
        return (self.image_sub.get_publisher_count() > 0
                and self.classifier_image_publishers > 0)

    def spin_until(self, predicate: Callable[[], bool], timeout: float, what: str,
                   watch: Sequence[NodeRun] = ()) -> bool:
        """Spin until predicate() holds (True) or the timeout passes (False).

        A watched run that ends meanwhile raises DemoError with the end of its log.
        """
        deadline = time.monotonic() + timeout
        while not predicate():
            for run in watch:
                run.check_running(what)
            if time.monotonic() > deadline:
                return False
            rclpy.spin_once(self.node, timeout_sec=0.1)
        return True


def _stamp(header: Header) -> tuple[int, int]:
    return header.stamp.sec, header.stamp.nanosec


def frame_plan(files: Sequence[Path], item_frames: int = ITEM_FRAMES,
               gap_frames: int = GAP_FRAMES) -> list[Path | None]:
    """Return what each frame the media source plays shows: the floor (None) or a photo."""
    plan: list[Path | None] = []
    for path in files:
        plan += [None] * gap_frames + [path] * item_frames
    return plan + [None] * gap_frames


def classifier_roi() -> list[float]:
    """Return the region of interest in config/classifier.yaml (the demo's classifier's)."""
    document = yaml.safe_load(share_path('config', 'classifier.yaml').read_text('utf-8'))
    return document['/**']['ros__parameters']['roi']


def teach_empty_zone(path: Path, sizes: Sequence[tuple[int, int]]) -> Path:
    """Write the empty reference of the demo's floor, as ~/learn_empty would learn it.

    From HISTORY frames of the floor, at the photos' sizes (height, width) in turn; the
    classifier reads it through empty_reference_file.
    """
    gate, roi = PresenceGate(), classifier_roi()
    for index in range(HISTORY):
        height, width = sizes[index % len(sizes)]
        gate.look(thumbnail(Frame(empty_floor(height, width), 'bgr8'), roi))
    gate.learn()
    gate.save(path, roi)
    return path


def camera_overrides(files: Sequence[Path], output: Path, model: str) -> dict[str, object]:
    """Return the classifier's parameters for the staged photos: the camera's, the floor taught."""
    sizes = [image.shape[:2] for image in (cv2.imread(str(f)) for f in files[:HISTORY])
             if image is not None]
    reference = teach_empty_zone(output / 'empty_reference.npz', sizes or [(480, 640)])
    return {'reliable': 'true', 'empty_reference_file': reference.resolve(),
            **({'model': model} if model else {})}


def collect_results(files: Sequence[Path], listener: Listener) -> list[Result]:
    """Match classifications, overlays and bin decisions to the photos through the stamps."""
    if len(listener.images) != len(listener.plan):
        raise DemoError(f'the media source published {len(listener.images)} images, not the '
                        f'{len(listener.plan)} of {len(files)} photos and the floor between')
    results: dict[Path | None, Result] = {path: Result(path) for path in files}
    for message in listener.classifications:
        result = results.get(listener.shows.get(_stamp(message.header)))
        if result is not None and message.results:
            result.label, result.score = message.results[0].class_id, message.results[0].score
    # Overlays heard before their image first: one of the photo's own is newer.
    for key, message in sorted(listener.overlays.items(), key=lambda i: isinstance(i[0], Path)):
        result = results.get(listener.shows.get(key) if isinstance(key, tuple) else key)
        if result is not None:
            result.overlay = to_bgr(decode(message.encoding, message.height, message.width,
                                           message.step, bytes(message.data)))
    for message in listener.bins:
        result = results.get(listener.shows.get(_stamp(message.header)))
        top = message.results[0]
        if result is not None and not result.decision and top.class_id != EMPTY:
            result.decision, result.decision_score = top.class_id, top.score
    return list(results.values())


def contact_sheet(results: Sequence[Result]) -> np.ndarray:
    """Tile the overlays (the photo where none came) with file name and a right/wrong bar."""
    tiles = []
    for result in results:
        image = result.overlay if result.overlay is not None else cv2.imread(str(result.path))
        if image is None:  # neither an overlay nor a readable photo: a black tile with its name
            image = np.zeros((TILE[1], TILE[0], 3), np.uint8)
        tile = cv2.resize(image, TILE, interpolation=cv2.INTER_AREA)
        bar = np.full((24, TILE[0], 3), (60, 150, 60) if result.correct else (40, 40, 200),
                      np.uint8)
        cv2.putText(bar, f'{result.path.name}  truth: {result.truth}', (6, 17),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(np.vstack([tile, bar]))
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % COLUMNS)
    return np.vstack([np.hstack(tiles[i:i + COLUMNS]) for i in range(0, len(tiles), COLUMNS)])


def report(results: Sequence[Result], listener: Listener, output: Path) -> int:
    """Print the per-photo lines, the bin decisions and the accuracy; write the PNGs."""
    width = max(len(r.path.name) for r in results)
    print(f'\n{"photo":<{width}}  {"predicted":<10} {"conf":>5}  {"bin (~/bin)":<16} check')
    for r in results:
        check = 'ok' if r.correct else f'WRONG (truth: {r.truth})'
        if not r.label:
            check = 'NO CLASSIFICATION received'
        print(f'{r.path.name:<{width}}  {r.label:<10} {r.score:5.2f}  '
              f'{r.decision or "-":<16} {check}')
    print('\nbin decisions on ~/bin (one per item; empty when the zone empties):')
    phantoms = 0
    for message in listener.bins:
        top, shown = message.results[0], listener.shows.get(_stamp(message.header))
        where = shown.name if shown is not None else \
            'the empty floor' if _stamp(message.header) in listener.shows else '(earlier frame)'
        phantoms += shown is None and where == 'the empty floor' and top.class_id != EMPTY
        print(f'  during {where:<{width}} -> {top.class_id} ({top.score:.2f})')
    output.mkdir(parents=True, exist_ok=True)
    for r in results:
        if r.overlay is not None:
            cv2.imwrite(str(output / f'{r.path.stem}_overlay.png'), r.overlay)
    sheet = output / 'contact_sheet.png'
    cv2.imwrite(str(sheet), contact_sheet(results))
    right = sum(r.correct for r in results)
    decided = sum(bool(r.decision) for r in results)
    print(f'\nitems decided on ~/bin: {decided} of {len(results)}; a bin announced while the '
          f'zone was empty: {phantoms} times')
    print(f'accuracy on the {len(results)} samples: {right / len(results):.0%} '
          f'({right}/{len(results)})')
    print(f'overlay frames and {sheet.name} written to {output.resolve()}/')
    return sum(not r.label for r in results)


def run(args: argparse.Namespace) -> int:
    files = [Path(p) for p in parse_resource(str(args.samples)).images]
    plan = frame_plan(files)
    args.output.mkdir(parents=True, exist_ok=True)
    environ = apply_local_ros_environ()
    clean_stale_shared_memory()
    overrides = camera_overrides(files, args.output, args.model)
    print(f'demo: {len(files)} photos from {args.samples} -> media_source -> {CLASSIFIER}, each '
          f'photo {ITEM_FRAMES} frames with {GAP_FRAMES} of an empty floor between, '
          f'{args.rate:g} frames/s, the empty floor taught (ROS_DOMAIN_ID '
          f'{environ["ROS_DOMAIN_ID"]}, shared memory only; node logs in {args.output}/)')
    rclpy.init()
    runs = []
    try:
        listener = Listener(rclpy.create_node('waste_classifier_demo'), plan)
        classifier = NodeRun('classifier_node', ros_args(
            share_path('config', 'classifier.yaml'), overrides), args.output / 'classifier.log')
        runs.append(classifier)
        if not listener.spin_until(lambda: bool(listener.label_info), args.timeout,
                                   'loading the model', watch=[classifier]):
            raise DemoError(f'the classifier published no label_info within {args.timeout:g} s:'
                            f'\n{classifier.log_tail()}')
        # A DDS writer and reader match each on their own side. The media source's
        # wait_for_subscribers sees its writer's side only; a reader that has not yet matched
        # the writer on its side drops the first photos for good. So the source also waits
        # for a third reader, made only once both real readers report their side matched.
        source = NodeRun('media_source_node', ros_args(share_path('config', 'media_source.yaml'), {
            'resource': args.samples, 'rate': args.rate, 'loop': 'false', 'reliable': 'true',
            'item_frames': ITEM_FRAMES, 'gap_frames': GAP_FRAMES,
            'wait_for_subscribers': 3}), args.output / 'media_source.log')
        runs.append(source)
        if not listener.spin_until(listener.both_readers_matched, args.timeout,
                                   'matching the media source', watch=[classifier, source]):
            raise DemoError(f'the media source was not matched by both image readers within '
                            f'{args.timeout:g} s:\n{source.log_tail()}')
        listener.node.create_subscription(Image, 'image', lambda _: None, 1)
        listener.spin_until(lambda: source.process.poll() is not None,
                            args.timeout + len(plan) / args.rate, 'playing the photos',
                            watch=[classifier])
        if source.stop() != 0:
            raise DemoError(f'the media source failed:\n{source.log_tail()}')
        # The classifier always takes the newest frame: the last one is classified.
        last = _stamp(listener.images[-1].header) if listener.images else None
        listener.spin_until(lambda: any(_stamp(m.header) == last
                                        for m in listener.classifications[-3:]),
                            10.0, 'classifying the last frames', watch=[classifier])
        results = collect_results(files, listener)
    finally:
        codes = {run.log_path.stem: run.stop() for run in runs}
        rclpy.try_shutdown()
    missing = report(results, listener, args.output)
    if codes.get('classifier', 0) != 0:
        raise DemoError(f'the classifier exited with code {codes["classifier"]}:\n'
                        f'{classifier.log_tail()}')
    if missing:
        raise DemoError(f'{missing} photo(s) got no classification; see {classifier.log_path}')
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except (DemoError, ResourceError) as error:
        print(f'demo failed: {error}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
