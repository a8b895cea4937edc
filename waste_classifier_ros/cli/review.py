# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
waste-review: label captured frames in a terminal, one key per frame.

    waste-review INBOX --dataset DIR [--labels labels.txt] [--order useful|capture]
                 [--model waste_classifier.onnx] [--no-preview]

Shows each capture of the inbox (path, prediction, score, why it was captured and, on a
terminal, a small colour preview) in the chosen order (`capture`: oldest first; `useful`: those
that teach the retrain most first, spread by the model's own features, flywheel/review_order.py;
skipped ones last, also after a restart), then reads one answer per line: 1..N files it under
that class (confirm or correct), Enter takes the suggestion (the prediction; `empty` for a frame
the node kept while the zone was empty, when the model has the class), s skips, d discards, u
undoes the last move, q quits. The classes are the model's labels.txt: `empty` among them when
the model has it. Moves go through review.py, so nothing is lost or overwritten; a refused
move prints why and the frame stays. Exit code 0 when done or quit, 2 when the session cannot
start (no inbox, another reviewer, bad labels file).
"""

import argparse
from pathlib import Path
import sys
from typing import TextIO

import cv2
import numpy as np

from waste_classifier_ros.core.bins import EMPTY
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.flywheel.review import (
    DEFAULT_ORDER,
    ORDERS,
    Capture,
    ReviewError,
    ReviewSession,
)

PREVIEW_WIDTH = 48


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='waste-review', description=__doc__.strip().splitlines()[0])
    parser.add_argument('inbox', type=Path, help='capture inbox (<inbox>/<class>/*.jpg + .json)')
    parser.add_argument('--dataset', type=Path, required=True,
                        help='dataset folder; frames go to DIR/train/<class>/ or DIR/val/<class>/')
    parser.add_argument('--labels', type=Path, default=share_path('model', 'labels.txt'),
                        help="class names, one a line (default: the shipped model's labels.txt)")
    parser.add_argument('--order', choices=ORDERS, default=DEFAULT_ORDER,
                        help='capture: oldest first; useful: unsure ones first, spread over '
                        'what the station sees, every class early, repeats of labelled photos '
                        f'last (default: {DEFAULT_ORDER}; docs/flywheel.md says why)')
    parser.add_argument('--model', type=Path,
                        help='the ONNX model whose features --order useful spreads by '
                        '(default: waste_classifier.onnx beside --labels)')
    parser.add_argument('--no-preview', action='store_true',
                        help='no colour preview of the frame even on a terminal')
    return parser.parse_args(argv)


def preview(image: Path, width: int = PREVIEW_WIDTH) -> str:
    """Render an image as rows of coloured half blocks (24-bit ANSI); '' if it does not decode."""
    bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
    if bgr is None:
        return ''
    height = max(2, round(bgr.shape[0] * width / bgr.shape[1] / 2) * 2)
    rgb = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)[..., ::-1]
    rows = []
    for top, bottom in zip(rgb[0::2].astype(np.int32), rgb[1::2].astype(np.int32)):
        cells = (f'\x1b[38;2;{t[0]};{t[1]};{t[2]}m\x1b[48;2;{b[0]};{b[1]};{b[2]}m\u2580'
                 for t, b in zip(top, bottom))
        rows.append(''.join(cells) + '\x1b[0m')
    return '\n'.join(rows)


def describe(capture: Capture, left: int) -> str:
    """Return the lines that introduce one capture: id, prediction, reason, top-k, file."""
    topk = ', '.join(f'{t.get("class")} {float(t.get("score", 0)):.2f}'
                     for t in capture.sidecar.get('topk', []))
    zone = ' (the zone was empty)' if capture.sidecar.get('bin') == EMPTY else ''
    suggestion = '' if capture.suggested == capture.predicted else \
        f'; Enter = {capture.suggested}'
    return (f'[{left} left] {capture.id}: predicted {capture.predicted} {capture.score:.2f} '
            f'({capture.reason or "?"}){zone}{suggestion}; top: {topk}\n  file: {capture.image}')


def review(session: ReviewSession, answers: TextIO, out: TextIO, show_preview: bool) -> None:
    """Ask about each pending capture until none is left, the input ends or the user quits."""
    keys = '  '.join(f'{i} {name}' for i, name in enumerate(session.classes, 1))
    print(f'keys: {keys}  (Enter = the suggestion)  s skip  d discard  u undo  q quit', file=out)
    passed: set[str] = set()
    while True:
        waiting = [c for c in session.pending() if c.id not in passed]
        for problem in session.problems:
            print(f'  ! {problem}', file=out)
        if not waiting:
            break
        try:
            capture = session.get(waiting[0].id)  # what is shown is what a move checks against
        except ReviewError as error:
            print(f'  ! {error}', file=out)
            passed.add(waiting[0].id)
            continue
        if show_preview:
            print(preview(capture.image), file=out)
        print(describe(capture, len(waiting)), file=out)
        print('> ', end='', file=out, flush=True)
        answer = answers.readline()
        if not answer or answer.strip().lower() == 'q':
            break
        print(act(session, capture, answer.strip().lower(), passed), file=out)
    counts = session.progress()
    print(f'labelled {counts["labelled"]}, discarded {counts["discarded"]}, '
          f'skipped {counts["skipped"]}, {counts["pending"]} still in the inbox', file=out)


def act(session: ReviewSession, capture: Capture, answer: str, passed: set[str]) -> str:
    """Carry out one answer about `capture`; return what happened, or why nothing did."""
    try:
        if answer == 's':
            session.skip(capture.id)
            passed.add(capture.id)
            return '  skipped'
        if answer == 'd':
            return f'  discarded -> {session.discard(capture.id).destination}'
        if answer == 'u':
            undone = session.undo()
            if undone is None:
                return '  nothing to undo'
            passed.discard(undone.capture_id)
            return f'  undone: {undone.capture_id} is back in the inbox'
        if answer == '':
            label = capture.suggested
        elif answer.isdigit() and 1 <= int(answer) <= len(session.classes):
            label = session.classes[int(answer) - 1]
        else:
            return f'  {answer!r}: not a key; 1..{len(session.classes)}, Enter, s, d, u or q'
        return f'  {label} -> {session.label(capture.id, label).destination}'
    except ReviewError as error:
        return f'  refused: {error}'


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        classes = [line.strip() for line in args.labels.read_text(encoding='utf-8').splitlines()
                   if line.strip()]
    except OSError as error:
        print(f'waste-review: {args.labels}: cannot read the labels ({error.strerror})',
              file=sys.stderr)
        return 2
    try:
        session = ReviewSession(args.inbox, args.dataset, classes, order=args.order,
                                model=args.model or args.labels.with_name('waste_classifier.onnx'))
    except ReviewError as error:
        print(f'waste-review: {error}', file=sys.stderr)
        return 2
    with session:
        review(session, sys.stdin, sys.stdout,
               show_preview=not args.no_preview and sys.stdout.isatty())
    return 0


if __name__ == '__main__':
    sys.exit(main())
