# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
A station's stream through the classifier node over real DDS, timed: one decision per item.

Issue 27's stream: 14 held-out photos (waste7 and RealWaste val, several classes, a fixed seeded
choice), each played as an item for 2.5 s between empty stretches of 3 s made from that photo's
own floor (training.recipe.empty_scenes.floor_scene: a native-scale patch without the item,
mirror-tiled), all as 640x480 frames at 15 FPS, stamped with the wall clock when published. A
classifier node process (the shipped model and config/classifier.yaml unless told otherwise)
runs on a ROS domain of its own; ~/bin is collected here. Two runs, each a fresh node: with no
empty reference, and with it learned for each site (~/learn_empty at the end of the stretch
before its item, ~/clear_empty where the floor changes: one reference cannot fit 14 floors).
Figures per run, targets in benchmarks.report:

* items decided: items whose stretch announced anything but `empty` (`unknown` is a decision,
  counted on its own too), of 14;
* empty stretches (15, the first included) in which ~/bin announced anything but `empty`;
* drop -> bin: from the item's first frame's stamp to the arrival of its bin decision, s;
* removal -> empty: from the first empty frame's stamp after an item to `empty` arriving, s
  (over the removals that announced `empty`; how many did is a figure of its own);
* items correct: decided bins that are the photo's true bin (config/bins.yaml through the
  source's class map, training/conf/source/*.yaml).

    python -m benchmarks.station_stream          # prints the figures as JSON
"""

import json
from pathlib import Path
import re
import threading
import time
from typing import Callable, NamedTuple

import cv2
import numpy as np
import rclpy
from rclpy.client import Client
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger
from vision_msgs.msg import Classification
import yaml

from benchmarks import report
from benchmarks.processes import start_node, stop_node
from training.recipe.data import read_rgb
from training.recipe.empty_scenes import floor_scene, list_photos
from waste_classifier_ros.backends import resolve_model_files
from waste_classifier_ros.core.bins import EMPTY, UNKNOWN, load_bins
from waste_classifier_ros.core.image_codec import encode
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.demos.local_ros import apply_local_ros_environ, clean_stale_shared_memory
from waste_classifier_ros.nodes.qos import LATCHED

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / 'shared' / 'data'
SOURCES = ('waste7', 'realwaste')  # folders under the data folder, configs in training/conf
ITEMS, PER_CLASS = 14, 2           # photos, at most this many of one class folder of a source
FPS, EMPTY_S, ITEM_S = 15.0, 3.0, 2.5
HEIGHT, WIDTH = 480, 640
SEED = 27
NODE_MODULE = 'waste_classifier_ros.nodes.classifier_node'
NODE_NAME = 'waste_classifier'
_START_TIMEOUT = 60.0
_GRACE_S = 1.0  # after the last frame, for the last `empty` in flight


class Item(NamedTuple):
    photo: str
    true_bin: str
    item: bytes   # rgb8 640x480
    floor: bytes


def true_bins(labels: list) -> dict:
    """{source: {class folder: bin name}} for the sources' val folders."""
    bins = load_bins(share_path('config', 'bins.yaml'), labels)
    bin_of = {label: bins.bin_of(index).name for index, label in enumerate(labels)}
    found = {}
    for source in SOURCES:
        config = yaml.safe_load((ROOT / 'training' / 'conf' / 'source' / f'{source}.yaml')
                                .read_text(encoding='utf-8'))
        # No map: the folders are already the project's classes.
        class_map = config['class_map'] or {label: label for label in labels if label != EMPTY}
        found[source] = {folder: bin_of[ours] for folder, ours in class_map.items()
                         if ours is not None}
    return found


def _frame(rgb: np.ndarray) -> bytes:
    return encode(cv2.resize(rgb, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA), 'rgb8')[1]


def choose_items(data: Path, labels: list) -> list[Item]:
    """Choose the photos: seeded, the sources in turn, those whose floor a patch surely shows."""
    rng = np.random.default_rng(SEED)
    bins = true_bins(labels)
    queues = {}
    for source in SOURCES:
        photos = list_photos([data / source / 'val'])
        queues[source] = [photos[i] for i in rng.permutation(len(photos))]
    items: list[Item] = []
    taken: dict = {}
    while len(items) < ITEMS and any(queues.values()):
        for source in SOURCES:
            while queues[source] and len(items) < ITEMS:
                photo = queues[source].pop()
                folder = photo.parent.name
                bin_name = bins[source].get(folder)
                if bin_name is None or taken.get((source, folder), 0) >= PER_CLASS:
                    continue
                rgb = read_rgb(photo)
                floor = floor_scene(rgb, rng) if rgb is not None else None
                if rgb is None or floor is None:
                    continue
                taken[(source, folder)] = taken.get((source, folder), 0) + 1
                items.append(Item(str(photo.relative_to(data)), bin_name, _frame(rgb),
                                  _frame(floor)))
                break
    return items


