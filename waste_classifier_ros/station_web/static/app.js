// Copyright 2026 The waste_classifier_ros Authors. SPDX-License-Identifier: Apache-2.0
// The station page: the WebSocket (common.js) for state and live frames, fetch() for the rest.
'use strict';

const tokenKey = 'station-token';
let state = { classes: [], bins: {}, class_bins: {} };
let review = null;
let busy = false;
let canLabel = true;
let frames = 0;
let shownUrl = null;
let historyVersion = -1;
let modelKey = '';
let answer = null; // while the in-page confirm waits: the function that closes it with an answer

(function takeToken() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token) {
    sessionStorage.setItem(tokenKey, token);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
})();

function number(value, digits) { return value === null || value === undefined ? '–' : value.toFixed(digits); }
function binColour(className) {
  const bin = state.bins[state.class_bins[className]];
  return bin ? bin.colour : '#888888';
}
function headers(json) {
  const out = json ? { 'Content-Type': 'application/json' } : {};
  const token = sessionStorage.getItem(tokenKey);
  if (token) out['X-Station-Token'] = token;
  return out;
}
function say(text, isError) {
  const box = $('review-message');
  box.textContent = text;
  box.classList.remove('idle');
  box.classList.toggle('error', Boolean(isError));
}

// Asks under `button` before a write the page cannot undo (a page dialog, not window.confirm);
// resolves true on the Yes button, false on Cancel, Escape or another question.
function ask(button, question, yes) {
  if (answer) answer(false);
  const box = $('confirm');
  button.after(box);
  setText('confirm-question', question);
  setText('confirm-yes', yes);
  box.hidden = false;
  $('confirm-no').focus(); // the safe choice takes Enter
  return new Promise((resolve) => {
    answer = (yesNo) => { answer = null; box.hidden = true; button.focus(); resolve(yesNo); };
  });
}

// Live view, bin, classes, health ----------------------------------------------------------
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
  // The bin and the bars come from one frame: next.frame and next.bin, shown together.
  renderBin(next.bin, next.threshold);
  renderClasses(next.frame ? next.frame.top_k : []);
  renderHealth(next.health);
  renderCapture(next.capture);
  renderZone(next.zone);
  renderCounts(next.counts);
  if (classesChanged) renderClassButtons();
  if (next.history_version !== historyVersion) { historyVersion = next.history_version; loadHistory(); }
  const key = (next.health && next.health.model_sha256) || '';
  if (key !== modelKey) { modelKey = key; loadModel(); }
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
  $('health-message').title = health.message;
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

function renderConnection(now) {
  renderLiveness(now);
  const connection = $('connection');
  const connected = now.why.indexOf('no connection') < 0;
  connection.dataset.state = connected ? 'live' : 'lost';
  connection.textContent = connected ? 'connected' : 'connection lost, retrying…';
}

// Shift: counts, capture, model, history -----------------------------------------------------
function renderCounts(counts) {
  if (!counts) return;
  setText('counts-since', `since ${clock(counts.since)} · ${counts.total} in all`);
  $('counts-list').replaceChildren(...counts.bins.map((bin) => {
    const item = document.createElement('li');
    item.dataset.bin = bin.name;
    const count = document.createElement('strong');
    count.textContent = String(bin.count);
    item.append(swatch(bin.colour), `${bin.label} `, count);
    return item;
  }));
}

function renderCapture(capture) {
  if (!capture) return;
  const on = capture.enabled;
  setText('c-enabled', on === null ? '–' : on ? 'on' : 'off');
  $('capture-status').dataset.enabled = String(on);
  setText('c-inbox', capture.inbox_mb == null ? '–'
    : `${number(capture.inbox_mb, 1)} MB of ${capture.max_mb == null ? '?' : number(capture.max_mb, 0)} MB`);
  setText('c-waiting', review && review.progress ? String(review.progress.pending) : '–');
  setText('c-written', capture.written == null ? '–'
    : `${number(capture.written, 0)} / ${number(capture.dropped, 0)}`);
}

function renderZone(zone) {
  if (!zone) return;
  setText('z-zone', zone.zone || '–');
  setText('z-items', zone.items_seen == null ? '–' : `${number(zone.items_seen, 0)} / ${number(zone.items_decided, 0)}`);
  setText('z-empty', zone.empty_seconds == null ? '–' : `${number(zone.empty_seconds, 0)} s`);
  setText('z-reference', zone.reference === 'learned' ? 'yes' : zone.reference === 'none' ? 'no' : '–');
  setText('z-source', zone.source);
}

