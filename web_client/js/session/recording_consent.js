// Recording in a live session: the consent question (nobody is recorded without saying
// yes; a yes can be withdrawn) and the indicator everyone sees while a recording runs.
import { h, replace } from "../dom.js";
import { bindText } from "../i18n.js";

/** The consent prompt and recording indicator of one participant. */
export class RecordingConsent {
  constructor(live) {
    this.live = live;
    this.indicator = h("span", { cls: "tag recording-indicator", "data-testid": "recording-indicator", hidden: true });
    this.prompt = h("div", { cls: "consent", role: "alertdialog", "aria-labelledby": "consent-question", hidden: true });
    this.granted = false;
    this.withdraw = h("button", {
      type: "button",
      cls: "link",
      "data-consent": "withdraw",
      hidden: true,
      i18n: "consent.withdraw",
      on: { click: () => this.answer(false) },
    });
  }

  /** The server asks this participant (policy full or metrics_only). */
  ask(message) {
    const question = h("p", { id: "consent-question", i18n: `consent.question_${message.policy === "metrics_only" ? "metrics" : "full"}` });
    const yes = h("button", { type: "button", cls: "primary", "data-consent": "yes", i18n: "consent.yes", on: { click: () => this.answer(true) } });
    const no = h("button", { type: "button", "data-consent": "no", i18n: "consent.no", on: { click: () => this.answer(false) } });
    replace(this.prompt, question, h("div", { cls: "consent-buttons" }, yes, no));
    this.prompt.hidden = false;
    yes.focus();
  }

  async answer(granted) {
    try {
      const reply = await this.live.command("consent", { granted });
      this.granted = granted;
      this.prompt.hidden = true;
      this.show(reply.indicator);
    } catch (error) {
      // The recording may have stopped meanwhile; the next recording_state tells.
    }
  }

  /** Show the server's recording_state for this participant. */
  update(message) {
    this.show(message.indicators?.[this.live.participantId] || (message.state === "failed" ? "failed" : "off"));
  }

  show(indicator) {
    this.indicator.hidden = !indicator || indicator === "off";
    this.indicator.dataset.indicator = indicator;
    if (!this.indicator.hidden) bindText(this.indicator, `rec_indicator.${indicator}`);
    // A yes can be taken back at any time; the server stops this person's tracks at once.
    this.withdraw.hidden = !(this.granted && ["recording", "waiting_for_others"].includes(indicator));
  }
}
