// The page for an unknown address.
import { h, replace } from "../dom.js";

/** Render the not-found page. */
export function notFoundView(main) {
  replace(
    main,
    h(
      "section",
      { cls: "panel" },
      h("h1", { i18n: "notfound.title" }),
      h("a", { href: "#/queue", i18n: "nav.queue" }),
    ),
  );
  return {};
}
