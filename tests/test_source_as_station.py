# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A labelled source laid out as a station: review's split, a fixed shuffle, nothing copied."""

from pathlib import Path

from training.station import source_as_station
from waste_classifier_ros.flywheel.review import split_for


def test_a_source_becomes_a_station_split_as_review_splits_it(tmp_path, capsys):
    source = tmp_path / 'source'
    for folder in ('Glass', 'Food Organics', 'Vegetation'):
        (source / folder).mkdir(parents=True)
        for i in range(20):
            (source / folder / f'{folder}_{i}.jpg').write_bytes(b'jpeg')
    class_map = tmp_path / 'map.yaml'
    class_map.write_text('class_map:\n  Glass: glass\n  Food Organics: organic\n'
                         '  Vegetation: organic\n')
    labels = tmp_path / 'labels.txt'
    labels.write_text('glass\norganic\n')
    arguments = ['--source', f'{source}:{class_map}', '--labels', str(labels)]
    assert source_as_station.main([*arguments, '--out', str(tmp_path / 'all')]) == 0
    linked = sorted((tmp_path / 'all').glob('*/*/*.jpg'))
    assert len(linked) == 60 and all(p.is_symlink() for p in linked)
    for path in linked:
        place = f'{path.parent.name}/{path.name}'
        assert path.parent.parent.name == split_for(place)  # review's rule
        assert path.resolve().parent.name in {'glass': {'Glass'},  # the class map's
                                              'organic': {'Food Organics', 'Vegetation'}
                                              }[path.parent.name]
    assert {p.parent.parent.name for p in linked} == {'train', 'val'}
    # The first 10 of the shuffle: a station that has labelled 10 photos, the same each time.
    for name in ('first', 'again'):
        assert source_as_station.main([*arguments, '--out', str(tmp_path / name),
                                       '--first', '10']) == 0
    def places(name: str) -> set:
        return {p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob('*.jpg')}

    assert len(places('first')) == 10 and places('first') == places('again')
    assert places('first') <= places('all')
    # An existing folder is refused, nothing in it touched.
    capsys.readouterr()
    assert source_as_station.main([*arguments, '--out', str(tmp_path / 'first')]) == 2
    assert 'exists' in capsys.readouterr().err
    assert len(list(Path(tmp_path / 'first').rglob('*.jpg'))) == 10