// Calls one of the classifier's services through the page (routes.TRIGGERS); says its answer
// in `resultId` and the bottom line. Returns whether it succeeded.
async function callService(path, resultId, what) {
  const result = $(resultId);
  result.textContent = 'asking the classifier…';
  try {
    const response = await fetch(path, { method: 'POST', headers: headers(true), body: '{}' });
    const body = await response.json();
    const text = response.ok ? body.message : `refused (${response.status}): ${body.error}`;
    const ok = response.ok && body.success;
    result.textContent = text;
    result.classList.toggle('error', !ok);
    say(`${what}: ${text}`, !ok);
    return ok;
  } catch (error) { result.textContent = `${what} failed: ${error}`; return false; }
}

async function captureNow() {
  if (await callService('/api/capture', 'capture-result', 'capture')) setTimeout(loadReview, 1000);
}

// The operator's "the zone is empty now": the classifier learns the empty zone from its last frames.
function learnEmpty() { callService('/api/empty/learn', 'empty-result', 'teach the empty zone'); }

async function clearEmpty() {
  if (!await ask($('clear-empty'), 'Forget the empty zone the classifier was taught? Until it is taught again, '
    + "only the model's empty class (if it has one) tells an empty zone.", 'Yes, forget it')) return;
  callService('/api/empty/clear', 'empty-result', 'forget the empty zone');
}

async function resetCounts() {
  const counts = state.counts;
  const what = counts ? `the ${counts.total} items counted since ${clock(counts.since)}` : 'the counts';
  if (!await ask($('counts-reset'), `Reset ${what} to 0, on every screen of this station?`, 'Yes, reset')) {
    say('counts kept', false);
    return;
  }
  const response = await fetch('/api/counts/reset', { method: 'POST', headers: headers(true), body: '{}' });
  const body = await response.json();
  if (response.ok) { renderCounts(body); say('counts reset', false); }
  else say(`reset refused (${response.status}): ${body.error}`, true);
}

async function loadHistory() {
  try {
    const body = await (await fetch('/api/history', { cache: 'no-store' })).json();
    $('history-list').replaceChildren(...body.history.map((entry) => {
      const item = document.createElement('li');
      item.dataset.bin = entry.name;
      const time = document.createElement('time');
      time.textContent = clock(entry.at);
      const what = document.createElement('span');
      const bin = entry.name === 'unknown' || entry.name === 'empty'
        ? `${entry.label} · ${scoreText(entry, state.threshold)}` : `${entry.label} ${percent(entry.score)}`;
      what.textContent = bin + (entry.class ? ` · ${entry.class} ${percent(entry.class_score)}` : '');
      item.append(time, swatch(entry.colour), what);
      if (entry.thumbnail) {
        const thumb = document.createElement('img');
        thumb.src = entry.thumbnail;
        thumb.alt = `captured frame of the ${entry.label} decision`;
        thumb.loading = 'lazy';
        thumb.onerror = () => thumb.remove(); // reviewed meanwhile
        item.append(thumb);
      }
      return item;
    }));
  } catch (error) { /* the next state retries */ }
}

function row(table, cells, header) {
  const tr = document.createElement('tr');
  for (const text of cells) {
    const cell = document.createElement(header ? 'th' : 'td');
    cell.textContent = text;
    tr.append(cell);
  }
  table.append(tr);
}

async function loadModel() {
  let body;
  try { body = await (await fetch('/api/model', { cache: 'no-store' })).json(); } catch (error) { return; }
  const info = $('model-info');
  info.replaceChildren();
  for (const [term, value] of body.live ? [['sha256', body.live.sha256_short], ['trained', body.live.trained],
    ['sources', body.live.sources.join(', ') || '–'], ['parent', body.live.parent || 'none']] : [['model', body.problem || '–']]) {
    const dt = document.createElement('dt'); dt.textContent = term;
    const dd = document.createElement('dd'); dd.textContent = value;
    info.append(dt, dd);
  }
  const previous = body.previous;
  $('previous').hidden = !previous;
  if (previous) {
    setText('previous-info', `${previous.sha256_short}, trained ${previous.trained}, sources `
      + `${previous.sources.join(', ') || '–'}: the model in use replaced it.`);
    $('roll-back').dataset.sha256 = previous.sha256;
    $('roll-back').disabled = false;
  }
  const candidate = body.candidate;
  $('candidate').hidden = !candidate;
  if (!candidate) return;
  const table = $('candidate-table');
  table.replaceChildren();
  row(table, ['top-1 on', 'live', 'retrained'], true);
  for (const line of candidate.comparison) row(table, [line.name, percent(line.live), percent(line.new)]);
  setText('candidate-decision', `${candidate.sha256_short}: ${candidate.wins ? 'wins' : 'does not win'} by the rule (${candidate.decision})`);
  renderTradeOff(candidate.trade_off);
  $('promote').disabled = !candidate.wins;
  $('promote').dataset.sha256 = candidate.sha256;
}

