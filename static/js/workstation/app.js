// The reading flow of the L2 workstation (spec §1, §7–§9): cases in order (session first, then worklist, as
// the case JSON's `next` says), keyboard (§8), lock-out and lossless gate (F8), verdict outbox with undo,
// skip / defer, F9 timings, station check. The viewer is static/js/workstation/viewer.js (CONTRACT.md);
// when it cannot be loaded the previews stand in (previews.js) so that the flow keeps working.

import { askDeferral } from "./defer.js";
import { actionFor, DECISION_ACTIONS, isFormField, isUndo, STAGE_KEYS, VERDICT_ACTIONS, VIEWER_ACTIONS } from "./keys.js";
import { getJSON, postJSON } from "./net.js";
import { Outbox } from "./outbox.js";
import { Panel } from "./panel.js";
import { createPreviewViewer } from "./previews.js";
import { STATION_GATED, StationGate, stationCheck, watchStation } from "./station.js";
import { Banners, StatusBar } from "./status.js";
import { CaseTimer } from "./timings.js";
import { describeCase } from "./identity.js";

const VERSION = "ws-flow-1";
const root = document.getElementById("ws");
const prefs = JSON.parse(document.getElementById("ws-prefs").textContent);
const t = { ...document.getElementById("ws-strings").dataset };
const viewerEl = document.getElementById("ws-viewer");
const panelEl = document.getElementById("ws-panel");
const endEl = document.getElementById("ws-end");
const caseUrl = (id) => root.dataset.caseUrl.replace(/\/0\/$/, `/${id}/`);

const S = {
  viewer: null, kind: "", panel: null, outbox: null, station: null,
  cases: new Map(), done: new Set(), skipped: [], front: [], nextIds: [], current: null,
  lockUntil: Infinity, lockStarted: false, blocked: false, last: null, base: null, assigned: null,
  prefetched: new Map(), prefetchedJson: new Map(), opening: 0,
}; // fmt: skip
window.L2Workstation = S; // for the browser tests and for support
const status = new StatusBar(document.getElementById("ws-status"), t);
const banners = new Banners(document.getElementById("ws-banners"));

function uuid4() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function loadViewer() {
  if (new URLSearchParams(location.search).get("visionneuse") !== "apercu") {
    try {
      const module = await import("./viewer.js");
      return { viewer: await module.createViewer(viewerEl, { onEvent }), kind: "cornerstone" };
    } catch (error) {
      console.warn("viewer.js indisponible, aperçus seulement :", error);
      viewerEl.replaceChildren();
    }
  }
  return { viewer: await createPreviewViewer(viewerEl, { onEvent }), kind: "apercu" };
}

function focusViewer() {
  viewerEl.focus({ preventScroll: true });
}

// ------------------------------------------------------------------------------------------- lock-out (F8 a)

function lock() {
  S.lockUntil = Infinity;
  S.lockStarted = false;
  panelEl.classList.add("locked");
  panelEl.classList.remove("filling");
}

function startLockout() {
  if (S.lockStarted || !S.current) return;
  S.lockStarted = true;
  S.lockUntil = performance.now() + prefs.lockout_ms;
  panelEl.style.setProperty("--lock-ms", `${prefs.lockout_ms}ms`);
  void panelEl.offsetWidth; // restart the fill transition
  panelEl.classList.add("filling");
  const opening = S.opening;
  setTimeout(() => opening === S.opening && panelEl.classList.remove("locked", "filling"), prefs.lockout_ms);
}

const locked = () => performance.now() < S.lockUntil;

function previewBanner() {
  const waiting = S.current && S.viewer && !S.viewer.losslessReady();
  banners.set("preview", waiting ? t.previewWait : null);
  if (waiting) setTimeout(previewBanner, 500);
}

// --------------------------------------------------------------------------------------------- viewer events

function onEvent(name, detail = {}) {
  const entry = S.current;
  if (name === "mark") {
    entry?.timer.input();
    S.panel?.mark(detail);
    return;
  }
  if (!entry) return;
  if (name === "l2:first-paint") {
    entry.timer.mark("first_paint");
    startLockout();
    previewBanner();
  } else if (name === "l2:lossless") {
    entry.timer.mark("lossless");
    previewBanner();
    // Next cases once this one is painted: decoding N+1 must not delay the frames of the case being read (P1).
    setTimeout(prefetchNext, PREFETCH_AFTER_LOSSLESS_MS);
  } else if (name === "l2:stage") {
    entry.timer.setStage(detail.stage);
  } else if (name === "l2:error") {
    banners.set("error", `${t.imageError} ${detail.message || ""}`.trim());
  }
}

