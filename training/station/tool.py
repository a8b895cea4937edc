# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The shared start of the flywheel's command-line tools (retrain, learning_curve, probe)."""

import argparse
from collections.abc import Callable
import logging
import sys
from typing import Any

from waste_classifier_ros.core import model_card

# What a tool's bad input raises: said in one line, exit status 2, nothing written.
BAD_INPUT = (ValueError, FileNotFoundError, model_card.ModelCardError)


def run_tool(name: str, run: Callable[[argparse.Namespace], dict[str, Any]],
             args: argparse.Namespace) -> dict[str, Any] | None:
    """Run one tool with its log prefix; None after a bad input, said once.

    PyTorch keeps its default of one thread per physical core: the tools train on the CPU
    between ONNX Runtime passes, never beside them.
    """
    logging.basicConfig(level=logging.INFO, format=f'[{name}] %(message)s')
    try:
        return run(args)
    except BAD_INPUT as error:
        print(f'{name}: {error}', file=sys.stderr)
        return None
