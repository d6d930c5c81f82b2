// Session controls: microphone, camera, hand, leave; lock and end for moderators.
import { h, replace } from "../dom.js";
import { bindText, t } from "../i18n.js";
import { State } from "./live_session.js";

/** The control bar of a live session. */
export class Toolbar {
  constructor(live, { onLeave }) {
    this.live = live;
    this.mic = this.toggle("mic", () => live.toggle("audio"));
    this.camera = this.toggle("camera", () => live.toggle("video"));
    this.hand = this.toggle("hand", () => live.raiseHand(!live.handRaised).then(() => this.render()));
    this.lock = h("button", { type: "button", cls: "control", "data-control": "lock", on: { click: () => this.toggleLock() } });
    this.endButton = h("button", { type: "button", cls: "control danger", "data-control": "end", i18n: "control.end", on: { click: () => this.end() } });
    this.leave = h("button", { type: "button", cls: "control danger", "data-control": "leave", i18n: "control.leave", on: { click: onLeave } });
    this.el = h("div", { cls: "toolbar", role: "toolbar", "aria-labelledby": "session-title" });
    this.render();
  }

  toggle(name, action) {
    return h("button", {
      type: "button",
      cls: "control",
      "data-control": name,
      on: { click: () => action().catch(() => {}).then(() => this.render()) },
    });
  }

  toggleLock() {
    this.live.moderate(this.live.session.locked ? "unlock" : "lock").catch(() => {});
  }

  end() {
    if (window.confirm(t("control.end_confirm"))) this.live.end().catch(() => {});
  }

  /** Redraw the buttons from the session's state. */
  render() {
    const live = this.live;
    const connected = live.state === State.CONNECTED;
    const stream = live.localStream;
    const hasMic = Boolean(stream?.getAudioTracks().length);
    const hasCamera = Boolean(stream?.getVideoTracks().length);
    const micKey = !hasMic ? "control.mic_none" : live.muted.audio ? "control.mic_off" : "control.mic_on";
    const cameraKey = !hasCamera ? "control.camera_none" : live.muted.video ? "control.camera_off" : "control.camera_on";
    this.setToggle(this.mic, hasMic && !live.muted.audio, micKey, !hasMic);
    this.setToggle(this.camera, hasCamera && !live.muted.video, cameraKey, !hasCamera);
    this.setToggle(this.hand, live.handRaised, live.handRaised ? "control.hand_down" : "control.hand_up", !connected);
    bindText(this.lock, live.session.locked ? "control.unlock" : "control.lock");
    const moderator = Boolean(live.grants.can_moderate);
    this.lock.disabled = !connected;
    this.endButton.disabled = !connected;
    replace(this.el, this.mic, this.camera, this.hand, moderator ? [this.lock, this.endButton] : null, this.leave);
  }

  setToggle(button, pressed, key, disabled) {
    button.setAttribute("aria-pressed", String(pressed));
    bindText(button, key);
    button.disabled = disabled;
  }
}
