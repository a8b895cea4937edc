# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The shared start of the flywheel's command-line tools (retrain, learning_curve, probe)."""

import argparse
from collections.abc import Callable
import logging
import sys
from typing import Any

import torch

from waste_classifier_ros.core import model_card

# What a tool's bad input raises: said in one line, exit status 2, nothing written.
BAD_INPUT = (ValueError, FileNotFoundError, model_card.ModelCardError)


def run_tool(name: str, run: Callable[[argparse.Namespace], dict[str, Any]],
             args: argparse.Namespace, threads: int) -> dict[str, Any] | None:
    """Run one tool with its log prefix and CPU threads; None after a bad input, said once."""
    logging.basicConfig(level=logging.INFO, format=f'[{name}] %(message)s')
    torch.set_num_threads(threads)
    try:
        return run(args)
    except BAD_INPUT as error:
        print(f'{name}: {error}', file=sys.stderr)
        return None
