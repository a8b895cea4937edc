# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A node's parameters as one table, {name: (default, descriptor)}, declared in one call."""

from typing import Any, Mapping

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

from waste_classifier_ros.nodes.classifier_parameters import Parameter

ParameterTable = Mapping[str, tuple[Any, ParameterDescriptor]]


def read_only(description: str, **extra: Any) -> ParameterDescriptor:
    """Return the descriptor of a parameter read once at start (ranges etc. in `extra`)."""
    return ParameterDescriptor(description=description, read_only=True, **extra)


def descriptor(parameter: Parameter) -> ParameterDescriptor:
    """Return the ROS descriptor of a declared parameter: description, read-only, range."""
    extra: dict = {}
    if parameter.range is not None:
        low, high = parameter.range
        if isinstance(parameter.default, float):
            extra['floating_point_range'] = [FloatingPointRange(
                from_value=float(low), to_value=float(high))]
        else:
            extra['integer_range'] = [IntegerRange(from_value=int(low), to_value=int(high))]
    return ParameterDescriptor(description=parameter.description,
                               read_only=parameter.read_only, **extra)


def declare_all(node: Node, table: ParameterTable) -> dict[str, Any]:
    """Declare every parameter of `table` on `node`; return their values, overrides applied."""
    return {name: node.declare_parameter(name, default, descriptor).value
            for name, (default, descriptor) in table.items()}
