# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The station web page: live view, bin decision, health and the review inbox in a browser.

`state` and `frames` hold what the classifier last said and the newest overlay frame (plain
Python, fed by the node's callbacks), `guard` keeps requests inside the inbox, the token rules
and the size of what clients send, `desk` is the review inbox over review.py, `models` the model
panel over promotion.py, `app` the aiohttp application over them (the page, /kiosk, the API),
`node` the ROS node that runs it in a thread of its own, and `demo` is `make demo-web`.
"""
