// Declared reading station check (spec §9). The browser measures — full screen, browser zoom, devicePixelRatio,
// screen size in device pixels, viewing area, WebGL2 16-bit textures — and shows a TG18-QC-like test pattern
// at device pixels (0/5 % and 95/100 % patches, one-pixel line pairs, an 18-step ramp) where the reader clicks
// the corner holding the faint 5 % square. The server draws the corner, checks the answer and the declared
// station (enrolment cookie, calibration and QA dates) and says whether the display is diagnostic and whether
// verdicts are allowed (centre setting). Rechecked whenever full screen, zoom or size change.

import { postJSON } from "./net.js";

const CORNERS = ["tl", "tr", "bl", "br"];
const PATCH = 160; // device px
const INSET = 40;

function grey(ctx, level, x, y, w, h) {
  const v = Math.round((level / 100) * 255);
  ctx.fillStyle = `rgb(${v},${v},${v})`;
  ctx.fillRect(x, y, w, h);
}

function cornerOrigin(corner, width, height) {
  const x = corner.endsWith("l") ? INSET : width - INSET - PATCH;
  const y = corner.startsWith("t") ? INSET : height - INSET - PATCH;
  return [x, y];
}

/** Draw the pattern on a canvas sized in device pixels; the 5 % square goes in `answer`'s corner. */
export function drawPattern(canvas, answer) {
  const dpr = window.devicePixelRatio || 1;
  const box = canvas.getBoundingClientRect();
  canvas.width = Math.round(box.width * dpr);
  canvas.height = Math.round(box.height * dpr);
  const ctx = canvas.getContext("2d", { alpha: false });
  ctx.imageSmoothingEnabled = false;
  const { width, height } = canvas;
  grey(ctx, 20, 0, 0, width, height);
  for (const corner of CORNERS) {
    const [x, y] = cornerOrigin(corner, width, height);
    grey(ctx, 0, x, y, PATCH, PATCH);
    if (corner === answer) grey(ctx, 5, x + PATCH / 4, y + PATCH / 4, PATCH / 2, PATCH / 2);
  }
  const cx = Math.round(width / 2);
  const cy = Math.round(height / 2);
  grey(ctx, 100, cx - PATCH - 20, cy - PATCH, PATCH, PATCH); // 95 % in 100 %
  grey(ctx, 95, cx - PATCH - 20 + PATCH / 4, cy - PATCH + PATCH / 4, PATCH / 2, PATCH / 2);
  // One-pixel line pairs: horizontal lines, then vertical lines.
  for (let i = 0; i < PATCH; i += 1) grey(ctx, i % 2 ? 0 : 100, cx + 20, cy - PATCH + i, PATCH / 2, 1);
  for (let i = 0; i < PATCH / 2; i += 1) grey(ctx, i % 2 ? 0 : 100, cx + 20 + PATCH / 2 + i, cy - PATCH, 1, PATCH);
  const step = Math.floor(Math.min(width - 2 * INSET - 2 * PATCH, 18 * 60) / 18);
  const rampX = Math.round(cx - (step * 18) / 2);
  for (let i = 0; i < 18; i += 1) grey(ctx, (i * 100) / 17, rampX + i * step, cy + 40, step, 60);
}

let gpu = null; // probed once: a page does not change GPU

export function webgl() {
  if (gpu) return gpu;
  try {
    const canvas = document.createElement("canvas");
    canvas.dataset.probe = "station"; // a throw-away context, never the viewer's
    const gl = canvas.getContext("webgl2");
    const norm16 = Boolean(gl?.getExtension("EXT_texture_norm16"));
    gpu = { webgl2: Boolean(gl), norm16 };
    gl?.getExtension("WEBGL_lose_context")?.loseContext();
  } catch (error) {
    gpu = { webgl2: false, norm16: false };
  }
  return gpu;
}

