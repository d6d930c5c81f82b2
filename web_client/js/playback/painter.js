// Drawing on the playback overlay: marks in their normalised form (0..1 of the picture,
// widths as fractions of its height) and the sampled skeleton, inside the picture's rectangle.

const DEFAULT_COLOUR = "#ff3b30";
const DEFAULT_WIDTH = 0.006;
// Bones between BlazePose landmark indices: shoulders, arms, trunk, legs, feet.
const BONES = [
  [11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24],
  [23, 25], [25, 27], [24, 26], [26, 28], [27, 29], [29, 31], [28, 30], [30, 32],
];
const MIN_VISIBILITY = 0.5;

/** Draw marks (each {shape}) inside rect {x, y, w, h} of the canvas context. */
export function drawMarks(ctx, rect, marks) {
  for (const { shape } of marks) {
    ctx.save();
    ctx.strokeStyle = ctx.fillStyle = shape.colour || DEFAULT_COLOUR;
    ctx.lineWidth = Math.max(1, (shape.width ?? DEFAULT_WIDTH) * rect.h);
    ctx.lineCap = ctx.lineJoin = "round";
    drawShape(ctx, shape, (p) => [rect.x + p[0] * rect.w, rect.y + p[1] * rect.h], rect);
    ctx.restore();
  }
}

function drawShape(ctx, shape, at, rect) {
  ctx.beginPath();
  if (shape.kind === "stroke") polyline(ctx, shape.points.map(at));
  else if (shape.kind === "arrow") arrow(ctx, at(shape.from), at(shape.to), ctx.lineWidth);
  else if (shape.kind === "rectangle" || shape.kind === "ellipse") box(ctx, shape, at);
  else if (shape.kind === "text") {
    ctx.font = `${Math.round((shape.font_size ?? 0.04) * rect.h)}px sans-serif`;
    ctx.fillText(shape.text, ...at(shape.position));
    return;
  }
  ctx.stroke();
}

function polyline(ctx, points) {
  points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
}

function arrow(ctx, [x0, y0], [x1, y1], width) {
  const angle = Math.atan2(y1 - y0, x1 - x0);
  const head = Math.max(10, width * 4);
  polyline(ctx, [[x0, y0], [x1, y1]]);
  ctx.moveTo(x1 - head * Math.cos(angle - 0.5), y1 - head * Math.sin(angle - 0.5));
  ctx.lineTo(x1, y1);
  ctx.lineTo(x1 - head * Math.cos(angle + 0.5), y1 - head * Math.sin(angle + 0.5));
}

function box(ctx, shape, at) {
  const [x0, y0] = at([Math.min(shape.box.x0, shape.box.x1), Math.min(shape.box.y0, shape.box.y1)]);
  const [x1, y1] = at([Math.max(shape.box.x0, shape.box.x1), Math.max(shape.box.y0, shape.box.y1)]);
  if (shape.kind === "rectangle") ctx.rect(x0, y0, x1 - x0, y1 - y0);
  else ctx.ellipse((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, 0, 0, 2 * Math.PI);
}

/** Draw a skeleton from 33 [x, y, visibility] landmarks inside rect. */
export function drawSkeleton(ctx, rect, landmarks) {
  const seen = (i) => landmarks[i] && (landmarks[i][2] ?? 1) >= MIN_VISIBILITY;
  const at = (i) => [rect.x + landmarks[i][0] * rect.w, rect.y + landmarks[i][1] * rect.h];
  ctx.save();
  ctx.strokeStyle = "#34c759";
  ctx.lineWidth = Math.max(2, rect.h * 0.006);
  ctx.beginPath();
  for (const [a, b] of BONES) {
    if (!seen(a) || !seen(b)) continue;
    ctx.moveTo(...at(a));
    ctx.lineTo(...at(b));
  }
  ctx.stroke();
  ctx.restore();
}