// §6 P4: N+1 decoded (current + prior), N+2 and N+3 fetched compressed only (HTTP cache), promoted when they
// become N+1. S.prefetched: exam id → "compressed" | "decoded".
const PREFETCH_AFTER_LOSSLESS_MS = 400;

async function prefetchNext() {
  const upcoming = S.nextIds.filter((id) => !S.done.has(id) && id !== S.current?.id).slice(0, 3);
  for (const [index, id] of upcoming.entries()) {
    const decode = index === 0;
    const have = S.prefetched.get(id);
    if (have === "decoded" || (have === "compressed" && !decode)) continue;
    S.prefetched.set(id, decode ? "decoded" : "compressed");
    try {
      let data = S.prefetchedJson.get(id)?.data;
      if (!data) {
        const response = await getJSON(`${caseUrl(id)}?prefetch=1`);
        if (!response.ok) continue;
        data = response.data;
        S.prefetchedJson.set(id, { data, at: performance.now() });
      }
      S.viewer.prefetch?.(data, { decode });
    } catch (error) { /* the case opens cold */ }
  }
}

// ------------------------------------------------------------------------------------------------ case flow

async function openCase(id) {
  const opening = ++S.opening;
  S.current = null;
  lock();
  endEl.hidden = true;
  let response;
  // P1: a prefetched case opens from the JSON already here (under a minute old); the server is still told
  // (audit "cas ouvert") and the list order refreshed in the background.
  const early = S.prefetchedJson.get(id);
  S.prefetchedJson.delete(id);
  if (early && performance.now() - early.at < 60_000) {
    response = { ok: true, data: early.data };
    getJSON(caseUrl(id)).then((fresh) => {
      if (fresh.ok && S.current?.id === id) S.nextIds = fresh.data.next || S.nextIds;
    }).catch(() => {});
  } else {
    try {
      response = await getJSON(caseUrl(id));
    } catch (error) {
      response = { ok: false, data: { detail: t.networkError } };
    }
  }
  if (opening !== S.opening) return;
  if (!response.ok) {
    status.say(`${t.caseError} (${id}) ${response.data.detail || ""}`);
    S.done.add(id);
    return advance();
  }
  const json = response.data;
  let entry = S.cases.get(id);
  if (!entry) {
    entry = { id, json, draft: Panel.draft(json), timer: new CaseTimer() };
    S.cases.set(id, entry);
  } else {
    entry.json = json;
    entry.timer.resume();
  }
  S.current = entry;
  S.nextIds = json.next || [];
  if (json.session) {
    if (S.base === null) S.base = json.session.read;
    S.assigned = json.session.assigned;
  }
  describeCase(json, t, banners, S);
  progress();
  S.panel.load(json, entry.draft);
  focusViewer();
  const fallback = setTimeout(startLockout, 8000); // no first paint: D must still work on a broken case
  try {
    await S.viewer.openCase(json);
  } catch (error) {
    banners.set("error", `${t.imageError} ${error?.message || ""}`.trim());
  }
  clearTimeout(fallback);
  if (opening !== S.opening) return;
  startLockout();
  previewBanner();
  if (S.kind === "apercu") prefetchNext();
}

function progress() {
  const node = document.getElementById("ws-progress");
  const position = (S.base || 0) + S.done.size + 1;
  node.textContent = S.assigned ? `${Math.min(position, S.assigned)}/${S.assigned}` : `${t.casePrefix} ${S.done.size + 1}`;
}

function pickNext() {
  while (S.front.length) {
    const id = S.front.shift();
    if (!S.done.has(id)) return id;
  }
  const fresh = S.nextIds.find((id) => !S.done.has(id) && !S.skipped.includes(id) && id !== S.current?.id);
  if (fresh) return fresh;
  while (S.skipped.length) {
    const id = S.skipped.shift();
    if (!S.done.has(id)) return id;
  }
  return null;
}

function advance() {
  const id = pickNext();
  if (id === null) return finish();
  return openCase(id);
}

