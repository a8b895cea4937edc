# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
waste-rollback: put back the model the last promote replaced, and switch the classifier to it.

    waste-rollback MODEL [--node /waste_classifier]

A promote (training.station.retrain's install, or Promote on the station page) keeps the model,
labels and card it replaces in `previous/` beside MODEL. This installs them back the same way
(all or nothing; flywheel/promotion.py `roll_back`) and asks the running classifier to switch,
as a promote does. The roll back is itself an install: run it again to return. Exit code 0 when
rolled back (the node switched, or none was running: it loads the model when it starts), 1 when
the running node refused the model put back, 2 when nothing was rolled back (none kept).
"""

import argparse
from pathlib import Path
import sys

from waste_classifier_ros.flywheel import promotion


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='waste-rollback', description=__doc__.strip().splitlines()[0])
    parser.add_argument('model', type=Path,
                        help='the model in use, e.g. model/waste_classifier.onnx (previous/ '
                        'beside it holds the one it replaced)')
    parser.add_argument('--node', default=promotion.DEFAULT_NODE,
                        help='the running classifier told to switch back (a parameter set); '
                        "'' = tell none")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        model = promotion.roll_back(args.model)
    except OSError as error:  # FileNotFoundError: nothing kept; or the folder is not writable
        print(f'waste-rollback: {error}', file=sys.stderr)
        return 2
    print(f'rolled back: {model} and its labels and card are the ones the last install replaced; '
          f'the ones rolled back from are in {model.parent / promotion.PREVIOUS}/')
    if not args.node:
        return 0
    answer = promotion.notify_running_node(model, node=args.node)
    print(answer)
    return 1 if answer.running and not answer.switched else 0


if __name__ == '__main__':
    sys.exit(main())
