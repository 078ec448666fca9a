// The L2 reading workstation viewer (spec §3–§5; API in CONTRACT.md): cornerstone3D stack viewports in one
// RenderingEngine, the hanging protocol, previews swapped in place for lossless pixels, prefetch, marks.
import { Cell } from "./viewer-cell.js";
import { nippleHint, stageScale, zoomAbout } from "./viewer-geometry.js";
import { attachInteraction } from "./viewer-interact.js";
import { Loupe } from "./viewer-loupe.js";
import { Measure } from "./viewer-measure.js";
import { Solo } from "./viewer-solo.js";
import { STAGE_COUNT, SWEEP_STEPS, stageLayout } from "./viewer-stages.js";
import { DEFAULT_STRINGS } from "./viewer-strings.js";
import { ImageStore } from "./viewer-images.js";
import { Standby } from "./viewer-standby.js";
import { baseInvertOf, presetsFor } from "./viewer-voi.js";

// P5 (≤ 1 GB of decoded images): the current case and N+1 with their priors (16 × ~27 MB at 13 Mpx) and
// room for the views of the case before; N+2/N+3 stay compressed in the HTTP cache (§6).
export const DEFAULT_CACHE_BYTES = 600 * 1024 * 1024;
const MAX_CACHE_BYTES = 1024 * 1024 * 1024;
const MAX_CELLS = 8;
let engineCount = 0;

