// The satisfaction survey a patient or clinic opens from the link in the after-service email.
// No sign-in: the one-time token in the address is the credential.
import { ApiError, get, post } from "../api.js";
import { h, replace, setContent } from "../dom.js";

/** Render the survey of ``token``. */
export function surveyView(main, token) {
  const path = `/api/survey/${encodeURIComponent(token)}`;
  replace(main, h("section", { cls: "panel survey" }, h("p", { cls: "muted", i18n: "survey.loading" })));
  get(path).then(
    (form) => (form.answered ? done(main, "survey.already_answered") : ask(main, path, form)),
    (error) => done(main, messageFor(error)),
  );
  return {};
}

function ask(main, path, form) {
  const status = h("p", { cls: "form-error", role: "alert" });
  const comment = h("textarea", { id: "survey-comment", maxLength: 2000, rows: 4 });
  const scores = [1, 2, 3, 4, 5].map((score) =>
    h(
      "label",
      { cls: "survey-score" },
      h("input", { type: "radio", name: "score", value: String(score), required: score === 1 }),
      h("span", { i18n: `survey.score_${score}` }),
    ),
  );
  const submit = async (event) => {
    event.preventDefault();
    const chosen = main.querySelector("input[name=score]:checked");
    if (!chosen) return;
    try {
      await post(path, { score: Number(chosen.value), comment: comment.value.trim() });
      done(main, "survey.thanks");
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) done(main, messageFor(error));
      else status.replaceChildren(h("span", { i18n: "survey.failed" }));
    }
  };
  replace(
    main,
    h(
      "form",
      { cls: "panel survey", on: { submit } },
      h("h1", { i18n: "survey.title" }),
      setContent(h("p", { cls: "survey-ticket" }), form.title),
      h("fieldset", {}, h("legend", { i18n: "survey.question" }), scores),
      h("label", { for: "survey-comment", i18n: "survey.comment" }),
      comment,
      status,
      h("button", { type: "submit", cls: "primary", i18n: "survey.send" }),
    ),
  );
}

function done(main, key) {
  replace(main, h("section", { cls: "panel survey" }, h("h1", { i18n: "survey.title" }), h("p", { cls: "survey-result", i18n: key })));
}

function messageFor(error) {
  if (error instanceof ApiError && error.code === "survey_used") return "survey.already_answered";
  if (error instanceof ApiError && error.code === "survey_expired") return "survey.expired";
  if (error instanceof ApiError && error.status === 404) return "survey.not_found";
  return "survey.failed";
}
