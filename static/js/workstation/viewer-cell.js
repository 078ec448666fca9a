// One cell of the hanging: a cornerstone StackViewport element, the 8-bit preview laid exactly where the
// lossless image will be (G3: in-place swap, no zoom/pan jump), orientation letters, overlays and marks.
import { canvasToStored, orientationLabels, placement, spacingOf, storedToCanvas } from "./viewer-geometry.js";
import { applyVoi } from "./viewer-voi.js";
import { format, frenchDate } from "./viewer-strings.js";

const SVG = "http://www.w3.org/2000/svg";

function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

export class Cell {
  constructor(viewer, index) {
    this.viewer = viewer;
    this.index = index;
    this.id = `l2v-cell-${index}`;
    this.root = el("div", "l2v-cell", viewer.grid);
    this.root.dataset.cell = String(index);
    this.vpEl = el("div", "l2v-vp", this.root);
    this.vpEl.addEventListener("contextmenu", (e) => e.preventDefault());
    this.preview = el("img", "l2v-preview", this.root);
    this.preview.alt = "";
    this.preview.draggable = false;
    this.preview.hidden = true;
    this.marks = document.createElementNS(SVG, "svg");
    this.marks.setAttribute("class", "l2v-marks");
    this.root.appendChild(this.marks);
    this.overlay = el("div", "l2v-overlay", this.root);
    this.labels = {};
    for (const edge of ["left", "right", "top", "bottom"]) this.labels[edge] = el("span", `l2v-orient l2v-orient-${edge}`, this.root);
    const { core } = window.L2Cornerstone;
    viewer.engine.enableElement({
      viewportId: this.id,
      type: core.Enums.ViewportType.STACK,
      element: this.vpEl,
      defaultOptions: { background: [0, 0, 0] },
    });
    this.viewport = viewer.engine.getViewport(this.id);
    this.entry = null;
    this.shownImageId = null; // image shown losslessly by the viewport
    this.lossless = false;
    this.token = 0;
  }

  get view() {
    return this.entry && this.entry.view;
  }

  size() {
    return { width: this.root.clientWidth, height: this.root.clientHeight };
  }

  /** Hang `entry` ({view, prior, months, date, slot}) or an empty slot (null + slot name). */
  assign(entry, emptySlot = "") {
    this.token += 1;
    const token = this.token;
    this.entry = entry;
    this.lossless = false;
    this.root.classList.toggle("l2v-empty", !entry);
    this.root.dataset.slot = entry ? entry.slot + (entry.prior ? "p" : "") : emptySlot;
    this.root.dataset.state = entry ? "loading" : "empty";
    if (!entry) {
      this.preview.hidden = true;
      this.vpEl.style.visibility = "hidden";
      this.overlay.textContent = emptySlot ? format(this.viewer.strings.empty, { slot: emptySlot }) : "";
      for (const label of Object.values(this.labels)) label.textContent = "";
      this.drawMarks();
      return Promise.resolve();
    }
    const imageId = this.viewer.imageIdOf(entry.view);
    this.viewer.standby.adopt(this, imageId); // pre-hung on the spare viewport: no texture upload now (P1)
    if (this.viewer.isDecoded(imageId)) return this.showLossless(imageId, token);
    this.vpEl.style.visibility = "hidden";
    const previewShown = this.showPreview(entry.view, token);
    const lossless = this.viewer.load(imageId).then(
      () => this.showLossless(imageId, token),
      (error) => {
        if (token !== this.token) return;
        this.root.dataset.state = "error";
        this.viewer.emit("l2:error", { message: format(this.viewer.strings.error_load, { slot: entry.slot }), detail: String(error) });
      },
    );
    this.pendingLossless = lossless;
    return previewShown;
  }

  async showPreview(view, token) {
    if (!view.preview_url) return;
    this.preview.hidden = true;
    this.preview.src = view.preview_url;
    try {
      await this.preview.decode();
    } catch (e) {
      return;
    }
    if (token !== this.token || this.lossless) return;
    this.root.dataset.state = "preview";
    this.layout();
    this.preview.hidden = false;
    this.renderOverlay();
  }

  async showLossless(imageId, token) {
    const vp = this.viewport;
    if (this.shownImageId !== imageId) {
      await vp.setStack([imageId], 0);
      if (token !== this.token) return;
      this.shownImageId = imageId;
    }
    const rendered = new Promise((resolve) => {
      const { core } = window.L2Cornerstone;
      const done = () => { this.vpEl.removeEventListener(core.Enums.Events.IMAGE_RENDERED, done); resolve(); };
      this.vpEl.addEventListener(core.Enums.Events.IMAGE_RENDERED, done);
      setTimeout(done, 2000); // never hang the swap on a lost event
    });
    this.applyVoi();
    this.layout();
    vp.render();
    await rendered;
    if (token !== this.token) return;
    // G3: the swap happens in one task, after the lossless frame is drawn at the same place.
    this.vpEl.style.visibility = "visible";
    this.preview.hidden = true;
    this.lossless = true;
    this.root.dataset.state = "lossless";
    this.renderOverlay();
    this.viewer.cellLossless(this);
  }

  applyVoi() {
    if (!this.entry || this.shownImageId !== this.viewer.imageIdOf(this.entry.view)) return;
    const voi = this.viewer.voiFor(this.shownImageId, this.entry.view);
    applyVoi(this.viewport, voi.preset, voi.baseInvert !== this.viewer.userInvert);
  }

