// Copyright 2026 The waste_classifier_ros Authors. SPDX-License-Identifier: Apache-2.0
// The review's batch view: a grid of the captures the model calls one class (the server's
// `batch`), confirmed all at once (POST /api/review/batch), the wrong ones corrected first.
// app.js owns the review state, the moves (post) and the keys; this file the grid.
'use strict';

const viewKey = 'review-view';
let gridShown = []; // the captures on the grid now: what Confirm all sends, with tile labels
let gridLabels = {}; // capture id -> the class its tile shows (the suggestion, or corrected)
let gridPicked = null; // the tile a tap picked: a class button then corrects it
let gridConfirmed = {}; // the last batch sent: capture id -> class (an undo brings it back so)

function gridOn() { return localStorage.getItem(viewKey) === 'grid'; }

function toggleView() {
  localStorage.setItem(viewKey, gridOn() ? 'single' : 'grid');
  showView();
  if (gridOn()) focusTile(0);
}

// Shows the card of the view in use; the class buttons go with it.
function showView() {
  const grid = gridOn();
  const switcher = $('view-switch');
  switcher.setAttribute('aria-pressed', String(grid));
  switcher.firstChild.textContent = grid ? 'One at a time ' : 'Grid ';
  const current = review && review.current;
  const batch = review && review.batch;
  $('review-card').hidden = grid || !current;
  $('grid-card').hidden = !grid || !batch;
  const card = grid ? $('grid-card') : $('review-card');
  card.insertBefore($('class-buttons'), grid ? $('grid-actions') : $('single-actions'));
  markSuggested();
}

function tiles() { return Array.from($('grid').children); }

// The grid of `batch`. A move (fresh) shows the server's next grid; a poll keeps the one shown
// while every capture on it is still waiting, so nothing moves under the operator's keys.
function renderGrid(batch, fresh) {
  const next = batch ? batch.captures : [];
  const ids = new Set(next.map((capture) => capture.id));
  if (!fresh && gridShown.length && gridShown.every((capture) => ids.has(capture.id))) {
    showView();
    return;
  }
  const focused = tiles().indexOf(document.activeElement);
  const refocus = fresh || focused >= 0;
  // After a batch the grid is new: back to its first photo; after a discard, where it was.
  const index = gridShown.some((capture) => ids.has(capture.id)) ? focused : 0;
  gridShown = next;
  const labels = {};
  for (const capture of next) {
    labels[capture.id] = gridLabels[capture.id] || gridConfirmed[capture.id] || capture.suggested;
  }
  gridLabels = labels;
  gridPicked = null;
  $('grid').replaceChildren(...next.map(tile));
  if (batch) {
    setText('grid-info', `${next.length} of the ${batch.waiting} the model calls ${batch.suggested}`);
  }
  showView();
  if (gridOn() && refocus) focusTile(index);
}

function tile(capture, index) {
  const box = document.createElement('div');
  box.className = 'tile';
  box.tabIndex = 0;
  box.setAttribute('role', 'option');
  box.dataset.id = capture.id;
  box.dataset.testid = 'tile';
  const image = document.createElement('img');
  image.src = capture.image;
  image.alt = `capture ${index + 1}: the model said ${capture.predicted} (${percent(capture.score)})`;
  const caption = document.createElement('span');
  caption.className = 'tile-label';
  box.append(image, caption);
  box.addEventListener('focus', () => { gridPicked = box; });
  box.addEventListener('click', () => box.focus());
  showTileLabel(box);
  return box;
}

function showTileLabel(box) {
  const name = gridLabels[box.dataset.id];
  const capture = gridShown.find((each) => each.id === box.dataset.id);
  const corrected = capture && name !== capture.suggested;
  box.dataset.label = name;
  box.classList.toggle('corrected', Boolean(corrected));
  box.setAttribute('aria-label', `${name}${corrected ? ' (corrected)' : ''}`);
  box.lastChild.replaceChildren(swatch(binColour(name)), corrected ? `→ ${name}` : name);
}

function focusTile(index) {
  const all = tiles();
  if (all.length) all[Math.max(0, Math.min(index, all.length - 1))].focus();
}

// Corrects the picked tile (focused, or the last tapped) to `name`.
function relabelTile(name) {
  const box = document.activeElement && document.activeElement.classList.contains('tile')
    ? document.activeElement : gridPicked;
  if (!box || !box.isConnected) { say('pick a photo first (arrows, Tab or a tap)', true); return; }
  gridLabels[box.dataset.id] = name;
  showTileLabel(box);
  box.focus();
}

function confirmGrid() {
  if (!gridShown.length) return;
  gridConfirmed = { ...gridLabels };
  post('batch', { labels: gridShown.map((capture) => ({ id: capture.id, label: gridLabels[capture.id] })) });
}

// Moves the focus over the tiles: left and right one, up and down a row (where there is one).
function moveFocus(key) {
  const all = tiles();
  const at = all.indexOf(document.activeElement);
  if (at < 0) { focusTile(0); return; }
  const columns = all.filter((box) => box.offsetTop === all[0].offsetTop).length || 1;
  const to = at + { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns }[key];
  if (to >= 0 && to < all.length) all[to].focus(); // no photo there: the focus stays
}

// The grid's keys; returns whether `key` was one (app.js handles U, C and G in both views).
function gridKey(key) {
  const classes = (review && review.classes) || [];
  const index = Number.parseInt(key, 10);
  const onTile = document.activeElement && document.activeElement.classList.contains('tile');
  if (index >= 1 && index <= classes.length) relabelTile(classes[index - 1]);
  else if (key === 'Enter' || key === 'a') confirmGrid();
  else if (key.startsWith('Arrow') && (onTile || document.activeElement === document.body)) moveFocus(key);
  else if ((key === 'd' || key === 'Delete') && onTile) post('discard', { id: document.activeElement.dataset.id });
  else return false;
  return true;
}

$('view-switch').addEventListener('click', toggleView);
$('grid-confirm').addEventListener('click', confirmGrid);
$('grid-undo').addEventListener('click', () => post('undo'));
