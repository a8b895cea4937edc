# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Resuming an interrupted retrain: the frozen stages' outputs and each finished epoch, on disk.

A retrain of the last blocks on 1000 station photos runs for about ten minutes on two cores; an
interruption (Ctrl+C, a closed laptop, a power cut) should cost the epoch in progress, not the
run. A `WorkFolder` holds, per fit, the cached outputs of the frozen stages and the state after
the last finished epoch, each under a key of everything that decides it (the model, the photos,
the settings), so running the same command again picks them up and a changed station or setting
starts afresh. Files are written to a temporary name and renamed, and read with
``weights_only=True`` (tensors and plain containers only); the folder is emptied when its fit
has finished.
"""

import hashlib
import json
import logging
from pathlib import Path
from typing import Callable, Optional

import torch

from waste_classifier_ros.core.atomic_files import atomic_write

log = logging.getLogger(__name__)


def key_of(*parts: object) -> str:
    """Return a short stable name for everything in ``parts`` (as JSON, other values as text)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class WorkFolder:
    """One fit's resumable state: ``<root>/<key>/``."""

    def __init__(self, root: Path, key: str) -> None:
        self.folder = Path(root) / key

    def trunk(self, name: str, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Return the frozen stages' outputs stored under ``name``, computing them once."""
        path = self.folder / f'trunk-{name}.pt'
        if path.exists():
            log.info('frozen stages: %s read from %s', name.split('-')[0], path)
            return torch.load(path, map_location='cpu', weights_only=True)
        outputs = compute()
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda out: torch.save(outputs, out))
        return outputs

    @property
    def _epoch_path(self) -> Path:
        return self.folder / 'last_epoch.pt'

    def save_epoch(self, state: dict) -> None:
        """Keep the state after a finished epoch (replacing the one before)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self._epoch_path, lambda out: torch.save(state, out))

    def last_epoch(self) -> Optional[dict]:
        """Return the state after the last finished epoch, or None to start afresh."""
        if not self._epoch_path.exists():
            return None
        try:
            return torch.load(self._epoch_path, map_location='cpu', weights_only=True)
        except Exception as error:  # noqa: BLE001 - torch: UnpicklingError, RuntimeError, EOFError
            log.warning('%s: unreadable (%s); starting the fit afresh', self._epoch_path, error)
            return None

    def finish(self) -> None:
        """Remove this fit's files: it has finished, nothing is left to resume."""
        for path in self.folder.glob('*.pt'):
            path.unlink()
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()
