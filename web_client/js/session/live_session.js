// The browser side of one live session: signaling, local media, publish/subscribe, and the
// connection state machine with automatic reconnect (rejoin with the same token within the
// server's grace period, publish again, subscribe again).
import { acquireLocalMedia } from "./local_media.js";
import { publish, subscribe } from "./peers.js";
import { Signaling, SignalingError, signalingUrl } from "./signaling.js";

/** Connection states of a live session. */
export const State = Object.freeze({
  IDLE: "idle",
  CONNECTING: "connecting",
  CONNECTED: "connected",
  RECONNECTING: "reconnecting",
  FAILED: "failed",
  ENDED: "ended",
  REMOVED: "removed",
  EXPIRED: "expired",
  LEFT: "left",
});

const FINAL = new Set([State.ENDED, State.REMOVED, State.EXPIRED, State.LEFT]);
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 5000];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A live session; dispatches state, session, participants, tracks, local, chat, analysis,
 * exercise, consent, recording and notice events.
 */
export class LiveSession extends EventTarget {
  constructor(sessionId, token, { url = signalingUrl(), graceMs = 30000 } = {}) {
    super();
    this.sessionId = sessionId;
    this.token = token;
    this.url = url;
    this.graceMs = graceMs;
    this.state = State.IDLE;
    this.signaling = null;
    this.participantId = null;
    this.grants = {};
    this.session = {};
    this.iceServers = [];
    this.participants = new Map();
    this.producers = new Map();
    this.streams = new Map();
    this.consumed = new Set();
    this.localStream = null;
    this.mediaProblem = null;
    this.muted = { audio: false, video: false };
    this.handRaised = false;
    this.chatLog = [];
    this.peers = [];
    this.pendingSubscribe = new Set();
    this.subscribeTimer = null;
    this.endReason = null;
  }

  emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(next) {
    if (next === this.state) return;
    console.info(`session ${this.sessionId}: ${this.state} -> ${next}`);
    this.state = next;
    this.emit("state", next);
  }

  /** Connect with the local media (from acquireLocalMedia), asking for it if not given. */
  async start(media = null) {
    this.setState(State.CONNECTING);
    const { stream, problem } = media || (await acquireLocalMedia());
    this.localStream = stream;
    this.mediaProblem = problem;
    this.emit("local", this.localStream);
    try {
      await this.connect();
    } catch (error) {
      if (!FINAL.has(this.state)) this.reconnect();
    }
  }

  async connect(redirected = false) {
    const signaling = new Signaling(this.url);
    this.signaling = signaling;
    try {
      await signaling.open(this.token);
    } catch (error) {
      if (error.code === "unauthenticated") this.setState(State.EXPIRED);
      throw error;
    }
    signaling.addEventListener("event", (event) => this.onEvent(event.detail));
    signaling.addEventListener("close", (event) => this.onClose(signaling, event.detail));
    let reply;
    try {
      reply = await signaling.request("join", { session_id: this.sessionId });
    } catch (error) {
      if (error.code === "wrong_node" && error.details.url && !redirected) {
        // The room lives on another node (scale-out): signaling for it must reach that node.
        signaling.close();
        this.url = signalingUrl(error.details.url);
        return this.connect(true);
      }
      if (["not_found", "invalid_state"].includes(error.code)) this.finish(State.ENDED, error.code);
      else if (error.code === "forbidden") this.finish(State.REMOVED, error.code);
      throw error;
    }
    this.applyJoin(reply);
    this.setState(State.CONNECTED);
    await this.publishLocal();
    this.queueSubscribe([...this.producers.values()].filter((p) => p.participant_id !== this.participantId));
  }

  applyJoin(reply) {
    this.participantId = reply.participant_id;
    this.grants = reply.grants || {};
    this.iceServers = reply.ice_servers || [];
    this.session = reply.session;
    this.participants = new Map(reply.session.participants.map((p) => [p.id, p]));
    this.producers = new Map(reply.session.producers.map((p) => [p.id, p]));
    this.consumed.clear();
    this.streams.clear();
    this.emit("session", this.session);
    this.emit("participants");
    this.emit("tracks");
  }

