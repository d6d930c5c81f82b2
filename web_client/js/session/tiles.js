// Video tiles: one per participant with a stream, a skeleton overlay and a label.
// Video elements stay muted and sound plays through a separate audio element, so a blocked
// autoplay of sound never stops the picture.
import { h, setContent } from "../dom.js";
import { bindAttrs, bindText, has } from "../i18n.js";
import { SkeletonOverlay } from "./overlay.js";

/** One participant's tile. */
export class Tile {
  constructor(participantId, { local = false } = {}) {
    this.participantId = participantId;
    this.local = local;
    this.video = h("video", { autoplay: true, playsInline: true, muted: true });
    this.video.muted = true;
    // Autoplay is lost when the element leaves the document while loading; start it again
    // whenever a picture is ready but nothing plays.
    this.video.addEventListener("canplay", () => this.resume());
    this.audio = local ? null : h("audio", { autoplay: true });
    this.canvas = h("canvas", { cls: "overlay", "aria-hidden": "true" });
    this.overlay = new SkeletonOverlay(this.canvas, this.video);
    this.placeholder = h("div", { cls: "tile-placeholder", i18n: "tile.no_video" });
    this.name = h("span", { cls: "tile-name" });
    this.badges = h("span", { cls: "tile-badges" });
    this.status = h("span", { cls: "tile-status", hidden: true, "data-testid": "tile-status" });
    this.hudReps = h("span", { cls: "hud-reps", text: "0" });
    this.hudCue = h("p", { cls: "hud-cue", hidden: true });
    this.hud = h(
      "div",
      { cls: "tile-hud", hidden: true, "aria-hidden": "true" },
      h("p", { cls: "hud-count" }, h("span", { cls: "hud-label", i18n: "exercise.reps" }), this.hudReps),
      this.hudCue,
    );
    this.el = h(
      "figure",
      { cls: `tile${local ? " local" : ""}`, dataset: { participantId } },
      h("div", { cls: `tile-media${local ? " mirrored" : ""}` }, this.video, this.canvas),
      this.placeholder,
      this.hud,
      this.audio,
      h("figcaption", { cls: "tile-label" }, this.name, this.badges, this.status),
    );
  }

  /** Play again after the tile was moved in the document (which pauses media elements). */
  resume() {
    if (this.video.srcObject && this.video.paused) this.video.play().catch(() => {});
    if (this.audio?.srcObject && this.audio.paused) this.audio.play().catch((error) => this.playRefused(error));
  }

  playRefused(error) {
    // Only the autoplay policy is worth a button; a play() cut short by a newer stream is not.
    if (error?.name === "NotAllowedError") this.el.dispatchEvent(new CustomEvent("autoplay-blocked", { bubbles: true }));
  }

  /** Show a stream (or nothing). */
  setStream(stream) {
    const hasVideo = Boolean(stream?.getVideoTracks().length);
    if (this.video.srcObject !== stream) this.video.srcObject = stream || null;
    if (this.audio && this.audio.srcObject !== stream) {
      this.audio.srcObject = stream || null;
      this.audio.play().catch((error) => this.playRefused(error));
    }
    this.placeholder.hidden = hasVideo;
  }

  /** Show who this is and their hand and mute flags. */
  setParticipant(participant, isSelf) {
    this.el.dataset.role = participant.role;
    if (isSelf) bindText(this.name, "tile.you", { name: participant.name });
    else setContent(this.name, participant.name);
    this.badges.replaceChildren(
      ...[
        participant.hand_raised && badge("hand", "participant.hand_raised"),
        participant.audio_muted && badge("mic-off", "participant.audio_muted"),
        participant.video_muted && badge("cam-off", "participant.video_muted"),
        participant.state === "disconnected" && badge("offline", "participant.disconnected"),
      ].filter(Boolean),
    );
  }

  /** Show a trainee's rep count and form status (group sessions). */
  setExerciseStatus(update) {
    const issues = update.issues || [];
    const form = update.notice ? `notice.${update.notice}` : issues.length ? issueKey(issues[0]) : "form.good";
    this.status.replaceChildren(
      h("span", { cls: "tile-reps", i18n: "tile.reps", args: { reps: update.reps } }),
      h("span", { cls: `tile-form${issues.length || update.notice ? " bad" : ""}`, i18n: form }),
    );
    this.status.hidden = false;
  }

  /** Show the rep count and latest cue over the picture (the patient's own tile on a phone). */
  setHud(update) {
    setContent(this.hudReps, update.reps);
    if (update.cue) {
      setContent(this.hudCue, update.cue.text);
      this.hudCue.lang = update.cue.language;
      this.hudCue.hidden = false;
    }
    this.hud.hidden = false;
  }

  /** Draw the newest skeleton. */
  showSkeleton(update) {
    this.overlay.update(update.landmarks, update.issues || []);
  }

  /** Release the tile (idempotent). */
  close() {
    this.overlay.close();
    this.video.srcObject = null;
    if (this.audio) this.audio.srcObject = null;
    this.el.remove();
  }
}

function issueKey(code) {
  return has(`issue.${code}`) ? `issue.${code}` : "form.check";
}

function badge(kind, key) {
  const el = h("span", { cls: `badge badge-${kind}`, role: "img" });
  bindAttrs(el, { "aria-label": key, title: key });
  return el;
}
