# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The annotated frame: best class and confidence, the bin name in the bin's colour, FPS, ROI box.

Drawn with OpenCV's built-in Hershey fonts (nothing is allocated per frame that could leak) on a
BGR image the caller owns. The node only calls this while ~/overlay has a subscriber. While the
drop zone is empty the node draws `empty` and its score, and `Empty` in bins.EMPTY_BIN's white:
no bin's colour.
"""

from typing import Sequence

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE = (255, 255, 255)
_BACKDROP = (32, 32, 32)


def _bgr(rgb: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(channel) for channel in reversed(rgb))


def annotate(bgr: np.ndarray, label: str, score: float, bin_label: str,
             bin_colour: Sequence[int], fps: float | None = None,
             roi: Sequence[float] = (0.0, 0.0, 1.0, 1.0)) -> np.ndarray:
    """Draw on `bgr` in place and return it; `bin_colour` is RGB, `fps` None leaves it out."""
    height, width = bgr.shape[:2]
    # Text sized to the frame so it reads the same on a 320x240 and a 1920x1080 stream.
    scale = max(0.4, height / 720.0)
    thickness = max(1, int(round(2 * scale)))
    lines = [(f'{label} {100.0 * score:.1f}%', _WHITE), (bin_label, _bgr(bin_colour))]
    if fps is not None:
        lines.append((f'{fps:.1f} FPS', _WHITE))
    sizes = [cv2.getTextSize(text, _FONT, scale, thickness) for text, _ in lines]
    line_height = max(size[1] + baseline for size, baseline in sizes) + int(8 * scale)
    box_width = max(size[0] for size, _ in sizes) + int(16 * scale)
    margin = int(8 * scale)
    box_height = margin + line_height * len(lines)
    cv2.rectangle(bgr, (0, 0), (min(width, box_width), min(height, box_height)), _BACKDROP,
                  cv2.FILLED)
    for row, (text, colour) in enumerate(lines):
        baseline_y = margin + line_height * (row + 1) - int(8 * scale)
        cv2.putText(bgr, text, (int(8 * scale), baseline_y), _FONT, scale, colour, thickness,
                    cv2.LINE_AA)
    if tuple(roi) != (0.0, 0.0, 1.0, 1.0):
        x, y, w, h = roi
        cv2.rectangle(bgr, (int(x * width), int(y * height)),
                      (int((x + w) * width) - 1, int((y + h) * height) - 1),
                      _bgr(bin_colour), thickness)
    return bgr
