// Hanging geometry (spec §3 H6–H7, §4 zoom/pan/1:1): pure math shared by the 8-bit preview and the
// lossless cornerstone viewport, so that the swap from one to the other never moves the image.
//
// Units: cell sizes and positions in CSS px; the stage scale `m` in mm per device pixel (H6);
// k = CSS px per stored pixel of one view = spacing / (m / zoom) / devicePixelRatio.

export const GUTTER_DEVICE_PX = 8; // H7: chest wall this far from the seam
export const BOX_MARGIN = 1.04; // H6: largest breast box + 4 % fits the viewport
export const ZOOM_MIN = 0.05;
export const ZOOM_MAX = 16;

const FULL = [0, 0, 1, 1];

/** The breast box (H7) or the whole image, as [x0, y0, x1, y1] fractions in *display* orientation. */
export function displayBox(view, mode = "breast") {
  const b = (mode === "breast" && Array.isArray(view.breast_box) && view.breast_box.length === 4)
    ? view.breast_box : FULL;
  let [x0, y0, x1, y1] = b;
  if (view.flip_horizontal) [x0, x1] = [1 - x1, 1 - x0];
  if (view.flip_vertical) [y0, y1] = [1 - y1, 1 - y0];
  return [x0, y0, x1, y1];
}

/** Stored pixel spacing in mm (H6), or null (no spacing: the view gets its own fit, flagged). */
export function spacingOf(view) {
  const s = Number(view.spacing_mm);
  return Number.isFinite(s) && s > 0 ? s : null;
}

/**
 * One mm-per-device-pixel value for a stage (H6): the largest box (+4 %) of all `views` fits a cell.
 * `widthOnly` (magnified sweep, stage 7): the box width alone fills the cell.
 */
export function stageScale(views, cell, dpr, { mode = "breast", widthOnly = false } = {}) {
  const usableW = Math.max(1, cell.width * dpr - GUTTER_DEVICE_PX * 2);
  const usableH = Math.max(1, cell.height * dpr - GUTTER_DEVICE_PX * 2);
  let m = 0;
  for (const view of views) {
    const s = spacingOf(view);
    if (!s) continue;
    const [x0, y0, x1, y1] = displayBox(view, mode);
    const wMm = (x1 - x0) * view.columns * s * BOX_MARGIN;
    const hMm = (y1 - y0) * view.rows * s * BOX_MARGIN;
    m = Math.max(m, wMm / usableW, widthOnly ? 0 : hMm / usableH);
  }
  return m || null;
}

/** Own fit for a view without spacing: its `m` as if its spacing were 1 mm. */
function ownScale(view, cell, dpr, mode) {
  return stageScale([{ ...view, spacing_mm: 1 }], cell, dpr, { mode });
}

/** Where the anchor of a cell sits in CSS px (H7): seam side, CC centred, MLO top-aligned. */
export function anchorPoint(cell, dpr, side, vAnchor) {
  const g = GUTTER_DEVICE_PX / dpr;
  const x = side === "R" ? cell.width - g : g;
  const y = vAnchor === "top" ? g : vAnchor === "bottom" ? cell.height - g : cell.height / 2;
  return [x, y];
}

/**
 * Placement of one view in its cell.
 * state: {m, zoom, t:[x,y], mode, vAnchor}. The user's zoom/pan is a similarity c = zoom·c_base + t on
 * the base hanging, in the right-breast convention; a left breast mirrors it about the cell's vertical
 * axis, so pans mirror in x (§4: ΔxL = −ΔxR, same Δy) and a zoom at the cursor zooms L at the mirror point.
 * Returns {k, left, top, width, height, cx, cy, flipH, flipV, side}.
 */
