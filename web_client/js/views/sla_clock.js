// Live SLA countdowns. The server reports each clock's state and deadline; between
// refreshes the countdown runs in wall time towards due_at (what a person at the desk
// reads as "due in"), while the state colour comes from the server, which measures working
// time.
import { h } from "../dom.js";
import { bindText, onLanguageChange } from "../i18n.js";
import { formatDuration } from "../format.js";

const RUNNING = new Set(["on_track", "at_risk", "breached"]);

/** A clock element for one named SLA clock of a ticket. */
export function slaClock(name, clock) {
  const time = h("span", { cls: "sla-time", "data-testid": `sla-${name}` });
  const el = h(
    "span",
    { cls: `sla sla-${clock.state}`, dataset: { clock: name } },
    h("span", { cls: "sla-name", i18n: `sla.${name}` }),
    h("span", { cls: "sla-state", i18n: `sla_state.${clock.state}` }),
    time,
  );
  el.tick = (nowMs) => tickClock(time, clock, nowMs);
  el.tick(Date.now());
  return el;
}

function tickClock(el, clock, nowMs) {
  if (!RUNNING.has(clock.state) || !clock.due_at) {
    el.hidden = true;
    return;
  }
  const seconds = (Date.parse(clock.due_at) - nowMs) / 1000;
  el.hidden = false;
  el.dataset.seconds = String(Math.round(seconds));
  bindText(el, seconds >= 0 ? "sla.due_in" : "sla.overdue", { time: formatDuration(seconds) });
}

/** Tick every clock under root once a second (and at once after a language switch). */
export function startTicking(root) {
  const tick = () => {
    const now = Date.now();
    for (const el of root.querySelectorAll(".sla")) el.tick?.(now);
  };
  const timer = setInterval(tick, 1000);
  const unsubscribe = onLanguageChange(tick);
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}
