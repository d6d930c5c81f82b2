// The top bar: product name, navigation, language switch, who is signed in.
import { isStaff } from "../auth.js";
import { presenceSelect } from "../desk/offers_panel.js";
import { h, replace } from "../dom.js";
import { LANGUAGES, language, setLanguage } from "../i18n.js";

/** Render the header for the current user. */
export function renderHeader(el, context) {
  const user = context.user;
  replace(
    el,
    h("a", { cls: "brand", href: "#/queue", i18n: "app.name" }),
    user ? navigation(user) : null,
    h(
      "div",
      { cls: "header-tools" },
      context.desk ? presenceSelect(context.desk) : null,
      languageSelect(),
      user ? userBadge(user, context) : null,
    ),
  );
}

function navigation(user) {
  const links = [h("a", { href: "#/queue", i18n: isStaff(user) ? "nav.queue" : "nav.my_tickets" })];
  links.push(h("a", { href: "#/tickets/new", i18n: "nav.new_ticket" }));
  if (!isStaff(user)) {
    links.push(h("a", { href: `#/progress/${encodeURIComponent(user.identity)}`, i18n: "nav.progress" }));
  }
  // The server lets supervisors and admins read the SLA report (access.ASSIGNERS).
  if (["supervisor", "admin"].includes(user.role)) links.push(h("a", { href: "#/reports/sla", i18n: "nav.sla_report" }));
  return h("nav", { cls: "main-nav", attrs: { "aria-label": "nav.label" } }, links);
}

function languageSelect() {
  const select = h(
    "select",
    { id: "language", attrs: { "aria-label": "nav.language" } },
    LANGUAGES.map((lang) => h("option", { value: lang, i18n: `lang.${lang}` })),
  );
  select.value = language();
  select.addEventListener("change", () => setLanguage(select.value));
  return select;
}

function userBadge(user, context) {
  return h(
    "div",
    { cls: "user-badge" },
    h("span", { cls: "user-name", text: user.name }),
    h("span", { cls: "role-tag", i18n: `role.${user.role}` }),
    h("button", { type: "button", cls: "link", i18n: "nav.sign_out", on: { click: () => context.signOut() } }),
  );
}
