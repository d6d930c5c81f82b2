// What the client needs to know about the exercise library of media/analysis
// (media/analysis/exercises.json): the angle each exercise counts reps on, which way it
// moves, and where rest and the working zone start (for the progress meter).

const EXERCISES = {
  squat: { angle: "knee", direction: "decrease", rest: 155, active: 125 },
  sit_to_stand: { angle: "knee", direction: "increase", rest: 115, active: 150 },
  shoulder_abduction: { angle: "shoulder", direction: "increase", rest: 35, active: 70 },
  standing_knee_flexion: { angle: "knee", direction: "decrease", rest: 150, active: 115 },
  straight_leg_raise: { angle: "hip", direction: "decrease", rest: 165, active: 145 },
  elbow_flexion: { angle: "elbow", direction: "decrease", rest: 140, active: 80 },
  lunge: { angle: "knee", direction: "decrease", rest: 155, active: 120 },
};

/** The name of the angle reps are counted on, or the first angle the update carries. */
export function drivingAngle(exercise, angles = {}) {
  return EXERCISES[exercise]?.angle || Object.keys(angles)[0] || null;
}

/** How far (0..1) an angle has gone from rest towards the goal (the target or the working zone). */
export function progressToGoal(exercise, value, target = null) {
  const spec = EXERCISES[exercise] || { direction: "decrease", rest: 180, active: 90 };
  const goal = target ?? spec.active;
  const span = spec.direction === "decrease" ? spec.rest - goal : goal - spec.rest;
  const moved = spec.direction === "decrease" ? spec.rest - value : value - spec.rest;
  return Math.max(0, Math.min(1, moved / Math.max(1, span)));
}

/** Names of the exercises the server can analyse. */
export const EXERCISE_NAMES = Object.keys(EXERCISES);
