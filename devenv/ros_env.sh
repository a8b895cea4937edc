# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# Source this to work in the project's ROS 2 environment by hand:  . devenv/ros_env.sh
# It activates .venv and keeps DDS on this machine (localhost discovery, a domain id of this
# shell's own, shared-memory-only Fast DDS with a 32 MB segment); see README, "Why DDS stays local".
_wcr_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
. "$_wcr_root/.venv/bin/activate"
export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
eval "$(python -c 'from waste_classifier_ros.local_ros import local_ros_environ as e
import os, shlex
wanted = e()
for k, v in wanted.items():
    if os.environ.get(k) != v:
        print(f"export {k}={shlex.quote(v)}")
for k in set(os.environ) - set(wanted):
    print(f"unset {k}")')"
unset _wcr_root
