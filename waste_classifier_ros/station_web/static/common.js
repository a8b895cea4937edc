// Copyright 2026 The waste_classifier_ros Authors. SPDX-License-Identifier: Apache-2.0
// What the page and the kiosk share: the WebSocket, whether what is shown is live, formatting.
'use strict';

const $ = (id) => document.getElementById(id);
const SILENT_SOCKET_MS = 3500; // the server sends the state at least once a second

function setText(id, text) { $(id).textContent = text; }
function percent(score) { return (100 * score).toFixed(1) + '%'; }
function clock(seconds) {
  const d = new Date(seconds * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
// Black text on `hex` where it contrasts more than white (WCAG 2 relative luminance): either
// one is at least 4.58:1 on any colour. White on the bins' glass green was 3.4:1 and on their
// paper blue 4.0:1, under the 4.5:1 text needs.
function darkText(hex) {
  const linear = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
  return (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05);
}

// A coloured dot for a bin or class.
function swatch(colour) {
  const dot = document.createElement('span');
  dot.className = 'swatch';
  dot.style.background = colour;
  return dot;
}

// What a ~/bin decision's score means, in words. A bin: its classes' probability, summed and
// averaged over the last frames. `unknown`: no bin reached the threshold; its own score is 1
// minus the best bin's, which reads as a confidence, so the best bin is named instead. `empty`:
// no item in the zone, no score shown.
function scoreText(bin, threshold) {
  if (bin.name === 'empty') return 'no item in the zone';
  if (bin.name !== 'unknown') return percent(bin.score);
  const below = threshold == null ? 'no bin sure enough' : `no bin reaches ${percent(threshold)}`;
  return bin.best ? `${below} · best ${bin.best.label} ${percent(bin.best.score)}` : below;
}

// The bin decision into #bin (#bin-label, #bin-score), on the page and in the kiosk.
function renderBin(bin, threshold) {
  const box = $('bin');
  if (!bin) { box.dataset.bin = ''; setText('bin-label', '–'); setText('bin-score', 'no decision yet'); return; }
  box.dataset.bin = bin.name;
  box.style.setProperty('--bin-colour', bin.colour);
  box.classList.toggle('dark-text', darkText(bin.colour));
  setText('bin-label', bin.label);
  setText('bin-score', `${scoreText(bin, threshold)} · since ${clock(bin.at)}`);
}

// Whether what is shown is live: the body greys the view, #bin is marked stale, #not-live says
// since when and why.
function renderLiveness(now) {
  document.body.dataset.live = String(now.live);
  $('bin').dataset.stale = String(!now.live);
  const banner = $('not-live');
  banner.hidden = now.live;
  banner.textContent = now.live ? '' : `Not live${now.since ? ` since ${clock(now.since)}` : ''}: ${now.why}`;
}

// Opens /ws (again after a loss) and reports state, frames and liveness to the callbacks.
// `liveness` is {live, since (seconds or null), why}: not live while the socket is down or
// silent, while the classifier is not reporting, while the camera is stalled.
function station({ frames, onState, onFrame, onLiveness }) {
  let socket = null;
  let lastMessage = null; // client seconds
  let lastState = null;
  let reported = '';

  function liveness() {
    const now = Date.now() / 1000;
    if (!socket || socket.readyState !== WebSocket.OPEN || lastMessage === null
        || now - lastMessage > SILENT_SOCKET_MS / 1000) {
      return { live: false, since: lastMessage, why: 'no connection to the station page server, retrying' };
    }
    const health = lastState ? lastState.health : { status: 'waiting' };
    if (health.status === 'silent') return { live: false, since: health.live_until, why: 'the classifier is not reporting' };
    if (health.status === 'stalled') return { live: false, since: health.live_until, why: 'the camera stalled' };
    if (health.status === 'waiting') return { live: false, since: null, why: 'waiting for the classifier' };
    return { live: true, since: null, why: '' };
  }

  function check() {
    const now = liveness();
    const key = JSON.stringify(now);
    if (key !== reported) { reported = key; onLiveness(now); }
  }

  function connect() {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(`${scheme}//${window.location.host}/ws${frames ? '' : '?frames=0'}`);
    socket.binaryType = 'blob';
    socket.onmessage = (event) => {
      lastMessage = Date.now() / 1000;
      if (typeof event.data === 'string') { lastState = JSON.parse(event.data); onState(lastState); }
      else if (onFrame) onFrame(event.data);
      check();
    };
    socket.onclose = () => { check(); setTimeout(connect, 1000); };
  }
  connect();
  setInterval(check, 500);
  return { liveness };
}
