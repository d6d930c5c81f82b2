// One /ws connection: auth phase, then {id, type} commands with replies, and server events.

/** A command answered with an error, or a connection that could not do it. */
export class SignalingError extends Error {
  constructor(code, message, details = {}) {
    super(`${code}: ${message}`);
    this.code = code;
    this.details = details;
  }
}

/** The /ws URL of a node (by default the one that served this page). */
export function signalingUrl(base = location.href) {
  const url = new URL("/ws", base);
  url.protocol = ["https:", "wss:"].includes(url.protocol) ? "wss:" : "ws:";
  return url.href;
}

/** Signaling over one WebSocket; dispatches "event" (detail: message) and "close". */
export class Signaling extends EventTarget {
  constructor(url, replyTimeoutMs = 15000) {
    super();
    this.url = url;
    this.replyTimeoutMs = replyTimeoutMs;
    this.nextId = 1;
    this.pending = new Map();
    this.ws = null;
    this.closedByUs = false;
  }

  /** Open and authenticate; resolves with auth_ok, rejects with SignalingError. */
  open(token) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let authed = false;
      ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
      ws.onerror = () => {};
      ws.onclose = (event) => {
        this.failPending();
        if (!authed) reject(new SignalingError("disconnected", `closed ${event.code}`));
        else this.dispatchEvent(new CustomEvent("close", { detail: { code: event.code, byUs: this.closedByUs } }));
      };
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (authed) return this.onMessage(message);
        if (message.type === "auth_ok") {
          authed = true;
          resolve(message);
        } else {
          reject(new SignalingError("unauthenticated", message.message || "auth failed"));
        }
      };
    });
  }

  onMessage(message) {
    if (message.id !== undefined && "ok" in message) {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      clearTimeout(waiter.timer);
      if (message.ok) waiter.resolve(message);
      else {
        const error = message.error || {};
        waiter.reject(new SignalingError(error.code || "error", error.message || "", error.details || {}));
      }
      return;
    }
    this.dispatchEvent(new CustomEvent("event", { detail: message }));
  }

  /** Send a command; resolves with the reply. */
  request(type, fields = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new SignalingError("disconnected", "not connected"));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalingError("timeout", type));
      }, this.replyTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ id, type, ...fields }));
    });
  }

  failPending() {
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new SignalingError("disconnected", "connection closed"));
    }
    this.pending.clear();
  }

  /** Close the socket (idempotent). */
  close() {
    this.closedByUs = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }
}
