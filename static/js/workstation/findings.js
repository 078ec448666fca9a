// Anomaly findings (spec §7 F7): click-to-mark on the images, one card per finding with its breast (from
// the image), numbered markers, schema location, type A–G, ACR 0/3/4/5 (required), size and comment.
// Card keys: A–G type, 0 3 4 5 ACR (KeyboardEvent.code), arrows move the hour, Enter closes, Esc cancels.

import { digitOf, lesionLetter } from "./keys.js";
import { drawSchema, halfCode, propose, quadrantOfHour, showOnSchema } from "./schema.js";

// The depth the viewer proposes (thirds nipple → chest wall), as the server stores it.
const DEPTH_CODES = { "antérieur": "ANT", moyen: "MOY", "postérieur": "POST" };
const ACRS = new Set([0, 3, 4, 5]);
let serial = 0;

export class Findings {
  constructor({ list, template, viewer, strings, onChange }) {
    this.list = list;
    this.template = template;
    this.viewer = viewer;
    this.t = strings;
    this.onChange = onChange || (() => {});
    this.items = []; // the case draft's findings (kept by reference in the draft)
    this.open = null; // the finding whose card has the keyboard
    this.snapshot = null; // its state when opened, for Esc
  }

  /** Show the findings of a case's draft (the array is the draft's own and is edited in place). */
  load(items) {
    this.items = items;
    this.open = null;
    this.list.replaceChildren(...items.map((f) => this.render(f)));
    this.syncMarkers();
  }

  isOpen() {
    return this.open !== null;
  }

  /** A click on a view in marking mode: the counterpart on the open card, else a new finding. */
  mark(detail) {
    const side = detail.side || (String(detail.slot || "").startsWith("R") ? "D" : "G");
    const view = detail.view || (String(detail.slot || "").includes("MLO") ? "MLO" : "CC");
    const mark = { sop_uid: detail.sop_uid, x: Math.round(detail.x), y: Math.round(detail.y), slot: detail.slot,
                   view, half: halfCode(detail.hint?.half ?? detail.half), depth: detail.hint?.depth || "" };
    let finding = this.open;
    if (finding && (finding.side !== side || finding.marks.some((m) => m.view === view))) {
      const problem = this.close();
      if (problem) return problem;
      finding = null;
    }
    if (!finding) {
      finding = { key: ++serial, side, lesion_type: "", quadrant: "", clock: null, acr: null, size_mm: null,
                  comment: "", marks: [], depth: "" };
      this.items.push(finding);
      this.list.append(this.render(finding));
      this.snapshot = null;
      this.open = finding;
    }
    finding.marks.push(mark);
    finding.depth = finding.depth || mark.depth;
    const halves = Object.fromEntries(finding.marks.map((m) => [m.view, m.half]));
    const proposal = propose(side, halves);
    if (proposal.quadrant && !finding.placed) Object.assign(finding, proposal);
    this.focus(finding);
    return null;
  }

  /** Card keys while a card is open; true when the key was used. */
  handleKey(event) {
    const finding = this.open;
    if (!finding) return false;
    const letter = lesionLetter(event);
    const digit = digitOf(event);
    if (letter) finding.lesion_type = letter;
    else if (digit !== null && ACRS.has(digit)) finding.acr = digit;
    else if (event.key === "ArrowRight" || event.key === "ArrowUp" || event.key === "ArrowLeft" || event.key === "ArrowDown") {
      const step = event.key === "ArrowRight" || event.key === "ArrowUp" ? 1 : -1;
      const hour = finding.clock || (step > 0 ? 0 : 1);
      finding.clock = ((hour - 1 + step + 12) % 12) + 1;
      finding.quadrant = quadrantOfHour(finding.side, finding.clock);
      finding.placed = true;
    } else if (event.key === "Enter") {
      const problem = this.close();
      if (problem) this.onChange(problem);
      return true;
    } else if (event.key === "Escape") {
      this.cancel();
      return true;
    } else if (digit !== null) {
      this.onChange(this.t.acrKeys);
      return true;
    } else return false;
    this.refresh(finding);
    return true;
  }

  /** Close the open card if complete; returns the French reason it cannot close, else null. */
  close() {
    const finding = this.open;
    if (!finding) return null;
    const problem = this.problem(finding);
    if (problem) return problem;
    this.open = null;
    this.snapshot = null;
    this.refresh(finding);
    this.onChange(null);
    return null;
  }

  /** Esc: a new card is dropped with its markers; a reopened one gets back its state. */
  cancel() {
    const finding = this.open;
    if (!finding) return;
    this.open = null;
    if (this.snapshot) Object.assign(finding, this.snapshot);
    else this.items.splice(this.items.indexOf(finding), 1);
    this.snapshot = null;
    this.load(this.items);
    this.onChange(null);
  }