class Station:
    """This process's end of the stream: the camera publisher, ~/bin and ~/learn_empty."""

    def __init__(self, context: rclpy.context.Context, name: str) -> None:
        self.node = rclpy.create_node(name, context=context)
        self.camera = self.node.create_publisher(Image, 'image', qos_profile_sensor_data)
        self.bins: list[tuple[int, int, str]] = []  # (arrival ns, header stamp ns, class_id)
        self._lock = threading.Lock()
        self.node.create_subscription(Classification, f'/{NODE_NAME}/bin', self._on_bin, LATCHED)
        self.clients: dict[str, Client] = {
            name: self.node.create_client(Trigger, f'/{NODE_NAME}/{name}')
            for name in ('learn_empty', 'clear_empty')}
        self._executor = SingleThreadedExecutor(context=context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._executor.spin, daemon=True)
        self._thread.start()

    def _on_bin(self, message: Classification) -> None:
        stamp = message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec
        with self._lock:
            self.bins.append((time.time_ns(), stamp, message.results[0].class_id))

    def wait(self, condition: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f'no {what} within {timeout:g} s')
            time.sleep(0.05)  # the executor thread updates what `condition` reads

    def play(self, frame: bytes, seconds: float) -> tuple[int, int]:
        """Publish `frame` at FPS for `seconds`; return (first stamp, stamp after the last)."""
        message = Image(height=HEIGHT, width=WIDTH, encoding='rgb8', step=WIDTH * 3)
        message.header.frame_id = 'station_stream'
        message.data = frame
        period = 1e9 / FPS
        start = time.time_ns()
        for number in range(round(seconds * FPS)):
            delay = (start + number * period - time.time_ns()) / 1e9
            if delay > 0:
                time.sleep(delay)  # the camera's frame clock
            now = time.time_ns()
            message.header.stamp.sec, message.header.stamp.nanosec = divmod(now, 1_000_000_000)
            self.camera.publish(message)
        return start, start + round(seconds * FPS * period)

    def trigger(self, service: str) -> str:
        """Call a Trigger service of the node; return 'ok: ' or 'refused: ' and its message."""
        client = self.clients[service]
        self.wait(client.service_is_ready, _START_TIMEOUT, f'{client.srv_name} service')
        # A reply can be lost while the server's writer has not matched this client's reader
        # yet: ask again (both services are idempotent).
        for _ in range(3):
            future = client.call_async(Trigger.Request())
            try:
                self.wait(future.done, 3.0, f'reply from {client.srv_name}')
            except RuntimeError:
                continue
            reply = future.result()
            assert reply is not None  # done, and Trigger always replies
            return f'{"ok" if reply.success else "refused"}: {reply.message}'
        raise RuntimeError(f'no reply from {client.srv_name} to 3 requests')

    def close(self) -> None:
        self._executor.shutdown()
        self.node.destroy_node()


def node_command(model: str, params_file: str) -> list[str]:
    """Return the classifier node's `python -m` arguments, its name the one ~/bin is under."""
    command = [NODE_MODULE, '--ros-args', '-r', f'__node:={NODE_NAME}']
    if params_file:
        command += ['--params-file', params_file]
    return command + (['-p', f'model:={json.dumps(model)}'] if model else [])


