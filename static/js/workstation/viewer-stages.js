// Hanging stages (spec §3 H8): which views go in which cell, for one landscape screen.
// A layout: {n, cols, rows, entries: [entry | {empty: slot}], scaleViews: [view], widthOnly, vAnchor}.
// An entry: {view, slot, prior (bool), months, date}.

export const STAGE_COUNT = 9;
export const SWEEP_STEPS = [
  ["CC", "top"], ["CC", "centre"], ["CC", "bottom"], ["MLO", "top"], ["MLO", "centre"], ["MLO", "bottom"],
];

function entryOf(caseJson, slot, prior) {
  if (prior) {
    const p = caseJson.prior;
    const view = p && p.views && p.views[slot];
    return view ? { view, slot, prior: true, months: p.months_before, date: p.mammogram_date } : null;
  }
  const view = caseJson.views && caseJson.views[slot];
  return view ? { view, slot, prior: false, date: caseJson.exam && caseJson.exam.mammogram_date } : null;
}

function hasPrior(caseJson) {
  const p = caseJson.prior;
  return !!(p && p.views && Object.keys(p.views).length);
}

function cells(caseJson, slots) {
  return slots.map(([slot, prior]) => entryOf(caseJson, slot, prior) || { empty: slot + (prior ? " (ant.)" : "") });
}

function viewsOf(entries) {
  return entries.filter((e) => e && e.view).map((e) => e.view);
}

const FOUR_UP = [["RCC", false], ["LCC", false], ["RMLO", false], ["LMLO", false]];
const FOUR_UP_PRIOR = [["RCC", true], ["LCC", true], ["RMLO", true], ["LMLO", true]];

/** The layout of stage n, or null when the stage is empty for this case (skipped). */
export function stageLayout(n, caseJson, { sweepStep = 0, flicker = false } = {}) {
  const prior = hasPrior(caseJson);
  const scaleOf4up = viewsOf([...cells(caseJson, FOUR_UP), ...(prior ? cells(caseJson, FOUR_UP_PRIOR) : [])]);
  switch (n) {
    case 1:
      if (!prior) return null;
      return { n, cols: 2, rows: 2, entries: cells(caseJson, FOUR_UP_PRIOR), scaleViews: scaleOf4up };
    case 2:
    case 9:
      return { n, cols: 2, rows: 2, entries: cells(caseJson, FOUR_UP), scaleViews: scaleOf4up };
    case 3:
    case 4: {
      const family = n === 3 ? "CC" : "MLO";
      const entries = cells(caseJson, [["R" + family, false], ["L" + family, false]]);
      return { n, cols: 2, rows: 1, entries, scaleViews: viewsOf(entries) };
    }
    case 5:
    case 6: {
      if (!prior) return null;
      const family = n === 5 ? "CC" : "MLO";
      // P (flicker) swaps current ↔ prior in place: same cells, same scale and anchoring.
      const top = !flicker, bottom = flicker;
      const entries = cells(caseJson, [
        ["R" + family, top], ["L" + family, top], ["R" + family, bottom], ["L" + family, bottom],
      ]);
      return { n, cols: 2, rows: 2, entries, scaleViews: viewsOf(entries), flickerable: true };
    }
    case 7: {
      const [family, vAnchor] = SWEEP_STEPS[Math.min(sweepStep, SWEEP_STEPS.length - 1)];
      const entries = cells(caseJson, [["R" + family, false], ["L" + family, false]]);
      if (!viewsOf(entries).length) return null;
      return { n, cols: 2, rows: 1, entries, scaleViews: viewsOf(entries), widthOnly: true, vAnchor, sweepStep };
    }
    case 8: {
      const extras = (caseJson.extra_views || []).filter((v) => v.slot || v.laterality);
      if (!extras.length) return null;
      const entries = [];
      for (const extra of extras.slice(0, 4)) {
        const standard = extra.slot ? entryOf(caseJson, extra.slot, false) : null;
        if (standard) entries.push(standard);
        entries.push({ view: extra, slot: extra.slot || extra.view, prior: false, date: caseJson.exam && caseJson.exam.mammogram_date, extra: true });
      }
      const cols = Math.min(4, entries.length);
      return { n, cols, rows: Math.ceil(entries.length / cols), entries, scaleViews: viewsOf(entries) };
    }
    default:
      return null;
  }
}
