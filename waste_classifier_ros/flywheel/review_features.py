# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The model's own view of each capture: its penultimate features, for the review order.

`ModelFeatures` runs the classifier's ONNX model (its pooled features read out with
core.onnx_head) on a capture as the node saw it: the JPEG's region of interest (the sidecar's
``roi``) through the deployment preprocessing. Features are cached in `<inbox>/.review_features/`,
one file per model (named by its sha256), keyed by the photo's file name and size: a capture
keeps its name and bytes when review moves it into the dataset, so a labelled photo's features
are already there. The cache is written to a temporary name and renamed, never beside or into
the captures; a cache that does not read is started again. ONNX Runtime is imported when the
first features are needed, not with this module: a session that never orders by usefulness
never loads it.

Computing features takes ~10-20 ms a photo on a small CPU, so a review pass computes at most
`BUDGET_S` seconds' worth per call (most unsure captures first) and leaves the rest for the
next: an inbox of a thousand captures never holds the page up for long.
"""

from __future__ import annotations

import logging
from pathlib import Path
import time
from typing import Any, Sequence

import cv2
import numpy as np

from waste_classifier_ros.core import image_codec, model_card, onnx_head
from waste_classifier_ros.core.atomic_files import atomic_write
from waste_classifier_ros.core.preprocessing import normalize_chw

log = logging.getLogger(__name__)
CACHE = '.review_features'
BUDGET_S = 3.0
BATCH = 8

# One photo to embed: (cache key, JPEG path, region of interest (x, y, w, h) or None).
Photo = tuple[str, Path, Sequence[float] | None]


def photo_key(image: Path) -> str:
    """Return a photo's cache key: its file name and size (both kept when review moves it)."""
    return f'{image.name}:{image.stat().st_size}'


class ModelFeatures:
    """Penultimate features of photos under one model, cached in one inbox."""

    def __init__(self, model: Path, inbox: Path) -> None:
        self.model = Path(model)
        self.sha256 = model_card.sha256_file(self.model)
        self.cache = Path(inbox) / CACHE / f'{self.sha256[:16]}.npz'
        self._session: Any = None  # an onnxruntime.InferenceSession once opened
        self._input = ''
        self._size = 0
        self._known: dict[str, np.ndarray] = self._load()
        self._unreadable: set[str] = set()

    def _load(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.cache) as stored:
                return dict(zip(stored['keys'].tolist(), stored['features']))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError) as error:
            log.warning('%s: unreadable feature cache (%s); starting it again', self.cache, error)
            return {}

    def _open(self) -> None:
        import onnxruntime  # the node's engine; imported only when features are wanted

        data = self.model.read_bytes()
        features = onnx_head.find_head(data)[0]
        options = onnxruntime.SessionOptions()
        # One thread that sleeps when idle, as backends.onnx_runtime opens the node's: the
        # review runs beside the node on the station's CPU and must not starve it.
        options.intra_op_num_threads = 1
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        options.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(onnx_head.with_output(data, features),
                                                     sess_options=options,
                                                     providers=['CPUExecutionProvider'])
        model_input = self._session.get_inputs()[0]
        self._input = model_input.name
        size = model_input.shape[-1]
        self._size = size if isinstance(size, int) else 224

    def known(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Key -> features of the photos already computed (cached)."""
        return {key: self._known[key] for key in keys if key in self._known}

    def compute(self, photos: Sequence[Photo], budget_s: float = BUDGET_S) -> int:
        """Compute the photos not yet known, in the order given, until `budget_s` has passed.

        Returns how many are still missing. A photo that does not decode is left out (logged
        once). The cache keeps only the photos given, and is written when some were computed.
        ValueError when the model has no plain last layer (core.onnx_head).
        """
        todo = [photo for photo in photos
                if photo[0] not in self._known and photo[0] not in self._unreadable]
        if not todo:
            return 0
        if self._session is None:
            self._open()
        started, done = time.monotonic(), 0
        while done < len(todo) and time.monotonic() - started < budget_s:
            batch = todo[done:done + BATCH]
            done += len(batch)
            keys, tensors = [], []
            for key, image, roi in batch:
                tensor = self._tensor(image, roi)
                if tensor is None:
                    self._unreadable.add(key)  # said once; not tried again this session
                else:
                    keys.append(key)
                    tensors.append(tensor)
            if tensors:
                _, features = self._session.run(None, {self._input: np.stack(tensors)})
                for key, row in zip(keys, features.reshape(len(keys), -1)):
                    self._known[key] = row.astype(np.float16)
        # Only what was asked for stays: reviewed-away or evicted captures leave the cache.
        wanted = {photo[0] for photo in photos}
        self._known = {key: row for key, row in self._known.items() if key in wanted}
        self._save()
        return len(todo) - done

    def _tensor(self, image: Path, roi: Sequence[float] | None) -> np.ndarray | None:
        """Return the photo as the model saw it: the region of interest, stretched, normalised."""
        bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if bgr is None:
            log.warning('%s: does not decode; left out of the review order', image)
            return None
        frame = image_codec.Frame(bgr, 'bgr8')
        if roi is not None:
            try:
                frame = image_codec.crop(frame, roi)
            except (TypeError, ValueError) as error:
                log.warning("%s: its sidecar's roi %r is not (x, y, w, h) (%s); left out of "
                            'the review order', image, roi, error)
                return None
        return normalize_chw(image_codec.to_rgb(frame, self._size))

    def _save(self) -> None:
        self.cache.parent.mkdir(exist_ok=True)
        keys = np.array(list(self._known), dtype=str)
        rows = np.stack(list(self._known.values())) if self._known else np.zeros((0, 0))
        atomic_write(self.cache, lambda file: np.savez(file, keys=keys, features=rows))
        for other in self.cache.parent.glob('*.npz'):  # an earlier model's features
            if other != self.cache:
                other.unlink(missing_ok=True)
