// A tiny element builder: translated text, user content and handlers kept apart, so a test
// can tell catalog text from data.
import { bindAttrs, bindText } from "./i18n.js";

/**
 * Create an element.
 * props: cls, i18n (key), args, attrs (i18n keys for attributes), text (user content),
 * on ({event: handler}), and any other attribute by name.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    applyProp(el, name, value, props);
  }
  append(el, children);
  return el;
}

function applyProp(el, name, value, props) {
  if (name === "cls") el.className = value;
  else if (name === "i18n") bindText(el, value, props.args);
  else if (name === "args") return;
  else if (name === "attrs") bindAttrs(el, value);
  else if (name === "text") setContent(el, value);
  else if (name === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
  else if (name === "dataset") Object.assign(el.dataset, value);
  else if (name in el && typeof value !== "string") el[name] = value;
  else el.setAttribute(name, value === true ? "" : value);
}

/** Set text that comes from data (names, titles, numbers), marked as such. */
export function setContent(el, value) {
  el.dataset.content = "";
  el.textContent = String(value);
  return el;
}

/** Append children (nodes, arrays, or nothing). */
export function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** Replace the children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}
