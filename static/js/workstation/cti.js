// CTI checklist (spec §7): hung views × reasons (POS, FLO, EXP, CMP, ART, MIS), action "à refaire" per view,
// a note to the L1 site. Arrows move, Space ticks, Enter commits (≥ 1 view with ≥ 1 reason). A missing view
// is pre-ticked "incidence manquante" (C7). The grid is rendered by the template (labels translated there).

const SLOTS = ["RCC", "LCC", "RMLO", "LMLO"];
const REASONS = ["POS", "FLO", "EXP", "CMP", "ART", "MIS"];

export class CtiChecklist {
  constructor({ root, strings, onChange }) {
    this.root = root;
    this.t = strings;
    this.onChange = onChange || (() => {});
    this.state = null;
    this.row = 0;
    this.col = 0;
    root.addEventListener("change", (event) => {
      const box = event.target;
      if (!this.state) return;
      if (box.dataset.reason) {
        this.set(box.dataset.slot, box.dataset.reason, box.checked);
        this.row = SLOTS.indexOf(box.dataset.slot);
        this.col = REASONS.indexOf(box.dataset.reason);
        this.paint();
      } else if (box.dataset.role === "cti-note") this.state.note = box.value;
    });
  }

  /** A fresh draft state for a case: missing views pre-ticked MIS. */
  static draft(caseJson) {
    const cells = Object.fromEntries(SLOTS.map((slot) => [slot, []]));
    for (const slot of caseJson.missing || []) if (cells[slot]) cells[slot].push("MIS");
    return { cells, note: "" };
  }

  load(state, caseJson) {
    this.state = state;
    this.row = 0;
    this.col = 0;
    for (const tr of this.root.querySelectorAll("tr[data-slot]")) {
      tr.classList.toggle("missing", (caseJson.missing || []).includes(tr.dataset.slot));
    }
    const note = this.root.querySelector("[data-role=cti-note]");
    if (note) note.value = state.note || "";
    this.paint();
  }

  set(slot, reason, on) {
    const list = this.state.cells[slot];
    const index = list.indexOf(reason);
    if (on && index < 0) list.push(reason);
    if (!on && index >= 0) list.splice(index, 1);
    this.onChange(null);
  }

  /** Grid keys (arrows, Space); true when used. */
  handleKey(event) {
    if (!this.state) return false;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[event.key]) {
      const [dr, dc] = moves[event.key];
      this.row = (this.row + dr + SLOTS.length) % SLOTS.length;
      this.col = (this.col + dc + REASONS.length) % REASONS.length;
    } else if (event.key === " " || event.code === "Space") {
      const slot = SLOTS[this.row];
      const reason = REASONS[this.col];
      this.set(slot, reason, !this.state.cells[slot].includes(reason));
    } else return false;
    this.paint();
    return true;
  }

  paint() {
    for (const box of this.root.querySelectorAll("input[data-reason]")) {
      box.checked = this.state.cells[box.dataset.slot].includes(box.dataset.reason);
      const here = box.dataset.slot === SLOTS[this.row] && box.dataset.reason === REASONS[this.col];
      box.closest("td").classList.toggle("cursor", here);
    }
    for (const tr of this.root.querySelectorAll("tr[data-slot]")) {
      const ticked = this.state.cells[tr.dataset.slot].length > 0;
      tr.classList.toggle("ticked", ticked);
      const redo = tr.querySelector("[data-role=redo]");
      if (redo) redo.checked = ticked;
    }
  }

  incomplete() {
    const any = SLOTS.some((slot) => this.state.cells[slot].length > 0);
    return any ? null : this.t.needCti;
  }

  /** The CTI items as the verdict JSON wants them. */
  payload() {
    const note = (this.state.note || "").slice(0, 300);
    const items = [];
    for (const slot of SLOTS) {
      for (const reason of this.state.cells[slot]) {
        items.push({ side: slot[0] === "R" ? "D" : "G", view: slot.slice(1), reason, action: "REF", instructions: note });
      }
    }
    return items;
  }
}
