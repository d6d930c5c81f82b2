// Formatting of times and durations in the current language.
import { language, onLanguageChange, t } from "./i18n.js";

const STYLES = {
  datetime: { dateStyle: "medium", timeStyle: "short" },
  date: { month: "short", day: "numeric" },
  time: { hour: "2-digit", minute: "2-digit" },
};

/** A date-time for humans, in the current language. */
export function formatDateTime(iso, style = "datetime") {
  if (!iso) return "";
  return new Date(iso).toLocaleString(language(), STYLES[style]);
}

/** A short date, for chart axes. */
export function formatDate(iso) {
  return formatDateTime(iso, "date");
}

/** A <time> element that follows language switches. */
export function timeElement(iso, style = "datetime") {
  const el = document.createElement("time");
  el.dateTime = iso;
  el.dataset.style = style;
  el.dataset.content = "";
  el.textContent = formatDateTime(iso, style);
  return el;
}

onLanguageChange(() => {
  for (const el of document.querySelectorAll("time[data-style]")) {
    el.textContent = formatDateTime(el.dateTime, el.dataset.style);
  }
});

/** "1 h 05 min" style duration of a number of seconds (sign dropped). */
export function formatDuration(seconds) {
  const { key, args } = durationMessage(seconds);
  return t(key, args);
}

/** The catalog key and arguments of a duration, for nodes bound with bindText. */
export function durationMessage(seconds) {
  const s = Math.max(0, Math.floor(Math.abs(seconds)));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = s % 60;
  if (days > 0) return { key: "duration.dh", args: { d: days, h: hours } };
  if (hours > 0) {
    return { key: "duration.hm", args: { h: hours, m: String(minutes).padStart(2, "0") } };
  }
  return { key: "duration.ms", args: { m: minutes, s: String(secs).padStart(2, "0") } };
}
