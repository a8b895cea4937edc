# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Each scope's settings, from one set of values: retrain's options and the curve's ``--set``.

`HeadSettings` is how the last layer is fitted (training.station.last_layer); ``blocks`` and
``all`` train with training.station.adapt.Settings. `settings_for(scope, values)` takes from
`values` the fields its scope's settings have and leaves the others at their measured defaults,
so a hyperparameter has one name (the same as train's Hydra key where train has it: ``lr``,
``batch_size``, ``balance_power``, ``seed``) whether it comes from retrain's ``--lr`` or the
learning curve's ``--set lr=...``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TypeVar

from training.station import adapt
from waste_classifier_ros.flywheel.promotion import GUARD_CONFIDENCE


@dataclass
class HeadSettings:
    """What the last layer is fitted with; the defaults are the measured ones."""

    steps: int = 300
    lr: float = 3e-3
    # The pull towards the current layer: 1e-3 measured better than 1e-2 on every source
    # (docs/flywheel.md, "Where the plateau comes from").
    anchor: float = 1e-3
    init: str = 'parent'           # or 'fresh': zero weights and no pull
    balance_power: float = 0.5
    mix_steps: int = 4             # WiSE-FT: also try start + i/mix_steps of the change
    max_drop: float = 0.01
    max_class_drop: float = 0.10
    guard_confidence: float = GUARD_CONFIDENCE  # 0: the strict guard (promotion.Guard)
    seed: int = 0


Settings = HeadSettings | adapt.Settings
_S = TypeVar('_S', HeadSettings, adapt.Settings)
NAMES = {f.name for f in fields(HeadSettings)} | {f.name for f in fields(adapt.Settings)}


def settings_for(scope: str, values: Mapping[str, object]) -> Settings:
    """Return `scope`'s settings: its defaults, with the fields `values` gives (None: default).

    A value given as text (``--set lr=3e-4``) is converted to the field's type.
    """
    return _given(HeadSettings(), values) if scope == 'head' else adapt_settings(scope, values)


def adapt_settings(scope: str, values: Mapping[str, object]) -> adapt.Settings:
    """Return the settings of ``blocks`` or ``all`` (settings_for, typed for adapt)."""
    return _given(adapt.Settings(scope=scope, lr=adapt.DEFAULT_LR[scope]), values)


def _given(settings: _S, values: Mapping[str, object]) -> _S:
    names = {f.name for f in fields(settings)} - {'scope'}
    for key, value in values.items():
        if key in names and value is not None:
            setattr(settings, key, type(getattr(settings, key))(value))
    return settings


def parse_set(items: Iterable[str]) -> dict[str, str]:
    """Parse ``KEY=VALUE`` items; a key no scope's settings have is refused."""
    values = {}
    for item in items:
        key, _, value = item.partition('=')
        if key not in NAMES - {'scope'}:
            raise ValueError(f'--set {item}: no setting {key!r} (one of '
                             f'{", ".join(sorted(NAMES - {"scope"}))})')
        values[key] = value
    return values
