# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The waste_classifier node: camera frames in; classes, bin decisions, overlay, diagnostics out.

Wiring only: the pixels are handled by image_codec, inference by a backend, the drop zone by
drop_zone.DropZone (whether it holds an item, from the station's empty reference taught with
~/learn_empty and the model's `empty` class; one ~/bin decision per item; the reference's life
behind ~/learn_empty and ~/clear_empty), drawing by overlay and the numbers by diagnostics. The
callbacks call those and publish what they return. The subscription callback only checks the
frame and hands it to an inference thread (frame_intake.FrameHandoff, which owns the thread and
the gate). While that thread is busy the subscription is left out of the executor's wait set, so
newer frames wait in DDS (keep last 1, each replacing the previous without being deserialised)
and the inference thread takes the newest itself when it is done: a slow model makes the node
skip frames, counted from the publication sequence numbers, instead of queueing latency or
spending CPU on frames it would throw away.

The model can be set while the node runs (`model`, `labels`, `model_card`, one parameter set):
the parameter callback loads and checks the new one beside the one serving (live_model.py) and
refuses the set with the reason when a check fails; while it loads, the inference thread takes
the frames from the subscription itself, so classifying never stops; a frame reads the model
once, so the switch falls between two frames.
"""

from pathlib import Path
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import InvalidParameterValueException, ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter as RosParameter
from rclpy.serialization import serialize_message
from rclpy.subscription import MessageInfo, Subscription
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Classification, LabelInfo, ObjectHypothesis, VisionClass

from waste_classifier_ros.backends import BackendError, Log, top_k
from waste_classifier_ros.core import image_codec
from waste_classifier_ros.core.bins import BinMap, BinsError, Decision
from waste_classifier_ros.core.diagnostics import PipelineStats, classifier_status_name
from waste_classifier_ros.core.extras import MissingLibraryError
from waste_classifier_ros.core.items import Announcement, bin_results
from waste_classifier_ros.core.model_card import ModelCardError
from waste_classifier_ros.core.overlay import annotate
from waste_classifier_ros.core.paths import ros_home, share_path
from waste_classifier_ros.flywheel.capture import CapturePolicy, CaptureWriter, make_sidecar
from waste_classifier_ros.flywheel.recording import Recorder, RecordingError
from waste_classifier_ros.nodes import qos
from waste_classifier_ros.nodes.classifier_parameters import (
    DECLARED,
    MODEL_PARAMETERS,
    RUNTIME,
    LiveSettings,
    Settings,
    roi_problem,
)
from waste_classifier_ros.nodes.drop_zone import DropZone
from waste_classifier_ros.nodes.frame_intake import (
    FrameHandoff,
    keep_frame_buffers_mapped,
    return_freed_memory,
)
from waste_classifier_ros.nodes.live_model import LiveModel, load_model, load_replacement
from waste_classifier_ros.nodes.parameter_table import declare_all, descriptor
from waste_classifier_ros.nodes.shutdown import spin_node

NODE_NAME = 'waste_classifier'
# Every parameter: name -> (default, descriptor), from the one declaration (classifier_parameters).
PARAMETERS = {p.name: (p.default, descriptor(p)) for p in DECLARED}

MODEL_ERRORS = (ModelCardError, BackendError, BinsError)
STARTUP_ERRORS = (*MODEL_ERRORS, ParameterException, RecordingError)
RECORD_QUEUE_DEPTH = 10  # frames the recorder's subscription may hold: 1/3 s at 30 FPS
# While the executor loads a new model, the inference thread looks for frames this often.
LOADING_POLL = 0.002  # seconds
# A frame on its way to inference: the pixels, the message's header, the monotonic arrival time.
Job = tuple[image_codec.Frame, Header, float]


def engine_settings(params: dict, log: Log) -> dict:
    """Return what load_model needs besides the model files, from the parameter values."""
    return {'backend': params['backend'],
            'bins_file': params['bins_file'] or share_path('config', 'bins.yaml'),
            'execution_providers': params['execution_providers'],
            'num_threads': params['num_threads'], 'log': log,
            'engine_cache': Path(params['engine_cache']).expanduser()
            if params['engine_cache'] else None}


class WasteClassifier(Node):
    """Raises a STARTUP_ERRORS exception naming the file or parameter when it cannot run."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        params = self._declare_parameters()
        reliable = params['reliable']
        self.settings = Settings.of(params)  # the live parameters, replaced whole by a set
        self.diagnostics_name = classifier_status_name(self.get_fully_qualified_name())
        self._engine = engine_settings(params, self.get_logger().info)
        # What a frame is classified with; replaced whole by a model parameter set.
        self.live = load_model(params['model'], params['labels'], params['model_card'],
                               **self._engine)
        self._incoming: LiveModel | None = None  # loaded by a parameter set, not yet switched to
        self._serving = self.live  # the model the inference thread used last
        self._trim = False  # a replaced model was let go: give its memory back
        # The empty reference and the items: what each frame makes ~/bin say (drop_zone.py).
        logger = self.get_logger()
        self.zone = DropZone(self.settings, params['empty_reference_file'], self.live.bins,
                             logger.info, logger.warning)
        self.stats = PipelineStats(time.monotonic())

        self.classification_pub = self.create_publisher(Classification, '~/classification', 10)
        self.label_info_pub = self.create_publisher(LabelInfo, '~/label_info', qos.LATCHED)
        self.bin_pub = self.create_publisher(Classification, '~/bin', qos.LATCHED)
        self.overlay_pub = self.create_publisher(Image, '~/overlay', 1)
        # ~/overlay/compressed: what rqt_image_view, rviz and Foxglove show as the `compressed`
        # transport of ~/overlay (publish_overlay).
        self.overlay_compressed_pub = self.create_publisher(
            CompressedImage, '~/overlay/compressed', 1)
        self._overlay_msg = Image()  # drawn into frame after frame (publish_overlay)
        self._overlay_jpeg_quality = params['overlay_jpeg_quality']
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)

        self.capture_policy = CapturePolicy()
        self._capture_inbox = Path(params['capture_inbox'] or ros_home() / 'waste_inbox')
        self._capture_queue_size = params['capture_queue_size']
        self.capture_writer = self._capture_writer() if self.settings.capture_enabled else None
        self.capture_srv = self.create_service(Trigger, '~/capture', self.on_capture_request)
        self.learn_empty_srv = self.create_service(Trigger, '~/learn_empty', self.on_learn_empty)
        self.clear_empty_srv = self.create_service(Trigger, '~/clear_empty', self.on_clear_empty)

        # Frames go to the inference thread; the subscription waits meanwhile (frame_intake.py).
        self._intake = FrameHandoff(self.process, self._take_waiting,
                                    self.create_guard_condition(lambda: None).trigger,
                                    self.on_frame_failed, LOADING_POLL)
        self.image_sub = self.create_subscription(
            Image, 'image', self.on_image, qos.newest(reliable), callback_group=self._intake.gate)
        self.recorder = self._recorder(params['record_path'])
        self.image_readers = [self.image_sub, *self._record_subscription(reliable)]

        self.diagnostics_timer = self.create_timer(self.settings.diagnostics_period,
                                                   self.on_diagnostics_timer)
        self.add_on_set_parameters_callback(self.on_set_parameters)
        self.add_post_set_parameters_callback(self.on_parameters_set)
        self.publish_label_info()
        self._intake.start()
        self.get_logger().info(
            f'ready: {self.live.backend.name} backend, {self.live.describe()}, '
            f'bins {self._engine["bins_file"]}, listening on {self.image_sub.topic_name} '
            f'({"reliable" if reliable else "best effort"})')

    def _declare_parameters(self) -> dict:
        """Declare every parameter (classifier_parameters) and return their values."""
        params = declare_all(self, PARAMETERS)
        problem = roi_problem(params['roi'])
        if problem:
            raise InvalidParameterValueException('roi', params['roi'], problem)
        return params

    def _recorder(self, record_path: str) -> Recorder | None:
        """Return the recorder of `image` and ~/classification (None: record_path is empty)."""
        if not record_path:
            return None
        try:
            return Recorder(Path(record_path).expanduser(), {
                self.image_sub.topic_name: 'sensor_msgs/msg/Image',
                self.classification_pub.topic_name: 'vision_msgs/msg/Classification'})
        except MissingLibraryError as error:
            # An optional feature: the node classifies without it.
            self.get_logger().error(f'not recording: {error}')
            return None

    def _record_subscription(self, reliable: bool) -> list[Subscription]:
        """Return the recorder's own subscription to `image` (none when not recording)."""
        if self.recorder is None:
            return []
        # A second, raw subscription: the frames' CDR as it arrived, what rosbag2 stores.
        # Unlike the classifier's (newest frame only) it queues, so that a frame that comes
        # while the executor is busy is recorded rather than replaced.
        return [self.create_subscription(Image, 'image', self.on_image_to_record,
                                         qos.queued(RECORD_QUEUE_DEPTH, reliable), raw=True)]

    def on_image(self, msg: Image, info: MessageInfo) -> None:
        job = self._accept(msg, info)
        if job is not None:
            self._intake.put(job)

    def on_image_to_record(self, data: bytes) -> None:
        if self.recorder is not None:  # always: this subscription exists for the recorder
            self.recorder.add(self.image_sub.topic_name, data,
                              self.get_clock().now().nanoseconds)

    def _accept(self, msg: Image, info: MessageInfo) -> Job | None:
        """Count a frame and view it; return (frame, header, arrival time), None if malformed."""
        now = time.monotonic()
        publisher = info['publisher_gid']
        self.stats.received(now, publisher and bytes(publisher['data']),
                            info['publication_sequence_number'])
        try:
            frame = image_codec.decode(msg.encoding, msg.height, msg.width, msg.step, msg.data)
        except image_codec.CodecError as error:
            self.stats.rejected(str(error))
            self.get_logger().warning(f'dropped a frame: {error}', throttle_duration_sec=5.0)
            return None
        return frame, msg.header, now

    def _take_waiting(self) -> Job | None:
        """Take the frame that arrived during inference, if any (the executor leaves it alone)."""
        while True:
            with self.image_sub.handle:
                taken = self.image_sub.handle.take_message(Image, self.image_sub.raw)
            if taken is None:
                return None
            job = self._accept(*taken)
            if job is not None:
                return job

    def on_frame_failed(self, error: Exception) -> bool:
        """Count and log a frame that failed after classifying; False once the node is down."""
        if not self.context.ok():
            # rclpy raises RCLError/InvalidHandle when SIGINT or SIGTERM shut the context
            # down while this frame was in flight: nothing to publish to.
            return False
        reason = f'{type(error).__name__}: {error}'
        self.stats.failed(reason)
        self.get_logger().error(f'dropped a frame after classifying it: {reason}',
                                throttle_duration_sec=5.0)
        return True

    def process(self, job: Job) -> None:
        """Classify one frame and publish everything that follows from it."""
        frame, header, received = job
        settings, live = self.settings, self.live
        if live is not self._serving:
            self._serving = live  # the last reference to the model before: it is freed
            self._trim = True
        try:
            probabilities = live.backend.classify_frame(image_codec.crop(frame, settings.roi))
        except Exception as error:  # noqa: BLE001 - one failed frame must not stop the node
            reason = f'{type(error).__name__}: {error}'
            self.stats.failed(reason)
            self.get_logger().error(f'{live.backend.name} failed on a frame: {reason}',
                                    throttle_duration_sec=5.0)
            return
        best = top_k(probabilities, settings.top_k)
        announcement = self.zone.follow(frame, received, probabilities, settings, live.bins)
        if settings.capture_enabled and self.capture_writer is not None:
            self.capture(frame, header, probabilities, best, isinstance(announcement, Decision),
                         settings, live)
        if not self.context.ok():
            return
        # The bin first: a subscriber that shows both (the station page) then has the
        # frame's decision when its top-k comes.
        if announcement is not None:
            self.publish_bin(header, announcement, live.bins)
        classification = Classification(header=header, results=[
            ObjectHypothesis(class_id=live.files.labels[index], score=score)
            for index, score in best])
        self.classification_pub.publish(classification)
        if self.recorder is not None:
            self.recorder.add(self.classification_pub.topic_name,
                              serialize_message(classification),
                              self.get_clock().now().nanoseconds)
        latency = time.monotonic() - received
        # Who watches, asked once a frame: the overlay is drawn only for a subscriber.
        raw = self.overlay_pub.get_subscription_count() > 0
        compressed = self.overlay_compressed_pub.get_subscription_count() > 0
        if raw or compressed:
            self.publish_overlay(frame, header, best[0], settings, live, raw, compressed)
        self.stats.processed(time.monotonic(), latency, raw or compressed)

    def capture(self, frame: image_codec.Frame, header: Header, probabilities: np.ndarray,
                best: list[tuple[int, float]], bin_changed: bool, settings: LiveSettings,
                live: LiveModel) -> None:
        """Queue this frame for the inbox when the capture policy wants it (capture.py)."""
        # Top two whatever top_k is: the margin needs the runner-up.
        empty = self.zone.empty
        reason = self.capture_policy.reason(
            time.monotonic(), [s for _, s in top_k(probabilities, 2)], bin_changed,
            settings.capture, empty)
        writer = self.capture_writer
        if reason is None or writer is None:
            return
        shown = self.zone.shown(live.bins, live.files.labels, best[0])
        sidecar = make_sidecar((header.stamp.sec, header.stamp.nanosec), header.frame_id,
                               live.files.sha256, live.files.labels, probabilities, reason,
                               shown.bin.name, settings.roi, frame)
        # Filed under the class shown: a frame of the empty zone under `empty`, whatever the
        # model called it.
        writer.submit(frame, sidecar, shown.label, settings.capture_jpeg_quality)

    def _capture_writer(self) -> CaptureWriter:
        writer = CaptureWriter(self._capture_inbox, int(self.settings.capture_max_mb * 1e6),
                               self._capture_queue_size, log=self.get_logger().warning)
        self.get_logger().info(
            f'capturing into {self._capture_inbox} (removed {writer.recovered} '
            'half-written files left by an earlier run)')
        return writer

    def on_capture_request(self, request: Trigger.Request,
                           response: Trigger.Response) -> Trigger.Response:
        if self.capture_writer is None:
            response.success = False
            response.message = 'capture is off: set capture_enabled to true first'
        else:
            self.capture_policy.request()
            response.success = True
            response.message = f'the next frame will be saved into {self._capture_inbox}'
        return response

    def on_learn_empty(self, request: Trigger.Request,
                       response: Trigger.Response) -> Trigger.Response:
        """Learn the empty reference on the operator's "the zone is empty now", or say why not."""
        silent = self.stats.seconds_since_last_frame(time.monotonic())
        response.success, response.message = self.zone.learn(silent, self.settings,
                                                              self.image_sub.topic_name)
        # rclpy ties a severity to the line that logs: one line each.
        if response.success:
            self.get_logger().info(f'~/learn_empty: {response.message}')
        else:
            self.get_logger().warning(f'~/learn_empty: {response.message}')
        return response

    def on_clear_empty(self, request: Trigger.Request,
                       response: Trigger.Response) -> Trigger.Response:
        """Forget an empty reference learned by mistake (and its file)."""
        response.success, response.message = self.zone.clear(self.live.bins)
        self.get_logger().info(f'~/clear_empty: {response.message}')
        return response

    def publish_bin(self, header: Header, said: Announcement, bins: BinMap) -> None:
        results = [ObjectHypothesis(class_id=name, score=score)
                   for name, score in bin_results(said, bins)]
        self.bin_pub.publish(Classification(header=header, results=results))
        self.get_logger().info(f'bin decision: {results[0].class_id} ({results[0].score:.2f})')

    def publish_overlay(self, frame: image_codec.Frame, header: Header, best: tuple[int, float],
                        settings: LiveSettings, live: LiveModel, raw: bool,
                        compressed: bool) -> None:
        """Draw the frame's result and publish it raw and/or as JPEG, as subscribed."""
        shown = self.zone.shown(live.bins, live.files.labels, best)
        fps = self.stats.fps(time.monotonic()) if settings.overlay_show_fps else None
        msg = self._overlay_msg
        if (msg.height, msg.width) != (frame.height, frame.width):
            msg = self._overlay_msg = Image(
                height=frame.height, width=frame.width, encoding='bgr8', step=frame.width * 3,
                data=bytes(frame.height * frame.width * 3))
        # Drawn straight into the message's buffer, reused frame after frame: publish()
        # serialises before it returns, and fresh 2.7 MB buffers cost copies and page faults.
        bgr = np.frombuffer(msg.data, np.uint8).reshape(frame.height, frame.width, 3)
        annotate(image_codec.to_bgr(frame, out=bgr), shown.label, shown.score, shown.bin.label,
                 shown.bin.colour, fps, settings.roi)
        msg.header = header
        if raw:
            self.overlay_pub.publish(msg)
        if compressed:
            self.overlay_compressed_pub.publish(CompressedImage(
                header=header, format='jpeg',
                data=image_codec.to_jpeg(bgr, self._overlay_jpeg_quality)))

    def publish_label_info(self) -> None:
        self.label_info_pub.publish(LabelInfo(
            header=self._header(),
            class_map=[VisionClass(class_id=index, class_name=name)
                       for index, name in enumerate(self.live.files.labels)],
            threshold=float(self.settings.threshold)))

    def on_diagnostics_timer(self) -> None:
        if self._trim:  # here, off the inference thread
            self._trim = False
            return_freed_memory()
        level, message, values = self.stats.report(time.monotonic(),
                                                   self.settings.stall_timeout)
        # Publishers matched on the DDS level by every image reader of this node (the
        # classifier's and, when recording, the recorder's): 0 means no camera is connected; a
        # driver that is connected but silent shows here as 1.
        image_publishers = min(reader.get_publisher_count() for reader in self.image_readers)
        live = self.live
        values += [('image_publishers', str(image_publishers)),
                   ('backend', live.backend.name), ('model', str(live.files.model)),
                   ('model_sha256', live.files.sha256)]
        values += self.zone.diagnostics(live.bins)
        writer = self.capture_writer
        if writer is not None:
            values += [*((f'captures_{k}', str(v)) for k, v in writer.counts.items()),
                       ('captures_rate_limited', str(self.capture_policy.rate_limited)),
                       ('capture_inbox_mb', f'{writer.stored_bytes() / 1e6:.1f}'),
                       ('capture_last_failure', writer.last_failure)]
        if self.recorder is not None:
            values += [(f'recording_{k}', str(v)) for k, v in self.recorder.counts.items()]
        self.diagnostics_pub.publish(DiagnosticArray(header=self._header(), status=[
            DiagnosticStatus(level=bytes([level]), name=self.diagnostics_name,
                             message=message, hardware_id=live.backend.name,
                             values=[KeyValue(key=k, value=v) for k, v in values])]))

    def on_set_parameters(self, parameters: list[RosParameter]) -> SetParametersResult:
        # Types, ranges and read-only are checked by rclpy from the descriptors; the ROI's
        # shape is the one rule they cannot express.
        for parameter in parameters:
            if parameter.name == 'roi':
                problem = roi_problem(parameter.value)
                if problem:
                    return SetParametersResult(successful=False, reason=problem)
        files = {p.name: p.value for p in parameters if p.name in MODEL_PARAMETERS}
        if files:
            try:
                self._incoming = self._load_beside({
                    **{name: self.get_parameter(name).value for name in MODEL_PARAMETERS},
                    **files})
            except MODEL_ERRORS as error:
                self.get_logger().error(f'model not switched: {error}')
                return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _load_beside(self, files: dict) -> LiveModel:
        """Load and check a model while the serving one goes on classifying."""
        # This callback holds the executor: the inference thread takes the frames meanwhile.
        with self._intake.executor_held():
            return load_replacement(self.live, files['model'], files['labels'],
                                    files['model_card'], **self._engine)

    def _switch_model(self, new: LiveModel) -> None:
        before = self.live.files.sha256
        # From here the old model is held only by the inference thread, which lets it go.
        self.live, self._incoming = new, None
        self.publish_label_info()
        self.get_logger().info(
            f'model switched: now {self.live.describe()}, before sha256 {before[:12]}')
        self.zone.tell_source(self.live.bins)

    def on_parameters_set(self, parameters: list[RosParameter]) -> None:
        if self._incoming is not None:
            self._switch_model(self._incoming)
        changes = {p.name: p.value for p in parameters if p.name in RUNTIME}
        if not changes:
            return
        self.settings = self.settings.changed(**changes)
        if 'roi' in changes:
            self.zone.roi_changed()
        if 'threshold' in changes:
            self.publish_label_info()
        if 'diagnostics_period' in changes:
            self.diagnostics_timer.timer_period_ns = int(changes['diagnostics_period'] * 1e9)
        if self.capture_writer is not None:
            self.capture_writer.max_bytes = int(self.settings.capture_max_mb * 1e6)
        elif self.settings.capture_enabled:
            self.capture_writer = self._capture_writer()
        self.get_logger().info(f'parameters changed: {changes}')

    def _header(self) -> Header:
        return Header(stamp=self.get_clock().now().to_msg())

    def close(self) -> None:
        self._intake.close()
        if self.capture_writer is not None:
            self.capture_writer.close()
        if self.recorder is not None:
            self.recorder.close()


def main(args: list[str] | None = None) -> int:
    keep_frame_buffers_mapped()
    # SIGINT/SIGTERM, also while the model loads or a frame is published, end the session
    # through rclpy's shutdown; the run then ends here with 0 (nodes/shutdown.py).
    return spin_node(WasteClassifier, STARTUP_ERRORS, NODE_NAME, args)


if __name__ == '__main__':
    sys.exit(main())
