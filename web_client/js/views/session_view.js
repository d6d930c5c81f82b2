// The session page: a pre-join screen, then tiles, controls, exercise figures, people, chat,
// and clear states for denied devices, lost connection, expired token and ended session.
import { get } from "../api.js";
import { h, replace } from "../dom.js";
import { bindText } from "../i18n.js";
import { ChatPanel } from "../session/chat_panel.js";
import { ExercisePanel } from "../session/exercise_panel.js";
import { arrange, viewMode } from "../session/layout.js";
import { LiveSession, State } from "../session/live_session.js";
import { acquireLocalMedia, mediaProblemKey } from "../session/local_media.js";
import { ParticipantsPanel } from "../session/participants_panel.js";
import { Tile } from "../session/tiles.js";
import { RecordingConsent } from "../session/recording_consent.js";
import { Toolbar } from "../session/toolbar.js";

/** Render the session page for session params.id. */
export function sessionView(main, context, params) {
  const view = new SessionView(main, context, params.id);
  view.showPreJoin();
  return { destroy: () => view.close() };
}

const STATE_KEYS = {
  [State.IDLE]: "conn.idle",
  [State.CONNECTING]: "conn.connecting",
  [State.CONNECTED]: "conn.connected",
  [State.RECONNECTING]: "conn.reconnecting",
  [State.FAILED]: "conn.failed",
  [State.ENDED]: "conn.ended",
  [State.REMOVED]: "conn.removed",
  [State.EXPIRED]: "conn.expired",
  [State.LEFT]: "conn.left",
};

class SessionView {
  constructor(main, context, sessionId) {
    this.main = main;
    this.context = context;
    this.sessionId = sessionId;
    this.live = null;
    this.tiles = new Map();
    this.record = null;
  }

  async showPreJoin() {
    const info = h("p", { cls: "muted" });
    const problem = h("p", { cls: "notice warn", "data-testid": "media-problem", hidden: true });
    const preview = h("video", { cls: "preview", autoplay: true, playsInline: true, muted: true });
    preview.muted = true;
    const button = h("button", { type: "button", cls: "primary big", id: "join-button", i18n: "session.join", disabled: true, on: { click: () => this.join() } });
    replace(
      this.main,
      h("section", { cls: "panel prejoin" }, h("h1", { i18n: "session.prejoin_title" }), info, h("div", { cls: "preview-frame" }, preview), problem, h("p", { i18n: "session.prejoin_hint" }), button),
    );
    this.media = acquireLocalMedia();
    const [record] = await Promise.all([this.loadRecord(), this.showPreview(preview, problem)]);
    if (this.closed || this.live) return;
    if (record) bindText(info, `kind.${record.kind}`);
    if (record && !record.live) return this.showFinal(State.ENDED);
    button.disabled = false;
    button.focus();
  }

  async loadRecord() {
    try {
      this.record = await get(`/api/sessions/${encodeURIComponent(this.sessionId)}`);
    } catch (error) {
      // Group trainees are not parties to the ticket, so they cannot read the session over
      // HTTP (404); joining over /ws tells them, and anyone else, whether it is live.
    }
    return this.record;
  }

  async showPreview(video, problem) {
    const { stream, problem: issue } = await this.media;
    if (this.closed) return;
    video.srcObject = stream;
    video.play().catch(() => {});
    if (issue) {
      bindText(problem, mediaProblemKey(issue));
      problem.hidden = false;
    }
  }

  join() {
    const user = this.context.user;
    const live = new LiveSession(this.sessionId, user.token);
    this.live = live;
    this.build();
    this.applyKind(this.record?.kind);
    // Events that arrive after the view closed (a leave in flight) must not redraw the page.
    const on = (type, fn) => live.addEventListener(type, (event) => this.closed || fn(event.detail));
    on("state", () => this.onState());
    on("session", () => this.onSession());
    on("participants", () => this.onParticipants());
    on("tracks", () => this.onTracks());
    on("local", () => this.onLocal());
    on("chat", (message) => this.chat.add(message));
    on("analysis", (message) => this.onAnalysis(message));
    on("exercise", (message) => this.exercise?.reset(message.exercise));
    on("notice", (notice) => this.notify(notice.key));
    on("consent", (message) => this.recording.ask(message));
    on("recording", (message) => this.recording.update(message));
    this.media.then((media) => live.start(media));
  }

