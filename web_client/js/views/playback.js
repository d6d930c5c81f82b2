// A recording played back with its session: video and sound through signed links, the marks
// and skeleton over the picture at their media times, a bar of events and the chat.
import { get } from "../api.js";
import { h, replace } from "../dom.js";
import { bindText } from "../i18n.js";
import { RecordingPlayer } from "../playback/player.js";
import { clock, timelineBar } from "../playback/timeline_bar.js";
import { buildTimeline } from "../playback/timeline_model.js";

const FINAL_STATES = ["complete", "failed", "interrupted"];

/** Render the playback page of params.rec on ticket params.id. */
export function playbackView(main, context, params) {
  const status = h("p", { cls: "muted", role: "status", "data-testid": "playback-status", i18n: "common.loading" });
  const body = h("div", { cls: "playback-body" });
  const back = h("a", { href: `#/tickets/${encodeURIComponent(params.id)}`, i18n: "playback.back" });
  replace(main, h("section", { cls: "playback" }, h("h1", { i18n: "playback.title" }), back, status, body));
  const state = { player: null, closed: false };
  load(params.rec, status, body, state).catch((error) => {
    status.dataset.state = "error";
    bindText(status, problemKey(error));
  });
  return {
    destroy() {
      state.closed = true;
      state.player?.close();
    },
  };
}

/** The catalog key that explains a failed manifest or link request. */
function problemKey(error) {
  if (error.status === 404) return "playback.not_found";
  if (error.status === 403) return "playback.forbidden";
  if (error.status === 409) return "playback.in_progress";
  return "error.load";
}

async function load(recordingId, status, body, state) {
  const manifest = await get(`/api/recordings/${encodeURIComponent(recordingId)}`);
  if (state.closed) return;
  if (!FINAL_STATES.includes(manifest.state)) {
    status.dataset.state = "in_progress";
    bindText(status, "playback.in_progress");
    return;
  }
  const model = buildTimeline(manifest);
  const video = manifest.tracks.find((t) => t.kind === "video" && t.start_media_s != null);
  if (!video) {
    status.dataset.state = "no_video";
    bindText(status, "playback.no_video");
    replace(body, entryList(model, () => {}));
    return;
  }
  const audio = manifest.tracks.filter((t) => t.kind === "audio" && t.start_media_s != null);
  const player = new RecordingPlayer(recordingId, model, video, audio);
  state.player = player;
  const bar = timelineBar(model, (t) => player.seek(t));
  player.onTick((t) => bar.update(t));
  replace(body, player.el, bar.el, controls(player, model), entryList(model, (t) => player.seek(t)));
  await player.start();
  status.hidden = true;
  status.dataset.state = "ready";
}

function controls(player, model) {
  if (model.samples.length === 0) return null;
  const toggle = h("button", { type: "button", i18n: "playback.skeleton", "aria-pressed": "true", "data-testid": "skeleton-toggle" });
  toggle.addEventListener("click", () => {
    player.skeleton = !player.skeleton;
    toggle.setAttribute("aria-pressed", String(player.skeleton));
  });
  return h("div", { cls: "playback-controls" }, toggle);
}

function entryList(model, seek) {
  const items = model.entries.map((e) =>
    h(
      "li",
      { dataset: { kind: e.kind } },
      h(
        "button",
        { type: "button", cls: "link playback-entry", dataset: { at: e.at.toFixed(2) }, on: { click: () => seek(e.at) } },
        h("span", { cls: "playback-time", text: clock(e.at) }),
        h("span", { cls: "tag", i18n: `playback.entry_${e.kind}` }),
        e.actor ? h("span", { cls: "playback-actor", text: e.actor }) : null,
        e.text ? h("span", { cls: "playback-text", text: e.text }) : null,
      ),
    ),
  );
  return h(
    "section",
    { cls: "panel", "aria-labelledby": "playback-events-title" },
    h("h2", { id: "playback-events-title", i18n: "playback.events" }),
    items.length ? h("ol", { cls: "playback-entries", "data-testid": "playback-entries" }, items) : h("p", { cls: "muted", i18n: "playback.no_events" }),
  );
}
