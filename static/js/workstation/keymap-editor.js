// Key capture on the reader's key map page (/lecture/preferences/, spec §8). "Modifier" puts a row in capture
// mode: the next key pressed becomes its binding, named as keys.js matches it (letters by KeyboardEvent.key in
// lower case, digits by KeyboardEvent.code Digit0–9 / Numpad0–9, named keys by .key). Keys needing Shift or
// AltGr on AZERTY, browser keys and keys already used are refused at once. Without JavaScript the page is a
// plain form with a text field per key; here we only fill those fields, and the server checks them again.

const MODIFIERS = new Set([
  "Shift", "Control", "Alt", "AltGraph", "Meta", "OS", "Super", "Hyper", "Fn", "CapsLock", "NumLock", "ScrollLock",
]);

const form = document.getElementById("prefs-form");
const rules = JSON.parse(document.getElementById("keymap-rules").textContent);
const strings = document.getElementById("keymap-strings").dataset;
const statusEl = document.getElementById("capture-status");
const rows = [...form.querySelectorAll("tr[data-action]")];
const browserKeys = new Set(rules.browser);
const needsModifier = new Set([...rules.needs_modifier]);

let capture = null; // { row, onKey, onBlur } while a row waits for its key
let dirty = false; // captured keys not saved yet

const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, name) => values[name] ?? "");
const say = (text) => { statusEl.textContent = text; };
const part = (row, role) => row.querySelector(`[data-role=${role}]`);
const actionLabel = (row) => rules.labels[row.dataset.action];
// keys.js fires a Digit binding for its numpad key too, and on AZERTY "-" is the Digit6 key.
const sameKey = (binding) => rules.same_key[binding] || binding;

/** How a binding is shown: « Espace », « 1 », « N »… (as the server's keymap_key_label). */
export function keyLabel(binding) {
  if (binding in rules.names) return rules.names[binding];
  if (binding in rules.browser_names) return rules.browser_names[binding];
  return binding.length === 1 ? binding.toUpperCase() : binding;
}

/** The binding a keydown stands for: {binding}, {error, key} or {wait} (a lone modifier). */
export function bindingOf(event) {
  const key = event.key || "";
  if (MODIFIERS.has(key)) return { wait: true };
  if (event.ctrlKey || event.altKey || event.metaKey) return { error: "modifier" };
  if (/^(?:Digit|Numpad)[0-9]$/.test(event.code || "")) return { binding: event.code };
  if (key === "Dead") return { error: "dead" };
  if (key === " ") return { binding: " " };
  if (key.length === 1) {
    if (key in rules.top_row) return { binding: rules.top_row[key] };
    if (needsModifier.has(key)) return { error: "shift", key };
    if (key.toLowerCase() !== key.toUpperCase()) return { binding: key.toLowerCase() };
    return event.shiftKey ? { error: "shift", key } : { binding: key };
  }
  return { binding: key };
}

/** Why this binding cannot go to this row, or null. */
export function refusal(binding, row) {
  if (browserKeys.has(binding)) return fill(strings.browser, { key: keyLabel(binding) });
  if (binding.length > 1 && !(binding in rules.names)) return strings.unknown;
  if (binding.length === 1 && needsModifier.has(binding)) return fill(strings.shift, { key: binding });
  const other = rows.find((r) => r !== row && sameKey(r.dataset.binding) === sameKey(binding));
  if (other) return fill(strings.conflict, { key: `« ${keyLabel(binding)} »`, other: actionLabel(other) });
  return null;
}

function problemOf(result, row) {
  if (result.error === "modifier") return strings.modifier;
  if (result.error === "dead") return strings.dead;
  if (result.error === "shift") return fill(strings.shift, { key: result.key });
  return refusal(result.binding, row);
}

function showError(row, text) {
  const error = part(row, "error");
  error.textContent = text;
  error.hidden = !text;
  row.classList.toggle("refused", Boolean(text));
}

function apply(row, binding) {
  for (const stale of row.querySelectorAll("[data-role=server-error]")) stale.remove();
  const unchanged = binding === row.dataset.binding;
  row.dataset.binding = binding;
  part(row, "current").textContent = keyLabel(binding);
  row.querySelector("input[name^=key_]").value = binding; // the server reads bindings as well as names
  row.classList.toggle("changed", binding !== row.dataset.default);
  part(row, "reset").disabled = binding === row.dataset.default;
  const values = { action: actionLabel(row), key: keyLabel(binding) };
  if (!unchanged) dirty = true;
  say(fill(unchanged ? strings.unchanged : strings.captured, values));
}

/** Leave capture mode; the key's own keyup must not reach the button (Space would click it again). */
function stop({ refocus = true } = {}) {
  if (!capture) return;
  const { row, onKey, onBlur } = capture;
  capture = null;
  document.removeEventListener("keydown", onKey, true);
  const kbd = part(row, "current");
  kbd.removeEventListener("blur", onBlur);
  kbd.textContent = keyLabel(row.dataset.binding);
  row.classList.remove("capturing");
  if (!refocus) return;
  const button = part(row, "capture");
  const done = () => {
    document.removeEventListener("keyup", done, true);
    clearTimeout(timer);
    if (document.activeElement === kbd || document.activeElement === document.body) button.focus();
  };
  document.addEventListener("keyup", done, true);
  const timer = setTimeout(done, 400);
}

function start(row) {
  stop({ refocus: false });
  const kbd = part(row, "current");
  const onKey = (event) => {
    if (event.key === "Tab") {
      stop({ refocus: false }); // focus moves on as usual: capture never traps the keyboard
      return say(strings.cancelled);
    }
    event.preventDefault();
    event.stopPropagation();
    if (event.repeat) return;
    if (event.key === "Escape" && !event.ctrlKey && !event.altKey && !event.metaKey) {
      showError(row, "");
      stop();
      return say(strings.cancelled);
    }
    const result = bindingOf(event);
    if (result.wait) return;
    const problem = problemOf(result, row);
    if (problem) return showError(row, problem); // still waiting: another key, or Esc
    showError(row, "");
    stop();
    apply(row, result.binding);
  };
  const onBlur = () => {
    stop({ refocus: false });
    say(strings.cancelled);
  };
  capture = { row, onKey, onBlur };
  showError(row, "");
  row.classList.add("capturing");
  kbd.textContent = strings.waiting;
  document.addEventListener("keydown", onKey, true);
  kbd.focus();
  kbd.addEventListener("blur", onBlur);
  say(fill(strings.prompt, { action: actionLabel(row) }));
}

form.classList.add("js-capture");
for (const row of rows) {
  const button = part(row, "capture");
  button.hidden = false;
  button.addEventListener("click", () => start(row));
}
form.addEventListener("submit", () => {
  stop({ refocus: false });
  dirty = false;
});
window.addEventListener("beforeunload", (event) => {
  if (!dirty) return;
  event.preventDefault();
  event.returnValue = strings.unsaved;
});