// What the retrain's guard cost the station (promotion.trade_off): each candidate it tried with
// its station val and both guards' verdicts, and which each guard keeps; absent from a result
// an older retrain wrote.
function renderTradeOff(trade) {
  $('trade-off').hidden = !trade;
  if (!trade) return;
  const verdict = (reason, kept) => (reason ? 'refused' : 'within') + (kept ? ' · kept' : '');
  const table = $('trade-off-table');
  table.replaceChildren();
  if (trade.candidates.length) row(table, ['candidate', 'station val', trade.guard, trade.other], true);
  for (const each of trade.candidates) {
    row(table, [each.candidate, each.station_top1 == null ? '–' : percent(each.station_top1),
      verdict(each.guard, each.kept), verdict(each.other_guard, each.other_kept)]);
    table.lastChild.title = [each.guard, ...each.base].filter(Boolean).join('; ');
  }
  $('trade-off-lines').replaceChildren(...trade.lines.map((line) => {
    const item = document.createElement('li');
    item.textContent = line;
    return item;
  }));
}

// Promote and Roll back: asked first, then one POST with the sha256 shown, then the panel again.
async function switchModel(button, move, question, doing) {
  if (!await ask(button, question, `Yes, ${move.replace('-', ' ')}`)) return;
  button.disabled = true;
  say(doing, false);
  try {
    const response = await fetch(`/api/model/${move}`, {
      method: 'POST', headers: headers(true), body: JSON.stringify({ sha256: button.dataset.sha256 }) });
    const body = await response.json();
    say(response.ok ? body.message : `${move.replace('-', ' ')} refused (${response.status}): ${body.error}`, !response.ok);
  } finally { modelKey = ''; loadModel(); }
}

function promote() {
  const short = $('promote').dataset.sha256.slice(0, 12);
  switchModel($('promote'), 'promote', `Install ${short} in place of the model in use and switch the classifier to it? `
    + 'The model in use is kept: Roll back returns to it.',
  'promoting: installing the retrained model and asking the classifier to switch…');
}

function rollBack() {
  const short = $('roll-back').dataset.sha256.slice(0, 12);
  switchModel($('roll-back'), 'roll-back', `Put ${short} back in place of the model in use and switch the classifier to it? `
    + 'The model in use is kept: Roll back again returns to it.',
  'rolling back: installing the model it replaced and asking the classifier to switch…');
}

// Review inbox -----------------------------------------------------------------------------
function renderClassButtons() {
  const classes = (review && review.classes) || state.classes || [];
  $('class-buttons').replaceChildren(...classes.map((name, index) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.class = name;
    const key = document.createElement('kbd');
    key.textContent = String(index + 1);
    button.append(swatch(binColour(name)), `${name} `, key);
    button.addEventListener('click', () => { if (gridOn()) relabelTile(name); else label(name); });
    return button;
  }));
  markSuggested();
}

function markSuggested() {
  const current = review && review.current;
  for (const button of $('class-buttons').children) {
    button.classList.toggle('suggested', Boolean(current) && button.dataset.class === current.suggested);
  }
}

// `fresh`: the answer to a move, so the grid shows the server's next one (grid.js).
function renderReview(next, fresh) {
  const classesChanged = !review || JSON.stringify(next.classes) !== JSON.stringify(review.classes);
  review = next;
  if (next.can_label !== undefined && next.can_label !== canLabel) {
    canLabel = next.can_label;
    $('view-only').hidden = canLabel;
    document.body.dataset.viewOnly = String(!canLabel);
  }
  const problem = next.problem || '';
  $('review-problem').hidden = !problem;
  setText('review-problem', problem);
  const progress = next.progress;
  setText('progress', progress ? `${progress.pending} waiting · ${progress.labelled} labelled · `
    + `${progress.discarded} discarded · ${progress.skipped} skipped` : '');
  setText('c-waiting', progress ? String(progress.pending) : '–');
  const current = next.current;
  $('review-empty').hidden = Boolean(current) || Boolean(problem);
  if (current) {
    const capture = $('capture');
    capture.dataset.id = current.id;
    if (capture.getAttribute('src') !== current.image) capture.src = current.image;
    // A frame the node kept while the zone was empty: `empty` is suggested where it is a class.
    const zone = current.bin !== 'empty' ? ''
      : next.classes.includes('empty') ? 'The zone was empty; ' : 'Zone empty: discard it (the model has no empty class). ';
    setText('capture-info', `${zone}The model said ${current.predicted} (${percent(current.score)}); `
      + `captured because: ${current.reason || 'unknown'}`);
  }
  if (next.next_image) new Image().src = next.next_image; // shown without a wait after this one
  if (classesChanged) renderClassButtons();
  renderGrid(next.batch, Boolean(fresh)); // shows the card of the view in use
}

