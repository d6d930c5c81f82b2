// The recording's timeline read once into what the player needs: marks with the span they
// are visible, freeze segments, markers for the bar, landmark samples, and the event list.
// Times are media times (seconds since the recording started), as in the manifest.

const ANALYSIS_KINDS = ["rep", "cue", "notice"];

/** Read a manifest into {duration, marks, freezes, markers, samples, entries}. */
export function buildTimeline(manifest) {
  const events = [...manifest.timeline].sort((a, b) => a.media_s - b.media_s || a.seq - b.seq);
  const duration = recordingDuration(manifest, events);
  const model = { duration, marks: [], freezes: [], markers: [], samples: [], entries: [] };
  const open = new Map();
  const frozen = new Map();
  for (const event of events) {
    if (event.kind === "annotation") applyAnnotation(model, open, frozen, event);
    else if (event.kind === "analysis") model.markers.push(...analysisMarkers(event));
    else if (event.kind === "landmarks") model.samples.push(sample(event));
    else if (["chat", "join", "leave"].includes(event.kind)) model.entries.push(entry(event));
  }
  for (const mark of open.values()) mark.to = Infinity;
  for (const [producerId, from] of frozen) model.freezes.push({ producerId, from, to: duration });
  return model;
}

/** Length of the recording in media seconds: its wall span, else the end of its media. */
export function recordingDuration(manifest, events = manifest.timeline) {
  if (manifest.ended_at) return (Date.parse(manifest.ended_at) - Date.parse(manifest.started_at)) / 1000;
  const ends = manifest.tracks.map((t) => (t.start_media_s ?? 0) + t.duration_s);
  return Math.max(0, ...ends, ...events.map((e) => e.media_s));
}

function applyAnnotation(model, open, frozen, event) {
  const { type, data = {}, producer_id: producerId } = event.data;
  const at = event.media_s;
  if (type === "mark_added" && data.mark) {
    const mark = { id: data.mark.mark_id, shape: data.mark.shape, from: at, to: Infinity };
    open.set(mark.id, mark);
    model.marks.push(mark);
    model.markers.push({ kind: "annotation", at, id: mark.id });
  } else if (type === "mark_removed") {
    close(open, [data.mark_id], at);
  } else if (type === "marks_cleared") {
    close(open, data.mark_ids || [], at);
  } else if (type === "frozen") {
    frozen.set(producerId, at);
  } else if (type === "unfrozen" && frozen.has(producerId)) {
    model.freezes.push({ producerId, from: frozen.get(producerId), to: at });
    frozen.delete(producerId);
  }
}

function close(open, ids, at) {
  for (const id of ids) {
    const mark = open.get(id);
    if (mark) mark.to = at;
    open.delete(id);
  }
}

function analysisMarkers(event) {
  // A notice of nobody in the picture is the one notice worth a marker of its own.
  const data = event.data;
  const found = ANALYSIS_KINDS.filter((kind) => data[kind] != null);
  return found.map((kind) => {
    const notice = kind === "notice" ? String(data.notice?.code ?? data.notice) : null;
    return { kind: notice === "no_person" ? "no_person" : kind, at: event.media_s, producerId: data.producer_id, data: data[kind] };
  });
}

function sample(event) {
  return { at: event.media_s, producerId: event.data.producer_id, landmarks: event.data.landmarks };
}

function entry(event) {
  return { kind: event.kind, at: event.media_s, actor: event.actor, text: event.data.text ?? null };
}

/** The marks visible at media time t on the video of producerId. */
export function marksAt(model, t, producerId) {
  return model.marks.filter((m) => m.from <= t && t < m.to && (!m.shape?.producer_id || m.shape.producer_id === producerId));
}

/** The newest landmark sample of producerId at most maxAge seconds before t, or null. */
export function landmarksAt(model, t, producerId, maxAge = 0.6) {
  let best = null;
  for (const s of model.samples) {
    if (s.producerId !== producerId || s.at > t) continue;
    if (t - s.at <= maxAge && (!best || s.at > best.at)) best = s;
  }
  return best?.landmarks ?? null;
}

/** Whether the video of producerId is frozen at media time t. */
export function frozenAt(model, t, producerId) {
  return model.freezes.some((f) => f.producerId === producerId && f.from <= t && t < f.to);
}
