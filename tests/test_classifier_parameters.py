# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The classifier's parameters are declared once; the node, Settings, the YAML and docs follow."""

from dataclasses import fields, replace

import pytest
import yaml

from waste_classifier_ros.nodes import classifier_node
from waste_classifier_ros.nodes import classifier_parameters as declared


def test_the_committed_yaml_and_docs_tables_are_generated_from_the_declaration():
    assert declared.out_of_date() == [], \
        'out of date: run python -m waste_classifier_ros.nodes.classifier_parameters'


def test_a_changed_default_makes_every_generated_file_out_of_date(monkeypatch):
    changed = tuple(replace(p, default=0.75) if p.name == 'capture_min_score' else p
                    for p in declared.DECLARED)
    monkeypatch.setattr(declared, 'DECLARED', changed)
    assert declared.out_of_date() == list(declared.generated_files())
    assert declared.main(['--check']) == 1
    parameters = yaml.safe_load(declared.config_yaml())['/**']['ros__parameters']
    assert parameters['capture_min_score'] == 0.75
    assert '| `capture_min_score` | `0.75` | live | 0 .. 1 |' in declared.markdown_table()


def test_the_yaml_holds_every_default_with_its_type():
    parameters = yaml.safe_load(declared.YAML.read_text())['/**']['ros__parameters']
    assert list(parameters) == [p.name for p in declared.DECLARED]
    for p in declared.DECLARED:
        assert parameters[p.name] == p.default and type(parameters[p.name]) is type(p.default), \
            p.name


def test_each_docs_table_lists_its_parameters_with_default_and_range():
    page = (declared.ROOT / 'docs' / 'flywheel.md').read_text()
    block = declared.BLOCK.search(page)
    assert block and block.group(2) == 'capture_parameters'
    rows = [line for line in block.group(3).splitlines() if line.startswith('| `')]
    assert [row.split('`')[1] for row in rows] == [
        'capture_enabled', 'capture_inbox', 'capture_min_score', 'capture_min_margin',
        'capture_min_interval', 'capture_empty_interval', 'capture_max_mb',
        'capture_jpeg_quality', 'capture_queue_size', 'record_path']
    assert '| `capture_max_mb` | `500.0` | live | 1 .. 1000000 |' in page
    assert '| `capture_queue_size` | `4` | at start | 1 .. 64 |' in page
    table = declared.markdown_table()
    assert table.count('\n| `') == len(declared.DECLARED)
    with pytest.raises(ValueError, match='generated blocks'):
        declared.render_page('no block here', {'parameters': ('*',)})


def test_the_node_declares_what_is_declared():
    assert list(classifier_node.PARAMETERS) == [p.name for p in declared.DECLARED]
    for p in declared.DECLARED:
        default, descriptor = classifier_node.PARAMETERS[p.name]
        assert default == p.default and descriptor.description == p.description
        assert descriptor.read_only == (p.change == declared.RESTART), p.name
        ranges = [*descriptor.floating_point_range, *descriptor.integer_range]
        assert [(r.from_value, r.to_value) for r in ranges] == ([p.range] if p.range else [])
    threshold = classifier_node.PARAMETERS['threshold'][1]
    assert len(threshold.floating_point_range) == 1 and not threshold.integer_range
    assert len(classifier_node.PARAMETERS['top_k'][1].integer_range) == 1


def test_settings_are_the_live_parameters():
    assert [f.name for f in fields(declared.Settings)] == list(declared.RUNTIME)
    assert set(declared.RUNTIME).isdisjoint(declared.MODEL_PARAMETERS)
    settings = declared.Settings.of({p.name: p.default for p in declared.DECLARED})
    assert settings.roi == (0.0, 0.0, 1.0, 1.0) and settings.top_k == 3
    moved = settings.changed(roi=[0.1, 0.1, 0.5, 0.5], capture_min_score=0.3)
    assert moved.roi == (0.1, 0.1, 0.5, 0.5) and settings.roi == (0.0, 0.0, 1.0, 1.0)
    assert moved.capture.min_score == 0.3 and moved.capture.min_interval == 2.0
    with pytest.raises(TypeError):
        settings.changed(backend='jetson')  # read at start: not a setting