  async publishLocal() {
    const tracks = this.localStream?.getTracks() || [];
    if (!this.grants.can_publish || tracks.length === 0) return;
    try {
      const published = await publish(this.signaling, this.iceServers, tracks);
      this.peers.push(published.pc);
      for (const media of ["audio", "video"]) {
        if (this.muted[media]) await this.signaling.request("mute", { media, muted: true });
      }
    } catch (error) {
      this.emit("notice", { key: "session.publish_failed" });
    }
  }

  queueSubscribe(producers) {
    for (const producer of producers) {
      if (!this.consumed.has(producer.id)) this.pendingSubscribe.add(producer.id);
    }
    if (this.pendingSubscribe.size === 0 || this.subscribeTimer || !this.grants.can_subscribe) return;
    // Producers of one participant arrive back to back; one transport carries the batch.
    this.subscribeTimer = setTimeout(() => this.flushSubscribe(), 50);
  }

  async flushSubscribe() {
    this.subscribeTimer = null;
    const ids = [...this.pendingSubscribe].filter((id) => this.producers.has(id)).slice(0, 64);
    this.pendingSubscribe.clear();
    if (ids.length === 0 || this.state !== State.CONNECTED) return;
    for (const id of ids) this.consumed.add(id);
    try {
      const result = await subscribe(this.signaling, this.iceServers, ids);
      this.peers.push(result.pc);
      for (const [producerId, track] of result.tracks) this.attachTrack(producerId, track);
      this.emit("tracks");
    } catch (error) {
      for (const id of ids) this.consumed.delete(id);
      if (this.state === State.CONNECTED) this.emit("notice", { key: "session.subscribe_failed" });
    }
  }

  attachTrack(producerId, track) {
    const producer = this.producers.get(producerId);
    if (!producer) return;
    let stream = this.streams.get(producer.participant_id);
    if (!stream) {
      stream = new MediaStream();
      this.streams.set(producer.participant_id, stream);
    }
    for (const old of stream.getTracks()) if (old.kind === track.kind) stream.removeTrack(old);
    stream.addTrack(track);
    track.producerId = producerId;
  }

  detachProducer(producerId, participantId) {
    this.consumed.delete(producerId);
    const stream = this.streams.get(participantId);
    if (!stream) return;
    for (const track of stream.getTracks()) {
      if (track.producerId === producerId) stream.removeTrack(track);
    }
    if (stream.getTracks().length === 0) this.streams.delete(participantId);
  }

  onEvent(message) {
    const handler = EVENT_HANDLERS[message.type];
    if (handler) handler(this, message);
  }

  onClose(signaling, detail) {
    if (signaling !== this.signaling || FINAL.has(this.state) || detail.byUs) return;
    if (detail.code === 4003) return this.finish(State.REMOVED, "removed");
    if (detail.code === 4001) return this.finish(State.EXPIRED, "unauthenticated");
    this.reconnect();
  }

