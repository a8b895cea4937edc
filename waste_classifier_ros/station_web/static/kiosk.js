// Copyright 2026 The waste_classifier_ros Authors. SPDX-License-Identifier: Apache-2.0
// The kiosk: the bin alone, the whole screen in its colour, for a display above the bin.
'use strict';

function fullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen().catch(() => {});
}
$('fullscreen').addEventListener('click', fullscreen);
document.addEventListener('keydown', (event) => {
  if (event.key.toLowerCase() === 'f' && !event.ctrlKey && !event.altKey && !event.metaKey) fullscreen();
});
station({ frames: false, onState: (state) => renderBin(state.bin, state.threshold), onLiveness: renderLiveness });