def play_stream(items: list[Item], command: list[str], learn: bool, log_path: Path) -> dict:
    """Start a node, play the stream to it, stop it; return its figures (`figures_of`).

    Each item lies on its own floor (a site of its own): an empty stretch shows the floor of
    the item taken away for its first half, the next item's for its second. With `learn`, each
    site is taught as an operator would: its reference cleared where the camera moves on
    (~/clear_empty) and learned at the end of the stretch (~/learn_empty), before the item.
    """
    context = rclpy.context.Context()
    rclpy.init(context=context)
    # A name of its own per run: rosout's logger keeps a name's publisher past destroy_node.
    station = Station(context, f'station_stream_{"taught" if learn else "untaught"}')
    replies: list[str] = []
    with open(log_path, 'w') as log:
        node, _ = start_node(command, log, re.compile(r'ready:'), _START_TIMEOUT)
        try:
            station.wait(lambda: station.camera.get_subscription_count() > 0, _START_TIMEOUT,
                         'the classifier subscribed to image')
            empties, stretches = [station.play(items[0].floor, EMPTY_S)], []
            for number, item in enumerate(items):
                if learn:
                    replies.append(station.trigger('learn_empty'))
                stretches.append(station.play(item.item, ITEM_S))
                first = station.play(item.floor, EMPTY_S / 2)
                if learn and number + 1 < len(items):
                    replies.append(station.trigger('clear_empty'))
                following = items[min(number + 1, len(items) - 1)].floor
                empties.append((first[0], station.play(following, EMPTY_S / 2)[1]))
            time.sleep(_GRACE_S)  # for the last `empty` in flight
        finally:
            stop_node(node)
            station.close()
            context.try_shutdown()
    figures = figures_of(items, station.bins, stretches, empties)
    if learn:
        figures['teaching_replies_refused'] = [reply for reply in replies
                                               if not reply.startswith('ok')]
    return figures


def _latencies(values: list) -> dict:
    return {'median': float(np.median(values)) if values else None,
            'max': max(values) if values else None}


def figures_of(items: list[Item], bins: list, stretches: list, empties: list) -> dict:
    """Return a run's figures from ~/bin's messages and the stretches' (first, end) stamps."""
    def said(first: int, end: int) -> list:
        return [(arrival, what) for arrival, stamp, what in bins if first <= stamp < end]

    decided, correct, unknown, drop = [], 0, 0, []
    for item, (first, end) in zip(items, stretches):
        announced = [(arrival, what) for arrival, what in said(first, end) if what != EMPTY]
        decided.append(announced[0][1] if announced else None)
        if announced:
            drop.append((announced[0][0] - first) / 1e9)
            unknown += announced[0][1] == UNKNOWN
            correct += announced[0][1] == item.true_bin
    phantom = sum(any(what != EMPTY for _, what in said(*stretch)) for stretch in empties)
    removal = []
    for first, end in empties[1:]:
        announced = [arrival for arrival, what in said(first, end) if what == EMPTY]
        if announced:
            removal.append((announced[0] - first) / 1e9)
    return {
        'items': len(items), 'items_decided': sum(bin_name is not None for bin_name in decided),
        'items_unknown': unknown, 'items_correct': correct,
        'empty_stretches': len(empties), 'empty_stretches_with_a_bin': phantom,
        'drop_to_bin_s': _latencies(drop),
        'removals_announced_empty': len(removal), 'removal_to_empty_s': _latencies(removal),
        'decided': decided,
    }


def figures(data: str | Path = DEFAULT_DATA, model: str = '', params_file: str = '',
            work_dir: Path = ROOT / 'bench_output') -> dict:
    """Both runs' figures: {'no_reference': {...}, 'reference_learned': {...}, 'photos': [...]}.

    {'skipped': why} where the data folder ('' = none) or a source's val split is absent.
    """
    if not str(data):
        return {'skipped': 'no data folder given'}
    missing = [source for source in SOURCES if not (Path(data) / source / 'val').is_dir()]
    if missing:
        return {'skipped': f'no val split of {", ".join(missing)} under {data}'}
    files = resolve_model_files(model)
    items = choose_items(Path(data), files.labels)
    params_file = params_file or str(share_path('config', 'classifier.yaml'))
    command = node_command(model, params_file)
    apply_local_ros_environ()
    clean_stale_shared_memory()
    work_dir.mkdir(parents=True, exist_ok=True)
    found: dict = {'photos': [f'{item.photo} -> {item.true_bin}' for item in items],
                   'model_sha256': files.sha256}
    for run, learn in (('no_reference', False), ('reference_learned', True)):
        print(f'[bench] station stream, {run.replace("_", " ")}: {len(items)} items at '
              f'{FPS:g} FPS', flush=True)
        found[run] = play_stream(items, command, learn,
                                 work_dir / f'station_stream_{run}.node.log')
    return report.rounded(found)


def main() -> None:
    print(json.dumps(figures(), indent=2))


if __name__ == '__main__':
    main()
