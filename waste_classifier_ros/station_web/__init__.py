# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The station web page: live view, bin decision, health and the review inbox in a browser.

`state` and `frames` hold what the classifier last said and the newest overlay frame (plain
Python, fed by the node's callbacks), `guard` keeps requests inside the inbox and the token
rules, `app` is the aiohttp application over them and review.py, `node` the ROS node that runs
it in a thread of its own, and `demo` is `make demo-web`.
"""
