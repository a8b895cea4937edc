# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
A station's stream through the classifier node over real DDS: one decision per item, `empty` once.

Two nodes serve this module in order: one with a model that has the `empty` class (tiny_model's
eighth class, which wins on a bare floor) and one with a model without it, which must rely on
the empty reference taught through ~/learn_empty (kept in a file across a restart). Frames are
drawn by tests/station_scenes.py and sent one at a time, each answered before the next goes
(Camera.send), so that every run sees the same frames in the same order. A stream is a list of
segments, each with what ~/bin must say during it (by the frames' header stamps): `empty` once
when the zone empties, an item's bin once, nothing during light drift, a hand or a stall.
"""

import json

from classifier_camera import Camera, names
import numpy as np
import pytest
from ros_harness import NodeProcess, write_params_file
from station_scenes import Item, Scene
from std_srvs.srv import Trigger
from tiny_model import COLOURS, write_model_dir

from waste_classifier_ros.core.presence import HISTORY

pytestmark = pytest.mark.ros

MODULE = 'waste_classifier_ros.nodes.classifier_node'
PARAMS = {
    'top_k': 3, 'threshold': 0.6, 'smoothing_window': 3, 'frames_to_confirm': 2,
    'settle_frames': 2, 'empty_frames': 3, 'stall_timeout': 1.0, 'diagnostics_period': 0.2,
    'num_threads': 1,
}
WITH_EMPTY, WITHOUT_EMPTY = '/with_empty', '/without_empty'
BIN_OF = {'cardboard': 'paper_recycling', 'paper': 'paper_recycling', 'glass': 'glass',
          'metal': 'mixed_recycling', 'plastic': 'mixed_recycling', 'organic': 'compost',
          'trash': 'landfill'}
FLOOR = Scene()
# Sites: each item lies on a floor of its own (texture, grey level, tint).
SITES = [Scene(seed=1, floor_level=95, tint=(1.0, 1.0, 1.0)),
         Scene(seed=2, floor_level=140, tint=(0.95, 0.97, 1.0)),
         Scene(seed=3, floor_level=120, tint=(1.0, 0.92, 0.85)),
         Scene(seed=4, floor_level=105, tint=(0.9, 1.0, 0.95))]


def item(name, box=(0.2, 0.15, 0.6, 0.7)):
    """Make an item of the tiny model's class `name`: most of the zone in its colour."""
    return Item(box, COLOURS[name])


def start(namespace, model, tmp_path_factory, **params):
    params_file = write_params_file(tmp_path_factory.mktemp('params') / 'classifier.yaml',
                                    '/**', dict(PARAMS, model=str(model), **params))
    return NodeProcess(MODULE, params_file=params_file,
                       remaps={'image': f'{namespace}/camera', '__ns': namespace}).start()


@pytest.fixture(scope='module')
def reference_file(tmp_path_factory):
    return tmp_path_factory.mktemp('station') / 'empty_reference.npz'


@pytest.fixture(scope='module')
def inbox(tmp_path_factory):
    return tmp_path_factory.mktemp('inbox')


@pytest.fixture(scope='module')
def nodes(tmp_path_factory, reference_file, inbox, model, ros_context):
    """Both nodes, started side by side: {namespace: NodeProcess}."""
    with_empty = write_model_dir(tmp_path_factory.mktemp('empty_model'), empty=True)
    started = {WITH_EMPTY: start(WITH_EMPTY, with_empty, tmp_path_factory,
                                 capture_enabled=True, capture_inbox=str(inbox)),
               WITHOUT_EMPTY: start(WITHOUT_EMPTY, model, tmp_path_factory,
                                    empty_reference_file=str(reference_file))}
    for node in started.values():
        node.wait_for_output('ready:', timeout=30)
    yield started
    for node in started.values():
        node.kill()


class Station:
    """One node's camera, its services and the stream played so far."""

    def __init__(self, probe, namespace):
        self.probe, self.prefix = probe, f'{namespace}/waste_classifier'
        self.camera = Camera(probe, self.prefix, f'{namespace}/camera',
                             f'{self.prefix.strip("/")}: classifier')
        self.segments = []  # (what ~/bin must say, first stamp, stamp after the last)
        self.clients = {name: probe.node.create_client(Trigger, f'{self.prefix}/{name}')
                        for name in ('learn_empty', 'clear_empty')}

    def play(self, stamp, said, scenes):
        """Send the scenes from `stamp` on; ~/bin must say `said` (a list) meanwhile."""
        first = stamp
        for scene in scenes:
            self.camera.send(stamp, scene.frame(stamp))
            stamp += 1
        self.segments.append((said, first, stamp))
        return stamp

    def said(self, first, end):
        return [names(b)[0] for b in self.camera.bins if first <= b.header.stamp.sec < end]

    def frames_to_announce(self):
        """For each segment that announced something: (what, frames from its start)."""
        return [(names(b)[0], b.header.stamp.sec - first) for _, first, end in self.segments
                for b in self.camera.bins if first <= b.header.stamp.sec < end]

    def check(self):
        """Every segment's announcements, once the last one expected has arrived."""
        said, first, end = self.segments[-1]
        self.probe.wait_for(lambda: len(self.said(first, end)) >= len(said), 10,
                            f'~/bin to say {said} for stamps {first}..{end - 1}')
        assert [self.said(first, end) for _, first, end in self.segments] == \
            [said for said, _, _ in self.segments]

    def trigger(self, service):
        """Call a Trigger service of the node; return its reply."""
        client = self.clients[service]
        self.probe.wait_for(client.service_is_ready, 10, f'service {client.srv_name}')
        # The server's reply writer may match this new client's reader only after the request
        # came, and then the reply is lost: ask again (both services are idempotent).
        for _ in range(5):
            future = client.call_async(Trigger.Request())
            try:
                self.probe.wait_for(future.done, 2, f'a reply from {client.srv_name}')
            except AssertionError:
                continue
            return future.result()
        raise AssertionError(f'no reply from {client.srv_name} to 5 requests')

    def values(self, predicate=lambda values: True):
        return self.camera.status(predicate)[1]


def still(scene, frames):
    return [scene] * frames


def item_on(floor, *items, frames=8):
    return still(floor.with_(items=items), frames)


def test_without_a_reference_the_empty_class_gives_one_decision_per_item(nodes, probe):
    station = Station(probe, WITH_EMPTY)
    stamp = 1000
    for site, name in zip(SITES, ['cardboard', 'glass', 'organic', 'trash']):
        stamp = station.play(stamp, ['empty'], still(site, 6))
        stamp = station.play(stamp, [BIN_OF[name]], item_on(site, item(name)))
    station.play(stamp, ['empty'], still(SITES[0], 6))
    station.check()
    # At 15 FPS: a bin within 0.5 s of the item's first frame, `empty` within 1 s of its last.
    for what, frames in station.frames_to_announce():
        assert frames < (15 if what == 'empty' else 7), (what, frames)
    values = station.values(lambda v: v['zone'] == 'empty')
    assert (values['items_seen'], values['items_decided']) == ('4', '4')
    assert values['empty_reference'] == 'none'
    assert "the model's empty class" in values['empty_source']
    assert 'has no "empty" class' not in nodes[WITH_EMPTY].output


def test_the_empty_zone_is_captured_once_in_its_interval_never_as_unsure(nodes, probe, inbox):
    # After the five empty stretches of the test before: one capture of the empty zone (the
    # interval is 600 s), filed under empty/; no frame of the floor anywhere else.
    station = Station(probe, WITH_EMPTY)
    values = station.values(lambda v: v['captures_written'] != '0')
    assert values['captures_dropped_queue_full'] == '0'
    sidecars = {path: json.loads(path.read_text()) for path in inbox.glob('*/*.json')}
    empty = [path for path, sidecar in sidecars.items() if sidecar['reason'] == 'empty']
    assert [path.parent.name for path in empty] == ['empty']
    assert sidecars[empty[0]]['bin'] == 'empty'
    assert all(sidecar['bin'] != 'empty' for path, sidecar in sidecars.items()
               if path not in empty)


def test_with_the_reference_light_drift_and_a_hand_make_no_item_a_second_item_does(
        nodes, probe):
    station = Station(probe, WITH_EMPTY)
    stamp = station.play(2000, [], still(FLOOR, HISTORY))
    reply = station.trigger('learn_empty')
    assert reply.success and 'learned the empty zone' in reply.message, reply.message
    assert 'not kept across restarts' in reply.message  # no empty_reference_file
    # The light dims by 30 % and comes back over 2 s at 15 FPS; a hand passes meanwhile.
    drift = [FLOOR.with_(gain=g) for g in np.concatenate([np.linspace(1.0, 0.7, 15),
                                                          np.linspace(0.7, 1.0, 15)])]
    hand = [FLOOR.with_(gain=0.7, hand=(x, 0.5)) for x in np.linspace(0.1, 0.9, 6)]
    first = item('cardboard')
    on_top = item('glass', (0.1, 0.05, 0.8, 0.9))  # dropped on the first, covering it
    stamp = station.play(stamp, [], drift[:15] + hand + drift[15:] + still(FLOOR, 6))
    stamp = station.play(stamp, ['paper_recycling'], item_on(FLOOR, first))
    stamp = station.play(stamp, ['glass'], item_on(FLOOR, first, on_top))
    station.play(stamp, ['empty'], still(FLOOR, 6))
    station.check()
    values = station.values(lambda v: v['zone'] == 'empty')
    assert values['empty_reference'] == 'learned'
    assert 'the empty reference' in values['empty_source']
    assert float(values['empty_seconds']) > 0.0


def test_a_camera_stalling_under_an_item_makes_no_new_decision_and_refuses_teaching(
        nodes, probe):
    station = Station(probe, WITH_EMPTY)
    stamp = station.play(3000, [], still(FLOOR, 6))  # empty already said
    stamp = station.play(stamp, ['compost'], item_on(FLOOR, item('organic')))
    station.check()
    status, _ = station.camera.status(level=b'\x01', timeout=10)  # nothing sent: stalled
    assert 'stalled' in status.message
    reply = station.trigger('learn_empty')
    assert not reply.success and 'the camera stalled' in reply.message, reply.message
    stamp = station.play(stamp, [], item_on(FLOOR, item('organic'), frames=6))
    station.play(stamp, ['empty'], still(FLOOR, 6))
    station.check()


def test_a_model_without_the_empty_class_relies_on_the_taught_reference(
        nodes, probe, reference_file):
    node = nodes[WITHOUT_EMPTY]
    node.wait_for_output('the model has no "empty" class', timeout=1)
    station = Station(probe, WITHOUT_EMPTY)
    reply = station.trigger('learn_empty')
    assert not reply.success and 'no frame has arrived yet' in reply.message, reply.message
    # Untaught, nothing tells an empty zone: ~/bin follows the frames as before the gate (the
    # tiny model is unsure of the floor).
    stamp = station.play(4000, ['unknown'], still(FLOOR, HISTORY))
    reply = station.trigger('learn_empty')
    assert reply.success and f'kept in {reference_file}' in reply.message, reply.message
    assert reference_file.exists()
    stamp = station.play(stamp, ['empty'], still(FLOOR, 6))
    for name in ('metal', 'paper', 'glass'):
        stamp = station.play(stamp, [BIN_OF[name]], item_on(FLOOR, item(name)))
        stamp = station.play(stamp, ['empty'], still(FLOOR, 6))
    station.check()


def test_the_kept_reference_is_read_at_restart_and_clearing_removes_it(
        nodes, probe, reference_file, model, tmp_path_factory):
    assert nodes[WITHOUT_EMPTY].stop(timeout=10) == 0
    restarted = nodes[WITHOUT_EMPTY] = start(WITHOUT_EMPTY, model, tmp_path_factory,
                                             empty_reference_file=str(reference_file))
    restarted.wait_for_output(f'empty reference loaded from {reference_file}', timeout=30)
    station = Station(probe, WITHOUT_EMPTY)
    stamp = station.play(5000, ['empty'], still(FLOOR, 6))  # no teaching needed
    stamp = station.play(stamp, ['compost'], item_on(FLOOR, item('organic')))
    station.check()
    reply = station.trigger('clear_empty')
    assert reply.success and 'cleared the empty reference' in reply.message, reply.message
    assert 'nothing tells an empty zone' in reply.message
    assert not reference_file.exists()
    station.camera.send(stamp, FLOOR.frame(stamp))  # nothing tells an empty zone: as before
    station.values(lambda v: v['empty_reference'] == 'none' and v['zone'] == 'unknown')
