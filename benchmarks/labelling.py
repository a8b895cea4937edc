# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Photos labelled a minute on the station page: the grid (batch) view against one at a time.

A scripted operator in headless Chromium labels an inbox of PHOTOS captures (the samples/
photos, copied as capture.py writes them) of which every fifth has a wrong suggestion, once in
the grid view and once in the one-at-a-time view, each on a fresh station_web over its own
inbox (the classifier with the model under test names the classes). It knows each photo's
class and presses the keys an operator would: in the grid, for each wrong tile the arrows to
it and its class's number, then A for the grid; one at a time, Enter for
a right suggestion and the class's number for a wrong one. Before each decision it waits until
the page shows the photos (decoded) and takes keys again; it never sleeps. The time runs from
the first photos shown to the last move's answer shown; then every photo is checked in the
dataset under its true class.

`per_min` is the page's rate: an operator who needs no time to look. A person adds their look
and keys to every photo, so `operator_per_min` adds the keystroke-level model's (Card, Moran
and Newell 1980) 1.35 s to look and decide per photo and 0.28 s per key pressed to the measured
page time: the figure to plan an afternoon with.

    python -m benchmarks.labelling          # prints the figures as JSON
    python -m benchmarks.run --only labelling --merge   # into results.json and BENCHMARKS.md