  placement() {
    return this.entry ? placement(this.entry.view, this.size(), this.viewer.dpr(), this.viewer.state) : null;
  }

  /** Lay the preview, the camera, the marks and the letters out from the stage state. */
  layout() {
    const pl = this.placement();
    if (!pl) return;
    const view = this.entry.view;
    const s = this.preview.style;
    s.left = `${pl.left}px`;
    s.top = `${pl.top}px`;
    s.width = `${pl.width}px`;
    s.height = `${pl.height}px`;
    s.transform = `scale(${pl.flipH ? -1 : 1}, ${pl.flipV ? -1 : 1})`;
    if (this.shownImageId && this.shownImageId === this.viewer.imageIdOf(view)) this.applyCamera(pl, view);
    const letters = orientationLabels(view);
    for (const [edge, label] of Object.entries(this.labels)) label.textContent = letters ? letters[edge] : "?";
    this.drawMarks(pl);
    this.renderOverlay();
  }

  /** Camera from the placement: flips as camera transforms (H3), parallel scale from k, image centre at (cx, cy). */
  applyCamera(pl, view) {
    const vp = this.viewport;
    const data = vp.getImageData();
    if (!data) return;
    vp.setCamera({ flipHorizontal: pl.flipH, flipVertical: pl.flipV });
    const ws = data.spacing[1] || 1;
    const { height } = this.size();
    vp.setCamera({ parallelScale: ((height / 2) * ws) / pl.k });
    const dims = data.dimensions;
    const centre = data.imageData.indexToWorld([(dims[0] - 1) / 2, (dims[1] - 1) / 2, 0]);
    const now = vp.worldToCanvas(centre);
    const a = vp.canvasToWorld(now);
    const b = vp.canvasToWorld([pl.cx, pl.cy]);
    const cam = vp.getCamera();
    const d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    vp.setCamera({
      focalPoint: cam.focalPoint.map((v, i) => v + d[i]),
      position: cam.position.map((v, i) => v + d[i]),
    });
    vp.render();
  }

  /** Stored-pixel coordinates under a point of the cell (CSS px), or null outside the image. */
  storedAt(p) {
    const pl = this.placement();
    if (!pl) return null;
    const [x, y] = canvasToStored(pl, this.entry.view, p);
    const v = this.entry.view;
    return x >= 0 && y >= 0 && x < v.columns && y < v.rows ? [x, y] : null;
  }

  drawMarks(pl = this.placement()) {
    while (this.marks.firstChild) this.marks.firstChild.remove();
    if (!pl || this.viewer.overlaysHidden) return;
    const view = this.entry.view;
    for (const mark of this.viewer.markers) {
      if (mark.sop_uid !== view.sop_uid) continue;
      const [x, y] = storedToCanvas(pl, view, [mark.x, mark.y]);
      const g = document.createElementNS(SVG, "g");
      g.setAttribute("class", "l2v-marker");
      g.dataset.markerId = String(mark.id);
      const ring = document.createElementNS(SVG, "circle");
      ring.setAttribute("cx", x);
      ring.setAttribute("cy", y);
      ring.setAttribute("r", 14);
      const text = document.createElementNS(SVG, "text");
      text.setAttribute("x", x + 18);
      text.setAttribute("y", y - 14);
      text.textContent = mark.label ?? String(mark.id);
      g.append(ring, text);
      this.marks.appendChild(g);
    }
    this.viewer.measure.draw(this, pl, this.marks); // §4 measurements share the marks layer (O hides both)
  }

  renderOverlay() {
    if (!this.entry) return;
    const t = this.viewer.strings;
    const { view, prior, months, date } = this.entry;
    const lines = [];
    const modifiers = (view.modifiers || []).length ? " ID" : "";
    lines.push([`${view.view} ${view.laterality === "L" ? t.side_L : t.side_R}${modifiers}${view.badge ? " " + view.badge : ""}`, "l2v-id"]);
    if (!this.viewer.overlaysHidden) {
      lines.push([frenchDate(date), ""]);
      lines.push([prior ? format(t.prior, { months }) : t.current, prior ? "l2v-prior" : ""]);
      for (const flag of view.flags || []) if (t[`flag_${flag}`]) lines.push([t[`flag_${flag}`], "l2v-flag"]);
      if (!spacingOf(view)) lines.push([t.flag_no_spacing, "l2v-flag"]);
      if (this.lossless) {
        const voi = this.viewer.voiFor(this.shownImageId, view);
        lines.push([voi.preset.custom ? t.wl_custom : voi.preset.name, "l2v-wl"]);
      }
    }
    if (!this.lossless) lines.push([t.preview, "l2v-preview-badge"]);
    if (this.viewer.userInvert) lines.push([t.invert, "l2v-inv"]);
    if (this.viewer.oneToOne) lines.push([t.one_to_one, "l2v-1to1"]);
    this.overlay.replaceChildren(...lines.map(([text, cls]) => {
      const line = document.createElement("div");
      line.textContent = text;
      if (cls) line.className = cls;
      return line;
    }));
    this.overlay.classList.toggle("l2v-overlay-left", view.laterality !== "L");
    this.overlay.classList.toggle("l2v-overlay-right", view.laterality === "L");
    for (const label of Object.values(this.labels)) label.hidden = this.viewer.overlaysHidden;
  }
}
