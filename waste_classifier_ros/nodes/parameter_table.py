# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A node's parameters as one table, {name: (default, descriptor)}, declared in one call."""

from typing import Any, Mapping

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

ParameterTable = Mapping[str, tuple[Any, ParameterDescriptor]]


def read_only(description: str, **extra: Any) -> ParameterDescriptor:
    """Return the descriptor of a parameter read once at start (ranges etc. in `extra`)."""
    return ParameterDescriptor(description=description, read_only=True, **extra)


def declare_all(node: Node, table: ParameterTable) -> dict[str, Any]:
    """Declare every parameter of `table` on `node`; return their values, overrides applied."""
    return {name: node.declare_parameter(name, default, descriptor).value
            for name, (default, descriptor) in table.items()}
