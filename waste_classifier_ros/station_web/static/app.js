// Copyright 2026 The waste_classifier_ros Authors. SPDX-License-Identifier: Apache-2.0
// The station page: one WebSocket for state (JSON) and live frames (JPEG), fetch() for review.
'use strict';

const $ = (id) => document.getElementById(id);
const tokenKey = 'station-token';
let state = { classes: [], bins: {}, class_bins: {} };
let review = null;
let busy = false;
let frames = 0;
let shownUrl = null;

(function takeToken() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token) {
    sessionStorage.setItem(tokenKey, token);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
})();

function setText(id, text) { $(id).textContent = text; }
function percent(score) { return (100 * score).toFixed(1) + '%'; }
function number(value, digits) { return value === null || value === undefined ? '–' : value.toFixed(digits); }
function darkText(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return 0.299 * r + 0.587 * g + 0.114 * b > 150;
}
function binColour(className) {
  const bin = state.bins[state.class_bins[className]];
  return bin ? bin.colour : '#888888';
}

// Live view and state ---------------------------------------------------------------------
function connect() {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${window.location.host}/ws`);
  socket.binaryType = 'blob';
  socket.onopen = () => { $('connection').dataset.state = 'live'; setText('connection', 'live'); };
  socket.onmessage = (event) => {
    if (typeof event.data === 'string') renderState(JSON.parse(event.data));
    else showFrame(event.data);
  };
  socket.onclose = () => {
    $('connection').dataset.state = 'lost';
    setText('connection', 'connection lost, retrying…');
    setTimeout(connect, 1000);
  };
}

function showFrame(blob) {
  const url = URL.createObjectURL(blob);
  const live = $('live');
  live.onload = () => { if (shownUrl && shownUrl !== url) URL.revokeObjectURL(shownUrl); shownUrl = url; };
  live.src = url;
  frames += 1;
  live.dataset.frames = String(frames);
  $('live-note').hidden = true;
}

function renderState(next) {
  const classesChanged = JSON.stringify(next.classes) !== JSON.stringify(state.classes);
  state = next;
  renderBin(next.bin);
  renderClasses(next.top_k);
  renderHealth(next.health);
  if (classesChanged) { renderClassButtons(); }
}

function renderBin(bin) {
  const box = $('bin');
  if (!bin) { box.dataset.bin = ''; setText('bin-label', '–'); setText('bin-score', 'no decision yet'); return; }
  box.dataset.bin = bin.name;
  box.style.background = bin.colour;
  box.classList.toggle('dark-text', darkText(bin.colour));
  setText('bin-label', bin.label);
  setText('bin-score', `${percent(bin.score)} · ${bin.age_s.toFixed(0)} s ago`);
}

function renderClasses(topK) {
  const box = $('classes');
  box.replaceChildren(...topK.map((entry) => {
    const row = document.createElement('div');
    row.className = 'bar-row';
    row.dataset.class = entry.class;
    const name = document.createElement('span');
    name.textContent = entry.class;
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('span');
    fill.style.width = percent(Math.max(0, Math.min(1, entry.score)));
    fill.style.background = binColour(entry.class);
    bar.append(fill);
    const score = document.createElement('span');
    score.className = 'bar-score';
    score.textContent = percent(entry.score);
    row.append(name, bar, score);
    return row;
  }));
}

function renderHealth(health) {
  const box = $('health');
  box.dataset.status = health.status;
  setText('health-message', health.message);
  setText('h-fps', number(health.fps, 1));
  setText('h-latency', health.latency_p50_ms == null ? '–'
    : `${number(health.latency_p50_ms, 1)} / ${number(health.latency_p95_ms, 1)} ms`);
  setText('h-skipped', number(health.skipped, 0));
  setText('h-rejected', number(health.rejected, 0));
  setText('h-failed', number(health.failed, 0));
  const stall = $('stall');
  const warn = health.status === 'stalled' || health.status === 'silent';
  stall.hidden = !warn;
  stall.dataset.kind = health.status;
  stall.textContent = health.status === 'stalled' ? `⚠ Camera stalled: ${health.message}`
    : health.status === 'silent' ? `⚠ ${health.message}` : '';
}

// Review inbox -----------------------------------------------------------------------------
function renderClassButtons() {
  const classes = (review && review.classes) || state.classes || [];
  $('class-buttons').replaceChildren(...classes.map((name, index) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.class = name;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = binColour(name);
    const key = document.createElement('kbd');
    key.textContent = String(index + 1);
    button.append(swatch, `${name} `, key);
    button.addEventListener('click', () => label(name));
    return button;
  }));
  markSuggested();
}

function markSuggested() {
  const current = review && review.current;
  for (const button of $('class-buttons').children) {
    button.classList.toggle('suggested', Boolean(current) && button.dataset.class === current.predicted);
  }
}

function renderReview(next) {
  const classesChanged = !review || JSON.stringify(next.classes) !== JSON.stringify(review.classes);
  review = next;
  const problem = next.problem || '';
  $('review-problem').hidden = !problem;
  setText('review-problem', problem);
  const progress = next.progress;
  setText('progress', progress ? `${progress.pending} waiting · ${progress.labelled} labelled · `
    + `${progress.discarded} discarded · ${progress.skipped} skipped` : '');
  const current = next.current;
  $('review-card').hidden = !current;
  $('review-empty').hidden = Boolean(current) || Boolean(problem);
  if (current) {
    const capture = $('capture');
    capture.dataset.id = current.id;
    if (capture.getAttribute('src') !== current.image) capture.src = current.image;
    setText('capture-info', `The model said ${current.predicted} (${percent(current.score)}); `
      + `captured because: ${current.reason || 'unknown'}`);
  }
  if (classesChanged) renderClassButtons(); else markSuggested();
}

function say(text, isError) {
  const box = $('review-message');
  box.textContent = text;
  box.classList.toggle('error', Boolean(isError));
}

async function loadReview() {
  if (busy) return;
  try {
    const response = await fetch('/api/review', { cache: 'no-store' });
    const body = await response.json();
    if (!busy) renderReview(body);
  } catch (error) { say(`review unavailable: ${error}`, true); }
}

async function post(move, payload) {
  if (busy) return;
  busy = true;
  document.querySelectorAll('#review button').forEach((b) => { b.disabled = true; });
  try {
    const headers = { 'Content-Type': 'application/json' };
    const token = sessionStorage.getItem(tokenKey);
    if (token) headers['X-Station-Token'] = token;
    const response = await fetch(`/api/review/${move}`, {
      method: 'POST', headers, body: JSON.stringify(payload || {}),
    });
    const body = await response.json();
    if (response.ok) { renderReview(body); say(body.done, false); }
    else { say(`${move} refused (${response.status}): ${body.error}`, true); }
  } catch (error) {
    say(`${move} failed: ${error}`, true);
  } finally {
    busy = false;
    document.querySelectorAll('#review button').forEach((b) => { b.disabled = false; });
    if (!review || !review.current) loadReview();
  }
}

function currentId() { return review && review.current ? review.current.id : null; }
function label(name) { const id = currentId(); if (id) post('label', { id, label: name }); }
function act(move) { const id = currentId(); if (id) post(move, { id }); }

$('skip').addEventListener('click', () => act('skip'));
$('discard').addEventListener('click', () => act('discard'));
$('undo').addEventListener('click', () => post('undo'));
$('undo-empty').addEventListener('click', () => post('undo'));
document.addEventListener('keydown', (event) => {
  if (event.altKey || event.metaKey || (event.ctrlKey && event.key !== 'z')) return;
  const classes = (review && review.classes) || [];
  const index = Number.parseInt(event.key, 10);
  if (index >= 1 && index <= classes.length) label(classes[index - 1]);
  else if (event.key === 'Enter' && review && review.current) label(review.current.predicted);
  else if (event.key === 's' || event.key === ' ') act('skip');
  else if (event.key === 'd' || event.key === 'Delete') act('discard');
  else if (event.key === 'u' || (event.ctrlKey && event.key === 'z')) post('undo');
  else return;
  event.preventDefault();
});

connect();
loadReview();
// New captures arrive while the page is open; a hidden tab does not ask.
setInterval(() => { if (document.visibilityState === 'visible') loadReview(); }, 5000);
