# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Several training sources with class maps: checks, counts, balanced draw, training, evaluation.

Tiny generated sources stand in for waste7 and RealWaste: one whose folders are the project's
classes, one with its own folder names (with spaces), a map and a dropped folder. Evaluation
per source runs the tiny ONNX stand-in model (tests/tiny_model.py), which classifies solid
colours exactly, so every confusion matrix below is computed by hand.
"""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from tiny_model import CLASSES, COLOURS, solid, write_model_dir

torch = pytest.importorskip('torch')
pytest.importorskip('hydra')

from hydra import compose, initialize_config_dir  # noqa: E402
from omegaconf import open_dict  # noqa: E402
from training_support import CONF_DIR, ROOT, tiny_overrides, write_labels  # noqa: E402

from training.recipe import evaluate, export, sources, train  # noqa: E402
from waste_classifier_ros.core import model_card  # noqa: E402

# The second source's own folder names, as RealWaste has them (spaces included).
FLOOR_MAP = {'Glass Bottles': 'glass', 'Old Paper': 'paper', 'Food Organics': 'organic',
             'Cans': 'metal', 'Card board': 'cardboard', 'PET bottles': 'plastic',
             'Misc Trash': 'trash', 'Blurry frames': None}


def write_images(folder: Path, colours) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, colour in enumerate(colours):
        cv2.imwrite(str(folder / f'{i}.png'), solid(colour, 24, 32)[..., ::-1])


def make_sources(root: Path, train_count=(3, 2)) -> dict:
    """Write a 'clean' source in project classes and a 'floor' one with FLOOR_MAP's folders."""
    clean, floor = root / 'clean', root / 'floor'
    for name in CLASSES:
        write_images(clean / 'train' / name, [COLOURS[name]] * train_count[0])
        write_images(clean / 'val' / name, [COLOURS[name]])
    for folder, target in FLOOR_MAP.items():
        colour = COLOURS[target] if target else (128, 128, 128)
        write_images(floor / 'train' / folder, [colour] * train_count[1])
        write_images(floor / 'val' / folder, [colour])
    return {'clean': {'root': str(clean)},
            'floor': {'root': str(floor), 'class_map': dict(FLOOR_MAP), 'weight': 2.0,
                      'licence': 'CC BY-NC-SA 4.0'}}


def configured(entries: dict) -> list:
    return sources.sources_from_config(entries)


def test_counts_maps_and_file_hash(tmp_path):
    entries = make_sources(tmp_path)
    data = sources.load_sources(configured(entries), CLASSES, 64, 32)
    clean, floor = data.info['sources']
    assert clean['train'] == dict.fromkeys(CLASSES, 3)
    # 'Blurry frames' is mapped to null: listed in the map, never loaded.
    assert floor['train'] == dict.fromkeys(CLASSES, 2)
    assert floor['class_map']['Blurry frames'] is None
    assert floor['licence'] == 'CC BY-NC-SA 4.0' and floor['weight'] == 2.0
    assert data.info['train'] == dict.fromkeys(CLASSES, 5)
    assert len(data.train.labels) == 35 and set(data.train_source_ids) == {0, 1}
    assert set(data.val) == {'clean', 'floor'} and len(data.val['floor'].labels) == 7
    # The hash pins the file list: renaming one file changes it.
    first = data.info['files_sha256']
    (tmp_path / 'floor' / 'train' / 'Cans' / '0.png').rename(
        tmp_path / 'floor' / 'train' / 'Cans' / 'renamed.png')
    again = sources.load_sources(configured(entries), CLASSES, 64, 32)
    assert again.info['files_sha256'] != first


def test_counts_table_is_printed_at_start(tmp_path, caplog):
    with caplog.at_level('INFO', logger='training.recipe.sources'):
        sources.load_sources(configured(make_sources(tmp_path)), CLASSES, 64, 32)
    assert 'floor         train' in caplog.text and 'clean         val' in caplog.text