async function loadReview() {
  if (busy) return;
  try {
    const response = await fetch('/api/review', { cache: 'no-store', headers: headers(false) });
    const body = await response.json();
    if (!busy) renderReview(body);
  } catch (error) { say(`review unavailable: ${error}`, true); }
}

async function post(move, payload) {
  if (busy) return;
  if (!canLabel) { say(`${move}: view only, labelling needs the token (open the page with ?token=…)`, true); return; }
  busy = true;
  let done = false;
  document.querySelectorAll('#review button').forEach((b) => { b.disabled = true; });
  try {
    const response = await fetch(`/api/review/${move}`, {
      method: 'POST', headers: headers(true), body: JSON.stringify(payload || {}),
    });
    const body = await response.json();
    done = response.ok;
    if (done) { renderReview(body, true); say(body.done, false); }
    else { say(`${move} refused (${response.status}): ${body.error}`, true); }
  } catch (error) {
    say(`${move} failed: ${error}`, true);
  } finally {
    busy = false;
    document.querySelectorAll('#review button').forEach((b) => { b.disabled = false; });
    // A refusal: what changed meanwhile is shown again (a changed capture, a batch refused).
    if (!done || !review || !review.current) loadReview();
  }
}

function currentId() { return review && review.current ? review.current.id : null; }
function label(name) { const id = currentId(); if (id) post('label', { id, label: name }); }
function act(move) { const id = currentId(); if (id) post(move, { id }); }

$('skip').addEventListener('click', () => act('skip'));
$('discard').addEventListener('click', () => act('discard'));
$('undo').addEventListener('click', () => post('undo'));
$('undo-empty').addEventListener('click', () => post('undo'));
$('capture-now').addEventListener('click', captureNow);
$('learn-empty').addEventListener('click', learnEmpty);
$('clear-empty').addEventListener('click', clearEmpty);
$('counts-reset').addEventListener('click', resetCounts);
$('promote').addEventListener('click', promote);
$('roll-back').addEventListener('click', rollBack);
$('confirm-yes').addEventListener('click', () => { if (answer) answer(true); });
$('confirm-no').addEventListener('click', () => { if (answer) answer(false); });
// The one-at-a-time view's keys; returns whether `key` was one.
function singleKey(key) {
  const classes = (review && review.classes) || [];
  const index = Number.parseInt(key, 10);
  if (index >= 1 && index <= classes.length) label(classes[index - 1]);
  else if (key === 'Enter' && review && review.current) label(review.current.suggested);
  else if (key === 's' || key === ' ') act('skip');
  else if (key === 'd' || key === 'Delete') act('discard');
  else return false;
  return true;
}

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && answer) { answer(false); return; }
  if (event.altKey || event.metaKey || (event.ctrlKey && event.key !== 'z')) return;
  const target = event.target;
  // Enter and Space on a focused control work that control (keyboard use of every button).
  if ((event.key === 'Enter' || event.key === ' ') && target.closest && target.closest('button, a, input, select, textarea')) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key; // Shift / Caps Lock
  if (key === 'u' || (event.ctrlKey && key === 'z')) post('undo');
  else if (key === 'c') captureNow();
  else if (key === 'g') toggleView();
  else if (!(gridOn() ? gridKey(key) : singleKey(key))) return;
  event.preventDefault();
});

// The bottom line wraps to more lines on a phone: its height (style.css's --bar-height) is the
// room the page keeps below its end and the scroll padding that keeps a focused control above
// it (tabbing once left class buttons under it).
const bottomBar = $('review-message');
new ResizeObserver(() => document.documentElement.style.setProperty(
  '--bar-height', `${bottomBar.offsetHeight}px`)).observe(bottomBar);

station({ frames: true, onState: renderState, onFrame: showFrame, onLiveness: renderConnection });
loadReview();
// New captures arrive while the page is open; a hidden tab does not ask.
setInterval(() => { if (document.visibilityState === 'visible') loadReview(); }, 5000);
