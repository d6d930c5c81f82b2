// One ticket: its fields and SLA, its sessions (join a live one, start a new one), its
// timeline, and a link to the patient's progress.
import { get, post } from "../api.js";
import { isStaff } from "../auth.js";
import { h, replace } from "../dom.js";
import { bindText, has } from "../i18n.js";
import { exerciseFigures } from "../exercise_figures.js";
import { timeElement } from "../format.js";
import { slaClock, startTicking } from "./sla_clock.js";
import { recordingsSection } from "./recordings.js";
import { ticketActions } from "./ticket_actions.js";

const SESSION_KINDS = ["guided_exercise", "remote_diagnosis", "group_onboarding"];
const SESSION_REFRESH_MS = 10000;

/** Render the ticket page. */
export function ticketDetailView(main, context, params) {
  const id = params.id;
  const status = h("p", { cls: "muted", role: "status", i18n: "common.loading" });
  replace(main, status);
  let stopTicking = () => {};
  load();
  // Sessions start and end while the page is open; their list is kept current.
  const refresh = setInterval(() => refreshSessions(main, id), SESSION_REFRESH_MS);
  return {
    destroy() {
      stopTicking();
      clearInterval(refresh);
    },
  };

  async function load() {
    try {
      const [ticket, timeline, sessions] = await Promise.all([
        get(`/api/tickets/${encodeURIComponent(id)}`),
        get(`/api/tickets/${encodeURIComponent(id)}/timeline`),
        get(`/api/tickets/${encodeURIComponent(id)}/sessions`),
      ]);
      const page = render(ticket, timeline, sessions, context, load);
      stopTicking();
      replace(main, page);
      stopTicking = startTicking(page);
    } catch (error) {
      bindText(status, error.status === 404 ? "ticket.not_found" : "error.load");
    }
  }
}

function render(ticket, timeline, sessions, context, reload) {
  return h(
    "article",
    { cls: "ticket-detail", dataset: { ticketId: ticket.id } },
    h("div", { cls: "page-head" }, h("h1", { text: ticket.title }), h("a", { href: "#/queue", i18n: "ticket.back" })),
    facts(ticket),
    ticketActions(ticket, context, reload),
    ticket.description ? h("p", { cls: "description", text: ticket.description }) : null,
    h("div", { cls: "sla-clocks" }, ["response", "resolution", "callback"].map((n) => slaClock(n, ticket.sla[n]))),
    sessionsSection(ticket, sessions, context),
    recordingsSection(ticket.id),
    timelineSection(timeline),
  );
}

function facts(ticket) {
  const row = (key, value, translate = null) =>
    h("div", { dataset: { fact: key } }, h("dt", { i18n: key }), translate ? h("dd", { i18n: translate }) : h("dd", { text: value }));
  return h(
    "dl",
    { cls: "facts" },
    row("ticket.status", null, `status.${ticket.status}`),
    row("ticket.tier", null, `tier.${ticket.tier}`),
    row("ticket.kind", null, `ticket_kind.${ticket.kind}`),
    row("ticket.requester", ticket.requester),
    ticket.patient ? h("div", {}, h("dt", { i18n: "ticket.patient" }), h("dd", {}, h("a", { href: `#/progress/${encodeURIComponent(ticket.patient)}`, text: ticket.patient }))) : null,
    ticket.assignee ? row("ticket.assignee", ticket.assignee) : null,
    ticket.device ? row("ticket.device", `${ticket.device.model} · ${ticket.device.serial}`) : null,
    h("div", {}, h("dt", { i18n: "ticket.created" }), h("dd", {}, timeElement(ticket.created_at))),
  );
}

async function refreshSessions(main, ticketId) {
  const list = main.querySelector(".session-list, .no-sessions");
  if (!list) return;
  try {
    const sessions = await get(`/api/tickets/${encodeURIComponent(ticketId)}/sessions`);
    if (list.isConnected) list.replaceWith(sessionList(sessions));
  } catch {
    // The next refresh tries again; the page keeps what it shows.
  }
}