function finish() {
  S.opening += 1;
  S.current = null;
  S.viewer.setMarkMode?.(false);
  lock();
  banners.set("preview", null);
  endEl.hidden = false;
  endEl.querySelector("[data-role=end-pending]").hidden = S.outbox.pending === 0;
  endEl.querySelector("a, button")?.focus();
}

function commit() {
  const entry = S.current;
  const problem = S.panel.problem();
  if (problem) return status.say(problem);
  entry.timer.mark("decision");
  const id = uuid4();
  const label = `${entry.json.identity.programme_id} — ${S.panel.summary()}`;
  const timings = entry.timer.record({
    station: S.station, viewer: S.kind, lockout_ms: prefs.lockout_ms, two_step_normal: prefs.two_step_normal,
    client_version: VERSION, prior_available: Boolean(entry.json.prior),
  }); // fmt: skip
  const body = { ...S.panel.payload(), client_uuid: id, timings,
                 reading_seconds: Math.max(1, Math.round(timings.active_ms / 1000)) }; // fmt: skip
  const item = { uuid: id, url: entry.json.urls.verdict, body, examId: entry.id, label };
  S.done.add(entry.id);
  S.last = item;
  S.outbox.push(item);
  status.verdict(label, null);
  status.hints(verdictHints(entry, timings));
  return advance();
}

const QUICK_DECISION_MS = 5000;

/** F8 e: what the reader may want to know about the verdict just given (shown, never asked). */
function verdictHints(entry, timings) {
  const hints = [];
  if (entry.json.prior && !timings.prior_shown) hints.push(t.hintPriorNotShown);
  const paint = timings.first_paint_ms ?? 0;
  if (timings.decision_ms !== null && timings.decision_ms - paint < QUICK_DECISION_MS) hints.push(t.hintQuick);
  return hints.filter(Boolean);
}

function skip() {
  const entry = S.current;
  entry.timer.pause();
  entry.timer.skips += 1;
  S.skipped.push(entry.id);
  status.say(`${t.skipped} ${entry.json.identity.programme_id}`);
  return advance();
}

async function defer() {
  const entry = S.current;
  S.blocked = true;
  const answer = await askDeferral(document.getElementById("ws-defer"), t);
  S.blocked = false;
  if (!answer || S.current !== entry) return focusViewer();
  let response;
  try {
    response = await postJSON(entry.json.urls.defer, answer);
  } catch (error) {
    return status.say(t.networkError);
  }
  if (!response.ok) return status.say(response.data.detail || t.deferFailed);
  S.done.add(entry.id);
  const asked = response.data.state === "CONSENSUS_PENDING";  // "avis souhaité": another L2 reader reads it
  status.say(`${asked ? t.consensusAsked : t.deferred} ${entry.json.identity.programme_id}`);
  return advance();
}

function reopen(examId) {
  S.done.delete(examId);
  const current = S.current;
  if (current && current.id !== examId) {
    current.timer.pause();
    S.front.unshift(current.id);
  }
  return openCase(examId);
}

async function undo() {
  if (S.current && S.panel.undoMark()) return status.say(t.markUndone);
  const item = S.last;
  if (!item) return;
  if (S.outbox.cancel(item.uuid)) {
    S.last = null;
    status.say(`${t.undone} ${item.label}`);
    return reopen(item.examId);
  }
  await S.outbox.settled(item.uuid);
  if (!item.withdrawUrl) return status.say(t.undoImpossible);
  let response;
  try {
    response = await postJSON(item.withdrawUrl, {});
  } catch (error) {
    return status.say(t.networkError);
  }
  if (response.ok) {
    S.last = null;
    status.say(`${t.undone} ${item.label}`);
    return reopen(item.examId);
  }
  status.say(response.status === 409 ? t.undoClosed : response.data.detail || t.undoImpossible);
}

// ------------------------------------------------------------------------------------------------ keyboard

