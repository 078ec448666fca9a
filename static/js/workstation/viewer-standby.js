// P1 (spec §6: prefetched next case painted ≤ 100 ms after the verdict key): the next case's 4-up is hung
// before it opens. Each of the four entry cells owns a hidden spare cornerstone viewport; once N+1 is decoded,
// its views are set on the spares and rendered once (the GPU texture upload, the slow part, happens then).
// When that case opens, the cell swaps its viewport for the spare: only the camera, VOI and a render remain.
import { stageLayout } from "./viewer-stages.js";

const ENTRY_STAGE = 2;

export class Standby {
  constructor(viewer) {
    this.viewer = viewer;
    this.spares = new Map(); // cell index → {vpEl, viewport, imageId}
    this.examId = null;
    this.count = 0;
    this.adopted = 0; // views opened from a spare (diagnostics and tests)
  }

  spareOf(cell) {
    let spare = this.spares.get(cell.index);
    if (!spare) {
      const vpEl = document.createElement("div");
      vpEl.className = "l2v-vp l2v-spare";
      vpEl.style.visibility = "hidden"; // laid out at the cell's size, so it renders, but never seen
      vpEl.addEventListener("contextmenu", (e) => e.preventDefault());
      cell.root.insertBefore(vpEl, cell.vpEl.nextSibling);
      const { core } = window.L2Cornerstone;
      this.count += 1;
      const viewportId = `${cell.id}-spare-${this.count}`;
      this.viewer.engine.enableElement({
        viewportId, type: core.Enums.ViewportType.STACK, element: vpEl, defaultOptions: { background: [0, 0, 0] },
      });
      spare = { vpEl, viewport: this.viewer.engine.getViewport(viewportId), imageId: null };
      this.spares.set(cell.index, spare);
    }
    return spare;
  }

  /** Hang the decoded current views of `caseJson` (the next case) on the spares of the entry cells. */
  async prepare(caseJson) {
    const layout = stageLayout(ENTRY_STAGE, caseJson, {});
    if (!layout) return;
    const examId = caseJson.exam && caseJson.exam.id;
    this.examId = examId;
    const jobs = layout.entries.slice(0, 4).map(async (entry, i) => {
      const cell = this.viewer.cells[i];
      if (!cell || !entry.view) return;
      const imageId = this.viewer.imageIdOf(entry.view);
      if (!this.viewer.isDecoded(imageId) || cell.shownImageId === imageId) return;
      const spare = this.spareOf(cell);
      if (spare.imageId === imageId) return;
      spare.imageId = null;
      await spare.viewport.setStack([imageId], 0);
      if (this.examId !== examId) return;
      spare.imageId = imageId;
      spare.viewport.render(); // uploads the texture now, while the reader reads the current case
    });
    await Promise.all(jobs);
  }

  /** If the spare of `cell` holds `imageId`, swap it in as the cell's viewport; true when adopted. */
  adopt(cell, imageId) {
    const spare = this.spares.get(cell.index);
    if (!spare || spare.imageId !== imageId || !this.viewer.isDecoded(imageId)) return false;
    const old = { vpEl: cell.vpEl, viewport: cell.viewport, imageId: cell.shownImageId };
    cell.vpEl = spare.vpEl;
    cell.viewport = spare.viewport;
    cell.shownImageId = imageId; // showLossless then skips setStack: camera, VOI and one render
    cell.vpEl.classList.remove("l2v-spare");
    old.vpEl.style.visibility = "hidden";
    old.vpEl.classList.add("l2v-spare");
    this.spares.set(cell.index, old);
    this.adopted += 1;
    return true;
  }
}
