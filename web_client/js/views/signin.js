// Sign-in: paste a token, or pick a demo identity when the server runs with --demo.
import { decodeToken, isExpired } from "../auth.js";
import { h, replace } from "../dom.js";
import { bindText } from "../i18n.js";

/** Render the sign-in page; options.expired explains why the user is back here. */
export function signInView(main, context, options) {
  const error = h("p", { cls: "form-error", role: "alert", hidden: true });
  const input = h("textarea", {
    id: "token-input",
    rows: 3,
    autocomplete: "off",
    spellcheck: "false",
    attrs: { placeholder: "signin.token_placeholder" },
  });
  const target = options.next || "/queue";
  const submit = (event) => {
    event.preventDefault();
    const user = decodeToken(input.value.trim());
    if (!user) return showError(error, "signin.invalid");
    if (isExpired(user)) return showError(error, "signin.expired");
    context.signIn(user.token, target);
  };
  const demos = h("section", { cls: "panel demo-panel", hidden: true, "aria-labelledby": "demo-title" });
  replace(
    main,
    h(
      "div",
      { cls: "signin" },
      options.expired ? h("p", { cls: "notice warn", role: "alert", i18n: "signin.expired_notice" }) : null,
      h(
        "form",
        { cls: "panel", on: { submit } },
        h("h1", { i18n: "signin.title" }),
        h("label", { for: "token-input", i18n: "signin.token_label" }),
        input,
        error,
        h("button", { type: "submit", cls: "primary", i18n: "signin.submit" }),
      ),
      demos,
    ),
  );
  loadDemoIdentities(demos, context, target);
  return {};
}

function showError(el, key) {
  bindText(el, key);
  el.hidden = false;
}

async function loadDemoIdentities(section, context, target) {
  let identities;
  try {
    const response = await fetch("/api/demo/identities");
    if (!response.ok) return;
    identities = await response.json();
  } catch {
    return;
  }
  const buttons = identities.map((identity) =>
    h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          cls: "demo-identity",
          dataset: { identity: identity.identity },
          on: { click: () => context.signIn(identity.token, target) },
        },
        h("span", { cls: "demo-name", text: identity.name }),
        h("span", { cls: "role-tag", i18n: `role.${identity.role}` }),
      ),
    ),
  );
  replace(section, h("h2", { id: "demo-title", i18n: "signin.demo_title" }), h("ul", { cls: "demo-list" }, buttons));
  section.hidden = false;
}
