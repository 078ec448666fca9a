// L2 report panel (spec §7): exactly one verdict, empty by default — Normal (ACR D/G 1 or 2, default L1's
// values), Anomalie (findings, see findings.js), CTI (checklist, see cti.js) — plus a free comment. The
// panel keeps each case's draft in memory (skip and undo give it back) and builds the verdict JSON.

import { CtiChecklist } from "./cti.js";
import { Findings } from "./findings.js";

export const VERDICT_LABEL = { NORMAL: "NORMAL", ANOMALY: "ANOMALIE", CTI: "CTI" };

export class Panel {
  constructor({ root, viewer, strings, twoStep, onMessage }) {
    this.root = root;
    this.viewer = viewer;
    this.t = strings;
    this.twoStep = twoStep;
    this.say = onMessage || (() => {});
    this.draft = null;
    this.caseJson = null;
    this.findings = new Findings({
      list: root.querySelector("[data-role=findings]"),
      template: document.getElementById("ws-card-template"),
      viewer,
      strings,
      onChange: (message) => (message ? this.say(message) : this.paint()),
    });
    this.cti = new CtiChecklist({
      root: root.querySelector("[data-role=cti]"),
      strings,
      onChange: (message) => (message ? this.say(message) : this.paint()),
    });
    root.addEventListener("change", (event) => {
      if (!this.draft) return;
      const role = event.target.dataset.role;
      if (role === "acr-right") this.draft.acr.right = Number(event.target.value);
      else if (role === "acr-left") this.draft.acr.left = Number(event.target.value);
      else if (role === "comment") this.draft.comment = event.target.value;
    });
  }

  /** A new, empty draft for a case (F6: Normal ACRs default to L1's values). */
  static draft(caseJson) {
    return {
      verdict: null,
      armed: false, // two-step Normal: shown, waiting for Enter
      acr: { right: caseJson.normal_acr?.right || 1, left: caseJson.normal_acr?.left || 1 },
      findings: [],
      cti: CtiChecklist.draft(caseJson),
      comment: "",
    };
  }

  load(caseJson, draft) {
    this.caseJson = caseJson;
    this.draft = draft;
    this.findings.load(draft.findings);
    this.cti.load(draft.cti, caseJson);
    this.root.querySelector("[data-role=comment]").value = draft.comment || "";
    this.viewer.setMarkMode?.(draft.verdict === "ANOMALY");
    this.paint();
  }

  get verdict() {
    return this.draft?.verdict || null;
  }

  /** Normal is off for a lossy source (C9). */
  normalAllowed() {
    return !this.caseJson?.lossy;
  }

  /** Pick the verdict; returns a French reason when it cannot be picked. */
  choose(verdict) {
    if (verdict === "NORMAL" && !this.normalAllowed()) return this.t.lossyNoNormal;
    if (this.findings.isOpen() && verdict !== "ANOMALY") this.findings.cancel();
    this.draft.verdict = verdict;
    this.draft.armed = verdict === "NORMAL";
    this.viewer.setMarkMode?.(verdict === "ANOMALY");
    this.paint();
    if (verdict === "CTI") this.root.querySelector("[data-role=cti] td.cursor input")?.focus({ preventScroll: true });
    return null;
  }

  /** Esc outside a card: leave the mode (the draft's findings and ticks are kept). */
  leaveMode() {
    if (!this.draft?.verdict) return false;
    this.draft.verdict = null;
    this.draft.armed = false;
    this.viewer.setMarkMode?.(false);
    this.paint();
    return true;
  }

  /** Keys of the open card or of the CTI grid; true when used. */
  handleKey(event) {
    if (this.draft?.verdict === "ANOMALY" && this.findings.isOpen()) return this.findings.handleKey(event);
    if (this.draft?.verdict === "CTI") return this.cti.handleKey(event);
    return false;
  }

  mark(detail) {
    if (this.draft?.verdict !== "ANOMALY") return;
    const problem = this.findings.mark(detail);
    if (problem) this.say(problem);
  }

  undoMark() {
    return this.draft?.verdict === "ANOMALY" && this.findings.undoMark();
  }

  /** Why the verdict cannot be committed now, or null. */
  problem() {
    const verdict = this.draft?.verdict;
    if (!verdict) return this.t.needVerdict;
    if (verdict === "NORMAL") return this.normalAllowed() ? null : this.t.lossyNoNormal;
    if (verdict === "ANOMALY") {
      if (this.findings.isOpen()) {
        const problem = this.findings.close();
        if (problem) return problem;
      }
      return this.findings.incomplete();
    }
    return this.cti.incomplete();
  }

  payload() {
    const verdict = this.draft.verdict;
    return {
      verdict,
      acr_right: this.draft.acr.right,
      acr_left: this.draft.acr.left,
      findings: verdict === "ANOMALY" ? this.findings.payload() : [],
      cti_items: verdict === "CTI" ? this.cti.payload() : [],
      comment: this.draft.comment || "",
    };
  }

  /** "NORMAL (D1/G1)", "ANOMALIE (D4/G1)", "CTI (…)" for the status bar. */
  summary() {
    const verdict = this.draft.verdict;
    let right = this.draft.acr.right;
    let left = this.draft.acr.left;
    if (verdict === "ANOMALY") {
      const worst = (side) => {
        const acrs = this.draft.findings.filter((f) => f.side === side).map((f) => f.acr);
        return acrs.length ? acrs.sort((a, b) => (a === 0) - (b === 0) || b - a)[0] : 1;
      };
      right = worst("D");
      left = worst("G");
    }
    if (verdict === "CTI") {
      const views = Object.entries(this.draft.cti.cells).filter(([, reasons]) => reasons.length).map(([slot]) => slot);
      return `CTI (${views.join(", ")})`;
    }
    return `${VERDICT_LABEL[verdict]} (D${right}/G${left})`;
  }

  paint() {
    const draft = this.draft;
    if (!draft) return;
    const verdict = draft.verdict;
    this.root.dataset.verdict = verdict || "";
    for (const button of this.root.querySelectorAll("[data-verdict]")) {
      button.setAttribute("aria-pressed", String(button.dataset.verdict === verdict));
    }
    const normalButton = this.root.querySelector("[data-action=normal]");
    if (normalButton) normalButton.classList.toggle("off", !this.normalAllowed());
    for (const section of this.root.querySelectorAll("[data-for]")) section.hidden = section.dataset.for !== verdict;
    for (const input of this.root.querySelectorAll("[data-role=acr-right]")) input.checked = Number(input.value) === draft.acr.right;
    for (const input of this.root.querySelectorAll("[data-role=acr-left]")) input.checked = Number(input.value) === draft.acr.left;
    const hint = this.root.querySelector("[data-role=verdict-hint]");
    if (hint) {
      if (verdict === "NORMAL" && this.twoStep) hint.textContent = this.t.twoStepHint;
      else if (verdict === "ANOMALY") hint.textContent = this.findings.isOpen() ? this.t.cardHint : this.t.markHint;
      else if (verdict === "CTI") hint.textContent = this.t.ctiHint;
      else hint.textContent = "";
    }
  }
}
