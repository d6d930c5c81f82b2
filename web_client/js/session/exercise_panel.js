// Rep counter, current angle against the target, latest form cue and (for experts) the
// per-rep table, fed by the analysis updates of one participant's video.
import { h, replace, setContent } from "../dom.js";
import { bindText, has } from "../i18n.js";
import { EXERCISE_NAMES, drivingAngle, progressToGoal } from "./exercises.js";
import { canSpeak, hush, speak } from "./speech.js";

/** The exercise figures of one patient; mode is "patient" (large, spoken) or "expert". */
export class ExercisePanel {
  constructor(mode) {
    this.mode = mode;
    this.choice = null;
    this.speaking = mode === "patient" && canSpeak();
    this.lastRep = 0;
    this.el = h("section", { cls: `exercise-panel ${mode}`, "aria-labelledby": "exercise-title" });
    this.build();
  }

  build() {
    this.title = h("h2", { id: "exercise-title", i18n: "exercise.waiting" });
    this.reps = h("span", { cls: "rep-count", "data-testid": "rep-count", text: "0" });
    this.repsTarget = h("span", { cls: "rep-target" });
    this.set = h("p", { cls: "set-progress", hidden: true });
    this.angleLabel = h("span", { cls: "angle-label", i18n: "angle.current" });
    this.angleValue = h("span", { cls: "angle-value", "data-testid": "angle-value", text: "–" });
    this.angleTarget = h("span", { cls: "angle-target", hidden: true });
    this.meter = h("div", { cls: "angle-meter-fill" });
    this.cue = h("p", { cls: "cue", "data-testid": "cue", "aria-live": this.mode === "patient" ? "assertive" : "polite" });
    this.form = h("p", { cls: "form-status", "data-testid": "form-status" });
    this.table = h("tbody");
    replace(
      this.el,
      this.title,
      h("div", { cls: "rep-box" }, h("span", { cls: "rep-label", i18n: "exercise.reps" }), h("span", { cls: "rep-figures" }, this.reps, this.repsTarget)),
      this.set,
      h("div", { cls: "angle-box" }, this.angleLabel, this.angleValue, this.angleTarget),
      h("div", { cls: "angle-meter", "aria-hidden": "true" }, this.meter),
      this.form,
      this.cue,
      this.mode === "patient" ? this.speechToggle() : this.repTable(),
    );
  }

  /** Offer a choice of exercise (to moderators); onChoose(name) asks the server. */
  enableChooser(onChoose) {
    if (this.choice) return;
    const select = h(
      "select",
      { id: "exercise-choice" },
      EXERCISE_NAMES.map((name) => h("option", { value: name, i18n: `exercise.${name}` })),
    );
    select.addEventListener("change", () => onChoose(select.value));
    this.choice = select;
    const field = h("div", { cls: "field exercise-choice" }, h("label", { for: "exercise-choice", i18n: "exercise.choose" }), select);
    this.title.after(field);
  }

  /** Start over after the exercise changed (reps are counted per exercise). */
  reset(exercise) {
    this.lastRep = 0;
    this.targetAngle = undefined;
    this.table.replaceChildren();
    this.repsTarget.textContent = "";
    this.set.hidden = true;
    this.angleTarget.hidden = true;
    setContent(this.reps, 0);
    setContent(this.cue, "");
    if (this.choice) this.choice.value = exercise;
  }

  speechToggle() {
    if (!canSpeak()) return null;
    const button = h("button", { type: "button", cls: "toggle", "aria-pressed": "true", i18n: "exercise.speech_on" });
    button.addEventListener("click", () => {
      this.speaking = !this.speaking;
      if (!this.speaking) hush();
      button.setAttribute("aria-pressed", String(this.speaking));
      bindText(button, this.speaking ? "exercise.speech_on" : "exercise.speech_off");
    });
    return button;
  }

