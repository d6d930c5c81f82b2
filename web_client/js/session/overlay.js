// The skeleton drawn over a participant's video from the analysis landmarks
// (33 BlazePose points, x and y normalised to the analysed frame).

// Bones as pairs of landmark indices (shoulders, arms, trunk, legs, feet, face outline).
const BONES = [
  [11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24],
  [23, 25], [25, 27], [24, 26], [26, 28], [27, 29], [29, 31], [27, 31], [28, 30],
  [30, 32], [28, 32], [0, 2], [0, 5], [2, 7], [5, 8],
];
const MIN_VISIBILITY = 0.5;
const STALE_MS = 1500;

/** The rectangle the video picture occupies inside its element (object-fit: contain). */
export function contentRect(video, width, height) {
  const vw = video.videoWidth;
  const vh = video.videoHeight;
  if (!vw || !vh) return { x: 0, y: 0, w: width, h: height };
  const scale = Math.min(width / vw, height / vh);
  const w = vw * scale;
  const h = vh * scale;
  return { x: (width - w) / 2, y: (height - h) / 2, w, h };
}

/** A canvas over a video that shows the newest skeleton and clears itself when stale. */
export class SkeletonOverlay {
  constructor(canvas, video) {
    this.canvas = canvas;
    this.video = video;
    this.landmarks = null;
    this.issues = [];
    this.at = 0;
    this.frame = null;
    this.staleTimer = null;
  }

  /** Show new landmarks (null clears) and the issues active in that frame. */
  update(landmarks, issues = []) {
    this.landmarks = landmarks;
    this.issues = issues;
    this.at = performance.now();
    this.schedule();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frame = null;
    const { canvas, video } = this;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    if (!this.landmarks || performance.now() - this.at > STALE_MS) return;
    const rect = contentRect(video, width, height);
    const point = (i) => {
      const [x, y, visibility] = this.landmarks[i] || [];
      if (visibility === undefined || visibility < MIN_VISIBILITY) return null;
      return [rect.x + x * rect.w, rect.y + y * rect.h];
    };
    drawBones(ctx, point, this.issues.length ? "#ffb000" : "#00e0a0");
    // Redraw once the skeleton is stale, so a lost analysis stream leaves no ghost behind.
    clearTimeout(this.staleTimer);
    this.staleTimer = setTimeout(() => this.schedule(), STALE_MS + 50);
  }

  /** Stop drawing (idempotent). */
  close() {
    if (this.frame) cancelAnimationFrame(this.frame);
    clearTimeout(this.staleTimer);
    this.landmarks = null;
  }
}

function drawBones(ctx, point, color) {
  ctx.lineWidth = 4;
  ctx.lineCap = "round";
  ctx.strokeStyle = color;
  ctx.shadowColor = "rgba(0,0,0,0.7)";
  ctx.shadowBlur = 3;
  for (const [a, b] of BONES) {
    const p = point(a);
    const q = point(b);
    if (!p || !q) continue;
    ctx.beginPath();
    ctx.moveTo(p[0], p[1]);
    ctx.lineTo(q[0], q[1]);
    ctx.stroke();
  }
  ctx.fillStyle = "#ffffff";
  for (let i = 11; i < 33; i += 1) {
    const p = point(i);
    if (!p) continue;
    ctx.beginPath();
    ctx.arc(p[0], p[1], 4, 0, Math.PI * 2);
    ctx.fill();
  }
}
