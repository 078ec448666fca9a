// Breast schema of the finding card (spec §7): two discs facing the patient, D on the left, G on the right;
// quadrants, unions, rétro-aréolaire, prolongement axillaire; hours 1–12 with the outer side at 9 h on D and
// 3 h on G. Quadrant codes are those of screening.models.l1.Quadrant.

const SVG = "http://www.w3.org/2000/svg";
const CX = { D: 60, G: 170 };
const CY = 62;
const R = 44;

// Hour → quadrant code, per breast (unions on the axes).
const BY_HOUR = {
  D: { 12: "USUP", 6: "UINF", 9: "UEXT", 3: "UINT", 10: "QSE", 11: "QSE", 1: "QSI", 2: "QSI",
       4: "QII", 5: "QII", 7: "QIE", 8: "QIE" },
  G: { 12: "USUP", 6: "UINF", 3: "UEXT", 9: "UINT", 1: "QSE", 2: "QSE", 10: "QSI", 11: "QSI",
       7: "QII", 8: "QII", 4: "QIE", 5: "QIE" },
}; // fmt: skip
const QUADRANT_HOUR = {
  D: { QSE: 10, QSI: 2, QIE: 8, QII: 4, USUP: 12, UINF: 6, UEXT: 9, UINT: 3 },
  G: { QSE: 2, QSI: 10, QIE: 4, QII: 8, USUP: 12, UINF: 6, UEXT: 3, UINT: 9 },
};

export function quadrantOfHour(side, hour) {
  return hour ? BY_HOUR[side][hour] || "" : "";
}

export function hourOfQuadrant(side, quadrant) {
  return QUADRANT_HOUR[side][quadrant] || null;
}

/** Normalise a viewer hint half ("externe", "lateral", "supérieur", …) to E/I/S/N (N = inférieur), or "". */
export function halfCode(half) {
  const h = String(half || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  if (/^(e|ext|externe|lateral|outer)/.test(h)) return "E";
  if (/^(i$|int|interne|medial|inner)/.test(h)) return "I";
  if (/^(s|sup|superieur|upper|haut)/.test(h)) return "S";
  if (/^(inf|inferieur|lower|bas)/.test(h)) return "N";
  return "";
}

/**
 * Proposal from the marks' hints (spec §7): one view proposes a half, both a quadrant and an hour.
 * `halves` = {CC: "E"|"I"|"", MLO: "S"|"N"|""}. Returns {quadrant, clock}.
 */
export function propose(side, halves) {
  const lateral = halves.CC || "";
  const vertical = halves.MLO || "";
  let quadrant = "";
  if (lateral && vertical) quadrant = (vertical === "S" ? "QS" : "QI") + (lateral === "E" ? "E" : "I");
  else if (lateral) quadrant = lateral === "E" ? "UEXT" : "UINT";
  else if (vertical) quadrant = vertical === "S" ? "USUP" : "UINF";
  return { quadrant, clock: quadrant ? hourOfQuadrant(side, quadrant) : null };
}

function el(name, attrs = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

/** Draw the two discs; `onPick({side, clock, quadrant})` on a click (hour, centre = RA, tail = PA). */
export function drawSchema(host, onPick) {
  const svg = el("svg", { viewBox: "0 0 230 124", class: "ws-schema", role: "img" });
  for (const side of ["D", "G"]) {
    const cx = CX[side];
    const outer = side === "D" ? -1 : 1; // outer side: left of D (9 h), right of G (3 h)
    const tail = el("path", {
      d: `M ${cx + outer * 30} ${CY - 32} q ${outer * 18} -14 ${outer * 22} -22 l ${-outer * 12} 26 z`,
      class: "tail", "data-side": side,
    });
    tail.addEventListener("click", (e) => (e.stopPropagation(), onPick({ side, quadrant: "PA" })));
    const disc = el("circle", { cx, cy: CY, r: R, class: "disc", "data-side": side });
    const group = el("g", { "data-side": side });
    group.append(tail, disc);
    group.append(el("line", { x1: cx - R, y1: CY, x2: cx + R, y2: CY, class: "axis" }));
    group.append(el("line", { x1: cx, y1: CY - R, x2: cx, y2: CY + R, class: "axis" }));
    const areola = el("circle", { cx, cy: CY, r: 9, class: "areola", "data-side": side });
    areola.addEventListener("click", (e) => (e.stopPropagation(), onPick({ side, quadrant: "RA" })));
    group.append(areola);
    for (const [hour, label] of [[12, "12"], [3, "3"], [6, "6"], [9, "9"]]) {
      const a = (hour * Math.PI) / 6;
      const text = el("text", { x: cx + (R + 7) * Math.sin(a), y: CY - (R + 7) * Math.cos(a) + 3, class: "hour" });
      text.textContent = label;
      group.append(text);
    }
    const caption = el("text", { x: cx, y: 122, class: "side" });
    caption.textContent = side;
    group.append(caption);
    group.append(el("circle", { r: 4, class: "pin", "data-pin": side, visibility: "hidden" }));
    disc.addEventListener("click", (event) => {
      const box = svg.getBoundingClientRect();
      const scale = 230 / box.width;
      const x = (event.clientX - box.left) * scale - cx;
      const y = (event.clientY - box.top) * scale - CY;
      let hour = Math.round((Math.atan2(x, -y) * 6) / Math.PI);
      hour = ((hour % 12) + 12) % 12 || 12;
      onPick({ side, clock: hour, quadrant: quadrantOfHour(side, hour) });
    });
    svg.append(group);
  }
  host.replaceChildren(svg);
  return svg;
}

/** Show the finding's position on the schema: its breast lit, a pin at its hour (or the centre for RA). */
export function showOnSchema(svg, { side, clock, quadrant }) {
  for (const group of svg.querySelectorAll("g[data-side]")) {
    group.classList.toggle("current", group.dataset.side === side);
  }
  for (const pin of svg.querySelectorAll("[data-pin]")) {
    const here = pin.dataset.pin === side && (clock || quadrant === "RA" || quadrant === "PA");
    pin.setAttribute("visibility", here ? "visible" : "hidden");
    if (!here) continue;
    const cx = CX[side];
    let x = cx;
    let y = CY;
    if (quadrant === "PA") {
      const outer = side === "D" ? -1 : 1;
      x = cx + outer * 42;
      y = CY - 44;
    } else if (quadrant !== "RA") {
      const a = (clock * Math.PI) / 6;
      x = cx + R * 0.68 * Math.sin(a);
      y = CY - R * 0.68 * Math.cos(a);
    }
    pin.setAttribute("cx", x);
    pin.setAttribute("cy", y);
  }
}
