// What can be done to a ticket from its page: take it (staff), move it to another status
// (staff; requesters may cancel their own). The server decides; the choices offered follow
// the transition table of sessions/tickets.py so that nobody is offered a certain refusal.
import { api } from "../api.js";
import { isStaff } from "../auth.js";
import { h } from "../dom.js";
import { bindText } from "../i18n.js";

const NEXT = {
  open: ["assigned", "in_session", "escalated", "cancelled"],
  assigned: ["open", "in_session", "resolved", "escalated", "cancelled"],
  in_session: ["assigned", "resolved", "escalated"],
  escalated: ["assigned", "in_session", "resolved", "cancelled"],
  resolved: ["callback_done", "closed", "open"],
  callback_done: ["closed", "open"],
  closed: [],
  cancelled: [],
};

/** The statuses this user may try to move the ticket to. */
export function nextStatuses(ticket, user) {
  const next = NEXT[ticket.status] || [];
  if (isStaff(user)) return next;
  return ticket.requester === user.identity ? next.filter((s) => s === "cancelled") : [];
}

/** The action bar of a ticket; onChanged() reloads the page after a change. */
export function ticketActions(ticket, context, onChanged) {
  const user = context.user;
  const error = h("p", { cls: "form-error", role: "alert", hidden: true });
  const run = async (action) => {
    try {
      await action();
      onChanged();
    } catch (failure) {
      bindText(error, failure.status === 409 ? "ticket.conflict" : "error.save");
      error.hidden = false;
    }
  };
  const id = encodeURIComponent(ticket.id);
  const take =
    isStaff(user) && ticket.assignee !== user.identity && !["closed", "cancelled"].includes(ticket.status)
      ? h("button", {
          type: "button",
          cls: "primary",
          "data-action": "take",
          i18n: "ticket.take",
          on: { click: () => run(() => api("PATCH", `/api/tickets/${id}`, { assignee: user.identity, expected_version: ticket.version })) },
        })
      : null;
  const statuses = nextStatuses(ticket, user);
  const select = h("select", { id: "next-status" }, statuses.map((s) => h("option", { value: s, i18n: `status.${s}` })));
  const move = statuses.length
    ? h(
        "form",
        { cls: "inline-form", on: { submit: (event) => (event.preventDefault(), run(() => api("POST", `/api/tickets/${id}/transition`, { status: select.value }))) } },
        h("label", { for: "next-status", i18n: "ticket.move_to" }),
        select,
        h("button", { type: "submit", i18n: "ticket.move" }),
      )
    : null;
  if (!take && !move) return null;
  return h("section", { cls: "ticket-actions", attrs: { "aria-label": "ticket.actions" } }, take, move, error);
}
