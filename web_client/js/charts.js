// Small SVG charts (no library): a line chart of range of motion and a bar chart of reps.

const NS = "http://www.w3.org/2000/svg";
const H = 220;
const PAD = { left: 40, right: 16, top: 18, bottom: 30 };
// Charts are drawn at the width they are shown at, so their text stays readable on phones.
let W = 640;

/** Draw the next charts this many CSS pixels wide. */
export function setChartWidth(width) {
  W = Math.max(280, Math.round(width));
}

/** A round axis maximum above value, in four equal steps of 1, 2 or 5 times a power of ten. */
export function niceMax(value, minimum) {
  const raw = Math.max(value, minimum) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step * 4;
}

function svg(tag, attrs = {}, text = null) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== null) {
    el.textContent = text;
    el.dataset.content = "";
  }
  return el;
}

function frame(title, maxValue, labels, position = xAt) {
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, class: "chart" });
  const plotH = H - PAD.top - PAD.bottom;
  for (let i = 0; i <= 4; i += 1) {
    const value = (maxValue * i) / 4;
    const y = PAD.top + plotH - (plotH * i) / 4;
    root.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, String(Math.round(value))));
  }
  labels.forEach((label, i) => {
    root.append(svg("text", { x: position(i, labels.length), y: H - 12, "text-anchor": "middle", class: "axis" }, label));
  });
  return root;
}

function xAt(i, n) {
  const plotW = W - PAD.left - PAD.right;
  return PAD.left + (n <= 1 ? plotW / 2 : (plotW * i) / (n - 1));
}

/** Bars sit in the middle of equal slots; their labels must too. */
function slotCentre(i, n) {
  const slot = (W - PAD.left - PAD.right) / Math.max(1, n);
  return PAD.left + slot * i + slot / 2;
}

function yAt(value, maxValue) {
  const plotH = H - PAD.top - PAD.bottom;
  return PAD.top + plotH - (plotH * value) / Math.max(1, maxValue);
}

/** A line chart: series is [{name, values: [number|null]}], labels one per x position. */
export function lineChart(title, labels, series) {
  const all = series.flatMap((s) => s.values).filter((v) => v != null);
  const maxValue = niceMax(Math.max(...all, 0), 20);
  const root = frame(title, maxValue, labels);
  series.forEach((s, k) => {
    const points = s.values.map((v, i) => (v == null ? null : [xAt(i, labels.length), yAt(v, maxValue)]));
    const path = points.filter(Boolean).map((p, i) => `${i ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(" ");
    root.append(svg("path", { d: path, class: `series series-${k}` }));
    for (const p of points.filter(Boolean)) root.append(svg("circle", { cx: p[0], cy: p[1], r: 4, class: `series-${k}` }));
  });
  return root;
}

/** A bar chart of one value per label; ``fixedMax`` pins the scale (100 for percentages). */
export function barChart(title, labels, values, fixedMax = null) {
  const maxValue = fixedMax ?? niceMax(Math.max(...values, 0), 4);
  const root = frame(title, maxValue, labels, slotCentre);
  const slot = (W - PAD.left - PAD.right) / Math.max(1, labels.length);
  values.forEach((v, i) => {
    const x = slotCentre(i, labels.length);
    const y = yAt(v, maxValue);
    const width = Math.min(40, slot * 0.6);
    root.append(svg("rect", { x: x - width / 2, y, width, height: H - PAD.bottom - y, class: "bar" }));
    root.append(svg("text", { x, y: y - 4, "text-anchor": "middle", class: "value" }, String(v)));
  });
  return root;
}
