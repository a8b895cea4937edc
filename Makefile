# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# The two commands a newcomer needs: `make demo` and `make test`. Every target that starts ROS
# runs inside devenv/ros_env.sh, which keeps DDS on this machine.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV := .venv
ROS := source devenv/ros_env.sh &&
# Training and evaluation data: a dataset config of training/conf/dataset/ (field, permissive).
DATASET ?= field
# Two workers, one test module each: most ROS tests wait on discovery, not on the CPU. Modules in
# the order tests/conftest.py gives them (the longest first), not xdist's (the most tests first).
PYTEST_ARGS ?= -n 2 --dist loadfile --no-loadscope-reorder

.PHONY: env env-demo env-test demo demo-web test lint pytest bench soak train evaluate retrain \
	flywheel-demo colcon clean

# The environment each command needs (devenv/setup_env.sh): env-demo the nodes and demos, env adds
# training, env-test adds the test and lint tools, the browser and the wheelhouse.
env:
	@bash devenv/setup_env.sh dev

env-demo:
	@bash devenv/setup_env.sh demo

env-test:
	@bash devenv/setup_env.sh test

demo: env-demo
	@$(ROS) python -m waste_classifier_ros.demos.demo

# The demo's nodes looping over samples/ with capture on, plus the station web page (Ctrl-C stops;
# DEMO_WEB_ARGS=--screenshot needs Playwright and chromium: make env-test).
demo-web: env-demo
	@$(ROS) python -m waste_classifier_ros.demos.station_web $(DEMO_WEB_ARGS)

test: env-test lint pytest

lint: env-test
	@echo '[lint] ruff (ament_flake8 + ament_pep257 rules)'
	@$(VENV)/bin/ruff check .
	@echo '[lint] hadolint docker/Dockerfile.*'
	@$(VENV)/bin/hadolint docker/Dockerfile.jetson docker/Dockerfile.x86
	@echo '[lint] mypy waste_classifier_ros training benchmarks (mypy.ini)'
	@$(VENV)/bin/mypy

pytest: env-test
	@$(ROS) python -m pytest $(PYTEST_ARGS)

bench: env
	@$(ROS) python -m benchmarks.run

soak: env-test
	@$(ROS) python -m pytest -m soak tests

train: env
	@$(ROS) python -m training.recipe.train dataset=$(DATASET) $(TRAIN_ARGS)

evaluate: env
	@$(ROS) python -m training.recipe.evaluate --model model/waste_classifier.onnx --dataset $(DATASET) \
		--json outputs/eval/metrics.json

# The model adapted to the station's reviewed photos (waste-review's dataset) plus the base
# sources (the last blocks and the last layer, the better kept, by default;
# RETRAIN_ARGS='--scope head|blocks|all'); installed over model/
# only with RETRAIN_ARGS=--promote or when it wins by the rule (docs/flywheel.md).
STATION ?= station_dataset
retrain: env
	@$(ROS) python -m training.station.retrain --station $(STATION) --dataset $(DATASET) $(RETRAIN_ARGS)

# The whole loop offline: capture -> review -> retrain -> before/after on a new style, then the
# learning curve of its station (FLYWHEEL_ARGS="--curve-scopes ''" skips it).
flywheel-demo: env
	@$(ROS) python -m waste_classifier_ros.demos.flywheel $(FLYWHEEL_ARGS)

clean:
	rm -rf build install log .pytest_cache .mypy_cache demo_output bench_output outputs flywheel_output
