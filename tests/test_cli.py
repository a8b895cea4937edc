# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""waste-classify on files and folders, with the tiny model."""

import cv2
import pytest
from tiny_model import COLOURS, GREY, solid, write_model_dir

from waste_classifier_ros.cli.classify import main


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    return str(write_model_dir(tmp_path_factory.mktemp('model')))


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / 'photos'
    (folder / 'nested').mkdir(parents=True)
    cv2.imwrite(str(folder / 'a_metal.png'), solid(COLOURS['metal'], 60, 80)[..., ::-1])
    cv2.imwrite(str(folder / 'nested' / 'b_organic.jpg'),
                solid(COLOURS['organic'], 60, 80)[..., ::-1])
    (folder / 'notes.txt').write_text('not an image, and not picked from a folder')
    grey = tmp_path / 'grey.png'
    cv2.imwrite(str(grey), solid(GREY))
    return folder, grey


def test_files_and_folders_print_top_k_and_the_bin(model, photos, capsys):
    folder, grey = photos
    assert main([str(folder), str(grey), '--model', model, '--top-k', '2']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f'{folder / "a_metal.png"}: metal 99.')
    assert '  -> bin mixed_recycling 99.' in lines[0] and lines[0].count('%') == 3
    assert 'organic 99.' in lines[1] and '-> bin compost' in lines[1]
    assert '-> bin unknown (no bin reaches 50%; best paper_recycling' in lines[2]


def test_a_photo_without_an_item_goes_in_no_bin_with_a_model_that_knows_empty(
        photos, tmp_path, capsys):
    folder, grey = photos
    model = str(write_model_dir(tmp_path / 'model8', empty=True))
    assert main([str(grey), str(folder / 'a_metal.png'), '--model', model,
                 '--annotate', str(tmp_path / 'out')]) == 0
    captured = capsys.readouterr()
    floor, metal = captured.out.splitlines()
    assert floor.startswith(f'{grey}: empty ') and floor.endswith('  -> bin empty (no item)')
    assert '-> bin mixed_recycling ' in metal
    assert 'has no "empty" class' not in captured.err
    # Without the class, the same grey photo gets a bin, and the tool says why up front.
    assert main([str(grey), '--model', str(write_model_dir(tmp_path / 'model7'))]) == 0
    captured = capsys.readouterr()
    assert 'the model has no "empty" class: a photo without an item gets a bin too' in captured.err
    assert '-> bin empty' not in captured.out


def test_annotate_writes_copies_with_the_overlay(model, photos, tmp_path, capsys):
    folder, _ = photos
    out = tmp_path / 'annotated'
    assert main([str(folder), '--model', model, '--annotate', str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ['a_metal_annotated.png', 'b_organic_annotated.png']
    annotated = cv2.imread(str(out / 'a_metal_annotated.png'))
    assert annotated.shape == (60, 80, 3)
    assert (annotated[:10, :10] != annotated[-1, -1]).any()


def test_unreadable_images_are_reported_and_the_rest_classified(model, photos, tmp_path, capsys):
    folder, _ = photos
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'\xff\xd8 truncated')
    assert main([str(broken), str(folder / 'a_metal.png'), '--model', model]) == 1
    captured = capsys.readouterr()
    assert f'{broken}: cannot read as an image' in captured.err
    assert 'metal' in captured.out


def test_unusable_model_exits_2_with_the_reason(tmp_path, photos, capsys):
    assert main([str(photos[1]), '--model', str(tmp_path / 'none.onnx')]) == 2
    assert 'none.onnx: model file not found' in capsys.readouterr().err


def test_top_k_must_be_positive(model, photos):
    with pytest.raises(SystemExit) as exit_info:
        main([str(photos[1]), '--model', model, '--top-k', '0'])
    assert exit_info.value.code == 2
