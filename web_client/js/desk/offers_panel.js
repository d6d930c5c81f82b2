// The presence switch in the header and the offers an expert is asked to take.
import { get } from "../api.js";
import { h, replace, setContent } from "../dom.js";

const PRESENCES = ["online", "busy", "away"];

/** The presence select bound to a desk connection. */
export function presenceSelect(desk) {
  const select = h(
    "select",
    { id: "presence", attrs: { "aria-label": "desk.presence_label" } },
    PRESENCES.map((state) => h("option", { value: state, i18n: `desk.presence_${state}` })),
  );
  select.value = desk.presence;
  select.addEventListener("change", () => desk.setPresence(select.value).catch(() => {}));
  return select;
}

/** Keep ``container`` showing the desk's pending offers, each with accept and decline. */
export function renderOffers(container, desk, navigate) {
  const titles = new Map();
  const draw = () => {
    const items = [...desk.offers.values()].map((offer) => offerCard(offer, desk, navigate, titles, draw));
    replace(container, items);
    container.hidden = items.length === 0;
  };
  desk.addEventListener("change", draw);
  const ticker = setInterval(draw, 1000);
  draw();
  return () => {
    desk.removeEventListener("change", draw);
    clearInterval(ticker);
  };
}

function offerCard(offer, desk, navigate, titles, redraw) {
  if (!titles.has(offer.ticket_id)) {
    titles.set(offer.ticket_id, null);
    get(`/api/tickets/${encodeURIComponent(offer.ticket_id)}`).then(
      (ticket) => {
        titles.set(offer.ticket_id, ticket);
        redraw();
      },
      () => {},
    );
  }
  const ticket = titles.get(offer.ticket_id);
  const left = Math.max(0, Math.round((Date.parse(offer.expires_at) - Date.now()) / 1000));
  const accept = async () => {
    try {
      await desk.accept(offer.offer_id);
      navigate(`/tickets/${offer.ticket_id}`);
    } catch {
      redraw();
    }
  };
  return h(
    "section",
    { cls: "offer-card", attrs: { "aria-label": "desk.offer_title" }, dataset: { offer: offer.offer_id } },
    h("h2", { i18n: "desk.offer_title" }),
    setContent(h("p", { cls: "offer-ticket" }), ticket ? ticket.title : offer.ticket_id),
    ticket ? h("p", { cls: "muted", i18n: `tier.${ticket.tier}` }) : null,
    h("p", { cls: "muted", i18n: "desk.offer_expires", args: { seconds: String(left) } }),
    h(
      "div",
      { cls: "offer-actions" },
      h("button", { type: "button", cls: "primary", i18n: "desk.accept", on: { click: accept } }),
      h("button", { type: "button", i18n: "desk.decline", on: { click: () => desk.decline(offer.offer_id).catch(() => {}) } }),
    ),
  );
}