async function cornerstone() {
  for (let i = 0; i < 200 && !window.L2Cornerstone; i++) await new Promise((r) => setTimeout(r, 50));
  if (!window.L2Cornerstone) throw new Error("cornerstone bundle not loaded (window.L2Cornerstone)");
  // 16-bit (norm16) textures: exact for integer mammograms and half the GPU memory of float32 (G1, P5).
  return window.L2Cornerstone.init({ core: { rendering: { preferSizeOverAccuracy: true } } });
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

class Viewer {
  constructor(root, options, cs) {
    this.cs = cs;
    this.root = root;
    this.onEvent = options.onEvent || (() => {});
    this.strings = { ...DEFAULT_STRINGS, ...(options.strings || {}) };
    this.memoryCapBytes = Math.min(options.memoryCapBytes || DEFAULT_CACHE_BYTES, MAX_CACHE_BYTES);
    cs.core.cache.setMaxCacheSize(this.memoryCapBytes);
    root.classList.add("l2v-root");
    this.grid = document.createElement("div");
    this.grid.className = "l2v-grid";
    root.appendChild(this.grid);
    engineCount += 1;
    this.engine = new cs.core.RenderingEngine(`l2-workstation-${engineCount}`);
    this.cells = [];
    this.images = new ImageStore(this); // image ids, loading, G2 hash checks, prefetch (viewer-images.js)
    this.standby = new Standby(this); // P1: the next case pre-hung on spare viewports (viewer-standby.js)
    this.voi = new Map(); // imageId → {presets, index, preset, baseInvert}
    this.markers = [];
    this.caseJson = null;
    this.stageNo = 2;
    this.sweepStep = 0;
    this.flicker = false;
    this.mode = "breast";
    this.state = { m: 1, zoom: 1, t: [0, 0], mode: "breast" };
    this.userInvert = false;
    this.overlaysHidden = false;
    this.oneToOne = false;
    this.markMode = false;
    this.loupe = new Loupe(this);
    this.measure = new Measure(this); // §4 M
    this.solo = new Solo(this); // §8 double-click
    this.detach = attachInteraction(this);
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(root);
  }

  dpr() {
    return window.devicePixelRatio || 1;
  }

  emit(name, detail = {}) {
    try {
      performance.mark(name, { detail });
    } catch (e) {
      /* marks are best effort */
    }
    try {
      this.onEvent(name, detail);
    } catch (e) {
      console.error(e);
    }
  }

  imageIdOf(view) {
    return this.images.imageIdOf(view);
  }

  isDecoded(imageId) {
    return this.images.isDecoded(imageId);
  }

  load(imageId) {
    return this.images.load(imageId);
  }

  prefetch(caseJson, options) {
    return this.images.prefetch(caseJson, options);
  }

  voiFor(imageId, view) {
    let voi = this.voi.get(imageId);
    if (!voi) {
      const presets = presetsFor(imageId);
      voi = { presets, index: 0, preset: presets[0], baseInvert: baseInvertOf(imageId, view.photometric) };
      this.voi.set(imageId, voi);
    }
    return voi;
  }

  currentViews() {
    return Object.values((this.caseJson && this.caseJson.views) || {});
  }

  priorViews() {
    const p = this.caseJson && this.caseJson.prior;
    return Object.values((p && p.views) || {});
  }

  visibleCells() {
    return this.cells.filter((c) => !c.root.hidden && c.entry);
  }

  losslessReady() {
    if (!this.caseJson) return false;
    const views = this.currentViews();
    return views.length > 0
      && views.every((v) => this.isDecoded(this.imageIdOf(v)) && this.images.verified.get(this.imageIdOf(v)) !== false)
      && this.visibleCells().every((c) => c.lossless);
  }

  async openCase(caseJson) {
    this.caseJson = caseJson;
    this.caseToken = (this.caseToken || 0) + 1;
    const token = this.caseToken;
    this.emit("l2:case-open", { exam_id: caseJson.exam && caseJson.exam.id });
    this.losslessEmitted = false;
    this.voi.clear();
    this.markers = [];
    this.userInvert = false;
    this.overlaysHidden = false;
    this.oneToOne = false;
    this.flicker = false;
    this.sweepStep = 0;
    this.mode = "breast";
    this.loupe.hide(true);
    const current = this.currentViews().map((v) => this.imageIdOf(v));
    const loading = current.map((id) => this.load(id).catch(() => null));
    // Priors after the current views (§6 fetch order: current lossless first).
    Promise.all(loading).then(() => {
      if (token === this.caseToken) for (const v of this.priorViews()) this.load(this.imageIdOf(v)).catch(() => {});
    });
    this.firstPaintPending = true; // l2:lossless never precedes l2:first-paint (F9 order), even when prefetched
    await this.hang(2);
    if (token !== this.caseToken) return;
    await nextFrame();
    this.firstPaintPending = false;
    this.emit("l2:first-paint", { exam_id: caseJson.exam && caseJson.exam.id, lossless: this.losslessReady() });
    this.checkLossless();
  }

  /** Hang stage n (H8): cells for its layout, stage scale (H6), anchoring (H7); previews then lossless. */
  async hang(n) {
    const layout = stageLayout(n, this.caseJson, { sweepStep: this.sweepStep, flicker: this.flicker });
    if (!layout) return false;
    this.solo.drop(); // a stage change ends the solo view
    this.measure.sync(); // a new case clears the measurements
    this.stageNo = n;
    this.layoutInfo = layout;
    this.root.dataset.stage = String(n);
    while (this.cells.length < Math.min(MAX_CELLS, layout.entries.length)) this.cells.push(new Cell(this, this.cells.length));
    this.grid.style.gridTemplateColumns = `repeat(${layout.cols}, 1fr)`;
    this.grid.style.gridTemplateRows = `repeat(${layout.rows}, 1fr)`;
    this.cells.forEach((cell, i) => {
      cell.root.hidden = i >= layout.entries.length;
    });
    // Resizing renders every viewport (spares too): only when the grid changed (P1: same 4-up, next case).
    const grid = `${layout.cols}x${layout.rows}:${Math.min(MAX_CELLS, layout.entries.length)}`;
    if (grid !== this.gridKey) this.engine.resize(true, false);
    this.gridKey = grid;
    this.resetState();
    const shown = layout.entries.slice(0, MAX_CELLS).map((entry, i) => {
      const cell = this.cells[i];
      const same = entry.view && cell.entry && cell.entry.view && cell.entry.view.sop_uid === entry.view.sop_uid
        && cell.lossless && cell.entry.prior === entry.prior;
      if (same) {
        cell.entry = entry;
        cell.layout();
        return Promise.resolve();
      }
      return cell.assign(entry.view ? entry : null, entry.empty || "");
    });
    for (const cell of this.cells) if (cell.root.hidden) cell.assign(null);
    await Promise.all(shown);
    this.emit("l2:stage", { stage: n, sweep_step: layout.sweepStep });
    this.checkLossless();
    return true;
  }

  resetState() {
    const layout = this.layoutInfo;
    const first = this.cells.find((c) => !c.root.hidden); // the solo view may hide cell 0
    const size = first ? first.size() : { width: 1, height: 1 };
    const m = stageScale(layout.scaleViews, size, this.dpr(), { mode: this.mode, widthOnly: !!layout.widthOnly });
    this.state = { m: m || 1, zoom: 1, t: [0, 0], mode: this.mode, vAnchor: layout.vAnchor };
    this.oneToOne = false;
  }

  relayout() {
    for (const cell of this.visibleCells()) cell.layout();
    this.loupe.refresh();
  }

  resize() {
    if (!this.layoutInfo) return;
    this.engine.resize(true, false);
    const { zoom, t } = this.state;
    this.resetState();
    this.state = { ...this.state, zoom, t };
    this.relayout();
  }

  cellLossless() {
    this.checkLossless();
  }

  checkLossless() {
    if (this.losslessEmitted || this.firstPaintPending || !this.losslessReady()) return;
    this.losslessEmitted = true;
    const exam = this.caseJson.exam && this.caseJson.exam.id;
    this.emit("l2:lossless", { exam_id: exam });
    this.painted({ exam_id: exam, reason: "lossless" });
  }

  painted(detail) {
    requestAnimationFrame(() => this.emit("l2:painted", detail));
  }

  stage(n) {
    n = Number(n);
    if (n === 7 && this.stageNo !== 7) this.sweepStep = 0;
    return this.hang(n).then((ok) => {
      if (ok) this.painted({ stage: n });
      return ok;
    });
  }

  async nextStage() {
    if (this.stageNo === 7 && this.sweepStep < SWEEP_STEPS.length - 1) {
      this.sweepStep += 1;
      return this.stage(7);
    }
    for (let n = this.stageNo + 1; n <= STAGE_COUNT; n++) {
      if (n === 7) this.sweepStep = 0;
      if (stageLayout(n, this.caseJson, { sweepStep: 0 })) return this.stage(n);
    }
    return false;
  }

  async previousStage() {
    if (this.stageNo === 7 && this.sweepStep > 0) {
      this.sweepStep -= 1;
      return this.stage(7);
    }
    for (let n = this.stageNo - 1; n >= 1; n--) {
      if (n === 7) this.sweepStep = SWEEP_STEPS.length - 1;
      if (stageLayout(n, this.caseJson, { sweepStep: this.sweepStep })) return this.stage(n);
    }
    return false;
  }

  currentStage() {
    return this.stageNo;
  }

  /** The cell under the pointer, else the first visible one; with the point (CSS px in the cell). */
  focusCell() {
    const last = this.pointer;
    if (last && last.cell && !last.cell.root.hidden && last.cell.entry) return last;
    const cell = this.visibleCells()[0];
    if (!cell) return null;
    const { width, height } = cell.size();
    return { cell, p: [width / 2, height / 2] };
  }

  zoomAt(cell, p, ratio) {
    this.state = zoomAbout(this.state, cell.size(), cell.entry.view.laterality === "L" ? "L" : "R", p, ratio);
    this.relayout();
  }

  action(name) {
    const focus = this.focusCell();
    switch (name) {
      case "fit":
        this.mode = this.mode === "breast" ? "viewport" : "breast";
        this.resetState();
        this.relayout();
        break;
      case "one_to_one": {
        if (!focus || !focus.cell.lossless) return false; // G3: off under a preview
        if (this.oneToOne) {
          this.resetState();
        } else {
          const pl = focus.cell.placement();
          this.zoomAt(focus.cell, focus.p, 1 / this.dpr() / pl.k);
          this.oneToOne = true;
        }
        this.relayout();
        break;
      }
      case "zoom_in":
      case "zoom_out":
        if (!focus) return false;
        this.zoomAt(focus.cell, focus.p, name === "zoom_in" ? 1.25 : 1 / 1.25);
        this.oneToOne = false;
        break;
      case "magnifier":
        return this.loupe.toggle();
      case "preset":
      case "reset_wl":
        for (const cell of this.visibleCells()) {
          if (!cell.lossless) continue;
          const voi = this.voiFor(cell.shownImageId, cell.entry.view);
          voi.index = name === "reset_wl" ? 0 : (voi.preset.custom ? voi.index : voi.index + 1) % voi.presets.length;
          voi.preset = voi.presets[voi.index];
          cell.applyVoi();
          cell.viewport.render();
          cell.renderOverlay();
        }
        this.loupe.refresh();
        break;
      case "invert":
        this.userInvert = !this.userInvert;
        for (const cell of this.visibleCells()) {
          cell.applyVoi();
          cell.viewport.render();
          cell.renderOverlay();
        }
        this.loupe.refresh();
        break;
      case "flicker":
        if (!this.layoutInfo || !this.layoutInfo.flickerable) return false;
        this.flicker = !this.flicker;
        return this.swapInPlace();
      case "overlays":
        this.overlaysHidden = !this.overlaysHidden;
        this.relayout();
        break;
      case "measure":
        return this.measure.start();
      case "cancel": // Esc: the measurement in progress first, then the solo view
        return this.measure.cancel() || this.solo.leave();
      default:
        return false;
    }
    this.painted({ action: name });
    return true;
  }

  /** P: same cells, same scale, anchoring and pan; only the images change (on the next frame). */
  async swapInPlace() {
    const layout = stageLayout(this.stageNo, this.caseJson, { flicker: this.flicker });
    this.layoutInfo = { ...layout, scaleViews: this.layoutInfo.scaleViews };
    await Promise.all(layout.entries.map((entry, i) => this.cells[i].assign(entry.view ? entry : null, entry.empty || "")));
    this.painted({ action: "flicker", flicker: this.flicker });
    return true;
  }

  setMarkMode(on) {
    this.markMode = !!on;
    this.root.classList.toggle("l2v-marking", this.markMode);
  }

  markAt(cell, p) {
    const stored = cell.storedAt(p);
    if (!stored) return;
    const view = cell.entry.view;
    const family = ["CC", "XCCL", "XCCM"].includes(view.view) ? "CC" : "MLO";
    this.emit("mark", {
      sop_uid: view.sop_uid, slot: cell.entry.slot, side: view.laterality === "L" ? "G" : "D", view: family,
      x: Math.round(stored[0] * 10) / 10, y: Math.round(stored[1] * 10) / 10, prior: !!cell.entry.prior,
      hint: nippleHint(cell.placement(), view, p, "breast"),
    });
  }

  addMarker(marker) {
    this.markers = this.markers.filter((m) => m.id !== marker.id).concat([marker]);
    for (const cell of this.visibleCells()) cell.drawMarks();
  }

  clearMarkers() {
    this.markers = [];
    for (const cell of this.visibleCells()) cell.drawMarks();
  }

  dispose() {
    this.detach();
    this.resizeObserver.disconnect();
    this.engine.destroy();
    this.root.replaceChildren();
    this.root.classList.remove("l2v-root");
  }
}

/** createViewer(rootElement, {onEvent, strings, memoryCapBytes}) → the viewer API of CONTRACT.md. */
export async function createViewer(rootElement, options = {}) {
  const cs = await cornerstone();
  const viewer = new Viewer(rootElement, options, cs);
  const api = {
    openCase: (c) => viewer.openCase(c),
    prefetch: (c, options) => viewer.prefetch(c, options),
    stage: (n) => viewer.stage(n),
    nextStage: () => viewer.nextStage(),
    previousStage: () => viewer.previousStage(),
    currentStage: () => viewer.currentStage(),
    action: (name) => viewer.action(name),
    setMarkMode: (on) => viewer.setMarkMode(on),
    addMarker: (m) => viewer.addMarker(m),
    clearMarkers: () => viewer.clearMarkers(),
    losslessReady: () => viewer.losslessReady(),
    dispose: () => viewer.dispose(),
    // for tests and the flow's diagnostics: not part of the contract
    _viewer: viewer,
  };
  return api;
}
