// Measure (spec §4 `M`): two clicks on a lossless view draw a line labelled "NN,N mm (détecteur)" from
// ImagerPixelSpacing, plus "≈ NN,N mm au sein" (÷ EstimatedRadiographicMagnificationFactor (0018,1114)) when
// the header has it; no spacing → "NNN px". Points are kept in stored pixels per image (SOP UID), so a line
// follows zoom, pan and flips and shows on any cell hanging that image. Off under a preview (G3); cleared on
// a new case; hidden with the overlays (`O`, through Cell.drawMarks).

import { storedToCanvas } from "./viewer-geometry.js";

const SVG = "http://www.w3.org/2000/svg";
// Magnification factors outside this range are not physical for a mammography projection: ignored.
const FACTOR_MIN = 1;
const FACTOR_MAX = 3;
const MIN_SEGMENT_PX = 4; // a second click closer than this (CSS px) to the first is a double-click, not a line

export const MEASURE_STRINGS = {
  measure_detector: "{mm} mm (détecteur)",
  measure_breast: "≈ {mm} mm au sein",
  measure_mm: "{mm} mm",
  measure_px: "{px} px",
};

const list = (v) => (v === undefined || v === null ? [] : [].concat(v));
const positive = (v) => {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : null;
};
const fill = (template, values) => String(template).replace(/\{(\w+)\}/g, (_, k) => (k in values ? values[k] : ""));
const decimal = (mm) => mm.toFixed(1).replace(".", ",");

/** Header attributes of the image: cornerstone's naturalised "instance" module (wadouri: the whole header;
 *  wadors: a subset without the spacing), then the DICOM JSON of the WADO-RS metadata. */
function headerGet(view, imageId) {
  const sources = [];
  const cs = window.L2Cornerstone;
  try {
    sources.push(cs.core.metaData.get("instance", imageId) || {});
  } catch (e) {
    /* no cornerstone header: the DICOM JSON and the case JSON remain */
  }
  let json = view.wado && view.wado.metadata;
  try {
    json = (imageId.startsWith("wadors:") && cs.dicomImageLoader.wadors.metaDataManager.get(imageId)) || json;
  } catch (e) {
    /* keep the case JSON's copy */
  }
  const tags = { ImagerPixelSpacing: "00181164", PixelSpacing: "00280030", EstimatedRadiographicMagnificationFactor: "00181114" };
  return (keyword) => {
    for (const header of sources) if (header[keyword] !== undefined && header[keyword] !== null) return header[keyword];
    const attr = json && json[tags[keyword]];
    return attr && attr.Value ? attr.Value : undefined;
  };
}

/** [row spacing, column spacing] of a DICOM spacing attribute (mm), or null. */
function pair(value) {
  const [row, col] = list(value).map(positive);
  return row ? [row, col || row] : null;
}

/**
 * How stored pixels convert to mm for one image: {row, col, detector, factor} or null (pixels only).
 * ImagerPixelSpacing is the detector plane ("détecteur"); a PixelSpacing alone has an unknown calibration,
 * so it gives plain mm and no breast estimate. Without either in the header, the case JSON's spacing_mm
 * (ImagerPixelSpacing first at ingest). A magnification_factor in the case JSON wins over the header's.
 */
export function scaleOf(view, imageId) {
  const get = headerGet(view, imageId);
  const raw = positive(view.magnification_factor) || positive(list(get("EstimatedRadiographicMagnificationFactor"))[0]);
  const factor = raw && raw >= FACTOR_MIN && raw <= FACTOR_MAX ? raw : null;
  const imager = pair(get("ImagerPixelSpacing"));
  if (imager) return { row: imager[0], col: imager[1], detector: true, factor };
  const pixel = pair(get("PixelSpacing"));
  if (pixel) return { row: pixel[0], col: pixel[1], detector: false, factor: null };
  const s = positive(view.spacing_mm);
  return s ? { row: s, col: s, detector: true, factor } : null;
}

/** The label lines of a segment a→b (stored pixels [x = column, y = row]). */
export function measureLines(scale, a, b, strings = MEASURE_STRINGS) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  if (!scale) return [fill(strings.measure_px, { px: Math.round(Math.hypot(dx, dy)) })];
  const mm = Math.hypot(dx * scale.col, dy * scale.row);
  if (!scale.detector) return [fill(strings.measure_mm, { mm: decimal(mm) })];
  const lines = [fill(strings.measure_detector, { mm: decimal(mm) })];
  if (scale.factor) lines.push(fill(strings.measure_breast, { mm: decimal(mm / scale.factor) }));
  return lines;
}

function node(tag, attrs, parent) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

export class Measure {
  constructor(viewer) {
    this.viewer = viewer;
    this.active = false; // waiting for clicks
    this.first = null; // {sop_uid, q} first point of the measurement in progress
    this.hover = null; // {sop_uid, q} pointer while the second point is awaited
    this.items = []; // {sop_uid, a, b, lines}
    this.caseToken = viewer.caseToken;
  }

