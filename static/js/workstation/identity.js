// The case around the images: identity strip (one fixed place, outside the images), L1 summary, and the
// case banners — missing view (C7), lossy source (C9, Normal off), orientation flags, no viewer.

const frDate = (iso) => (iso ? iso.split("-").reverse().join("/") : "");

/** "MLO G" for "LMLO". */
export function slotLabel(slot) {
  return `${slot.slice(1)} ${slot[0] === "R" ? "D" : "G"}`;
}

function put(role, text) {
  const node = document.querySelector(`#ws-identity [data-role=${role}]`);
  if (node) node.textContent = text;
}

export function describeCase(json, t, banners, state) {
  const who = json.identity || {};
  put("name", who.name || "");
  put("birth", `${t.born} ${frDate(who.birth_date)}`);
  put("programme", `${t.number} ${who.programme_id || ""}`);
  put("exam", `${t.examOf} ${frDate(json.exam?.mammogram_date)}`);
  put("accession", json.exam?.accession_number ? `${t.accession} ${json.exam.accession_number}` : "");
  put("due", `${t.dueBy} ${frDate(json.exam?.due_at)}`);
  put("prior", json.prior ? `${t.prior} −${json.prior.months_before} ${t.months}` : t.noPrior);
  const l1 = json.l1;
  const summary = document.querySelector("#ws-panel [data-role=l1]");
  if (summary) {
    const history = l1 ? Object.entries(l1.history || {}).filter(([, on]) => on).map(([key]) => t[`h_${key}`] || key) : [];
    summary.textContent = l1
      ? `${l1.blinded ? t.l1Blind : `${t.l1Acr} D${l1.acr_final_right ?? "?"}/G${l1.acr_final_left ?? "?"}`}` +
        ` — ${t.density} ${l1.density || "?"}` +
        ` — ${t.clinical} ${l1.clinical_exam || "?"}${history.length ? ` — ${history.join(", ")}` : ""}` +
        `${l1.comment ? ` — ${l1.comment}` : ""}`
      : t.noL1;
  }
  // R-CTI-4: a retake is read with its originals (extra views, stage 8); say what was retaken and why.
  const retake = json.retake;
  banners.set("retake", retake
    ? `${t.retake} (${t.round} ${retake.round}) : ${retake.items.map((i) => `${i.view} ${i.side} — ${i.reason}`).join(" ; ")}` +
      ` — ${t.retakeOriginals}` : null);
  banners.set("missing", json.missing?.length ? `${t.missingView} : ${json.missing.map(slotLabel).join(", ")}` : null);
  banners.set("lossy", json.lossy ? t.lossyNoNormal : null);
  const flagged = Object.entries(json.views || {}).filter(([, v]) => (v.flags || []).length);
  banners.set("flags", flagged.length
    ? `${t.flags} : ${flagged.map(([slot, v]) => `${slotLabel(slot)} (${v.flags.join(", ")})`).join(" ; ")}` : null);
  banners.set("error", null);
  banners.set("viewer", state.kind === "apercu" ? t.viewerFallback : null);
}
