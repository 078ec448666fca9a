// Keyboard of the workstation (spec §8): the reader's key map (server defaults, editable), matched on
// KeyboardEvent.key for letters/named keys (any case) and on KeyboardEvent.code for digits (Digit0–9 and
// Numpad0–9: AZERTY top-row digits need Shift, so .key is never used for them).

// Decision keys (F8 a): inert during the lock-out, never decided by an auto-repeated event.
export const DECISION_ACTIONS = new Set(["normal", "anomaly", "cti", "skip", "defer", "commit"]);
// Keys that record or commit a verdict (F8 b): they also wait for lossless pixels.
export const VERDICT_ACTIONS = new Set(["normal", "commit"]);

// Viewer keys forwarded to the viewer (CONTRACT.md): stage numbers of §3 H8 and viewer.action() names.
export const STAGE_KEYS = { stage_4up: 2, stage_cc: 3, stage_mlo: 4, stage_cc_prior: 5, home: 2, decision: 9 };
export const VIEWER_ACTIONS = new Set([
  "fit", "one_to_one", "magnifier", "measure", "preset", "reset_wl", "invert", "flicker", "overlays",
  "zoom_in", "zoom_out",
]);

/** The digit a key event stands for, from its physical key (code), else null. */
export function digitOf(event) {
  const match = /^(?:Digit|Numpad)([0-9])$/.exec(event.code || "");
  return match ? Number(match[1]) : null;
}

/** Does this key event trigger this binding of the key map? */
export function bindingMatches(binding, event) {
  if (!binding) return false;
  const digit = /^Digit([0-9])$/.exec(binding);
  if (digit) return digitOf(event) === Number(digit[1]);
  if (/^Numpad/.test(binding)) return event.code === binding;
  if (binding.length === 1) {
    if (/[0-9]/.test(binding)) return digitOf(event) === Number(binding);
    return (event.key || "").toLowerCase() === binding.toLowerCase();
  }
  return event.key === binding;
}

/** The action of the key map bound to this event, or null. Browser shortcuts (Ctrl/Alt/Meta) stay unbound. */
export function actionFor(keymap, event) {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  if (event.code === "NumpadAdd") return "zoom_in";
  if (event.code === "NumpadSubtract") return "zoom_out";
  for (const [action, binding] of Object.entries(keymap)) {
    if (bindingMatches(binding, event)) return action === "next_stage_alt" ? "next_stage" : action;
  }
  return null;
}

/** Ctrl+Z (or Cmd+Z), whatever the layout: the physical key under the letter Z on AZERTY is "KeyW". */
export function isUndo(event) {
  return (event.ctrlKey || event.metaKey) && !event.altKey && (event.key || "").toLowerCase() === "z";
}

/** Keys sleep while a form field has the focus (typing a comment never decides anything). */
export function isFormField(element) {
  if (!element || element === document.body) return false;
  if (element.isContentEditable) return true;
  const tag = element.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  return !["checkbox", "radio", "button", "submit", "reset", "range"].includes(element.type);
}

/** A letter A–G typed on the finding card (lesion type), or null. */
export function lesionLetter(event) {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  const key = (event.key || "").toUpperCase();
  return /^[A-G]$/.test(key) ? key : null;
}
