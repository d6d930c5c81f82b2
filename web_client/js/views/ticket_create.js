// Opening a ticket: kind, tier, title, description, device, patient, language, targets.
import { post } from "../api.js";
import { isStaff } from "../auth.js";
import { h, replace } from "../dom.js";
import { bindText, language } from "../i18n.js";
import { KINDS, TIERS } from "./queue.js";

/** Render the new-ticket form. */
export function ticketCreateView(main, context) {
  const user = context.user;
  const staff = isStaff(user);
  const error = h("p", { cls: "form-error", role: "alert", hidden: true });
  const form = h(
    "form",
    { cls: "panel ticket-form", novalidate: true },
    h("h1", { i18n: "create.title" }),
    field("kind", "create.kind", select("kind", KINDS, "ticket_kind", "guided_exercise")),
    field("tier", "create.tier", select("tier", TIERS, "tier", "routine")),
    field("title", "create.ticket_title", h("input", { id: "title", name: "title", required: true, maxlength: 200 })),
    field("description", "create.description", h("textarea", { id: "description", name: "description", rows: 4 })),
    h(
      "fieldset",
      {},
      h("legend", { i18n: "create.device" }),
      field("device_model", "create.device_model", h("input", { id: "device_model", name: "device_model", maxlength: 120 })),
      field("device_serial", "create.device_serial", h("input", { id: "device_serial", name: "device_serial", maxlength: 120 })),
    ),
    staff ? field("patient", "create.patient", h("input", { id: "patient", name: "patient", maxlength: 128 })) : null,
    field("language", "create.language", select("language", ["en", "zh-CN"], "lang", language())),
    h(
      "fieldset",
      {},
      h("legend", { i18n: "create.squat_target" }),
      field("target_angle", "create.target_angle", h("input", { id: "target_angle", name: "target_angle", type: "number", min: 0, max: 180 })),
      field("target_reps", "create.target_reps", h("input", { id: "target_reps", name: "target_reps", type: "number", min: 1, max: 500 })),
      field("target_sets", "create.target_sets", h("input", { id: "target_sets", name: "target_sets", type: "number", min: 1, max: 50 })),
    ),
    error,
    h("button", { type: "submit", cls: "primary", i18n: "create.submit" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = ticketBody(new FormData(form), user, staff);
    if (!body.title) return showError(error, "create.title_required");
    try {
      const ticket = await post("/api/tickets", body);
      context.navigate(`/tickets/${encodeURIComponent(ticket.id)}`);
    } catch (failure) {
      showError(error, failure.status === 422 || failure.status === 400 ? "create.invalid" : "error.save");
    }
  });
  replace(main, form);
  return {};
}

function field(id, key, control) {
  return h("div", { cls: "field" }, h("label", { for: id, i18n: key }), control);
}

function select(id, values, prefix, initial) {
  const el = h("select", { id, name: id }, values.map((v) => h("option", { value: v, i18n: `${prefix}.${v}` })));
  el.value = initial;
  return el;
}

function showError(el, key) {
  bindText(el, key);
  el.hidden = false;
}

/** The POST /api/tickets body of the form's values. */
export function ticketBody(data, user, staff) {
  const text = (name) => String(data.get(name) || "").trim();
  const body = {
    kind: text("kind"),
    tier: text("tier"),
    title: text("title"),
    description: text("description"),
    language: text("language") || "en",
  };
  if (text("device_model") && text("device_serial")) body.device = { model: text("device_model"), serial: text("device_serial") };
  if (staff && text("patient")) body.patient = text("patient");
  if (user.role === "patient") body.patient = user.identity;
  const target = {};
  for (const [name, key] of [["target_angle", "target_angle"], ["target_reps", "reps"], ["target_sets", "sets"]]) {
    if (text(name)) target[key] = Number(text(name));
  }
  if (Object.keys(target).length) body.targets = { squat: target };
  return body;
}
