// Copyright 2026 The waste_classifier_ros Authors. SPDX-License-Identifier: Apache-2.0
// The kiosk: the bin alone, the whole screen in its colour, for a display above the bin.
'use strict';

function renderBin(state) {
  const bin = state.bin;
  const box = $('bin');
  if (!bin) return;
  box.dataset.bin = bin.name;
  box.style.setProperty('--bin-colour', bin.colour);
  box.classList.toggle('dark-text', darkText(bin.colour));
  setText('bin-label', bin.label);
  setText('bin-score', `${percent(bin.score)} · since ${clock(bin.at)}`);
}

function renderLiveness(now) {
  document.body.dataset.live = String(now.live);
  $('bin').dataset.stale = String(!now.live);
  $('not-live').hidden = now.live;
  $('not-live').textContent = now.live ? '' : `Not live${now.since ? ` since ${clock(now.since)}` : ''}: ${now.why}`;
}

function fullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen().catch(() => {});
}
$('fullscreen').addEventListener('click', fullscreen);
document.addEventListener('keydown', (event) => {
  if (event.key.toLowerCase() === 'f' && !event.ctrlKey && !event.altKey && !event.metaKey) fullscreen();
});
station({ frames: false, onState: renderBin, onLiveness: renderLiveness });
