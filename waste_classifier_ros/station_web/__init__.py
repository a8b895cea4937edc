# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The station web page, ROS-free: live view, bin decision, health and the review inbox in a browser.

Imports core and flywheel only (aiohttp in `routes`, `streaming` and `server`, imported when
the page is switched on).

`state` and `frames` hold what the classifier last said and the newest overlay frame (plain
Python, fed by the node's callbacks), `guard` keeps requests inside the inbox, the token rules
and the size of what clients send, `desk` is the review inbox over review.py, `models` the model
panel over promotion.py; `routes` is the aiohttp application over them (the page, /kiosk, the
API, every refusal as JSON), `streaming` the browsers' WebSockets (state and live frames) and
`server` the thread it runs in. The ROS node that feeds them and starts the server is
nodes/station_web_node.py; `make demo-web` is demos/station_web.py.
"""