  repTable() {
    const headings = ["rep.index", "rep.min", "rep.max", "rep.range", "rep.down", "rep.up", "rep.issues"];
    return h(
      "div",
      { cls: "table-scroll" },
      h(
        "table",
        { cls: "rep-table", "data-testid": "rep-table" },
        h("caption", { i18n: "rep.caption" }),
        h("thead", {}, h("tr", {}, headings.map((key) => h("th", { scope: "col", i18n: key })))),
        this.table,
      ),
    );
  }

  /** Show one analysis update. */
  update(update) {
    const exerciseKey = `exercise.${update.exercise}`;
    if (has(exerciseKey)) bindText(this.title, exerciseKey);
    else setContent(this.title, update.exercise);
    if (this.choice && document.activeElement !== this.choice) this.choice.value = update.exercise;
    setContent(this.reps, update.reps);
    this.showTarget(update.target);
    this.showAngle(update);
    this.showForm(update);
    this.showCue(update);
    if (update.rep && update.rep.index > this.lastRep) this.addRep(update.rep, update.rep_issues || []);
  }

  showTarget(target) {
    if (target?.reps_target) setContent(this.repsTarget, ` / ${target.reps_target}`);
    if (target?.sets_target && target.reps_per_set) {
      const set = Math.min(target.sets_done + 1, target.sets_target);
      bindText(this.set, "exercise.set_progress", { set, sets: target.sets_target, rep: target.reps_in_set, per: target.reps_per_set });
      this.set.hidden = false;
    }
    if (target?.target_angle != null) {
      bindText(this.angleTarget, "angle.target", { deg: Math.round(target.target_angle) });
      this.angleTarget.hidden = false;
      this.targetAngle = target.target_angle;
    }
  }

  showAngle(update) {
    const name = drivingAngle(update.exercise, update.angles);
    const value = name ? update.angles?.[name] : undefined;
    bindText(this.angleLabel, has(`angle.${name}`) ? `angle.${name}` : "angle.current");
    if (value === undefined) return setContent(this.angleValue, "–");
    setContent(this.angleValue, `${Math.round(value)}°`);
    const fill = progressToGoal(update.exercise, value, this.targetAngle);
    this.meter.style.width = `${Math.round(fill * 100)}%`;
    this.meter.classList.toggle("reached", fill >= 1);
  }

  showForm(update) {
    if (update.notice) return bindText(this.form, `notice.${update.notice}`);
    const issues = update.issues || [];
    this.form.classList.toggle("bad", issues.length > 0);
    if (issues.length === 0) return bindText(this.form, "form.good");
    bindText(this.form, has(`issue.${issues[0]}`) ? `issue.${issues[0]}` : "form.check");
  }

  showCue(update) {
    if (!update.cue) return;
    setContent(this.cue, update.cue.text);
    this.cue.lang = update.cue.language;
    if (this.speaking) speak(update.cue.text, update.cue.language);
  }

  addRep(rep, issues) {
    this.lastRep = rep.index;
    if (this.mode !== "expert") return;
    const fmt = (value, digits = 0) => (value == null ? "–" : Number(value).toFixed(digits));
    const range = rep.range_deg ?? rep.max_angle - rep.min_angle;
    const issueCell = h("td", {});
    if (issues.length === 0) bindText(issueCell, "form.good");
    else issueCell.append(...issues.map((code) => h("span", { cls: "issue-tag", i18n: has(`issue.${code}`) ? `issue.${code}` : "form.check" })));
    this.table.prepend(
      h(
        "tr",
        {},
        h("td", { text: rep.index }),
        h("td", { text: `${fmt(rep.min_angle)}°` }),
        h("td", { text: `${fmt(rep.max_angle)}°` }),
        h("td", { text: `${fmt(range)}°` }),
        h("td", { text: fmt(rep.down_s, 1) }),
        h("td", { text: fmt(rep.up_s, 1) }),
        issueCell,
      ),
    );
  }

  /** Stop speaking (idempotent). */
  close() {
    hush();
  }
}