  /** Ctrl+Z on the card: the last mark goes (and the card with it when it was its only mark). */
  undoMark() {
    const finding = this.open || this.items[this.items.length - 1];
    if (!finding || !finding.marks.length) return false;
    finding.marks.pop();
    if (!finding.marks.length) {
      this.items.splice(this.items.indexOf(finding), 1);
      this.open = null;
    }
    const stillOpen = this.open === finding;
    this.load(this.items);
    if (stillOpen && this.items.includes(finding)) this.focus(finding);
    return true;
  }

  reopen(finding) {
    if (this.open && this.open !== finding && this.close()) return;
    this.snapshot = { ...finding, marks: [...finding.marks] };
    this.focus(finding);
  }

  problem(finding) {
    if (!finding.lesion_type) return this.t.needType;
    if (finding.acr === null || finding.acr === undefined) return this.t.needAcr;
    if (!finding.quadrant) return this.t.needPlace;
    return null;
  }

  /** The first reason the findings cannot be committed, or null. */
  incomplete() {
    if (!this.items.length) return this.t.needFinding;
    for (const finding of this.items) {
      const problem = this.problem(finding);
      if (problem) return problem;
    }
    return null;
  }

  /** The findings as the verdict JSON wants them. */
  payload() {
    return this.items.map((f) => ({
      side: f.side, lesion_type: f.lesion_type, quadrant: f.quadrant, clock: f.clock || null, acr: f.acr,
      size_mm: f.size_mm || null, comment: f.comment || "", depth: DEPTH_CODES[f.depth] || "",
      marks: f.marks.map((m) => ({ sop_uid: m.sop_uid, x: m.x, y: m.y })),
    })); // fmt: skip
  }

  focus(finding) {
    this.open = finding;
    this.refresh(finding);
    this.syncMarkers();
    this.cardOf(finding)?.focus({ preventScroll: false });
    this.onChange(null);
  }

  syncMarkers() {
    if (!this.viewer) return;
    this.viewer.clearMarkers?.();
    this.items.forEach((finding, index) => {
      for (const mark of finding.marks) {
        this.viewer.addMarker?.({ id: `f${finding.key}-${mark.view}`, sop_uid: mark.sop_uid, x: mark.x, y: mark.y,
                                  label: String(index + 1) });
      }
    });
  }

  cardOf(finding) {
    return this.list.querySelector(`[data-key="${finding.key}"]`);
  }

  render(finding) {
    const card = this.template.content.firstElementChild.cloneNode(true);
    card.dataset.key = finding.key;
    for (const input of card.querySelectorAll("input[type=radio]")) input.name = `${input.dataset.role}-${finding.key}`;
    const schema = drawSchema(card.querySelector("[data-role=schema]"), (pick) => {
      if (pick.side !== finding.side) return;
      finding.quadrant = pick.quadrant;
      if (pick.clock) finding.clock = pick.clock;
      finding.placed = true;
      this.refresh(finding);
    });
    card.schema = schema;
    card.addEventListener("change", (event) => {
      const role = event.target.dataset.role;
      const value = event.target.value;
      if (role === "type") finding.lesion_type = value;
      else if (role === "acr") finding.acr = Number(value);
      else if (role === "quadrant") (finding.quadrant = value), (finding.placed = true);
      else if (role === "size") finding.size_mm = value ? Math.max(1, Math.round(Number(value))) : null;
      else if (role === "comment") finding.comment = value;
      this.refresh(finding);
    });
    card.addEventListener("focusin", () => {
      if (this.open !== finding) this.reopen(finding);
    });
    this.fill(card, finding);
    return card;
  }

  refresh(finding) {
    const card = this.cardOf(finding);
    if (card) this.fill(card, finding);
  }

  fill(card, finding) {
    const number = this.items.indexOf(finding) + 1;
    card.querySelector("[data-role=title]").textContent =
      `${this.t.finding} ${number} — ${finding.side === "D" ? this.t.right : this.t.left}`;
    card.classList.toggle("open", this.open === finding);
    card.classList.toggle("incomplete", Boolean(this.problem(finding)));
    for (const input of card.querySelectorAll("[data-role=type]")) input.checked = input.value === finding.lesion_type;
    for (const input of card.querySelectorAll("[data-role=acr]")) input.checked = Number(input.value) === finding.acr && finding.acr !== null;
    card.querySelector("[data-role=quadrant]").value = finding.quadrant || "";
    card.querySelector("[data-role=clock]").textContent = finding.clock ? `${finding.clock} h` : "";
    card.querySelector("[data-role=depth]").textContent = finding.depth ? `${this.t.depth} : ${finding.depth}` : "";
    const size = card.querySelector("[data-role=size]");
    if (document.activeElement !== size) size.value = finding.size_mm || "";
    const comment = card.querySelector("[data-role=comment]");
    if (document.activeElement !== comment) comment.value = finding.comment || "";
    card.querySelector("[data-role=marks]").textContent = finding.marks
      .map((m) => `${number} · ${m.view} ${finding.side}`)
      .join("   ");
    showOnSchema(card.schema, finding);
  }
}