def test_unreadable_images_are_skipped_and_counted_per_source(tmp_path):
    entries = make_sources(tmp_path)
    (tmp_path / 'floor' / 'train' / 'Cans' / 'broken.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    (tmp_path / 'floor' / 'train' / 'Cans' / 'empty.png').write_bytes(b'')
    data = sources.load_sources(configured(entries), CLASSES, 64, 32)
    floor = data.info['sources'][1]
    assert floor['skipped_unreadable'] == {'train': 2, 'val': 0}
    assert floor['train']['metal'] == 2


@pytest.mark.parametrize('break_it, message', [
    (lambda e, r: e['floor']['class_map'].update({'Cans': 'aluminium'}),
     r"source 'floor': class_map sends folder 'Cans' to 'aluminium', which is not a project"),
    (lambda e, r: (r / 'floor' / 'train' / 'Yard Waste').mkdir(),
     r"source 'floor': folder .*Yard Waste is not in its class_map"),
    (lambda e, r: (r / 'clean' / 'train' / 'Styrofoam').mkdir(),
     r"source 'clean': folder .*Styrofoam is not a project class"),
    (lambda e, r: e['floor']['class_map'].update({'Glass Bottles': None})
     or e['clean'].update(class_map={name: None if name == 'glass' else name
                                     for name in CLASSES}),
     r"project class\(es\) \['glass'\] are provided by no training source"),
    (lambda e, r: e['floor'].update(weight=0),
     r"source 'floor': weight must be > 0"),
    (lambda e, r: e['floor'].update(colour='blue'),
     r"source 'floor': unknown key\(s\) \['colour'\]"),
    (lambda e, r: e['floor'].update(root=str(r / 'nowhere')),
     r"source 'floor': .*nowhere/train is not a directory"),
])
def test_bad_maps_and_sources_name_the_source_and_the_folder(tmp_path, break_it, message):
    entries = make_sources(tmp_path)
    break_it(entries, tmp_path)
    with pytest.raises(ValueError, match=message):
        sources.load_sources(configured(entries), CLASSES, 64, 32)


def test_balanced_draw_gives_every_class_and_source_its_share():
    # Class 0 is rare in source 0 (2 images) and common in source 1 (20); class 1 only in 0.
    labels = [0] * 2 + [1] * 30 + [0] * 20
    source_ids = [0] * 32 + [1] * 20
    p = sources.sample_weights(labels, source_ids, [1.0, 3.0], 2, balance_power=1.0)
    labels, source_ids = np.asarray(labels), np.asarray(source_ids)
    assert p.sum() == pytest.approx(1.0)
    assert p[labels == 0].sum() == pytest.approx(0.5)
    assert p[labels == 1].sum() == pytest.approx(0.5)
    # Within class 0 the sources split by weight 1:3, whatever their image counts.
    assert p[(labels == 0) & (source_ids == 0)].sum() == pytest.approx(0.5 * 1 / 4)
    assert p[(labels == 0) & (source_ids == 1)].sum() == pytest.approx(0.5 * 3 / 4)
    # balance_power=0 keeps the natural class frequencies.
    natural = sources.sample_weights(labels, source_ids, [1.0, 1.0], 2, balance_power=0.0)
    assert natural[labels == 1].sum() == pytest.approx(30 / 52)


def test_two_sources_with_maps_train_one_epoch_with_per_source_validation(tmp_path):
    entries = make_sources(tmp_path / 'data')
    labels = write_labels(tmp_path, CLASSES)
    with initialize_config_dir(config_dir=CONF_DIR, version_base='1.3'):
        cfg = compose('train', overrides=[f'classes_file={labels}', *tiny_overrides(32)])
    with open_dict(cfg):
        cfg.sources = entries
    result = train.run(cfg, tmp_path / 'run')
    checkpoint = torch.load(result['checkpoint'], map_location='cpu', weights_only=True)
    assert [s['name'] for s in checkpoint['dataset']['sources']] == ['clean', 'floor']
    assert set(checkpoint['metrics']['per_source']) == {'clean', 'floor'}
    selection = checkpoint['metrics']['selection']
    worst = min(m['top1'] for m in checkpoint['metrics']['per_source'].values())
    assert selection['worst_top1'] == worst
    report = checkpoint['calibration']
    assert set(report['per_source']) == {'clean', 'floor'} and report['temperature'] > 0
    assert (tmp_path / 'run' / 'reliability.png').stat().st_size > 0

    # The card lists every source with its licence and counts.
    out = tmp_path / 'model'
    assert export.main(['--checkpoint', result['checkpoint'], '--out', str(out),
                        '--parity-images', '4']) == 0
    card = model_card.read_card(out / 'model_card.json')
    assert [(s['name'], s['licence']) for s in card['sources']] == [
        ('clean', ''), ('floor', 'CC BY-NC-SA 4.0')]
    assert card['sources'][1]['train'] == dict.fromkeys(CLASSES, 2)
    assert card['dataset']['files_sha256'] == checkpoint['dataset']['files_sha256']
    assert card['calibration']['temperature'] == pytest.approx(report['temperature'])


def test_per_source_evaluation_matches_hand_computed_confusion_matrices(tmp_path):
    model = write_model_dir(tmp_path / 'model')
    # Source "shelf": folders are project classes; one cardboard photo looks like glass.
    write_images(tmp_path / 'shelf' / 'cardboard', [COLOURS['cardboard']] * 2 + [COLOURS['glass']])
    write_images(tmp_path / 'shelf' / 'glass', [COLOURS['glass']] * 2)
    # Source "floor": own folder names; one bottle looks like metal; a dropped folder.
    write_images(tmp_path / 'floor' / 'Glass Bottles', [COLOURS['glass'], COLOURS['metal']])
    write_images(tmp_path / 'floor' / 'Old Paper', [COLOURS['paper']] * 2)
    write_images(tmp_path / 'floor' / 'Blurry frames', [COLOURS['trash']] * 3)
    (tmp_path / 'floor.yaml').write_text(
        'class_map:\n  Glass Bottles: glass\n  Old Paper: paper\n  Blurry frames: null\n')
    out = tmp_path / 'eval'
    assert evaluate.main(['--model', str(model), '--data', f'shelf={tmp_path / "shelf"}',
                          '--data', f'floor={tmp_path / "floor"}',
                          '--class-map', f'floor={tmp_path / "floor.yaml"}',
                          '--json', str(out / 'metrics.json')]) == 0
    report = json.loads((out / 'metrics.json').read_text())
    index = {name: i for i, name in enumerate(CLASSES)}

    def matrix(pairs):
        m = np.zeros((7, 7), int)
        for truth, predicted in pairs:
            m[index[truth], index[predicted]] += 1
        return m.tolist()

    shelf = matrix([('cardboard', 'cardboard')] * 2 + [('cardboard', 'glass')]
                   + [('glass', 'glass')] * 2)
    floor = matrix([('glass', 'glass'), ('glass', 'metal')] + [('paper', 'paper')] * 2)
    assert report['per_source']['shelf']['confusion_matrix'] == shelf
    assert report['per_source']['floor']['confusion_matrix'] == floor
    assert report['combined']['confusion_matrix'] == (np.asarray(shelf)
                                                      + np.asarray(floor)).tolist()
    assert report['per_source']['shelf']['top1'] == pytest.approx(4 / 5)
    assert report['per_source']['floor']['top1'] == pytest.approx(3 / 4)
    assert report['per_source']['floor']['per_class']['glass']['recall'] == pytest.approx(0.5)
    assert report['combined']['top1'] == pytest.approx(7 / 9)
    # Every mistake is listed with its file; the pictures show them.
    shelf_mistakes = report['per_source']['shelf']['mistakes']
    assert [(Path(m['file']).relative_to(tmp_path).as_posix(), m['true'], m['predicted'])
            for m in shelf_mistakes] == [('shelf/cardboard/2.png', 'cardboard', 'glass')]
    assert shelf_mistakes[0]['score'] > 0.5 > shelf_mistakes[0]['true_score']
    assert [(Path(m['file']).name, m['predicted']) for m in
            report['per_source']['floor']['mistakes']] == [('1.png', 'metal')]
    for name in ('shelf', 'floor'):
        assert (out / f'confusion_matrix_{name}.png').stat().st_size > 0
        assert cv2.imread(str(out / f'mistakes_{name}.jpg')) is not None


def test_evaluate_refuses_an_unmapped_folder_with_its_name(tmp_path):
    model = write_model_dir(tmp_path / 'model')
    write_images(tmp_path / 'floor' / 'Glass Bottles', [COLOURS['glass']])
    with pytest.raises(SystemExit, match=r'folder .*Glass Bottles is not a project class'):
        evaluate.main(['--model', str(model), '--data', str(tmp_path / 'floor')])
    (tmp_path / 'x.yaml').write_text('Glass Bottles: glass\n')
    with pytest.raises(SystemExit, match='--class-map names no --data source'):
        evaluate.main(['--model', str(model), '--data', str(tmp_path / 'floor'),
                       '--class-map', f'other={tmp_path / "x.yaml"}'])


def test_permissive_config_leaves_the_non_commercial_source_out():
    with initialize_config_dir(config_dir=CONF_DIR, version_base='1.3'):
        field = compose('train', overrides=['dataset=field'])
        permissive = compose('train', overrides=['dataset=permissive'])
    assert list(field.sources) == ['waste7', 'realwaste']
    assert 'NC' in field.sources.realwaste.licence
    assert list(permissive.sources) == ['waste7']
    assert not any('NC' in entry.licence for entry in permissive.sources.values())


def test_shipped_card_lists_its_sources_and_matches_the_shipped_file():
    card = model_card.read_card(ROOT / 'model' / 'model_card.json')
    model_card.verify(ROOT / 'model' / 'waste_classifier.onnx', card,
                      model_card.read_labels(ROOT / 'model' / 'labels.txt'))
    names = [source['name'] for source in card['sources']]
    assert names == ['waste7', 'realwaste']
    for source in card['sources']:
        assert source['licence'] and sum(source['train'].values()) > 0
    assert set(card['metrics']['val_per_source']) == set(names)
    assert card['calibration']['temperature'] > 0


def test_one_parser_reads_name_folder_and_class_map(tmp_path):
    (tmp_path / 'floor.yaml').write_text('class_map:\n  Glass Bottles: glass\n  Blurry: null\n')
    folder = tmp_path / 'floor'
    assert sources.parse_named_folder(f'floor={folder}:{tmp_path / "floor.yaml"}', '--base') == (
        'floor', folder, {'Glass Bottles': 'glass', 'Blurry': None})
    assert sources.parse_named_folder(f'shelf={folder}', '--eval') == ('shelf', folder, None)
    assert sources.parse_named_folder(str(folder), '--data', name_optional=True) == (
        'floor', folder, None)
    for item in (str(folder), f'={folder}', 'floor='):
        with pytest.raises(ValueError, match=r'--base .*: expected NAME=DIR\[:CLASS_MAP.yaml\]'):
            sources.parse_named_folder(item, '--base')
    with pytest.raises(ValueError, match='cannot read the class map'):
        sources.parse_named_folder(f'floor={folder}:{tmp_path / "missing.yaml"}', '--base')
