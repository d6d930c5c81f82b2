// The weekly SLA report for supervisors: pick a week; attainment by tier, volumes by kind,
// medians, breaches and survey scores as bars and figures; the same report as CSV.
import { get } from "../api.js";
import { barChart, setChartWidth } from "../charts.js";
import { h, replace } from "../dom.js";
import { bindText, onLanguageChange, t } from "../i18n.js";

/** Render the SLA report page. */
export function slaReportView(main, context) {
  const week = h("input", { type: "date", id: "sla-week", value: new Date().toISOString().slice(0, 10) });
  const csv = h("a", { cls: "button", i18n: "sla.csv", hidden: true, "data-testid": "sla-csv" });
  const status = h("p", { cls: "muted", role: "status", "data-testid": "sla-status", i18n: "common.loading" });
  const content = h("div", { cls: "sla-content" });
  const picker = h("div", { cls: "sla-picker" }, h("label", { for: "sla-week", i18n: "sla.week" }), week, csv);
  replace(main, h("section", { cls: "sla-report" }, h("h1", { i18n: "sla.title" }), picker, status, content));
  let report = null;
  const draw = () => report && drawReport(content, report);
  const unsubscribe = onLanguageChange(draw);
  const load = async () => {
    report = null;
    replace(content);
    status.hidden = false;
    bindText(status, "common.loading");
    try {
      report = await get(`/api/reports/sla?week=${encodeURIComponent(week.value)}`);
      status.hidden = report.tickets.total > 0;
      status.dataset.state = status.hidden ? "ready" : "empty";
      if (!status.hidden) bindText(status, "sla.empty");
      draw();
      await offerCsv(csv, week.value, context.user?.token);
    } catch (error) {
      status.dataset.state = "error";
      bindText(status, error.status === 403 ? "sla.forbidden" : "error.load");
    }
  };
  week.addEventListener("change", load);
  load();
  return {
    destroy() {
      unsubscribe();
      if (csv.href) URL.revokeObjectURL(csv.href);
    },
  };
}

/** Fetch the CSV with the bearer token and offer it as a file (a plain link has no token). */
async function offerCsv(link, week, token) {
  const response = await fetch(`/api/reports/sla.csv?week=${encodeURIComponent(week)}`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) return;
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(await response.blob());
  link.download = `sla-week-${week}.csv`;
  link.hidden = false;
}

const TIERS = ["urgent", "routine", "consult"];
const KINDS = ["device_fault", "guided_exercise", "onboarding", "consultation"];

function drawReport(el, report) {
  const columns = window.matchMedia("(min-width: 900px)").matches ? 2 : 1;
  setChartWidth((el.clientWidth - 16 * (columns - 1)) / columns - 34);
  const blocks = [
    attainmentBlock(report, "response", "sla.response_by_tier"),
    attainmentBlock(report, "resolution", "sla.resolution_by_tier"),
    chartBlock("kinds", "sla.tickets_by_kind", KINDS.map((k) => t(`ticket_kind.${k}`)), KINDS.map((k) => report.tickets.by_kind?.[k] ?? 0)),
    chartBlock("breaches", "sla.breaches", ["response", "resolution", "callback"].map((c) => t(`sla.clock_${c}`)), ["response", "resolution", "callback"].map((c) => report.breaches[c])),
    chartBlock("surveys", "sla.survey_scores", ["1", "2", "3", "4", "5"], ["1", "2", "3", "4", "5"].map((s) => report.surveys.distribution[s] ?? 0)),
  ];
  replace(el, figures(report), h("div", { cls: "charts" }, blocks));
}

/** Attainment per tier, for the tiers with a decided clock (no bar rather than a false 0). */
function attainmentBlock(report, clock, key) {
  const decided = TIERS.filter((tier) => report.by_tier?.[tier]?.[clock]?.attainment_pct != null);
  if (decided.length === 0) {
    return h("section", { cls: "panel chart-block", dataset: { chart: clock } }, h("h2", { i18n: key }), h("p", { cls: "muted", i18n: "sla.no_decided" }));
  }
  const values = decided.map((tier) => report.by_tier[tier][clock].attainment_pct);
  return chartBlock(clock, key, decided.map((tier) => t(`tier.${tier}`)), values, 100);
}

function chartBlock(name, key, labels, values, fixedMax = null) {
  return h("section", { cls: "panel chart-block", dataset: { chart: name } }, h("h2", { i18n: key }), barChart(t(key), labels, values, fixedMax));
}

function figures(report) {
  const rows = [
    ["tickets", "sla.tickets_total", report.tickets.total],
    ["response_pct", "sla.response_pct", report.response.attainment_pct],
    ["resolution_pct", "sla.resolution_pct", report.resolution.attainment_pct],
    ["response_median", "sla.response_median_min", report.response.median_minutes],
    ["resolution_median", "sla.resolution_median_h", report.resolution.median_hours],
    ["breaches", "sla.breaches_total", report.breaches.total],
    ["survey_mean", "sla.survey_mean", report.surveys.mean_score],
    ["survey_answered", "sla.survey_answered", report.surveys.answered],
  ];
  return h(
    "dl",
    { cls: "sla-figures", "data-testid": "sla-figures" },
    rows.flatMap(([name, key, value]) => [
      h("dt", { i18n: key }),
      value == null ? h("dd", { dataset: { figure: name }, i18n: "sla.none" }) : h("dd", { dataset: { figure: name }, text: String(value) }),
    ]),
  );
}
