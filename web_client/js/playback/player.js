// The player of one recording: the video (muted) with its audio tracks kept in step, the
// overlay canvas redrawn every frame at the current media time, and seeking by media time.
import { h } from "../dom.js";
import { contentRect } from "../session/overlay.js";
import { drawMarks, drawSkeleton } from "./painter.js";
import { SignedSource } from "./signed_source.js";
import { frozenAt, landmarksAt, marksAt } from "./timeline_model.js";

// Audio further than this from where the video says it should be is moved back in step.
const AUDIO_DRIFT_S = 0.3;
// Elements drift apart while playing too, so check them now and then, not only on events.
const AUDIO_CHECK_MS = 1000;

/** Plays a recording's video track with its marks, skeleton and audio. */
export class RecordingPlayer {
  constructor(recordingId, model, videoTrack, audioTracks) {
    this.model = model;
    this.track = videoTrack;
    this.skeleton = true;
    this.listeners = new Set();
    this.audioCheckedAt = 0;
    this.video = h("video", { controls: true, playsInline: true, preload: "auto", cls: "playback-video", "data-testid": "playback-video" });
    this.video.muted = true; // sound comes from the audio elements, so autoplay rules never stop the picture
    this.canvas = h("canvas", { cls: "playback-overlay", "data-testid": "playback-overlay", "aria-hidden": "true" });
    this.frozenTag = h("span", { cls: "tag playback-frozen", i18n: "playback.frozen", hidden: true });
    this.el = h("div", { cls: "playback-stage" }, this.video, this.canvas, this.frozenTag);
    this.audios = audioTracks.map((track) => ({ track, el: h("audio", { preload: "auto" }) }));
    this.sources = [new SignedSource(recordingId, videoTrack.file, this.video)];
    this.sources.push(...this.audios.map((a) => new SignedSource(recordingId, a.track.file, a.el)));
    for (const event of ["play", "pause", "seeked", "ratechange"]) this.video.addEventListener(event, () => this.syncAudio());
    this.frame = requestAnimationFrame(() => this.draw());
  }

  /** Fetch the signed links and load the media (throws ApiError). */
  async start() {
    await Promise.all(this.sources.map((s) => s.start()));
  }

  /** Media time now: seconds since the recording started. */
  get mediaTime() {
    return this.video.currentTime + (this.track.start_media_s ?? 0);
  }

  /** Jump to media time t (before the video's first frame: its start). */
  seek(t) {
    this.video.currentTime = Math.max(0, t - (this.track.start_media_s ?? 0));
  }

  /** Call fn(mediaTime) on every drawn frame. */
  onTick(fn) {
    this.listeners.add(fn);
  }

  draw() {
    const t = this.mediaTime;
    const { clientWidth: w, clientHeight: hgt } = this.video;
    if (this.canvas.width !== w || this.canvas.height !== hgt) Object.assign(this.canvas, { width: w, height: hgt });
    const ctx = this.canvas.getContext("2d");
    ctx.clearRect(0, 0, w, hgt);
    const rect = contentRect(this.video, w, hgt);
    const marks = marksAt(this.model, t, this.track.producer_id);
    drawMarks(ctx, rect, marks);
    const landmarks = this.skeleton ? landmarksAt(this.model, t, this.track.producer_id) : null;
    if (landmarks) drawSkeleton(ctx, rect, landmarks);
    this.canvas.dataset.marks = String(marks.length);
    this.frozenTag.hidden = !frozenAt(this.model, t, this.track.producer_id);
    for (const fn of this.listeners) fn(t);
    if (this.audios.length && !this.video.paused && performance.now() - this.audioCheckedAt > AUDIO_CHECK_MS) this.syncAudio();
    this.frame = requestAnimationFrame(() => this.draw());
  }

  syncAudio() {
    this.audioCheckedAt = performance.now();
    const t = this.mediaTime;
    for (const { track, el } of this.audios) {
      const local = t - (track.start_media_s ?? 0);
      const inside = local >= 0 && local <= track.duration_s;
      if (inside && Math.abs(el.currentTime - local) > AUDIO_DRIFT_S) el.currentTime = local;
      el.playbackRate = this.video.playbackRate;
      if (inside && !this.video.paused) el.play().catch(() => {});
      else el.pause();
    }
  }

  /** Stop drawing, playing and renewing links (idempotent). */
  close() {
    cancelAnimationFrame(this.frame);
    for (const source of this.sources) source.close();
    for (const media of [this.video, ...this.audios.map((a) => a.el)]) media.pause();
    this.listeners.clear();
  }
}
