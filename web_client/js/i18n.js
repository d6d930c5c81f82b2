// Message catalogs and the one place that turns a key into text.
// Every translated node carries its key (data-i18n) so a language switch re-renders it in
// place, without rebuilding views that hold live video.

export const LANGUAGES = ["en", "zh-CN"];
const STORAGE_KEY = "teleguide.lang";
const catalogs = {};
let current = "en";
const listeners = new Set();

/** Load every catalog from the static folder. */
export async function loadCatalogs() {
  await Promise.all(
    LANGUAGES.map(async (lang) => {
      const response = await fetch(`/static/i18n/${lang}.json`);
      catalogs[lang] = await response.json();
    }),
  );
}

/** The language to start with: the saved choice, else the browser's, else English. */
export function initialLanguage() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(saved)) return saved;
  return pickLanguage(navigator.language);
}

/** The supported language closest to a BCP 47 tag. */
export function pickLanguage(tag) {
  return String(tag || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

/** The current language. */
export function language() {
  return current;
}

/** Translate a key, filling {name} placeholders from args; a missing key shows itself. */
export function t(key, args = null) {
  const text = catalogs[current]?.[key] ?? catalogs.en?.[key];
  if (text === undefined) {
    console.warn(`missing message ${key}`);
    return key;
  }
  if (!args) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in args ? String(args[name]) : match));
}

/** Tell whether a key exists (for codes sent by the server, e.g. form issues). */
export function has(key) {
  return key in (catalogs.en || {});
}

/** Switch language and re-render every translated node. */
export function setLanguage(lang) {
  current = LANGUAGES.includes(lang) ? lang : "en";
  localStorage.setItem(STORAGE_KEY, current);
  document.documentElement.lang = current;
  refresh(document);
  for (const listener of listeners) listener(current);
}

/** Call fn after every language switch (for text drawn on canvases or charts). */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Bind an element's text to a key (and its args). */
export function bindText(el, key, args = null) {
  el.dataset.i18n = key;
  if (args) el.dataset.i18nArgs = JSON.stringify(args);
  else delete el.dataset.i18nArgs;
  el.textContent = t(key, args);
  return el;
}

/** Bind attributes (aria-label, placeholder, title) to keys. */
export function bindAttrs(el, attrs) {
  el.dataset.i18nAttrs = JSON.stringify(attrs);
  for (const [name, key] of Object.entries(attrs)) el.setAttribute(name, t(key));
  return el;
}

/** Re-render the translated nodes under root. */
export function refresh(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const args = el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : null;
    el.textContent = t(el.dataset.i18n, args);
  }
  for (const el of root.querySelectorAll("[data-i18n-attrs]")) {
    for (const [name, key] of Object.entries(JSON.parse(el.dataset.i18nAttrs))) {
      el.setAttribute(name, t(key));
    }
  }
}
