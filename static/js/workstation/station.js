// Station check at session start (spec §9): a TG18-QC-like test pattern drawn at device pixels (0/5 % and
// 95/100 % patches, one-pixel line pairs, an 18-step ramp) where the reader clicks the corner holding the
// faint 5 % square (random corner), plus full screen, browser zoom (devicePixelRatio: no declared-station
// model yet, 1 or 2 accepted), viewing area and WebGL2. A failure shows a permanent "AFFICHAGE NON
// DIAGNOSTIQUE" banner; verdicts stay allowed (no centre setting yet).

const CORNERS = ["tl", "tr", "bl", "br"];
const PATCH = 160; // device px
const INSET = 40;
const MIN_AREA_MPX = 5;

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

export function webgl() {
  try {
    const gl = document.createElement("canvas").getContext("webgl2");
    if (!gl) return { webgl2: false, norm16: false };
    return { webgl2: true, norm16: Boolean(gl.getExtension("EXT_texture_norm16")) };
  } catch (error) {
    return { webgl2: false, norm16: false };
  }
}

/** Conditions that can change during the session (full screen, zoom, size). */
export function liveChecks(viewingArea) {
  const dpr = window.devicePixelRatio || 1;
  const fullscreen = Boolean(document.fullscreenElement) ||
    (window.innerWidth >= screen.width - 1 && window.innerHeight >= screen.height - 1);
  const box = viewingArea?.getBoundingClientRect();
  const areaMpx = box ? Math.round(((box.width * box.height * dpr * dpr) / 1e6) * 100) / 100 : 0;
  const zoom = (dpr === 1 || dpr === 2) && (window.visualViewport?.scale ?? 1) === 1;
  return { fullscreen, zoom, dpr, area_mpx: areaMpx, area_ok: areaMpx >= MIN_AREA_MPX };
}

export function failures(status) {
  const failed = [];
  if (status.pattern !== "ok") failed.push("pattern");
  if (!status.fullscreen) failed.push("fullscreen");
  if (!status.zoom) failed.push("zoom");
  if (!status.area_ok) failed.push("area");
  if (!status.webgl2) failed.push("webgl2");
  return failed;
}

/**
 * Run the check in the overlay element of the template; resolves with the status once the reader has
 * clicked a corner (or skipped it).
 */
export function stationCheck(overlay, viewingArea) {
  const answer = CORNERS[Math.floor(Math.random() * 4)];
  const canvas = overlay.querySelector("canvas");
  overlay.hidden = false;
  drawPattern(canvas, answer);
  return new Promise((resolve) => {
    const finish = (pattern) => {
      overlay.hidden = true;
      const status = { pattern, ...liveChecks(viewingArea), ...webgl(), at: new Date().toISOString() };
      status.failed = failures(status);
      status.ok = status.failed.length === 0;
      resolve(status);
    };
    for (const button of overlay.querySelectorAll("[data-corner]")) {
      button.addEventListener("click", () => finish(button.dataset.corner === answer ? "ok" : "wrong_corner"), { once: true });
    }
    overlay.querySelector("[data-role=station-skip]")?.addEventListener("click", () => finish("skipped"), { once: true });
    overlay.querySelector("[data-role=station-fullscreen]")?.addEventListener("click", async () => {
      try {
        await document.documentElement.requestFullscreen();
      } catch (error) { /* refused: the check says so */ }
      drawPattern(canvas, answer);
    });
  });
}
