# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The annotated frame."""

import numpy as np

from waste_classifier_ros.core.bins import EMPTY_BIN
from waste_classifier_ros.core.overlay import annotate


def test_annotation_draws_text_in_the_bin_colour_and_the_roi_box():
    frame = np.zeros((240, 320, 3), np.uint8)
    out = annotate(frame, 'plastic', 0.93, 'Mixed recycling', (255, 194, 14), fps=29.7,
                   roi=(0.5, 0.5, 0.25, 0.25))
    assert out is frame and out.shape == (240, 320, 3)
    bin_bgr = np.array([14, 194, 255])
    assert (out[:80] == bin_bgr).all(axis=2).any(), 'bin name is drawn in the bin colour'
    assert (out[120:180, 160:240] == bin_bgr).all(axis=2).any(), 'ROI box is drawn'
    assert (out[200:, :] == 0).all(), 'nothing is drawn outside the text box and ROI'


def test_no_fps_line_and_no_roi_box_by_default():
    with_fps = annotate(np.zeros((480, 640, 3), np.uint8), 'glass', 0.5, 'Glass', (0, 255, 0),
                        fps=10.0)
    without = annotate(np.zeros((480, 640, 3), np.uint8), 'glass', 0.5, 'Glass', (0, 255, 0))
    assert with_fps.any(axis=2).sum() > without.any(axis=2).sum()
    assert not without[200:].any()


def test_the_empty_zone_is_drawn_in_no_bin_colour():
    out = annotate(np.zeros((240, 320, 3), np.uint8), 'empty', 0.97, EMPTY_BIN.label,
                   EMPTY_BIN.colour, roi=(0.5, 0.5, 0.25, 0.25))
    drawn = out[out.any(axis=2)]
    assert len(drawn) and (drawn == drawn[:, :1]).all(), 'grey and white only: no colour'
    assert (out[120:180, 160:240] == 255).all(axis=2).any(), 'the ROI box, in white'
