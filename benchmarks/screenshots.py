# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The station page's grid view as a picture for the docs: docs/images/review_grid.png.

Fourteen RealWaste train photos (CC BY-NC-SA 4.0), cropped to 320x240, are written as captures
(benchmarks.labelling's write_capture): twelve the model calls plastic, three of them wrongly
(glass, metal, paper), and two it calls glass and cardboard. station_web, with the classifier
naming the classes, serves them (benchmarks.review's station_page); headless Chromium shows
the grid (G) at 1280x800 and at 412x915, the wrong glass photo corrected with its class's
number (focused), and the two screenshots are put side by side.

    python -m benchmarks.screenshots [--data ../shared/data/realwaste/train]
"""

import io
from pathlib import Path
import tempfile
from typing import Any

from PIL import Image, ImageOps

from benchmarks.labelling import GRID_SHOWN, WAIT_MS, write_capture
from benchmarks.review import browser_missing, station_page

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / 'docs' / 'images' / 'review_grid.png'
SIZES = ((1280, 800), (412, 915))
GAP = 24  # pixels between the two screens
# (RealWaste class, the model's call) in capture order: the grid shows the first one's call.
CAPTURES = [(name, 'plastic') for name in (
    'Plastic Plastic Plastic Glass Plastic Plastic Metal Plastic Plastic Paper Plastic Plastic'
    .split())] + [('Glass', 'glass'), ('Cardboard', 'cardboard')]
CORRECTED = 3  # the grid's wrong glass photo, corrected before the screenshot


def write_captures(train: Path, inbox: Path) -> Path:
    """Write CAPTURES into `inbox` and return it; each class's photos spread over its folder."""
    used: dict[str, int] = {}
    for number, (source_class, said) in enumerate(CAPTURES):
        photos = sorted((train / source_class).glob('*.jpg'))
        nth = used[source_class] = used.get(source_class, -1) + 1
        photo = ImageOps.fit(Image.open(photos[nth * 37 % len(photos)]).convert('RGB'),
                             (320, 240))
        jpeg = io.BytesIO()
        photo.save(jpeg, 'JPEG', quality=90)
        write_capture(inbox, said, number, jpeg.getvalue())
    return inbox


def grid_screenshot(browser: Any, url: str, size: tuple[int, int]) -> bytes:
    """Return a PNG of the page at `size` showing the grid, one wrong photo corrected."""
    page = browser.new_page(viewport={'width': size[0], 'height': size[1]}, color_scheme='dark')
    try:
        page.goto(url)
        page.wait_for_selector('#class-buttons button', timeout=WAIT_MS)  # the classes came
        page.keyboard.press('g')
        page.wait_for_function(GRID_SHOWN, arg=None, timeout=WAIT_MS)
        classes = page.eval_on_selector_all('#class-buttons button',
                                            'buttons => buttons.map((b) => b.dataset.class)')
        page.locator('#grid .tile').nth(CORRECTED).focus()
        page.keyboard.press(str(classes.index(CAPTURES[CORRECTED][0].lower()) + 1))
        # No camera runs: the page settles on "not live, the camera stalled" after ~7 s. Wait
        # for it, so that every run draws the same page (before it, a broken live image).
        for banner in ('#not-live', '#stall'):
            page.wait_for_selector(banner, state='visible', timeout=WAIT_MS)
        # From the top, down only as far as the grid's hint needs (above the bottom line).
        page.evaluate("window.scrollTo(0, 0); document.querySelector('#grid-card .note')"
                      ".scrollIntoView({block: 'nearest'})")
        return page.screenshot()
    finally:
        page.close()


def side_by_side(shots: list[bytes]) -> Image.Image:
    """Return the screenshots in a row, top-aligned, GAP apart on white."""
    images = [Image.open(io.BytesIO(shot)).convert('RGB') for shot in shots]
    row = Image.new('RGB', (sum(image.width for image in images) + GAP * (len(images) - 1),
                            max(image.height for image in images)), 'white')
    left = 0
    for image in images:
        row.paste(image, (left, 0))
        left += image.width + GAP
    return row


def review_grid(train: Path, model: Path, out: Path = OUT, timeout: float = 60.0) -> None:
    """Write the grid view's picture to `out`; RuntimeError where Chromium cannot run."""
    missing = browser_missing()
    if missing:
        raise RuntimeError(missing)
    from playwright.sync_api import sync_playwright

    from waste_classifier_ros.demos.station_web import CHROMIUM, CHROMIUM_ARGS
    with tempfile.TemporaryDirectory(prefix='screenshots-') as folder, \
            sync_playwright() as playwright, \
            station_page(model, write_captures(train, Path(folder) / 'inbox'), Path(folder),
                         timeout) as url:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            shots = [grid_screenshot(browser, url, size) for size in SIZES]
        finally:
            browser.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    # 256 colours (octree keeps the small swatches' colours, median cut did not): 165 KB, not 536
    side_by_side(shots).quantize(256, Image.Quantize.FASTOCTREE).save(out, optimize=True)
    print(f'{out}: {out.stat().st_size // 1024} KB')


if __name__ == '__main__':
    import argparse

    from waste_classifier_ros.demos.local_ros import apply_local_ros_environ

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--data', type=Path, default=ROOT.parent / 'shared' / 'data'
                        / 'realwaste' / 'train', help="RealWaste's train folder")
    parser.add_argument('--model', type=Path, default=ROOT / 'model' / 'waste_classifier.onnx')
    parser.add_argument('--out', type=Path, default=OUT)
    args = parser.parse_args()
    apply_local_ros_environ()
    review_grid(args.data, args.model, args.out)