function run(action, event = null) {
  const entry = S.current;
  if (!entry || S.blocked) return;
  if (DECISION_ACTIONS.has(action)) {
    if (event?.repeat || locked()) return; // dropped, never queued
    if (STATION_GATED.has(action) && gate.verdictsOff) return status.say(S.station.verdicts_detail); // §9
    if (VERDICT_ACTIONS.has(action) && !S.viewer.losslessReady()) return status.say(t.previewWait);
  }
  const stage = () => entry.timer.setStage(S.viewer.currentStage?.());
  if (action === "normal") {
    const problem = S.panel.choose("NORMAL");
    if (problem) return status.say(problem);
    entry.timer.mark("decision");
    if (!prefs.two_step_normal) return commit();
    return status.say(t.twoStepHint);
  }
  if (action === "anomaly" || action === "cti") {
    entry.timer.mark("decision");
    S.panel.choose(action === "anomaly" ? "ANOMALY" : "CTI");
    return status.say(action === "anomaly" ? t.markHint : t.ctiHint);
  }
  if (action === "commit") return commit();
  if (action === "skip") return skip();
  if (action === "defer") return defer();
  if (action === "cancel") return S.panel.leaveMode();
  if (action === "next_stage") return S.viewer.nextStage?.(), stage();
  if (action === "previous_stage") return S.viewer.previousStage?.(), stage();
  if (action in STAGE_KEYS) return S.viewer.stage?.(STAGE_KEYS[action]), stage();
  if (VIEWER_ACTIONS.has(action)) {
    entry.timer.tool(action);
    return S.viewer.action?.(action);
  }
}

function onKey(event) {
  if (S.blocked || !S.current || document.querySelector("dialog[open]")) return;
  if (isUndo(event)) {
    event.preventDefault();
    if (!event.repeat) undo();
    return;
  }
  if (isFormField(event.target)) {
    if (event.key === "Escape") focusViewer();
    return;
  }
  S.current.timer.input();
  if (!event.repeat || event.key !== "Enter") {
    if (S.panel.handleKey(event)) return event.preventDefault();
  }
  const action = actionFor(prefs.keymap, event);
  if (!action) return;
  event.preventDefault();
  run(action, event);
}

// ---------------------------------------------------------------------------------------------------- boot

// §9 declared station: the server judges (api_stations.py); S.station is its last answer (station.js).
const stationUrl = (name) => root.dataset.caseUrl.replace(/cas\/0\/$/, `poste/${name}/`);
const gate = new StationGate({ banners, status, panel: panelEl, strings: t, checkUrl: stationUrl("controle"),
                               onState: (state) => (S.station = state) }); // fmt: skip
const onStationChange = (force = false) => gate.recheck(viewerEl, S.kind, force);

async function boot() {
  S.outbox = new Outbox({
    onAck(item, data) {
      item.readingId = data.reading_id;
      item.withdrawUrl = data.withdraw_url;
      if (S.last === item) status.verdict(item.label, data.final_at);
    },
    onRefused(item, data) {
      if (data.code === "already_submitted") return;
      if (data.code === "station_not_diagnostic") onStationChange(true); // refused for the display: re-check
      S.done.delete(item.examId);
      status.say(`${t.refused} ${item.label} : ${data.detail || ""}`);
      if (S.current) S.front.unshift(item.examId);
      else reopen(item.examId);
    },
    onChange({ pending, unsynced }) {
      status.unsynced(pending, unsynced);
      endEl.querySelector("[data-role=end-pending]").hidden = pending === 0;
    },
  });
  const firstId = Number(root.dataset.firstExam) || null;
  ({ viewer: S.viewer, kind: S.kind } = await loadViewer());
  root.dataset.viewer = S.kind;
  S.panel = new Panel({ root: panelEl, viewer: S.viewer, strings: t, twoStep: prefs.two_step_normal,
                        onMessage: (m) => status.say(m) }); // fmt: skip
  panelEl.addEventListener("mousedown", (e) => e.target.closest("button[data-action]") && e.preventDefault());
  panelEl.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action]");
    if (button) run(button.dataset.action);
  });
  document.addEventListener("keydown", onKey);
  watchStation(() => onStationChange());
  setTimeout(() => status.say(t.breakHint), 60 * 60 * 1000);
  let still = null;
  viewerEl.addEventListener("mousemove", () => {
    viewerEl.classList.remove("pointer-hidden");
    clearTimeout(still);
    still = setTimeout(() => viewerEl.classList.add("pointer-hidden"), 2000);
  });
  if (!firstId) return finish();
  S.blocked = true;
  const checked = stationCheck(document.getElementById("ws-station"), viewerEl, {
    patternUrl: stationUrl("mire"), checkUrl: stationUrl("controle"), viewer: S.kind,
  }).then((result) => {
    gate.apply(result);
    S.blocked = false;
    focusViewer();
  });
  await Promise.all([openCase(firstId), checked]);
  root.dataset.ready = "1";
}

boot();