  strings() {
    return { ...MEASURE_STRINGS, ...this.viewer.strings };
  }

  /** `M`: (re)start a measurement; false under a preview (G3). */
  start() {
    const focus = this.viewer.focusCell();
    if (!focus || !focus.cell.lossless) return false;
    this.first = null;
    this.hover = null;
    this.setActive(true);
    return true;
  }

  /** `Esc`: drop the measurement in progress; false when there was none (the key goes on). */
  cancel() {
    if (!this.active) return false;
    this.first = null;
    this.hover = null;
    this.setActive(false);
    return true;
  }

  setActive(on) {
    this.active = on;
    this.viewer.root.classList.toggle("l2v-measuring", on);
    this.redraw();
  }

  /** Called on every hang: a new case clears everything; a stage change keeps the lines (per image). */
  sync() {
    if (this.caseToken === this.viewer.caseToken) return;
    this.caseToken = this.viewer.caseToken;
    this.items = [];
    this.first = null;
    this.hover = null;
    this.active = false;
    this.viewer.root.classList.remove("l2v-measuring");
  }

  /** A left click in measure mode (never a pan): first point, then second point → the line. */
  click(cell, p) {
    if (!this.active) return false;
    if (!cell.lossless) return true; // G3: no point on a preview
    const q = cell.storedAt(p);
    if (!q) return true;
    const view = cell.entry.view;
    if (!this.first || this.first.sop_uid !== view.sop_uid) {
      this.first = { sop_uid: view.sop_uid, q };
      this.hover = null;
      this.redraw();
      return true;
    }
    const [x0, y0] = storedToCanvas(cell.placement(), view, this.first.q);
    if (Math.hypot(p[0] - x0, p[1] - y0) < MIN_SEGMENT_PX) return true;
    const lines = measureLines(scaleOf(view, cell.shownImageId), this.first.q, q, this.strings());
    const item = { sop_uid: view.sop_uid, a: this.first.q, b: q, lines };
    this.items.push(item);
    this.first = null;
    this.hover = null;
    this.setActive(false);
    this.viewer.emit("l2:measure", { sop_uid: item.sop_uid, slot: cell.entry.slot, a: item.a, b: item.b, label: lines.join(" ") });
    this.viewer.painted({ action: "measure" });
    return true;
  }

  /** Pointer move while the second point is awaited: a live line and label on that image. */
  follow(hit) {
    if (!this.first) return;
    const same = !!hit && hit.cell.lossless && hit.cell.entry.view.sop_uid === this.first.sop_uid;
    const q = same ? hit.cell.storedAt(hit.p) : null;
    const had = !!this.hover;
    this.hover = q ? { sop_uid: this.first.sop_uid, q } : null;
    if (same) hit.cell.drawMarks();
    else if (had) this.redraw(); // left the image: the live segment shrinks back to its first point
  }

  redraw() {
    for (const cell of this.viewer.visibleCells()) cell.drawMarks();
  }

  /** Draw this cell's measurements into its marks layer (called by Cell.drawMarks with the placement). */
  draw(cell, pl, svg) {
    const view = cell.entry && cell.entry.view;
    if (!view || !pl || !cell.lossless) return;
    const size = cell.size();
    const segment = (a, b, lines, cls) => {
      const g = node("g", { class: cls }, svg);
      const [x1, y1] = storedToCanvas(pl, view, a);
      const [x2, y2] = storedToCanvas(pl, view, b);
      node("line", { x1, y1, x2, y2 }, g);
      node("circle", { cx: x1, cy: y1, r: 2.5 }, g);
      node("circle", { cx: x2, cy: y2, r: 2.5 }, g);
      if (!lines.length) return;
      // Label beside the second point, kept inside the cell.
      const right = x2 < size.width - 170;
      const y = Math.min(Math.max(y2 + 4, 16), size.height - 6 - 16 * (lines.length - 1));
      const text = node("text", { x: right ? x2 + 10 : x2 - 10, y, "text-anchor": right ? "start" : "end", class: "l2v-measure-label" }, g);
      lines.forEach((line, i) => {
        const span = node("tspan", { x: right ? x2 + 10 : x2 - 10, dy: i ? 16 : 0 }, text);
        span.textContent = line;
      });
    };
    for (const item of this.items) if (item.sop_uid === view.sop_uid) segment(item.a, item.b, item.lines, "l2v-measure");
    if (this.first && this.first.sop_uid === view.sop_uid) {
      const b = this.hover ? this.hover.q : this.first.q;
      const lines = this.hover ? measureLines(scaleOf(view, cell.shownImageId), this.first.q, b, this.strings()) : [];
      segment(this.first.q, b, lines, "l2v-measure l2v-measure-pending");
    }
  }
}
