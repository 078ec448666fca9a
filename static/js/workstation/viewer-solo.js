// Double-click = viewport alone and back (spec §8 Mouse): the double-clicked view fills the viewer area, at the
// stage scale logic applied to that view alone (H6, current fit mode), same VOI (per image, untouched);
// a second double-click or `Esc` restores the stage exactly as it was (grid, zoom, pan, fit mode, cameras).
// A stage change or a new case drops it (hang() rebuilds the layout itself).

/** The visible cell under a client point (a double-click after pointer capture targets the root). */
function cellAtPoint(viewer, x, y) {
  for (const cell of viewer.visibleCells()) {
    const r = cell.root.getBoundingClientRect();
    if (x >= r.left && x < r.right && y >= r.top && y < r.bottom) return cell;
  }
  return null;
}

export class Solo {
  constructor(viewer) {
    this.viewer = viewer;
    this.saved = null;
  }

  get active() {
    return !!this.saved;
  }

  /** dblclick on the viewer: alone ↔ back. Ignored while clicks mean something else (mark, measure). */
  toggleAt(event) {
    const v = this.viewer;
    if (v.markMode || (v.measure && v.measure.active)) return false;
    if (this.saved) return this.leave();
    const cell = cellAtPoint(v, event.clientX, event.clientY);
    return cell ? this.enter(cell) : false;
  }

  enter(cell) {
    const v = this.viewer;
    if (this.saved || !cell.entry || !v.layoutInfo) return false;
    this.saved = {
      cell,
      layout: v.layoutInfo,
      state: { ...v.state, t: [...v.state.t] },
      mode: v.mode,
      oneToOne: v.oneToOne,
      hidden: v.cells.map((c) => c.root.hidden),
      cols: v.grid.style.gridTemplateColumns,
      rows: v.grid.style.gridTemplateRows,
      size: [v.root.clientWidth, v.root.clientHeight],
    };
    for (const c of v.cells) c.root.hidden = c !== cell;
    v.grid.style.gridTemplateColumns = "1fr";
    v.grid.style.gridTemplateRows = "1fr";
    // A one-view "stage": the H6 scale of that view alone, default anchoring, no flicker.
    v.layoutInfo = {
      n: v.layoutInfo.n, cols: 1, rows: 1, entries: [cell.entry], scaleViews: [cell.entry.view], solo: true,
    };
    v.root.classList.add("l2v-solo");
    v.root.dataset.solo = cell.root.dataset.slot || "";
    v.engine.resize(true, false);
    v.resetState();
    v.relayout();
    v.emit("l2:solo", { on: true, slot: cell.entry.slot, prior: !!cell.entry.prior });
    v.painted({ action: "solo" });
    return true;
  }

  leave() {
    const v = this.viewer;
    const s = this.saved;
    if (!s) return false;
    this.drop();
    v.cells.forEach((c, i) => {
      c.root.hidden = s.hidden[i];
    });
    v.grid.style.gridTemplateColumns = s.cols;
    v.grid.style.gridTemplateRows = s.rows;
    v.layoutInfo = s.layout;
    v.mode = s.mode;
    v.engine.resize(true, false);
    v.state = s.state;
    v.oneToOne = s.oneToOne;
    const resized = s.size[0] !== v.root.clientWidth || s.size[1] !== v.root.clientHeight;
    if (resized) v.resize(); // the window changed meanwhile: new stage scale, same zoom and pan
    else v.relayout();
    v.emit("l2:solo", { on: false, slot: s.cell.entry && s.cell.entry.slot });
    v.painted({ action: "solo" });
    return true;
  }

  /** Forget the solo view without restoring (hang() lays the new stage out). */
  drop() {
    if (!this.saved) return;
    this.saved = null;
    this.viewer.gridKey = null; // the solo grid is still in place: hang() must resize
    this.viewer.root.classList.remove("l2v-solo");
    delete this.viewer.root.dataset.solo;
  }
}