/** What the browser measures now (the server compares it with the declared station). */
export function stationReport(viewingArea, viewer) {
  const dpr = window.devicePixelRatio || 1;
  const fullscreen = Boolean(document.fullscreenElement) ||
    (window.innerWidth >= screen.width - 1 && window.innerHeight >= screen.height - 1);
  const box = viewingArea?.getBoundingClientRect();
  const areaMpx = box ? Math.round(((box.width * box.height * dpr * dpr) / 1e6) * 100) / 100 : 0;
  return {
    fullscreen, dpr, zoom_scale: window.visualViewport?.scale ?? 1,
    screen_width: Math.round(screen.width * dpr), screen_height: Math.round(screen.height * dpr),
    area_mpx: areaMpx, ...webgl(), viewer,
  }; // fmt: skip
}

/** Conditions the browser can tell are lost at once, before the server answers (its verdict follows). */
export function quickLoss(report, declaredDpr) {
  const lost = [];
  if (!report.fullscreen) lost.push("fullscreen");
  if (Math.abs(report.zoom_scale - 1) > 0.001) lost.push("zoom");
  if (declaredDpr && Math.abs(report.dpr - declaredDpr) > 0.01) lost.push("zoom");
  return [...new Set(lost)];
}

// No answer from the server: non-diagnostic here, verdicts left to the server (it refuses them when it must).
const unreachable = (detail) => ({
  diagnostic: false, failed: ["network"], labels: [detail || "contrôle du poste impossible (réseau)"],
  station: null, client: null, verdicts_allowed: true, verdicts_detail: "", banner: "", summary: "",
}); // fmt: skip

/** POST the report (and the corner answer at session start); resolves with the server's evaluation. */
export async function stationPost(url, report, answer) {
  try {
    const response = await postJSON(url, answer === undefined ? { report } : { report, answer });
    return { ...(response.ok ? response.data : unreachable(response.data?.detail)), sent: report };
  } catch (error) {
    return { ...unreachable(), sent: report };
  }
}

/**
 * Run the check in the overlay element of the template: the server draws the corner, the reader clicks one
 * (or skips); resolves with the server's evaluation.
 */
export async function stationCheck(overlay, viewingArea, { patternUrl, checkUrl, viewer }) {
  let answer = null;
  try {
    const drawn = await postJSON(patternUrl, {});
    answer = drawn.ok ? drawn.data.corner : null;
  } catch (error) { /* no corner from the server: the check says "mire non faite" */ }
  answer = answer || CORNERS[Math.floor(Math.random() * 4)];
  const canvas = overlay.querySelector("canvas");
  overlay.hidden = false;
  drawPattern(canvas, answer);
  const stopKeys = trapKeys(overlay);
  overlay.querySelector("[data-corner=tl]")?.focus();
  const clicked = await new Promise((resolve) => {
    for (const button of overlay.querySelectorAll("[data-corner]")) {
      button.addEventListener("click", () => resolve(button.dataset.corner), { once: true });
    }
    overlay.querySelector("[data-role=station-skip]")?.addEventListener("click", () => resolve("skip"), { once: true });
    overlay.querySelector("[data-role=station-fullscreen]")?.addEventListener("click", async () => {
      try {
        await document.documentElement.requestFullscreen();
      } catch (error) { /* refused: the check says so */ }
      drawPattern(canvas, answer);
    });
  });
  stopKeys();
  overlay.hidden = true;
  return stationPost(checkUrl, stationReport(viewingArea, viewer), clicked);
}

// The check is a modal dialog: focus starts on a corner, arrows move between the four corners (keyboard-only
// readers answer with arrows + Entrée), Tab stays inside the dialog.
const ARROW_MOVES = {
  ArrowLeft: { tr: "tl", br: "bl" }, ArrowRight: { tl: "tr", bl: "br" },
  ArrowUp: { bl: "tl", br: "tr" }, ArrowDown: { tl: "bl", tr: "br" },
};