  async reconnect() {
    if (this.state === State.RECONNECTING) return;
    this.closeMedia();
    this.setState(State.RECONNECTING);
    const deadline = Date.now() + this.graceMs;
    for (let attempt = 0; Date.now() < deadline; attempt += 1) {
      await sleep(RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]);
      if (this.state !== State.RECONNECTING) return;
      try {
        await this.connect();
        return;
      } catch (error) {
        this.signaling?.close();
        if (FINAL.has(this.state)) return;
        this.setState(State.RECONNECTING);
      }
    }
    this.setState(State.FAILED);
  }

  /** Try again after a failed reconnect (the user pressed retry). */
  retry() {
    if (this.state === State.FAILED) this.reconnect();
  }

  closeMedia() {
    clearTimeout(this.subscribeTimer);
    this.subscribeTimer = null;
    this.pendingSubscribe.clear();
    for (const pc of this.peers) pc.close();
    this.peers = [];
    this.consumed.clear();
    this.streams.clear();
    this.emit("tracks");
  }

  finish(state, reason) {
    this.endReason = reason;
    this.setState(state);
    this.close();
  }

  /** Close media and signaling; the camera is released (idempotent). */
  close() {
    this.closeMedia();
    this.signaling?.close();
    for (const track of this.localStream?.getTracks() || []) track.stop();
  }

  command(type, fields = {}) {
    return this.signaling.request(type, fields);
  }

  /** Turn the microphone or camera on or off for everyone. */
  async toggle(media) {
    const track = media === "audio" ? this.localStream?.getAudioTracks()[0] : this.localStream?.getVideoTracks()[0];
    if (!track) return;
    this.muted[media] = !this.muted[media];
    track.enabled = !this.muted[media];
    this.emit("local", this.localStream);
    if (this.state === State.CONNECTED) await this.command("mute", { media, muted: this.muted[media] });
  }

  /** Raise or lower the hand. */
  async raiseHand(raised) {
    this.handRaised = raised;
    await this.command("raise_hand", { raised });
  }

  /** Send a chat message. */
  sendChat(text) {
    return this.command("chat", { text });
  }

  /** Moderation: remove, lock, unlock, spotlight. */
  moderate(action, participantId = undefined) {
    return this.command("moderate", participantId ? { action, participant_id: participantId } : { action });
  }

  /** Mute someone else's microphone or camera (moderators). */
  muteOther(participantId, media) {
    return this.command("mute", { media, muted: true, participant_id: participantId });
  }

  /** Choose the exercise analysed on a participant's video (own, or others as a moderator). */
  setExercise(participantId, exercise) {
    return this.command("set_exercise", { participant_id: participantId, exercise });
  }

  /** End the session for everyone (moderators). */
  async end() {
    await this.command("end");
  }

  /** Leave for good. */
  async leave() {
    try {
      if (this.state === State.CONNECTED) await this.command("leave");
    } catch (error) {
      // Leaving a session whose link is gone is still leaving.
    }
    this.finish(State.LEFT, "left");
  }

  /** The participant record of this client. */
  self() {
    return this.participants.get(this.participantId);
  }
}

function onParticipantUpdated(session, m) {
  const participant = session.participants.get(m.participant_id);
  if (participant) participant[m.field] = m.value;
  if (m.participant_id === session.participantId && m.field !== "hand_raised" && m.by !== session.participantId) {
    // A moderator muted us: follow it locally so the button tells the truth.
    const media = m.field === "audio_muted" ? "audio" : "video";
    session.muted[media] = Boolean(m.value);
    const track = media === "audio" ? session.localStream?.getAudioTracks()[0] : session.localStream?.getVideoTracks()[0];
    if (track) track.enabled = !m.value;
    session.emit("local", session.localStream);
  }
  session.emit("participants");
}

const EVENT_HANDLERS = {
  session_state: (s, m) => {
    s.session.state = m.state;
    if (m.state === "closed") s.finish(State.ENDED, "closed");
  },
  session_updated: (s, m) => {
    s.session[m.setting] = m.value;
    s.emit("session", s.session);
  },
  session_ended: (s, m) => s.finish(State.ENDED, m.reason),
  removed: (s) => s.finish(State.REMOVED, "removed"),
  participant_joined: (s, m) => {
    s.participants.set(m.participant.id, m.participant);
    s.emit("participants");
  },
  participant_disconnected: (s, m) => {
    const participant = s.participants.get(m.participant_id);
    if (participant) participant.state = "disconnected";
    s.emit("participants");
  },
  participant_left: (s, m) => {
    s.participants.delete(m.participant_id);
    s.streams.delete(m.participant_id);
    s.emit("participants");
    s.emit("tracks");
  },
  participant_updated: onParticipantUpdated,
  producer_added: (s, m) => {
    s.producers.set(m.producer.id, m.producer);
    if (m.producer.participant_id !== s.participantId) s.queueSubscribe([m.producer]);
  },
  producer_removed: (s, m) => {
    s.producers.delete(m.producer_id);
    s.detachProducer(m.producer_id, m.participant_id);
    s.emit("tracks");
  },
  chat: (s, m) => {
    s.chatLog.push(m);
    s.emit("chat", m);
  },
  analysis: (s, m) => s.emit("analysis", m),
  exercise_changed: (s, m) => s.emit("exercise", m),
  consent_requested: (s, m) => s.emit("consent", m),
  recording_state: (s, m) => s.emit("recording", m),
};

export { SignalingError };
