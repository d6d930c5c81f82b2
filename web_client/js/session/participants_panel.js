// The participant list, with moderator controls for those who may moderate.
import { h, replace } from "../dom.js";

/** The people in a live session. */
export class ParticipantsPanel {
  constructor(live) {
    this.live = live;
    this.list = h("ul", { cls: "participant-list", "data-testid": "participants" });
    this.el = h("section", { cls: "panel participants-panel", "aria-labelledby": "participants-title" }, h("h2", { id: "participants-title", i18n: "participants.title" }), this.list);
  }

  /** Redraw the list. */
  render() {
    const live = this.live;
    const items = [...live.participants.values()].map((p) => this.item(p));
    replace(this.list, items);
  }

  item(p) {
    const live = this.live;
    const self = p.id === live.participantId;
    const flags = [
      p.hand_raised && h("span", { cls: "flag hand", i18n: "participant.hand_raised" }),
      p.audio_muted && h("span", { cls: "flag", i18n: "participant.audio_muted" }),
      p.video_muted && h("span", { cls: "flag", i18n: "participant.video_muted" }),
      p.state === "disconnected" && h("span", { cls: "flag warn", i18n: "participant.disconnected" }),
    ];
    const moderator = live.grants.can_moderate && !self;
    return h(
      "li",
      { dataset: { participantId: p.id } },
      h("span", { cls: "participant-name", text: p.name }),
      self ? h("span", { cls: "role-tag", i18n: "participant.you" }) : h("span", { cls: "role-tag", i18n: `role.${p.role}` }),
      h("span", { cls: "flags" }, flags),
      moderator ? this.controls(p) : null,
    );
  }

  controls(p) {
    const live = this.live;
    const act = (fn) => () => fn().catch(() => {});
    const label = { name: p.name };
    return h(
      "span",
      { cls: "moderator-controls" },
      h("button", { type: "button", i18n: "moderate.mute", args: label, on: { click: act(() => live.muteOther(p.id, "audio")) } }),
      h("button", { type: "button", i18n: "moderate.spotlight", args: label, on: { click: act(() => live.moderate("spotlight", p.id)) } }),
      h("button", { type: "button", cls: "danger", i18n: "moderate.remove", args: label, on: { click: act(() => live.moderate("remove", p.id)) } }),
    );
  }
}
