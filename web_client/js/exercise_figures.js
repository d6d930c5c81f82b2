// Reading the per-exercise figures the server keeps on tickets (exercise_summary entries and
// the progress API). The analysis writes range_of_motion as an object (min_angle,
// max_angle, mean_range_deg, best_range_deg) and issues as [{code, count}]; the flat form
// (range_of_motion in degrees, issues as {code: count}) is read too.

/** Normalised figures: {reps, rom, bestRom, minAngle, maxAngle, issues: [{code, count}]}. */
export function exerciseFigures(raw = {}) {
  const range = raw.range_of_motion;
  const nested = range !== null && typeof range === "object";
  const minAngle = raw.min_angle ?? (nested ? range.min_angle : null) ?? null;
  const maxAngle = raw.max_angle ?? (nested ? range.max_angle : null) ?? null;
  const span = minAngle !== null && maxAngle !== null ? maxAngle - minAngle : null;
  const rom = nested ? (range.mean_range_deg ?? range.best_range_deg ?? span) : (range ?? span);
  return {
    reps: raw.reps ?? 0,
    rom: rom === null || rom === undefined ? null : Number(rom),
    bestRom: nested ? (range.best_range_deg ?? null) : null,
    minAngle,
    maxAngle,
    issues: issueList(raw.issues),
  };
}

function issueList(issues) {
  if (Array.isArray(issues)) return issues.map((i) => ({ code: i.code, count: i.count ?? 1 }));
  return Object.entries(issues || {}).map(([code, count]) => ({ code, count }));
}
