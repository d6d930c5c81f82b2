// A ticket's recordings: when, how long, how big, in what state; files open through
// short-lived signed links the server issues per viewer (and audits).
import { get, post } from "../api.js";
import { h, replace } from "../dom.js";
import { bindText } from "../i18n.js";
import { timeElement } from "../format.js";

const LINK_TTL_S = 300;

/** The recordings section of a ticket page; empty (and hidden) when there are none. */
export function recordingsSection(ticketId) {
  const list = h("ul", { cls: "recording-list" });
  const section = h(
    "section",
    { cls: "panel", hidden: true, "aria-labelledby": "recordings-title", "data-testid": "recordings" },
    h("h2", { id: "recordings-title", i18n: "recordings.title" }),
    list,
  );
  get(`/api/tickets/${encodeURIComponent(ticketId)}/recordings`)
    .then((recordings) => {
      replace(list, recordings.map((recording) => recordingItem(ticketId, recording)));
      section.hidden = recordings.length === 0;
    })
    .catch(() => {});
  return section;
}

function recordingItem(ticketId, recording) {
  const files = h("ul", { cls: "recording-files" });
  const error = h("p", { cls: "form-error", role: "alert", hidden: true });
  const minutes = recording.ended_at ? (Date.parse(recording.ended_at) - Date.parse(recording.started_at)) / 60000 : null;
  const show = h("button", {
    type: "button",
    i18n: "recordings.files",
    on: { click: () => showFiles(recording, files, error, show) },
  });
  return h(
    "li",
    { dataset: { recordingId: recording.id } },
    timeElement(recording.started_at),
    h("span", { cls: "tag", i18n: `recording_state.${recording.state}` }),
    minutes === null ? null : h("span", { i18n: "recordings.minutes", args: { min: minutes.toFixed(1) } }),
    h("span", { i18n: "recordings.size", args: { mb: (recording.size_bytes / 1e6).toFixed(1) } }),
    recording.state === "complete" ? show : null,
    ["complete", "failed", "interrupted"].includes(recording.state) ? playLink(ticketId, recording.id) : null,
    files,
    error,
  );
}

function playLink(ticketId, recordingId) {
  const href = `#/tickets/${encodeURIComponent(ticketId)}/recordings/${encodeURIComponent(recordingId)}`;
  return h("a", { href, cls: "button", i18n: "recordings.play" });
}

async function showFiles(recording, list, error, button) {
  try {
    const manifest = await get(`/api/recordings/${encodeURIComponent(recording.id)}`);
    replace(list, manifest.tracks.map((track) => fileItem(recording.id, track, error)));
    button.hidden = true;
  } catch (failure) {
    bindText(error, failure.status === 403 ? "recordings.forbidden" : "error.load");
    error.hidden = false;
  }
}

function fileItem(recordingId, track, error) {
  const open = async () => {
    try {
      const link = await post(`/api/recordings/${encodeURIComponent(recordingId)}/links`, { file: track.file, ttl_s: LINK_TTL_S });
      window.open(link.url, "_blank", "noopener");
    } catch (failure) {
      bindText(error, failure.status === 403 ? "recordings.forbidden" : "error.load");
      error.hidden = false;
    }
  };
  return h(
    "li",
    {},
    h("span", { i18n: `recordings.kind_${track.kind === "audio" ? "audio" : "video"}` }),
    h("code", { text: track.file }),
    h("button", { type: "button", i18n: "recordings.open", on: { click: open } }),
  );
}
