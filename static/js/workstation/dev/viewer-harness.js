// Dev/test harness for viewer.js (not the reading flow): /static/js/workstation/dev/viewer-harness.html?examen=ID
// while logged in as the exam's reader. Opens the case from the real API; a few keys for manual trials.
import { createViewer } from "../viewer.js";

const events = [];
window.l2Events = events;
const status = document.getElementById("status");
const stageLabel = document.getElementById("stage");

async function fetchCase(id, prefetch = false) {
  const response = await fetch(`/lecture/api/cas/${id}/${prefetch ? "?prefetch=1" : ""}`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`case ${id}: HTTP ${response.status}`);
  return response.json();
}

const viewer = await createViewer(document.getElementById("viewer"), {
  onEvent: (name, detail) => {
    events.push({ name, detail, t: performance.now() });
    if (name === "l2:stage") stageLabel.textContent = `étape ${detail.stage}`;
    if (name === "l2:lossless") status.textContent = "sans perte";
  },
});
window.viewer = viewer;
window.openExam = async (id) => {
  const c = await fetchCase(id);
  status.textContent = `cas ${id}`;
  await viewer.openCase(c);
  return c;
};
window.fetchCase = fetchCase;

const KEYS = { f: "fit", u: "one_to_one", l: "magnifier", v: "preset", r: "reset_wl", i: "invert", p: "flicker", o: "overlays", "=": "zoom_in", "-": "zoom_out" };
document.addEventListener("keydown", (event) => {
  if (event.repeat) return;
  const key = event.key.toLowerCase();
  if (key === " " || key === "arrowright") viewer.nextStage();
  else if (key === "arrowleft") viewer.previousStage();
  else if (/^Digit[1-9]$/.test(event.code)) viewer.stage(Number(event.code.slice(5)));
  else if (KEYS[key]) viewer.action(KEYS[key]);
});

const wanted = new URLSearchParams(location.search).get("examen");
if (wanted) await window.openExam(Number(wanted));
window.harnessReady = true;