export function placement(view, cell, dpr, state) {
  const side = view.laterality === "L" ? "L" : "R";
  const spacing = spacingOf(view);
  const m = spacing ? state.m : ownScale(view, cell, dpr, state.mode);
  const k0 = (spacing || 1) / (m || 1) / dpr;
  const w0 = view.columns * k0;
  const h0 = view.rows * k0;
  const [x0, y0, x1, y1] = displayBox(view, state.mode);
  const cc = view.view === "CC" || view.view === "XCCL" || view.view === "XCCM";
  const vAnchor = state.vAnchor || (cc ? "centre" : "top");
  const [ax, ay] = anchorPoint(cell, dpr, side, vAnchor);
  const fx = side === "R" ? x1 : x0;
  const fy = vAnchor === "top" ? y0 : vAnchor === "bottom" ? y1 : (y0 + y1) / 2;
  const left0 = ax - fx * w0;
  const top0 = ay - fy * h0;
  const z = state.zoom;
  const [tx, ty] = state.t;
  const left = side === "R" ? z * left0 + tx : z * left0 + (1 - z) * cell.width - tx;
  const top = z * top0 + ty;
  const width = z * w0;
  const height = z * h0;
  return {
    k: z * k0, left, top, width, height, cx: left + width / 2, cy: top + height / 2,
    flipH: !!view.flip_horizontal, flipV: !!view.flip_vertical, side,
  };
}

/** Zoom by `ratio` about point `p` (CSS px in a cell of side `side`): t' = r·t + (1 − r)·p (R convention). */
export function zoomAbout(state, cell, side, p, ratio) {
  const zoom = clamp(state.zoom * ratio, ZOOM_MIN, ZOOM_MAX);
  const r = zoom / state.zoom;
  const px = side === "L" ? cell.width - p[0] : p[0];
  return { ...state, zoom, t: [r * state.t[0] + (1 - r) * px, r * state.t[1] + (1 - r) * p[1]] };
}

/** Pan by d (CSS px, dragged in a cell of side `side`). */
export function panBy(state, side, d) {
  return { ...state, t: [state.t[0] + (side === "L" ? -d[0] : d[0]), state.t[1] + d[1]] };
}

export function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

/** Canvas CSS point → stored pixel coordinates (continuous; pixel i spans [i, i+1)). */
export function canvasToStored(pl, view, p) {
  let u = (p[0] - pl.left) / pl.width;
  let v = (p[1] - pl.top) / pl.height;
  if (pl.flipH) u = 1 - u;
  if (pl.flipV) v = 1 - v;
  return [u * view.columns, v * view.rows];
}

/** Stored pixel coordinates → canvas CSS point. */
export function storedToCanvas(pl, view, q) {
  let u = q[0] / view.columns;
  let v = q[1] / view.rows;
  if (pl.flipH) u = 1 - u;
  if (pl.flipV) v = 1 - v;
  return [pl.left + u * pl.width, pl.top + v * pl.height];
}

/** Orientation letters at the edge midpoints (§4): [left, right, top, bottom] after the flips. */
const OPPOSITE = { A: "P", P: "A", R: "L", L: "R", H: "F", F: "H" };
export function orientationLabels(view) {
  const parts = String(view.patient_orientation || "").split("\\");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return null;
  const invert = (s) => s.split("").map((c) => OPPOSITE[c] || c).join("");
  let right = parts[0], bottom = parts[1];
  let left = invert(right), top = invert(bottom);
  if (view.flip_horizontal) [left, right] = [right, left];
  if (view.flip_vertical) [top, bottom] = [bottom, top];
  return { left, right, top, bottom };
}

/** Nipple-relative hint for a mark (§7): half from the nipple level, depth in thirds nipple → chest wall. */
export function nippleHint(pl, view, p, mode = "breast") {
  const [x0, y0, x1, y1] = displayBox(view, mode);
  const nippleX = pl.side === "R" ? pl.left + x0 * pl.width : pl.left + x1 * pl.width;
  const wallX = pl.side === "R" ? pl.left + x1 * pl.width : pl.left + x0 * pl.width;
  const nippleY = pl.top + ((y0 + y1) / 2) * pl.height;
  const cc = view.view === "CC" || view.view === "XCCL" || view.view === "XCCM";
  const above = p[1] < nippleY;
  const half = cc ? (above ? "externe" : "interne") : (above ? "supérieur" : "inférieur");
  const t = clamp((p[0] - nippleX) / (wallX - nippleX || 1), 0, 1);
  const depth = t < 1 / 3 ? "antérieur" : t < 2 / 3 ? "moyen" : "postérieur";
  return { half, depth };
}