function sessionList(sessions) {
  const items = sessions.map((s) =>
    h(
      "li",
      { cls: "session-item", dataset: { sessionId: s.id } },
      h("span", { i18n: `kind.${s.kind}` }),
      h("span", { cls: `tag session-${s.live ? "live" : "done"}`, i18n: s.live ? "ticket.session_live" : "ticket.session_ended" }),
      timeElement(s.created_at),
      s.live ? h("a", { href: `#/sessions/${encodeURIComponent(s.id)}`, cls: "button primary", i18n: "ticket.join" }) : null,
    ),
  );
  return items.length ? h("ul", { cls: "session-list" }, items) : h("p", { cls: "muted no-sessions", i18n: "ticket.no_sessions" });
}

function sessionsSection(ticket, sessions, context) {
  return h(
    "section",
    { cls: "panel", "aria-labelledby": "sessions-title" },
    h("h2", { id: "sessions-title", i18n: "ticket.sessions" }),
    sessionList(sessions),
    isStaff(context.user) || context.user.identity === ticket.patient || context.user.identity === ticket.requester
      ? startForm(ticket, context)
      : null,
  );
}

function startForm(ticket, context) {
  const select = h(
    "select",
    { id: "session-kind" },
    SESSION_KINDS.map((kind) => h("option", { value: kind, i18n: `kind.${kind}` })),
  );
  select.value = ticket.kind === "guided_exercise" ? "guided_exercise" : ticket.kind === "onboarding" ? "group_onboarding" : "remote_diagnosis";
  const error = h("p", { cls: "form-error", role: "alert", hidden: true });
  const submit = async (event) => {
    event.preventDefault();
    try {
      const session = await post(`/api/tickets/${encodeURIComponent(ticket.id)}/sessions`, { kind: select.value });
      context.navigate(`/sessions/${encodeURIComponent(session.id)}`);
    } catch (failure) {
      bindText(error, "ticket.start_failed");
      error.hidden = false;
    }
  };
  return h(
    "form",
    { cls: "inline-form", on: { submit } },
    h("label", { for: "session-kind", i18n: "ticket.session_kind" }),
    select,
    h("button", { type: "submit", cls: "primary", i18n: "ticket.start_session" }),
    error,
  );
}

function timelineSection(timeline) {
  const items = [...timeline].reverse().map((entry) =>
    h(
      "li",
      {},
      timeElement(entry.at),
      h("span", { cls: "actor", text: entry.actor }),
      has(`action.${entry.action}`) ? h("span", { i18n: `action.${entry.action}` }) : h("code", { text: entry.action }),
      entry.action === "exercise_summary" ? exerciseSummary(entry.data) : null,
    ),
  );
  return h(
    "section",
    { cls: "panel", "aria-labelledby": "timeline-title" },
    h("h2", { id: "timeline-title", i18n: "ticket.timeline" }),
    items.length ? h("ol", { cls: "timeline" }, items) : h("p", { cls: "muted", i18n: "ticket.no_timeline" }),
  );
}

/** The figures of an exercise_summary entry: per exercise reps, range and form issues. */
function exerciseSummary(data) {
  const rows = Object.entries(data.exercises || {}).map(([name, raw]) => {
    const figures = exerciseFigures(raw);
    const rom = figures.rom === null ? "–" : Math.round(figures.rom);
    return h(
      "li",
      { dataset: { exercise: name } },
      has(`exercise.${name}`) ? h("strong", { i18n: `exercise.${name}` }) : h("strong", { text: name }),
      " ",
      h("span", { i18n: "summary.line", args: { reps: figures.reps, rom } }),
      figures.issues.map(({ code, count }) =>
        h(
          "span",
          { cls: "issue-tag" },
          h("span", { i18n: has(`issue.${code}`) ? `issue.${code}` : "form.check" }),
          h("span", { text: ` ×${count}` }),
        ),
      ),
    );
  });
  return h("ul", { cls: "exercise-summary" }, rows);
}