  build() {
    const live = this.live;
    this.toolbar = new Toolbar(live, { onLeave: () => live.leave() });
    this.connection = h("span", { cls: "connection", "data-testid": "connection-state", role: "status" });
    this.locked = h("span", { cls: "tag locked", i18n: "session.locked", hidden: true });
    this.recording = new RecordingConsent(live);
    this.notices = h("div", { cls: "session-notices", "aria-live": "assertive" });
    this.stageMain = h("div", { cls: "stage-main" });
    this.stageSide = h("div", { cls: "stage-side" });
    this.stage = h("div", { cls: "stage" }, this.stageMain, this.stageSide);
    this.exercise = null;
    this.participantsPanel = new ParticipantsPanel(live);
    this.chat = new ChatPanel(live);
    this.title = h("h1", { id: "session-title", i18n: "session.title" });
    this.side = h("aside", { cls: "session-side" }, this.participantsPanel.el, this.chat.el);
    this.root = h(
      "section",
      { cls: "session" },
      h("div", { cls: "session-bar" }, this.title, this.connection, this.locked, this.recording.indicator, this.recording.withdraw, this.toolbar.el),
      this.recording.prompt,
      this.notices,
      h("div", { cls: "session-body" }, this.stage, this.side),
    );
    replace(this.main, this.root);
    this.root.addEventListener("autoplay-blocked", () => this.offerSound());
    this.onState();
  }

  onState() {
    const state = this.live.state;
    this.connection.dataset.state = state;
    bindText(this.connection, STATE_KEYS[state]);
    this.toolbar.render();
    if ([State.ENDED, State.REMOVED, State.EXPIRED, State.LEFT].includes(state)) return this.showFinal(state);
    this.renderNotices();
  }

  renderNotices() {
    const live = this.live;
    const notices = [];
    const problem = live.mediaProblem;
    if (problem) notices.push(h("p", { cls: "notice warn", "data-testid": "media-problem", i18n: mediaProblemKey(problem) }));
    if (live.state === State.RECONNECTING) notices.push(h("p", { cls: "notice warn", i18n: "conn.reconnecting_detail" }));
    if (live.state === State.FAILED) {
      notices.push(h("p", { cls: "notice error" }, h("span", { i18n: "conn.failed_detail" }), " ", h("button", { type: "button", i18n: "conn.retry", on: { click: () => live.retry() } })));
    }
    if (this.soundButton) notices.push(this.soundButton.parentElement);
    replace(this.notices, notices);
  }

  /** The browser refused to play sound without a gesture: one click turns it on. */
  offerSound() {
    if (this.soundButton) return;
    const enable = () => {
      for (const audio of this.root.querySelectorAll("audio")) audio.play().catch(() => {});
      this.soundButton.parentElement.remove();
      this.soundButton = null;
    };
    this.soundButton = h("button", { type: "button", cls: "primary", i18n: "session.enable_sound", on: { click: enable } });
    this.notices.append(h("p", { cls: "notice warn" }, this.soundButton));
  }

  notify(key) {
    this.notices.append(h("p", { cls: "notice warn", i18n: key }));
  }

  /** Set the view for the session's kind (known from HTTP, or from the join snapshot). */
  applyKind(kind) {
    if (!kind || kind === this.kind) return;
    this.kind = kind;
    this.mode = viewMode(kind, this.context.user.role);
    this.root.className = `session mode-${this.mode}`;
    this.root.dataset.mode = this.mode;
    this.root.dataset.kind = kind;
    bindText(this.title, `kind.${kind}`);
    if (kind === "guided_exercise" && !this.exercise) {
      this.exercise = new ExercisePanel(this.mode);
      this.side.prepend(this.exercise.el);
    }
  }

  chooseExercise(exercise) {
    const live = this.live;
    const patient = [...live.participants.values()].find((p) => p.role === "patient");
    if (patient) live.setExercise(patient.id, exercise).catch(() => this.notify("exercise.change_failed"));
  }

