# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
`make demo`: the shipped sample photos through the real nodes over real ROS 2 topics.

Starts the classifier node and the media source node as separate processes with the params files
the launch files use (config/classifier.yaml, config/media_source.yaml), on a DDS graph that
stays on this machine (its own domain id, shared memory only). It listens like any other node:
the images on `image` (their order names the file of each header stamp), the classifications,
the bin decisions and the annotated overlay. Then it prints one line per photo and the bin
decisions, writes the overlay frames and a contact sheet PNG, and prints the accuracy on the
samples (the true class is the file name before `_<n>`).

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

from waste_classifier_ros.core.bins import load_bins
from waste_classifier_ros.core.diagnostics import classifier_status_name
from waste_classifier_ros.core.image_codec import decode, to_bgr
from waste_classifier_ros.core.media_reader import ResourceError, parse_resource
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.demos.local_ros import apply_local_ros_environ, clean_stale_shared_memory

CLASSIFIER = 'waste_classifier'
# Every still image is a new item in front of the camera: decide its bin from that one frame.
CLASSIFIER_OVERRIDES = {'reliable': 'true', 'smoothing_window': '1', 'frames_to_confirm': '1'}
TILE = (256, 192)
COLUMNS = 4


@dataclass
class Result:
    """What came back for one sample photo."""

    path: Path
    stamp: tuple
    label: str = ''
    score: float = 0.0
    overlay: np.ndarray | None = None

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
    parser.add_argument('--rate', type=float, default=rate, help='photos per second')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='seconds to wait for each step before giving up')


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='waste-classifier-demo', description=__doc__.strip().splitlines()[0])
    add_playback_arguments(
        parser, 'folder of photos named <class>_<n>.jpg (default: the shipped ones)',
        Path('demo_output'), 'folder for the overlay frames, the contact sheet and node logs',
        rate=2.0)
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
    """The demo's own rclpy node: records what the two nodes publish."""

    def __init__(self, node: Node):
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        # Best effort matches a publisher of either reliability; locally nothing is lost.
        any_publisher = QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT)
        latched = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node = node
        self.images: list[Image] = []
        self.classifications: list[Classification] = []
        self.overlays: list[Image] = []
        self.bins: list[Classification] = []
        self.label_info: list[LabelInfo] = []
        self.classifier_image_publishers = 0
        self._classifier_status = classifier_status_name(f'/{CLASSIFIER}')
        self.image_sub = node.create_subscription(Image, 'image', self.images.append, reliable)
        for msg_type, name, qos, received in (
                (Classification, 'classification', any_publisher, self.classifications),
                (Image, 'overlay', any_publisher, self.overlays),
                (Classification, 'bin', latched, self.bins),
                (LabelInfo, 'label_info', latched, self.label_info)):
            node.create_subscription(msg_type, f'{CLASSIFIER}/{name}', received.append, qos)
        node.create_subscription(DiagnosticArray, '/diagnostics', self.on_diagnostics, 10)

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


def collect_results(files: Sequence[Path], listener: Listener) -> list[Result]:
    """Match classifications and overlays to files through the stamps of the images, in order."""
    if len(listener.images) != len(files):
        raise DemoError(f'the media source published {len(listener.images)} images for '
                        f'{len(files)} files')
    results = {_stamp(image.header): Result(path, _stamp(image.header))
               for path, image in zip(files, listener.images, strict=True)}
    for message in listener.classifications:
        result = results.get(_stamp(message.header))
        if result is not None and message.results:
            result.label, result.score = message.results[0].class_id, message.results[0].score
    for message in listener.overlays:
        result = results.get(_stamp(message.header))
        if result is not None:
            result.overlay = to_bgr(decode(message.encoding, message.height, message.width,
                                           message.step, bytes(message.data)))
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


def class_bins(label_info: LabelInfo) -> dict[str, str]:
    """Class name -> bin name, from the shipped bins file and the classifier's labels."""
    labels = [vision_class.class_name for vision_class in label_info.class_map]
    bin_map = load_bins(share_path('config', 'bins.yaml'), labels)
    return {label: bin_map.bin_of(index).name for index, label in enumerate(labels)}


def report(results: Sequence[Result], bin_messages: Sequence[Classification],
           bins_of: Mapping[str, str], output: Path) -> int:
    """Print the per-photo lines, the bin decisions and the accuracy; write the PNGs."""
    width = max(len(r.path.name) for r in results)
    print(f'\n{"photo":<{width}}  {"predicted":<10} {"conf":>5}  {"bin":<16} check')
    for r in results:
        check = 'ok' if r.correct else f'WRONG (truth: {r.truth})'
        if not r.label:
            check = 'NO CLASSIFICATION received'
        print(f'{r.path.name:<{width}}  {r.label:<10} {r.score:5.2f}  '
              f'{bins_of.get(r.label, "-"):<16} {check}')
    names = {r.stamp: r.path.name for r in results}
    print('\nbin decisions on ~/bin (published when the confirmed bin changes):')
    for message in bin_messages:
        top = message.results[0]
        print(f'  after {names.get(_stamp(message.header), "(earlier frame)"):<{width}} -> '
              f'{top.class_id} ({top.score:.2f})')
    output.mkdir(parents=True, exist_ok=True)
    for r in results:
        if r.overlay is not None:
            cv2.imwrite(str(output / f'{r.path.stem}_overlay.png'), r.overlay)
    sheet = output / 'contact_sheet.png'
    cv2.imwrite(str(sheet), contact_sheet(results))
    right = sum(r.correct for r in results)
    print(f'\naccuracy on the {len(results)} samples: {right / len(results):.0%} '
          f'({right}/{len(results)})')
    print(f'overlay frames and {sheet.name} written to {output.resolve()}/')
    return sum(not r.label for r in results)


def run(args: argparse.Namespace) -> int:
    files = [Path(p) for p in parse_resource(str(args.samples)).images]
    args.output.mkdir(parents=True, exist_ok=True)
    environ = apply_local_ros_environ()
    clean_stale_shared_memory()
    overrides = dict(CLASSIFIER_OVERRIDES, **({'model': args.model} if args.model else {}))
    print(f'demo: {len(files)} photos from {args.samples} -> media_source -> {CLASSIFIER} '
          f'(ROS_DOMAIN_ID {environ["ROS_DOMAIN_ID"]}, shared memory only; node logs in '
          f'{args.output}/)')
    rclpy.init()
    runs = []
    try:
        listener = Listener(rclpy.create_node('waste_classifier_demo'))
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
            'wait_for_subscribers': 3}), args.output / 'media_source.log')
        runs.append(source)
        if not listener.spin_until(listener.both_readers_matched, args.timeout,
                                   'matching the media source', watch=[classifier, source]):
            raise DemoError(f'the media source was not matched by both image readers within '
                            f'{args.timeout:g} s:\n{source.log_tail()}')
        listener.node.create_subscription(Image, 'image', lambda _: None, 1)
        listener.spin_until(lambda: source.process.poll() is not None, args.timeout,
                            'playing the photos', watch=[classifier])
        if source.stop() != 0:
            raise DemoError(f'the media source failed:\n{source.log_tail()}')
        listener.spin_until(lambda: len(listener.classifications) >= len(files)
                            and len(listener.overlays) >= len(files),
                            10.0, 'classifying the last photos', watch=[classifier])
        results = collect_results(files, listener)
        bins_of = class_bins(listener.label_info[-1])
    finally:
        codes = {run.log_path.stem: run.stop() for run in runs}
        rclpy.try_shutdown()
    missing = report(results, listener.bins, bins_of, args.output)
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
