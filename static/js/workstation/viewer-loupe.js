// Magnifier (spec §4 `L`): a loupe at the pointer, 320 CSS px, ×2 (wheel 1.5–8, Ctrl+wheel = size), drawn by
// its own cornerstone stack viewport from the lossless image (cache hit) with the source viewport's VOI and
// invert; off while a preview is shown (G3).
import { clamp } from "./viewer-geometry.js";
import { applyVoi } from "./viewer-voi.js";

export class Loupe {
  constructor(viewer) {
    this.viewer = viewer;
    this.active = false;
    this.factor = 2;
    this.sizeCss = 320;
    this.el = document.createElement("div");
    this.el.className = "l2v-loupe";
    this.el.hidden = false;
    this.el.style.visibility = "hidden";
    this.vpEl = document.createElement("div");
    this.vpEl.className = "l2v-loupe-vp";
    this.el.appendChild(this.vpEl);
    this.label = document.createElement("span");
    this.label.className = "l2v-loupe-label";
    this.el.appendChild(this.label);
    viewer.root.appendChild(this.el);
    this.sizeTo(this.sizeCss);
    this.id = "l2v-loupe";
    this.enabled = false;
    this.imageId = null;
    this.hit = null;
  }

  sizeTo(px) {
    this.sizeCss = px;
    this.el.style.width = `${px}px`;
    this.el.style.height = `${px}px`;
  }

  ensureViewport() {
    if (this.enabled) return this.viewer.engine.getViewport(this.id);
    const { core } = window.L2Cornerstone;
    this.viewer.engine.enableElement({
      viewportId: this.id, type: core.Enums.ViewportType.STACK, element: this.vpEl,
      defaultOptions: { background: [0, 0, 0] },
    });
    this.enabled = true;
    return this.viewer.engine.getViewport(this.id);
  }

  toggle() {
    if (this.active) {
      this.hide(true);
      return true;
    }
    const focus = this.viewer.focusCell();
    if (!focus || !focus.cell.lossless) return false;
    this.active = true;
    this.viewer.root.classList.add("l2v-loupe-on");
    this.follow(focus);
    return true;
  }

  hide(off = false) {
    this.el.style.visibility = "hidden";
    if (off) {
      this.active = false;
      this.viewer.root.classList.remove("l2v-loupe-on");
    }
  }

  wheel(notches, ctrl, hit) {
    if (ctrl) this.sizeTo(clamp(Math.round(this.sizeCss * 1.25 ** notches), 160, 800));
    else this.factor = clamp(this.factor * 1.25 ** notches, 1.5, 8);
    if (ctrl) this.viewer.engine.resize(true, true);
    this.follow(hit);
  }

  refresh() {
    if (this.active && this.hit) this.follow(this.hit);
  }

  async follow(hit) {
    this.hit = hit;
    if (!hit || !hit.cell.lossless) {
      this.hide();
      return;
    }
    const { cell, p } = hit;
    const vp = this.ensureViewport();
    const rootRect = this.viewer.root.getBoundingClientRect();
    const cellRect = cell.root.getBoundingClientRect();
    this.el.style.left = `${cellRect.left - rootRect.left + p[0] - this.sizeCss / 2}px`;
    this.el.style.top = `${cellRect.top - rootRect.top + p[1] - this.sizeCss / 2}px`;
    if (this.imageId !== cell.shownImageId) {
      this.imageId = cell.shownImageId;
      await vp.setStack([this.imageId], 0);
      if (this.hit !== hit) return;
    }
    const voi = this.viewer.voiFor(cell.shownImageId, cell.entry.view);
    applyVoi(vp, voi.preset, voi.baseInvert !== this.viewer.userInvert);
    const src = cell.viewport.getCamera();
    const world = cell.viewport.canvasToWorld(p);
    const { height } = cell.size();
    vp.setCamera({
      viewUp: src.viewUp,
      viewPlaneNormal: src.viewPlaneNormal,
      focalPoint: world,
      position: world.map((v, i) => v + (src.position[i] - src.focalPoint[i])),
      parallelScale: (src.parallelScale * (this.sizeCss / height)) / this.factor,
    });
    vp.render();
    this.label.textContent = `×${this.factor.toFixed(1)}`;
    this.el.style.visibility = "visible";
  }
}
