# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# Source this to work in the project's ROS 2 environment by hand:  . devenv/ros_env.sh
# It activates .venv and keeps DDS on this machine (localhost discovery, a domain id reserved for
# this shell as long as it lives, so no other shell or test run gets it; shared-memory-only Fast
# DDS with a 32 MB segment); see docs/developing.md, "Why DDS stays on this machine".
_wcr_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
. "$_wcr_root/.venv/bin/activate"
export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
eval "$(python -c 'from waste_classifier_ros.demos.local_ros import local_ros_environ as e
import os, shlex, sys
wanted = e(owner_pid=int(sys.argv[1]))
for k, v in wanted.items():
    if os.environ.get(k) != v:
        print(f"export {k}={shlex.quote(v)}")
for k in set(os.environ) - set(wanted):
    print(f"unset {k}")' "$$")"
unset _wcr_root
