// Spoken cues for patients (Web Speech API where the browser has it).

/** Tell whether this browser can speak. */
export function canSpeak() {
  return typeof window.speechSynthesis !== "undefined" && typeof SpeechSynthesisUtterance !== "undefined";
}

/** Say text in a language, replacing anything still being said (cues go stale fast). */
export function speak(text, lang) {
  if (!canSpeak()) return false;
  window.speechSynthesis.cancel();
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = lang;
  utterance.rate = 0.9;
  window.speechSynthesis.speak(utterance);
  return true;
}

/** Stop speaking. */
export function hush() {
  if (canSpeak()) window.speechSynthesis.cancel();
}
