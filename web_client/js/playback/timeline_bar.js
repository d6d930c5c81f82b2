// The bar under the video: freeze segments, a marker per mark drawn and per analysis event
// (completed rep, cue, nobody in the picture), and the playhead; a click seeks.
import { h } from "../dom.js";

/** Format media seconds as m:ss. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The timeline bar of model; seek(t) is called with a media time. */
export function timelineBar(model, seek) {
  const span = Math.max(model.duration, 0.001);
  const left = (t) => `${Math.min(100, Math.max(0, (100 * t) / span))}%`;
  const playhead = h("div", { cls: "playback-playhead" });
  const freezes = model.freezes.map((f) =>
    h("div", { cls: "playback-freeze", style: `left:${left(f.from)};width:calc(${left(f.to)} - ${left(f.from)})` }),
  );
  const markers = model.markers.map((m) => markerButton(m, left(m.at), seek));
  const bar = h("div", { cls: "playback-bar", "data-testid": "playback-bar" }, freezes, markers, playhead);
  bar.addEventListener("click", (event) => {
    if (event.target !== bar) return;
    const box = bar.getBoundingClientRect();
    seek((span * (event.clientX - box.left)) / box.width);
  });
  return { el: bar, update: (t) => (playhead.style.left = left(t)) };
}

function markerButton(marker, left, seek) {
  return h(
    "button",
    {
      type: "button",
      cls: `playback-marker marker-${marker.kind}`,
      style: `left:${left}`,
      dataset: { kind: marker.kind, at: marker.at.toFixed(2) },
      on: { click: () => seek(marker.at) },
    },
    h("span", { cls: "visually-hidden", i18n: `playback.marker_${marker.kind}`, args: { time: clock(marker.at) } }),
  );
}
