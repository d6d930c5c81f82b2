// A patient's progress across sessions: range of motion and reps per exercise.
import { get } from "../api.js";
import { barChart, lineChart, setChartWidth } from "../charts.js";
import { h, replace } from "../dom.js";
import { bindText, has, onLanguageChange, t } from "../i18n.js";
import { exerciseFigures } from "../exercise_figures.js";
import { formatDate } from "../format.js";

/** Render the progress page of params.identity. */
export function progressView(main, context, params) {
  const status = h("p", { cls: "muted", role: "status", i18n: "common.loading" });
  const charts = h("div", { cls: "charts" });
  const heading = h("h1", { i18n: "progress.title", args: { patient: params.identity } });
  replace(main, h("section", { cls: "progress" }, heading, status, charts));
  let data = null;
  const draw = () => data && drawCharts(charts, data);
  const unsubscribe = onLanguageChange(draw);
  get(`/api/patients/${encodeURIComponent(params.identity)}/progress`)
    .then((body) => {
      data = body;
      status.hidden = body.sessions.length > 0;
      if (!status.hidden) bindText(status, "progress.empty");
      draw();
    })
    .catch((error) => bindText(status, error.status === 404 ? "progress.empty" : "error.load"));
  return { destroy: unsubscribe };
}

/** The exercises present in any session, and per exercise the points in session order. */
export function progressSeries(body) {
  const sessions = [...body.sessions].sort((a, b) => String(a.ended_at).localeCompare(String(b.ended_at)));
  const names = [...new Set(sessions.flatMap((s) => Object.keys(s.exercises || {})))];
  return names.map((name) => {
    const rows = sessions.filter((s) => s.exercises?.[name]);
    const figures = rows.map((s) => exerciseFigures(s.exercises[name]));
    return {
      name,
      labels: rows.map((s) => formatDate(s.ended_at)),
      rom: figures.map((f) => f.rom),
      reps: figures.map((f) => f.reps),
    };
  });
}

function drawCharts(el, body) {
  // Two columns of charts on wide screens, one on phones (see app.css).
  const columns = window.matchMedia("(min-width: 900px)").matches ? 2 : 1;
  setChartWidth((el.clientWidth - 16 * (columns - 1)) / columns - 34);
  const blocks = progressSeries(body).map((series) => {
    const title = has(`exercise.${series.name}`) ? t(`exercise.${series.name}`) : series.name;
    const heading = has(`exercise.${series.name}`) ? h("h2", { i18n: `exercise.${series.name}` }) : h("h2", { text: series.name });
    return h(
      "section",
      { cls: "panel chart-block", dataset: { exercise: series.name } },
      heading,
      h("h3", { i18n: "progress.rom" }),
      lineChart(`${title}: ${t("progress.rom")}`, series.labels, [{ name: "rom", values: series.rom }]),
      h("h3", { i18n: "progress.reps" }),
      barChart(`${title}: ${t("progress.reps")}`, series.labels, series.reps),
    );
  });
  replace(el, blocks);
}
