// An expert's desk connection: presence for the service desk, and the offers it brings.
// It lives as long as the sign-in (across pages), reconnects by itself and says its presence
// again after every reconnect, because the server forgets it when the last connection closes.
import { Signaling, signalingUrl } from "../session/signaling.js";

const RETRY_MS = [1000, 2000, 5000, 10000];
const PRESENCE_KEY = "teleguide.presence";

/** Presence and offers of one signed-in expert; dispatches "change" whenever either changes. */
export class DeskConnection extends EventTarget {
  constructor(token) {
    super();
    this.token = token;
    this.presence = sessionStorage.getItem(PRESENCE_KEY) || "away";
    this.connected = false;
    this.offers = new Map();
    this.signaling = null;
    this.stopped = false;
    this.attempt = 0;
  }

  /** Connect (and keep reconnecting until stop()). */
  start() {
    this.connect();
    return this;
  }

  async connect() {
    if (this.stopped) return;
    const signaling = new Signaling(signalingUrl());
    this.signaling = signaling;
    try {
      await signaling.open(this.token);
      // Until connected, setPresence() only remembers: say the newest choice before that.
      let sent;
      do {
        sent = this.presence;
        await signaling.request("presence", { state: sent });
      } while (sent !== this.presence);
      this.attempt = 0;
      this.setConnected(true);
    } catch {
      this.retry();
      return;
    }
    signaling.addEventListener("event", (event) => this.onEvent(event.detail));
    signaling.addEventListener("close", () => {
      this.setConnected(false);
      this.offers.clear();
      this.retry();
    });
  }

  retry() {
    if (this.stopped) return;
    const delay = RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)];
    this.attempt += 1;
    setTimeout(() => this.connect(), delay);
  }

  setConnected(connected) {
    this.connected = connected;
    this.changed();
  }

  onEvent(message) {
    if (message.type === "offer_made") this.offers.set(message.offer_id, message);
    else if (message.type === "offer_closed") this.offers.delete(message.offer_id);
    else return;
    this.changed();
  }

  /** Go online (offers may come), busy or away. */
  async setPresence(state) {
    this.presence = state;
    sessionStorage.setItem(PRESENCE_KEY, state);
    if (this.connected) await this.signaling.request("presence", { state });
    this.changed();
  }

  /** Take an offered ticket; resolves with the server's reply. */
  async accept(offerId) {
    try {
      return await this.signaling.request("offer_accept", { offer_id: offerId });
    } finally {
      this.offers.delete(offerId);
      this.changed();
    }
  }

  /** Pass on an offered ticket. */
  async decline(offerId) {
    try {
      await this.signaling.request("offer_decline", { offer_id: offerId });
    } finally {
      this.offers.delete(offerId);
      this.changed();
    }
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  /** Close for good (sign out). */
  stop() {
    this.stopped = true;
    this.signaling?.close();
  }
}