  onSession() {
    this.applyKind(this.live.session.kind);
    this.root.dataset.participantId = this.live.participantId;
    if (this.exercise && this.mode === "expert" && this.live.grants.can_moderate) {
      this.exercise.enableChooser((exercise) => this.chooseExercise(exercise));
    }
    this.toolbar.render();
    this.locked.hidden = !this.live.session.locked;
    this.layout();
  }

  onParticipants() {
    this.participantsPanel.render();
    this.layout();
    this.toolbar.render();
  }

  onTracks() {
    for (const [id, tile] of this.tiles) {
      if (id !== this.live.participantId) tile.setStream(this.live.streams.get(id));
    }
  }

  onLocal() {
    this.renderNotices();
    this.toolbar.render();
    this.tiles.get(this.live.participantId)?.setStream(this.live.localStream);
  }

  tileFor(id) {
    if (!id) return null;
    let tile = this.tiles.get(id);
    if (!tile) {
      tile = new Tile(id, { local: id === this.live.participantId });
      this.tiles.set(id, tile);
    }
    return tile;
  }

  layout() {
    const live = this.live;
    if (!live.participantId) return;
    const { grid, main, side } = arrange(this.kind, this.mode, live.participantId, live.participants, live.session.spotlight);
    this.stage.classList.toggle("grid", grid);
    for (const [id, tile] of this.tiles) {
      if (!live.participants.has(id)) {
        tile.close();
        this.tiles.delete(id);
      }
    }
    const place = (ids) =>
      ids.map((id) => {
        const tile = this.tileFor(id);
        tile.setParticipant(live.participants.get(id), id === live.participantId);
        tile.setStream(id === live.participantId ? live.localStream : live.streams.get(id));
        return tile;
      });
    placeTiles(this.stageMain, place(main));
    placeTiles(this.stageSide, place(side));
    this.stageMain.dataset.count = String(main.length);
  }

  onAnalysis(message) {
    const tile = this.tiles.get(message.participant_id);
    const update = message.update;
    tile?.showSkeleton(update);
    if (this.mode === "trainer") tile?.setExerciseStatus(update);
    // Patients and trainees read their own count on their picture.
    const own = message.participant_id === this.live.participantId;
    if (own && (this.mode === "patient" || this.mode === "trainee")) tile?.setHud(update);
    if (this.exercise) this.exercise.update(update);
  }

  showFinal(state) {
    const ticketId = this.record?.ticket_id || this.live?.session?.ticket_id;
    const target = ticketId ? `#/tickets/${encodeURIComponent(ticketId)}` : "#/queue";
    const reason = this.live?.endReason;
    this.close();
    replace(
      this.main,
      h(
        "section",
        { cls: "panel final-state", "data-testid": "final-state", dataset: { state } },
        h("h1", { i18n: `final.${state}` }),
        h("p", { i18n: `final.${state}_detail` }),
        state === State.EXPIRED
          ? h("button", { type: "button", cls: "primary", i18n: "final.sign_in_again", on: { click: () => this.context.signOut() } })
          : h("a", { href: target, cls: "button", i18n: "final.back" }),
      ),
    );
    if (reason) this.main.firstChild.dataset.reason = reason;
  }

  /** Leave media and tiles behind (idempotent). */
  close() {
    if (this.closed) return;
    this.closed = true;
    // Release the camera even when the page closes before joining.
    if (!this.live) this.media?.then(({ stream }) => stream?.getTracks().forEach((t) => t.stop()));
    this.exercise?.close();
    if (this.live && ![State.ENDED, State.REMOVED, State.EXPIRED, State.LEFT].includes(this.live.state)) {
      this.live.leave();
    } else {
      this.live?.close();
    }
    for (const tile of this.tiles.values()) tile.close();
    this.tiles.clear();
  }
}

/**
 * Put tiles into a container in order, touching the DOM only when the order changed:
 * a video element taken out of the document pauses, so tiles are not re-inserted needlessly,
 * and those that were moved are told to play again.
 */
function placeTiles(container, tiles) {
  const same = tiles.length === container.children.length && tiles.every((tile, i) => container.children[i] === tile.el);
  if (!same) container.replaceChildren(...tiles.map((tile) => tile.el));
  for (const tile of tiles) tile.resume();
}