function trapKeys(overlay) {
  const onKey = (event) => {
    const corner = event.target?.dataset?.corner;
    const move = ARROW_MOVES[event.key];
    if (move && corner) {
      event.preventDefault();
      overlay.querySelector(`[data-corner=${move[corner] || corner}]`)?.focus();
    } else if (event.key === "Tab") {
      const items = [...overlay.querySelectorAll("button:not([hidden])")];
      const at = items.indexOf(document.activeElement);
      const next = (at + (event.shiftKey ? -1 : 1) + items.length) % items.length;
      event.preventDefault();
      items[next]?.focus();
    }
    event.stopPropagation(); // the workstation's keys sleep while the dialog is open
  };
  overlay.addEventListener("keydown", onKey);
  return () => overlay.removeEventListener("keydown", onKey);
}

/** Call `onChange` when full screen, browser zoom (devicePixelRatio) or the window size may have changed. */
export function watchStation(onChange) {
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, 250);
  };
  window.addEventListener("resize", soon);
  window.visualViewport?.addEventListener("resize", soon);
  document.addEventListener("fullscreenchange", soon);
  const armResolution = () => {
    // A zoom change may not resize the window (same CSS size): the resolution query still fires.
    const query = window.matchMedia?.(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
    query?.addEventListener("change", () => (soon(), armResolution()), { once: true });
  };
  armResolution();
}

// Verdict actions switched off while the server says verdicts are off (F8/§9, centre setting).
export const STATION_GATED = new Set(["normal", "anomaly", "cti", "commit"]);

/**
 * The workstation's side of the check: keeps the server's last answer (`state`, stored with each verdict's
 * timings), shows or clears the banner, turns the verdict buttons off and on, re-checks on change.
 */
export class StationGate {
  constructor({ banners, status, panel, strings, checkUrl, onState }) {
    Object.assign(this, { banners, status, panel, t: strings, checkUrl, onState });
    this.state = null;
    this.sent = "";
    this.seq = 0;
  }

  get verdictsOff() {
    return Boolean(this.state && !this.state.verdicts_allowed);
  }

  apply(result) {
    const was = this.state?.diagnostic;
    this.state = {
      ...(result.client || {}), ok: result.diagnostic, diagnostic: result.diagnostic, failed: result.failed,
      station: result.station?.name ?? null, declared_dpr: result.station?.device_pixel_ratio ?? null,
      verdicts_allowed: result.verdicts_allowed !== false, verdicts_required: Boolean(result.verdicts_required),
      verdicts_detail: result.verdicts_detail || "", at: result.checked_at || new Date().toISOString(),
    }; // fmt: skip
    this.sent = JSON.stringify(result.sent || {});
    this.banner(result.diagnostic ? null : result.banner || `${this.t.nonDiagnostic} — ${result.labels.join(", ")}`);
    if (result.diagnostic && !was && result.summary) this.status.say(result.summary);
    for (const button of this.panel.querySelectorAll("button[data-action]")) {
      if (STATION_GATED.has(button.dataset.action)) button.disabled = !this.state.verdicts_allowed;
    }
    this.onState?.(this.state);
  }

  banner(text) {
    if (text) return this.banners.set("station", text);
    this.banners.root.querySelector("[data-banner=station]")?.remove(); // restored (§9 "until restored")
  }

  /** Re-check after a change (or, with `force`, after the server refused a verdict on display grounds). */
  async recheck(viewingArea, viewer, force = false) {
    if (!this.state) return;
    const report = stationReport(viewingArea, viewer);
    if (!force && JSON.stringify(report) === this.sent) return;
    const seq = ++this.seq;
    const lost = quickLoss(report, this.state.declared_dpr);
    if (lost.length) {
      // Shown at once; the server's answer (reasons, station name) follows.
      this.banner(`${this.t.nonDiagnostic} — ${lost.map((f) => this.t[`fail_${f}`] || f).join(", ")}`);
      if (this.state.verdicts_required) this.state.verdicts_allowed = false;
    }
    const result = await stationPost(this.checkUrl, report);
    if (seq === this.seq) this.apply(result); // an older answer never overrides a newer one
  }
}
