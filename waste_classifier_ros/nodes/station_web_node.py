# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The station_web node: the classifier's topics in, a web page out (station_web/, own thread).

It listens like any other node to `<classifier>/classification`, `/bin`, `/label_info` and
`/diagnostics`, and to `<classifier>/overlay` only while a browser watches: the classifier draws
the overlay only for subscribers, so the subscription is created when the first browser connects
and destroyed when the last one leaves (the web thread asks through a guard condition; the
executor's thread does it); a frame is taken, serialised, only when the web side is ready to
encode the next one (frame_intake.Gate). Callbacks only hand plain values to StationState and
FrameHub. The page's buttons call the classifier's `~/capture`, `~/learn_empty` and
`~/clear_empty` services; its capture settings are read from its parameters now and then.

    ros2 run waste_classifier_ros station_web --ros-args -p port:=8080 \
        -p inbox:=/var/station/inbox -p dataset:=/var/station/dataset
"""

import asyncio
import functools
import re
import secrets
import sys
import time
from typing import TYPE_CHECKING

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange
from rclpy.client import Client
from rclpy.exceptions import InvalidParameterValueException, ParameterException
from rclpy.node import Node
from rclpy.parameter_client import AsyncParameterClient
from rclpy.subscription import Subscription
from rclpy.task import Future
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger
from vision_msgs.msg import Classification, LabelInfo

from waste_classifier_ros.core.bins import UNKNOWN
from waste_classifier_ros.core.diagnostics import classifier_status_name
from waste_classifier_ros.core.extras import MissingLibraryError, require
from waste_classifier_ros.core.paths import share_path
from waste_classifier_ros.nodes import qos
from waste_classifier_ros.nodes.frame_intake import Gate, keep_frame_buffers_mapped
from waste_classifier_ros.nodes.parameter_table import declare_all, read_only
from waste_classifier_ros.nodes.shutdown import spin_node
from waste_classifier_ros.station_web import guard
from waste_classifier_ros.station_web.desk import ReviewDesk
from waste_classifier_ros.station_web.frames import FrameHub, image_from_cdr
from waste_classifier_ros.station_web.models import ModelDesk
from waste_classifier_ros.station_web.state import ORPHAN_BIN_S, StationState

if TYPE_CHECKING:  # aiohttp: imported when the node starts its page
    from waste_classifier_ros.station_web.server import WebServer

NODE_NAME = 'station_web'
SERVICE_TIMEOUT_S = 3.0
CAPTURE_SETTINGS_PERIOD_S = 5.0  # how often the classifier's capture settings are read again


PARAMETERS = {
    'host': ('127.0.0.1', read_only(
        'address to listen on: 127.0.0.1 = this machine only; 0.0.0.0 or an interface address '
        'lets other devices in, and labelling then needs the token')),
    'port': (8080, read_only('TCP port; 0 = any free port (the start line says which)',
                             integer_range=[IntegerRange(from_value=0, to_value=65535)])),
    'classifier': ('/waste_classifier', read_only(
        'fully qualified name of the classifier node whose topics the page shows')),
    'inbox': ('', read_only("capture inbox (<inbox>/<class>/*.jpg + .json); '' = no review")),
    'dataset': ('', read_only(
        "dataset the reviewed captures move into (<dataset>/train|val/<class>/); "
        "'' = no review")),
    'review_order': ('capture', read_only(
        "order captures are offered in: 'capture' (oldest first) or 'useful' (unsure ones, "
        "spread over what the station sees, every class early: docs/flywheel.md)")),
    'review_model': ('', read_only(
        "ONNX model whose features the 'useful' order spreads captures by (the classifier's); "
        "'' = by the captures' scores alone")),
    'max_rate': (10.0, read_only(
        'most live frames per second sent to browsers; each is encoded once for all of them',
        floating_point_range=[FloatingPointRange(from_value=0.5, to_value=60.0)])),
    'token': ('', read_only(
        "token that labelling needs; '' = none on a loopback host, a random one printed at "
        'start otherwise')),
    'bins_file': ('', read_only(
        "class -> bin YAML for bin names and colours; '' = the shipped config/bins.yaml "
        "(give the classifier's)")),
    'retrain_dir': ('', read_only(
        "training.station.retrain's output folder (outputs/retrain): a result there whose "
        "parent is the model in use is offered for promotion; '' = none")),
    'promote_max_drop': (1.0, read_only(
        'points of top-1 a base source may lose for the promotion rule (retrain --max-drop)',
        floating_point_range=[FloatingPointRange(from_value=0.0, to_value=100.0)])),
    'promote_max_class_drop': (10.0, read_only(
        "points of recall a class of a base source's val may lose for the promotion rule "
        '(retrain --max-class-drop)',
        floating_point_range=[FloatingPointRange(from_value=0.0, to_value=100.0)])),
    'promote_guard_confidence': (0.95, read_only(
        'a loss counts where its paired interval at this confidence shows it; 0 = strict, the '
        'loss itself (retrain --guard-confidence)',
        floating_point_range=[FloatingPointRange(from_value=0.0, to_value=0.999)])),
}


class StationWeb(Node):
    """Raises ParameterException naming the parameter when it cannot run."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        params = declare_all(self, PARAMETERS)
        classifier = params['classifier'].rstrip('/')
        if not classifier.startswith('/'):
            raise InvalidParameterValueException(
                'classifier', params['classifier'],
                'a fully qualified node name like /waste_classifier is needed')
        self.host = params['host']
        self.port = params['port']
        loopback = guard.is_loopback(self.host)
        self.token = params['token'] or ('' if loopback else secrets.token_urlsafe(12))
        self.state = StationState(params['bins_file'] or share_path('config', 'bins.yaml'))
        self.frames = FrameHub(decode=image_from_cdr)
        try:
            self.desk = ReviewDesk(params['inbox'], params['dataset'], lambda: self.state.classes,
                                   params['review_order'], params['review_model'])
        except ValueError as error:
            raise InvalidParameterValueException('review_order', params['review_order'],
                                                 str(error)) from None
        log = self.get_logger()
        require('web')  # aiohttp, imported only here: a missing one is one clear line (extras)
        from waste_classifier_ros.station_web.routes import TRIGGERS, make_app
        self.service_clients: dict[str, Client] = {
            name: self.create_client(Trigger, f'{classifier}/{name}')
            for name in TRIGGERS.values()}
        self.app = make_app(self.state, self.frames, self.desk, max_rate=params['max_rate'],
                            token=self.token, loopback=loopback, log=log.error,
                            services={name: functools.partial(self.call_service, name)
                                      for name in self.service_clients},
                            models=ModelDesk(params['retrain_dir'], classifier,
                                             params['promote_max_drop'],
                                             params['promote_max_class_drop'],
                                             params['promote_guard_confidence']))
        self.overlay_topic = f'{classifier}/overlay'
        # ~/bin before ~/classification, the order the classifier publishes a frame's two
        # messages in: when a busy executor finds both waiting, it takes the bin first, and the
        # frame is shown with it (state.py matches them by stamp, "one truth per frame").
        self.create_subscription(Classification, f'{classifier}/bin', self.on_bin, qos.LATCHED)
        self.create_subscription(Classification, f'{classifier}/classification',
                                 self.on_classification, 10)
        self.create_timer(ORPHAN_BIN_S / 2, self.state.settle)
        self._classifier_parameters = AsyncParameterClient(self, classifier)
        self._capture_settings_read = -CAPTURE_SETTINGS_PERIOD_S
        self.create_timer(1.0, self.read_capture_settings)  # soon after the classifier starts
        self.create_subscription(LabelInfo, f'{classifier}/label_info', self.on_label_info,
                                 qos.LATCHED)
        self._diagnostics_name = classifier_status_name(classifier)
        self.create_subscription(DiagnosticArray, '/diagnostics', self.on_diagnostics, 10)
        self._overlay_sub: Subscription | None = None
        self._watch_changed = self.create_guard_condition(self.follow_viewers)
        self.frames.on_watching = lambda watching: self._watch_changed.trigger()
        # The overlay is taken only when the web side wants the next frame (max_rate a second
        # of the classifier's 30): in between, newer frames replace older ones inside DDS.
        self._overlay_gate = Gate()
        self._overlay_wanted = self.create_guard_condition(lambda: None)
        self.frames.want = self.want_overlay
        self.server: WebServer | None = None

    def start_web(self) -> int:
        """Start serving; return the port. OSError when the address cannot be listened on."""
        from waste_classifier_ros.station_web.server import WebServer
        self.server = WebServer(self.app)
        port = self.server.start(self.host, self.port)
        log = self.get_logger()
        every_address = self.host in ('0.0.0.0', '::', '')
        where = '127.0.0.1' if guard.is_loopback(self.host) or every_address else self.host
        others = f', from other devices http://<this machine>:{port}/' if every_address else ''
        log.info(f'station page: open http://{where}:{port}/ '
                 f'(classifier {self.overlay_topic.rsplit("/", 1)[0]}, review '
                 f'{"on " + str(self.desk.inbox) if self.desk.enabled else "off"}{others})')
        if self.token:
            log.info(f'labelling needs the token {self.token}: open '
                     f'http://{where}:{port}/?token={self.token}')
        return port

    def follow_viewers(self) -> None:
        """Subscribe to the overlay while a browser watches, and only then."""
        if self.frames.watching and self._overlay_sub is None:
            self._overlay_gate.open = True
            self._overlay_sub = self.create_subscription(
                Image, self.overlay_topic, self.on_overlay, qos.newest(), raw=True,
                callback_group=self._overlay_gate)
        elif not self.frames.watching and self._overlay_sub is not None:
            self.destroy_subscription(self._overlay_sub)
            self._overlay_sub = None

    def on_overlay(self, data: bytes) -> None:
        self._overlay_gate.open = False  # until the web side wants the next one
        self.frames.put(data)  # read by the web side (frames.image_from_cdr) when it encodes

    def want_overlay(self) -> None:
        """Take the next overlay frame (called from the web thread)."""
        self._overlay_gate.open = True
        self._overlay_wanted.trigger()  # the executor waits without the subscription: wake it

    def on_classification(self, msg: Classification) -> None:
        self.state.set_classification([(r.class_id, r.score) for r in msg.results],
                                      (msg.header.stamp.sec, msg.header.stamp.nanosec))

    def on_bin(self, msg: Classification) -> None:
        if msg.results:
            top = msg.results[0]
            # An unknown decision lists the bins after it, best first: the page names the best.
            best = (msg.results[1].class_id, msg.results[1].score) \
                if top.class_id == UNKNOWN and len(msg.results) > 1 else None
            self.state.set_bin(top.class_id, top.score,
                               (msg.header.stamp.sec, msg.header.stamp.nanosec), best)

    def read_capture_settings(self) -> None:
        now = time.monotonic()
        if now - self._capture_settings_read < CAPTURE_SETTINGS_PERIOD_S or \
                not self._classifier_parameters.services_are_ready():
            return
        self._capture_settings_read = now
        self._classifier_parameters.get_parameters(
            ['capture_enabled', 'capture_max_mb'], callback=self._on_capture_settings)

    def _on_capture_settings(self, future: Future) -> None:
        result = future.result()
        values = result.values if result is not None else []
        if len(values) == 2:
            self.state.set_capture_settings(values[0].bool_value, values[1].double_value)
        else:
            self._capture_settings_read = -CAPTURE_SETTINGS_PERIOD_S  # ask again in a second

    async def call_service(self, name: str) -> dict:
        """Call a Trigger service of the classifier (from the web thread); its answer."""
        client = self.service_clients[name]
        if not client.service_is_ready():
            return {'success': False, 'message': f"the classifier's ~/{name} service is not "
                                                 'available (classifier not running?)'}
        loop = asyncio.get_running_loop()
        answer = loop.create_future()

        def done(future: Future) -> None:
            def settle() -> None:
                if not answer.done():
                    answer.set_result(future.result())
            loop.call_soon_threadsafe(settle)
        client.call_async(Trigger.Request()).add_done_callback(done)
        try:
            response = await asyncio.wait_for(answer, SERVICE_TIMEOUT_S)
        except TimeoutError:
            return {'success': False,
                    'message': f'the classifier did not answer within {SERVICE_TIMEOUT_S:g} s'}
        # The page shows no path of this machine: "saved into /var/..." -> "saved into <path>".
        return {'success': bool(response.success),
                'message': re.sub(r'(?<![\w.])/\S+', '<path>', response.message)}

    def on_label_info(self, msg: LabelInfo) -> None:
        classes = [c.class_name for c in sorted(msg.class_map, key=lambda c: c.class_id)]
        self.state.set_label_info(classes, msg.threshold)

    def on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == self._diagnostics_name:
                level = status.level[0] if isinstance(status.level, bytes) else status.level
                self.state.set_diagnostics(level, status.message,
                                           {kv.key: kv.value for kv in status.values})

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


class ListenError(Exception):
    """The page's address cannot be listened on (in use, not this machine's, no permission)."""


def listening_station_web() -> StationWeb:
    """Make the node and start its page; ListenError names the address when that fails."""
    node = StationWeb()
    try:
        node.start_web()
    except OSError as error:
        raise ListenError(f'cannot listen on {node.host}:{node.port}: '
                          f'{error.strerror or error}') from error
    return node


def main(args: list[str] | None = None) -> int:
    keep_frame_buffers_mapped()  # the overlay: 2.7 MB at 1280x720, 30 times a second
    # SIGINT/SIGTERM, however many, end it with 0 (waste_classifier_ros.nodes.shutdown).
    return spin_node(listening_station_web, (ParameterException, ListenError, MissingLibraryError),
                     NODE_NAME, args)


if __name__ == '__main__':
    sys.exit(main())
