// Who is shown large: the patient in guided exercise, the trainer for trainees, a grid of
// trainees for the trainer, the other side in remote diagnosis; a spotlight overrides.

const STAFF = new Set(["expert", "trainer", "supervisor", "admin"]);

/** The view this user gets in this kind of session. */
export function viewMode(kind, role) {
  if (kind === "guided_exercise") return role === "patient" ? "patient" : "expert";
  if (kind === "group_onboarding") return role === "trainer" || role === "expert" || role === "admin" ? "trainer" : "trainee";
  return STAFF.has(role) ? "expert" : "patient";
}

/** Split participant ids into main and side tiles: {grid, main, side}. */
export function arrange(kind, mode, selfId, participants, spotlight = null) {
  const everyone = [...participants.values()];
  const others = everyone.filter((p) => p.id !== selfId).map((p) => p.id);
  if (mode === "trainer") {
    return { grid: true, main: others, side: [selfId] };
  }
  let mainId;
  if (spotlight && participants.has(spotlight)) mainId = spotlight;
  else if (mode === "trainee") mainId = pick(everyone, (p) => p.role === "trainer") || pick(everyone, (p) => STAFF.has(p.role) && p.id !== selfId);
  else if (kind === "guided_exercise") mainId = mode === "patient" ? selfId : pick(everyone, (p) => p.role === "patient");
  mainId = mainId || others[0] || selfId;
  const side = everyone.map((p) => p.id).filter((id) => id !== mainId);
  return { grid: false, main: [mainId], side };
}

function pick(list, predicate) {
  return list.find(predicate)?.id;
}