"""

import json
from pathlib import Path
import re
import tempfile
import time
from typing import Any

from benchmarks.processes import start_node, stop_node
from benchmarks.review import browser_missing
from waste_classifier_ros.flywheel.review import split_for

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = 60
WRONG_EVERY = 5  # every fifth suggestion is wrong: 20 %
TARGET_GRID_PER_MIN = 30.0
LOOK_S, KEY_S = 1.35, 0.28  # the keystroke-level model's mental act and average keystroke
WAIT_MS = 30000
_OPEN_LINE = re.compile(r'station page: open (http://\S+/)')
_READY_LINE = re.compile(r'ready:')
# The grid's tiles [[id, class shown], ...] once all are decoded and the page takes keys again;
# [] when the inbox is empty; null while neither (or while it still shows `before`'s ids).
GRID_SHOWN = '''(before) => {
  if (!document.getElementById('review-empty').hidden) return [];
  const tiles = [...document.querySelectorAll('#grid .tile')];
  const ids = tiles.map((tile) => tile.dataset.id);
  if (document.getElementById('grid-card').hidden || !tiles.length
      || JSON.stringify(ids) === JSON.stringify(before)
      || document.getElementById('grid-confirm').disabled) return null;
  const decoded = tiles.every((tile) => tile.firstChild.complete && tile.firstChild.naturalWidth);
  return decoded ? tiles.map((tile) => [tile.dataset.id, tile.dataset.label]) : null;
}'''
# Tiles in the grid's first row: its columns.
_COLUMNS = '''() => {
  const tiles = [...document.querySelectorAll('#grid .tile')];
  return tiles.filter((tile) => tile.offsetTop === tiles[0].offsetTop).length;
}'''
# The one capture shown [id, suggested class] once decoded and other than `before`; [] when
# the inbox is empty.
_CAPTURE_SHOWN = '''(before) => {
  if (!document.getElementById('review-empty').hidden) return [];
  const image = document.querySelector('[data-testid=capture]');
  const suggested = document.querySelector('#class-buttons button.suggested');
  if (document.getElementById('review-card').hidden || image.dataset.id === before
      || !image.complete || !image.naturalWidth || !suggested || suggested.disabled) return null;
  return [image.dataset.id, suggested.dataset.class];
}'''


def write_capture(inbox: Path, said: str, number: int, jpeg: bytes) -> str:
    """Write capture `number` as capture.py does, filed under the class the model `said`.

    Writes `<inbox>/<said>/<name>.jpg` and its sidecar; returns the capture id.
    """
    name = f'20261207T100000_{number:06d}'
    (inbox / said).mkdir(parents=True, exist_ok=True)
    (inbox / said / f'{name}.jpg').write_bytes(jpeg)
    sidecar = {'stamp': {'sec': 1796100000 + number, 'nanosec': 0}, 'frame_id': 'camera',
               'model_sha256': '0' * 64, 'reason': 'unsure', 'bin': 'unknown',
               'topk': [{'class': said, 'score': 0.55}, {'class': 'trash', 'score': 0.2}],
               'roi': [0.0, 0.0, 1.0, 1.0]}
    (inbox / said / f'{name}.json').write_text(json.dumps(sidecar), encoding='utf-8')
    return f'{said}/{name}.jpg'


def write_inbox(inbox: Path, photos: int) -> dict:
    """Write `photos` captures of the samples/ photos; return {capture id: true class}.

    Every WRONG_EVERY-th has a wrong suggestion (the next class).
    """
    samples = sorted((ROOT / 'samples').glob('*.jpg'))
    classes = sorted({photo.stem.split('_')[0] for photo in samples})
    truth = {}
    for number in range(photos):
        photo = samples[number % len(samples)]
        right = photo.stem.split('_')[0]
        wrong = number % WRONG_EVERY == WRONG_EVERY - 1
        said = classes[(classes.index(right) + 1) % len(classes)] if wrong else right
        truth[write_capture(inbox, said, number, photo.read_bytes())] = right
    return truth


def label_in_grid(page: Any, truth: dict, classes: list) -> int:
    """Label every capture in the grid view as an operator would; return the keys pressed."""
    page.keyboard.press('g')
    keys, before = 1, None
    while True:
        tiles = page.wait_for_function(GRID_SHOWN, arg=before, timeout=WAIT_MS).json_value()
        if not tiles:
            return keys
        columns = page.evaluate(_COLUMNS)
        at = 0  # the first tile has the focus on a new grid
        for index, (capture_id, shown) in enumerate(tiles):
            if shown != truth[capture_id]:
                for key in _path(at, index, columns):
                    page.keyboard.press(key)
                page.keyboard.press(str(classes.index(truth[capture_id]) + 1))
                keys, at = keys + len(_path(at, index, columns)) + 1, index
        page.keyboard.press('a')
        keys += 1
        before = [capture_id for capture_id, _ in tiles]


def _path(start: int, end: int, columns: int) -> list:
    """Return the arrow keys from tile `start` to tile `end`, `columns` tiles a row.

    Only through tiles that exist: down, across in the start's (full) row first; up, the rows
    first, then across in a full row.
    """
    rows, across = end // columns - start // columns, end % columns - start % columns
    vertical = ['ArrowDown'] * rows + ['ArrowUp'] * -rows
    sideways = ['ArrowRight'] * across + ['ArrowLeft'] * -across
    return sideways + vertical if rows > 0 else vertical + sideways


def label_one_at_a_time(page: Any, truth: dict, classes: list) -> int:
    """Label every capture one at a time as an operator would; return the keys pressed."""
    keys, before = 0, None
    while True:
        shown = page.wait_for_function(_CAPTURE_SHOWN, arg=before, timeout=WAIT_MS).json_value()
        if not shown:
            return keys
        capture_id, suggested = shown
        right = truth[capture_id]
        page.keyboard.press('Enter' if suggested == right else str(classes.index(right) + 1))
        keys, before = keys + 1, capture_id


def landed_wrong(dataset: Path, truth: dict) -> list:
    """Return the files missing from the dataset (each capture under its true class) or extra."""
    expected = {f'{split_for(capture_id)}/{right}/{Path(capture_id).stem}{suffix}'
                for capture_id, right in truth.items() for suffix in ('.jpg', '.json')}
    found = {path.relative_to(dataset).as_posix() for path in dataset.rglob('*')
             if path.is_file()}
    return sorted(expected ^ found)


def one_view(browser: Any, root: Path, view: str, photos: int, timeout: float) -> dict:
    """Label a fresh inbox of `photos` in `view` ('grid' or 'single') on its own station_web."""
    inbox, dataset = root / view / 'inbox', root / view / 'dataset'
    truth = write_inbox(inbox, photos)
    with open(root / f'station_web_{view}.log', 'w') as log:
        station, opened = start_node(
            ['waste_classifier_ros.nodes.station_web_node', '--ros-args', '-p', 'port:=0',
             '-p', f'inbox:={inbox}', '-p', f'dataset:={dataset}'], log, _OPEN_LINE, timeout)
        page = browser.new_page(viewport={'width': 1280, 'height': 800})
        try:
            page.goto(opened.group(1))
            page.wait_for_function(_CAPTURE_SHOWN, arg=None, timeout=WAIT_MS)  # classes came
            classes = page.eval_on_selector_all('#class-buttons button',
                                                'buttons => buttons.map((b) => b.dataset.class)')
            started = time.monotonic()
            labelling = label_in_grid if view == 'grid' else label_one_at_a_time
            keys = labelling(page, truth, classes)
            seconds = time.monotonic() - started
        finally:
            page.close()
            stop_node(station)
    wrong = landed_wrong(dataset, truth)
    per_photo = seconds / photos + LOOK_S + KEY_S * keys / photos
    return {'photos': photos, 'seconds': round(seconds, 2),
            'per_min': round(60 * photos / seconds, 1), 'keys': keys,
            'keys_per_photo': round(keys / photos, 2),
            'operator_per_min': round(60 / per_photo, 1),
            'all_landed_right': not wrong, 'landed_wrong': wrong[:10]}


def figures(model: Path, photos: int = PHOTOS, timeout: float = 60.0) -> dict:
    """Measure both views; {'skipped': why} where Playwright or Chromium is missing."""
    missing = browser_missing()
    if missing:
        return {'skipped': missing}
    from playwright.sync_api import sync_playwright

    from waste_classifier_ros.demos.station_web import CHROMIUM, CHROMIUM_ARGS
    with tempfile.TemporaryDirectory(prefix='bench-labelling-') as folder, \
            open(Path(folder) / 'classifier.log', 'w') as classifier_log, \
            sync_playwright() as playwright:
        root = Path(folder)
        classifier, _ = start_node(
            ['waste_classifier_ros.nodes.classifier_node', '--ros-args', '-p',
             f'model:={model}'], classifier_log, _READY_LINE, timeout)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            views = {view: one_view(browser, root, view, photos, timeout)
                     for view in ('grid', 'single')}
        finally:
            browser.close()
            stop_node(classifier)
    grid, single = views['grid'], views['single']
    return {**views, 'wrong_suggestions': len(range(WRONG_EVERY - 1, photos, WRONG_EVERY)),
            'grid_page_per_min': grid['per_min'], 'single_page_per_min': single['per_min'],
            'grid_over_single_page': round(grid['per_min'] / single['per_min'], 2),
            'grid_operator_per_min': grid['operator_per_min'],
            'single_operator_per_min': single['operator_per_min'],
            'grid_over_single_operator': round(grid['operator_per_min']
                                               / single['operator_per_min'], 2),
            'grid_operator_target_per_min': TARGET_GRID_PER_MIN}


if __name__ == '__main__':
    import argparse

    from waste_classifier_ros.demos.local_ros import apply_local_ros_environ

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--photos', type=int, default=PHOTOS)
    parser.add_argument('--model', default=str(ROOT / 'model' / 'waste_classifier.onnx'))
    args = parser.parse_args()
    apply_local_ros_environ()
    print(json.dumps(figures(Path(args.model), args.photos), indent=2))
