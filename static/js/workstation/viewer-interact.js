// Mouse on the hanging (spec §4, §8): wheel zoom ×1.25 per notch at the cursor, left-drag pan (mirrored on
// R/L, identical on current/prior), right-drag or Ctrl+drag W/L, click = mark in marking mode (a measure point
// in measure mode, never a pan), double-click = view alone and back, Esc, loupe wheel, pointer hidden after 2 s.
import { clamp, panBy } from "./viewer-geometry.js";
import { dragWindow } from "./viewer-voi.js";

const HIDE_POINTER_MS = 2000;
const CLICK_SLOP_PX = 4;

function cellAt(viewer, event) {
  const node = event.target.closest && event.target.closest(".l2v-cell");
  if (!node) return null;
  const cell = viewer.cells[Number(node.dataset.cell)];
  if (!cell || !cell.entry) return null;
  const rect = cell.root.getBoundingClientRect();
  return { cell, p: [event.clientX - rect.left, event.clientY - rect.top] };
}

function notches(event) {
  const lines = event.deltaMode === 1 ? event.deltaY / 3 : event.deltaMode === 2 ? event.deltaY * 10 : event.deltaY / 100;
  return clamp(-lines, -1, 1);
}

export function attachInteraction(viewer) {
  const root = viewer.root;
  let drag = null;
  let hideTimer = null;

  const showPointer = () => {
    root.classList.remove("l2v-pointer-hidden");
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => root.classList.add("l2v-pointer-hidden"), HIDE_POINTER_MS);
  };

  const onWheel = (event) => {
    const hit = cellAt(viewer, event);
    if (!hit) return;
    event.preventDefault();
    viewer.pointer = hit;
    const n = notches(event);
    if (!n) return;
    if (viewer.loupe.active) {
      viewer.loupe.wheel(n, event.ctrlKey, hit);
      return;
    }
    viewer.zoomAt(hit.cell, hit.p, 1.25 ** n); // pinch arrives as wheel + ctrlKey: same zoom
    viewer.oneToOne = false;
    viewer.painted({ action: "wheel" });
  };

  const onDown = (event) => {
    const hit = cellAt(viewer, event);
    if (!hit) return;
    if (event.button === 0 && !event.ctrlKey && viewer.measure.click(hit.cell, hit.p)) return event.preventDefault(); // no pan
    const windowing = event.button === 2 || (event.button === 0 && event.ctrlKey);
    if (event.button !== 0 && !windowing) return;
    event.preventDefault();
    root.setPointerCapture(event.pointerId);
    drag = { ...hit, windowing, x: event.clientX, y: event.clientY, x0: event.clientX, y0: event.clientY, moved: false };
  };

  const onMove = (event) => {
    showPointer();
    const hit = cellAt(viewer, event);
    if (hit) viewer.pointer = hit;
    if (drag) {
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      drag.x = event.clientX;
      drag.y = event.clientY;
      if (Math.hypot(event.clientX - drag.x0, event.clientY - drag.y0) > CLICK_SLOP_PX) drag.moved = true;
      if (!drag.moved || (!dx && !dy)) return;
      if (drag.windowing) windowBy(viewer, dx, dy);
      else {
        viewer.state = panBy(viewer.state, drag.cell.entry.view.laterality === "L" ? "L" : "R", [dx, dy]);
        viewer.relayout();
      }
      return;
    }
    if (viewer.measure.active) viewer.measure.follow(hit);
    if (viewer.loupe.active) viewer.loupe.follow(hit);
  };

  const onUp = (event) => {
    if (!drag) return;
    const done = drag;
    drag = null;
    if (root.hasPointerCapture(event.pointerId)) root.releasePointerCapture(event.pointerId);
    if (!done.moved && !done.windowing && viewer.markMode) viewer.markAt(done.cell, done.p);
    if (done.moved) viewer.painted({ action: done.windowing ? "window" : "pan" });
  };

  const onLeave = () => {
    viewer.pointer = null;
    if (viewer.loupe.active) viewer.loupe.follow(null);
  };
  const noMenu = (event) => event.preventDefault();
  const onDouble = (event) => viewer.solo.toggleAt(event);
  // Esc consumed by the viewer (measure, solo) does not also leave the report panel's mode.
  const onKey = (event) => event.key === "Escape" && viewer.action("cancel") && event.stopPropagation();

  root.addEventListener("wheel", onWheel, { passive: false });
  root.addEventListener("pointerdown", onDown);
  root.addEventListener("pointermove", onMove);
  root.addEventListener("pointerup", onUp);
  root.addEventListener("pointercancel", onUp);
  root.addEventListener("pointerleave", onLeave);
  root.addEventListener("contextmenu", noMenu);
  root.addEventListener("dblclick", onDouble);
  root.addEventListener("keydown", onKey);
  return () => {
    clearTimeout(hideTimer);
    root.removeEventListener("wheel", onWheel);
    root.removeEventListener("pointerdown", onDown);
    root.removeEventListener("pointermove", onMove);
    root.removeEventListener("pointerup", onUp);
    root.removeEventListener("pointercancel", onUp);
    root.removeEventListener("pointerleave", onLeave);
    root.removeEventListener("contextmenu", noMenu);
    root.removeEventListener("dblclick", onDouble);
    root.removeEventListener("keydown", onKey);
  };
}

/** Right-drag W/L on every visible lossless view (each from its own window; VOI stays per image). */
function windowBy(viewer, dx, dy) {
  for (const cell of viewer.visibleCells()) {
    if (!cell.lossless) continue;
    const voi = viewer.voiFor(cell.shownImageId, cell.entry.view);
    voi.preset = dragWindow(voi.preset, cell.viewport.getCornerstoneImage(), dx, dy);
    cell.applyVoi();
    cell.viewport.render();
    cell.renderOverlay();
  }
  viewer.loupe.refresh();
}
