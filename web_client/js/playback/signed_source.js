// A media element fed from a recording file through short-lived signed links; a new link
// is fetched before the current one expires, keeping the position and the paused state.
import { post } from "../api.js";

const TTL_S = 300;
// Renew this long before expiry: a seek near the end of a link's life opens a new request.
const RENEW_BEFORE_S = 60;

/** Keeps element.src on a valid signed link of recordingId's file. */
export class SignedSource {
  constructor(recordingId, file, element) {
    this.recordingId = recordingId;
    this.file = file;
    this.element = element;
    this.timer = null;
    this.closed = false;
  }

  /** Fetch the first link and start playing from it (throws ApiError). */
  async start() {
    const link = await this.fetchLink();
    this.element.src = link.url;
    this.schedule(link);
  }

  async fetchLink() {
    const path = `/api/recordings/${encodeURIComponent(this.recordingId)}/links`;
    return post(path, { file: this.file, ttl_s: TTL_S });
  }

  schedule(link) {
    const delay = Date.parse(link.expires_at) - Date.now() - RENEW_BEFORE_S * 1000;
    this.timer = setTimeout(() => this.renew().catch(() => {}), Math.max(5000, delay));
  }

  /** Swap to a fresh link where the element is now. */
  async renew() {
    const link = await this.fetchLink();
    if (this.closed) return;
    const { currentTime, paused } = this.element;
    this.element.src = link.url;
    this.element.currentTime = currentTime;
    if (!paused) this.element.play().catch(() => {});
    this.schedule(link);
  }

  /** Stop renewing (idempotent). */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
