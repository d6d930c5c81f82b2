// Chat: the messages of this session and a box to send one.
import { h } from "../dom.js";
import { timeElement } from "../format.js";
import { bindText } from "../i18n.js";

/** The chat of a live session. */
export class ChatPanel {
  constructor(live) {
    this.live = live;
    this.log = h("ol", { cls: "chat-log", "aria-live": "polite", "data-testid": "chat-log" });
    this.input = h("input", { type: "text", id: "chat-input", maxlength: 4000, autocomplete: "off", attrs: { placeholder: "chat.placeholder" } });
    this.error = h("p", { cls: "form-error", role: "alert", hidden: true });
    const form = h(
      "form",
      { cls: "chat-form", on: { submit: (event) => this.send(event) } },
      h("label", { for: "chat-input", cls: "visually-hidden", i18n: "chat.label" }),
      this.input,
      h("button", { type: "submit", i18n: "chat.send" }),
    );
    this.el = h("section", { cls: "panel chat-panel", "aria-labelledby": "chat-title" }, h("h2", { id: "chat-title", i18n: "chat.title" }), this.log, this.error, form);
    for (const message of live.chatLog) this.add(message);
  }

  async send(event) {
    event.preventDefault();
    const text = this.input.value.trim();
    if (!text) return;
    try {
      await this.live.sendChat(text);
      this.input.value = "";
      this.error.hidden = true;
    } catch (error) {
      bindText(this.error, "chat.failed");
      this.error.hidden = false;
    }
  }

  /** Show a message. */
  add(message) {
    this.log.append(
      h(
        "li",
        { cls: message.participant_id === this.live.participantId ? "mine" : "" },
        h("span", { cls: "chat-name", text: message.name }),
        timeElement(message.at, "time"),
        h("p", { cls: "chat-text", text: message.text }),
      ),
    );
    this.log.scrollTop = this.log.scrollHeight;
  }
}
