# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The model a classifier serves, as one value: its files, the engine loaded with it, its bins.

The node keeps one LiveModel and reads it once per frame, so a model set at run time takes the
place of the old one between two frames, whole: a frame is never classified by one model and
labelled with another's classes. `load_model` does everything that can fail (the files and
card, the engine and a first run, the bins over the new classes) before the switch, and
`load_replacement` loads one on the running model's engine and refuses it when it cannot take
the running one's place (another input name or size would change what the camera frames are
turned into).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from waste_classifier_ros.backends import (
    Backend,
    Log,
    ModelFiles,
    create_backend,
    resolve_model_files,
)
from waste_classifier_ros.core.bins import BinMap, load_bins
from waste_classifier_ros.core.model_card import ModelCardError


@dataclass(frozen=True)
class LiveModel:
    files: ModelFiles
    backend: Backend
    bins: BinMap

    def describe(self) -> str:
        card = self.files.card_path or 'no model card'
        return (f'model {self.files.model} (sha256 {self.files.sha256[:12]}, '
                f'{len(self.files.labels)} classes, {card})')


def load_model(model: str, labels: str, model_card: str, backend: str, bins_file: Path,
               execution_providers: Sequence[str] = ('CPUExecutionProvider',),
               num_threads: int = 0, log: Log = print,
               engine_cache: Path | None = None) -> LiveModel:
    """Find, check and load a model and its bins ('' = the default files, as at startup).

    Raises ModelCardError, BackendError or BinsError naming the file and the problem.
    """
    files = resolve_model_files(model, labels, model_card)
    engine = create_backend(backend, files, execution_providers, num_threads, log=log,
                            engine_cache=engine_cache)
    return LiveModel(files, engine, load_bins(bins_file, files.labels))


def load_replacement(running: LiveModel, model: str, labels: str, model_card: str,
                     **engine: Any) -> LiveModel:
    """Load a model to take `running`'s place; raise ModelCardError when it cannot.

    `engine` is load_model's; the backend is the one `running` serves on: 'auto' was resolved
    when the node started (and said then that jetson-inference is not there, where it is not),
    and a model set must not change the engine nor say it again. A model with another input name
    or size is refused: it would change what the camera frames are turned into.
    """
    new = load_model(model, labels, model_card, **{**engine, 'backend': running.backend.name})
    old_input = (running.backend.input_name, running.backend.input_size)
    new_input = (new.backend.input_name, new.backend.input_size)
    if new_input != old_input:
        raise ModelCardError(
            f'{new.files.model}: input {new_input[0]} of 3x{new_input[1]}x{new_input[1]} '
            f"differs from the running model's {old_input[0]} of "
            f'3x{old_input[1]}x{old_input[1]} (restart the node to change it)')
    return new
