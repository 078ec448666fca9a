// F9 reading time of one case, from performance.now(): first paint, lossless, first input, decision, commit
// (ms after the case opened), active time without idle gaps over 60 s, stage dwell, prior shown, tool use.
// Timestamps come from the server (submitted_at); these are durations only.

const IDLE_MS = 60_000;
const PRIOR_STAGES = new Set([1, 5, 6]);

export class CaseTimer {
  constructor(stage = 2) {
    this.opened = performance.now();
    this.marks = {};
    this.last = this.opened; // last activity (open, input); null while the case is put aside
    this.activeMs = 0;
    this.stage = stage;
    this.stageSince = this.opened;
    this.dwell = {};
    this.tools = {};
    this.priorShown = false;
    this.opens = 1;
    this.skips = 0;
  }

  mark(name, at = performance.now()) {
    if (!(name in this.marks)) this.marks[name] = Math.round(at - this.opened);
  }

  /** Any reader input: counts active time, first input. */
  input(at = performance.now()) {
    this.mark("first_input", at);
    if (this.last !== null) {
      const gap = at - this.last;
      if (gap <= IDLE_MS) this.activeMs += gap;
    }
    this.last = at;
  }

  setStage(stage, at = performance.now()) {
    if (!stage || stage === this.stage) return;
    this.dwell[this.stage] = Math.round((this.dwell[this.stage] || 0) + at - this.stageSince);
    this.stage = stage;
    this.stageSince = at;
    if (PRIOR_STAGES.has(stage)) this.priorShown = true;
  }

  tool(name) {
    this.tools[name] = (this.tools[name] || 0) + 1;
    if (name === "flicker") this.priorShown = true;
  }

  /** Skipped (or another case reopened over it): its clock stops. */
  pause(at = performance.now()) {
    this.input(at);
    this.dwell[this.stage] = Math.round((this.dwell[this.stage] || 0) + at - this.stageSince);
    this.last = null;
  }

  resume(at = performance.now()) {
    this.last = at;
    this.stageSince = at;
    this.opens += 1;
    delete this.marks.commit;
  }

  /** The record stored with the verdict (`timings`). */
  record(extra = {}) {
    const now = performance.now();
    this.input(now);
    this.mark("commit", now);
    const dwell = { ...this.dwell, [this.stage]: Math.round((this.dwell[this.stage] || 0) + now - this.stageSince) };
    this.stageSince = now;
    return {
      first_paint_ms: this.marks.first_paint ?? null,
      lossless_ms: this.marks.lossless ?? null,
      first_input_ms: this.marks.first_input ?? null,
      decision_ms: this.marks.decision ?? null,
      commit_ms: this.marks.commit,
      active_ms: Math.round(this.activeMs),
      stage_dwell_ms: dwell,
      prior_shown: this.priorShown,
      tools: { ...this.tools },
      opens: this.opens,
      skips: this.skips,
      ...extra,
    };
  }
}
