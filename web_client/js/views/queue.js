// The ticket queue: filters, and each ticket with its live SLA clocks.
import { get } from "../api.js";
import { isStaff } from "../auth.js";
import { h, replace } from "../dom.js";
import { bindText } from "../i18n.js";
import { slaClock, startTicking } from "./sla_clock.js";

export const STATUSES = ["open", "assigned", "in_session", "escalated", "resolved", "callback_done", "closed", "cancelled"];
export const TIERS = ["urgent", "routine", "consult"];
export const KINDS = ["device_fault", "guided_exercise", "onboarding", "consultation"];
const REFRESH_MS = 30000;

/** Render the queue page. */
export function queueView(main, context) {
  const filters = { status: "", tier: "", kind: "" };
  const list = h("ul", { cls: "ticket-list", "data-testid": "ticket-list", "aria-live": "polite" });
  const status = h("p", { cls: "muted", role: "status" });
  const load = () => loadTickets(list, status, filters);
  replace(
    main,
    h(
      "section",
      { cls: "queue" },
      h(
        "div",
        { cls: "page-head" },
        h("h1", { i18n: isStaff(context.user) ? "queue.title" : "queue.my_title" }),
        h("a", { href: "#/tickets/new", cls: "button primary", i18n: "nav.new_ticket" }),
      ),
      h(
        "form",
        { cls: "filters", attrs: { "aria-label": "queue.filters" }, on: { submit: (e) => e.preventDefault() } },
        filterSelect("status", STATUSES, "status", filters, load),
        filterSelect("tier", TIERS, "tier", filters, load),
        filterSelect("kind", KINDS, "ticket_kind", filters, load),
      ),
      status,
      list,
    ),
  );
  load();
  const stopTicking = startTicking(list);
  const refresh = setInterval(load, REFRESH_MS);
  return {
    destroy() {
      stopTicking();
      clearInterval(refresh);
    },
  };
}

function filterSelect(name, values, prefix, filters, onChange) {
  const id = `filter-${name}`;
  const select = h(
    "select",
    { id, name },
    h("option", { value: "", i18n: "filter.all" }),
    values.map((value) => h("option", { value, i18n: `${prefix}.${value}` })),
  );
  select.addEventListener("change", () => {
    filters[name] = select.value;
    onChange();
  });
  return h("div", { cls: "field" }, h("label", { for: id, i18n: `filter.${name}` }), select);
}

async function loadTickets(list, status, filters) {
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
  try {
    const page = await get(`/api/tickets?${query}`);
    status.hidden = page.items.length > 0;
    if (page.items.length === 0) bindText(status, "queue.empty");
    replace(list, page.items.map(ticketItem));
  } catch (error) {
    status.hidden = false;
    bindText(status, "error.load");
  }
}

/** One ticket in a list. */
export function ticketItem(ticket) {
  return h(
    "li",
    { cls: `ticket-item sla-overall-${ticket.sla_state}`, dataset: { ticketId: ticket.id } },
    h("a", { href: `#/tickets/${encodeURIComponent(ticket.id)}`, cls: "ticket-title", text: ticket.title }),
    h(
      "div",
      { cls: "ticket-tags" },
      h("span", { cls: `tag status-${ticket.status}`, i18n: `status.${ticket.status}` }),
      h("span", { cls: `tag tier-${ticket.tier}`, i18n: `tier.${ticket.tier}` }),
      h("span", { cls: "tag", i18n: `ticket_kind.${ticket.kind}` }),
    ),
    h("div", { cls: "sla-clocks" }, ["response", "resolution"].map((name) => slaClock(name, ticket.sla[name]))),
  );
}
