// Fallback used only when static/js/workstation/viewer.js cannot be loaded: the 8-bit previews (preview_url)
// in a 2×2 back-to-back grid, same interface as the viewer's createViewer (CONTRACT.md), so that the reading
// flow keeps working. Not decision grade: app.js shows "AFFICHAGE NON DIAGNOSTIQUE" with it.

const GRID = [["RCC", "LCC"], ["RMLO", "LMLO"]];
const STAGES = { 2: GRID, 3: [["RCC", "LCC"]], 4: [["RMLO", "LMLO"]], 9: GRID };
const ORDER = [2, 3, 4];

function third(fraction) {
  return fraction < 1 / 3 ? "antérieur" : fraction < 2 / 3 ? "moyen" : "postérieur";
}

export async function createPreviewViewer(root, { onEvent = () => {} } = {}) {
  let caseJson = null;
  let stage = 2;
  let markMode = false;
  let inverted = false;
  const markers = [];
  const cache = new Map();
  const emit = (name, detail = {}) => {
    performance.mark(name);
    onEvent(name, detail);
  };

  /** Displayed rectangle of the image in its cell (fit, chest wall on the seam). */
  function layout(cell, view, img) {
    const box = cell.getBoundingClientRect();
    const scale = Math.min(box.width / view.columns, box.height / view.rows);
    const w = view.columns * scale;
    const h = view.rows * scale;
    const left = view.laterality === "R" ? box.width - w : 0;
    const top = view.view === "MLO" ? 0 : (box.height - h) / 2;
    Object.assign(img.style, { width: `${w}px`, height: `${h}px`, left: `${left}px`, top: `${top}px` });
    img.style.transform = `scale(${view.flip_horizontal ? -1 : 1}, ${view.flip_vertical ? -1 : 1})`;
    return { left, top, w, h };
  }

  /** Stored pixel → position in the cell, and back. */
  const toScreen = (view, rect, x, y) => {
    let u = x / view.columns;
    let v = y / view.rows;
    if (view.flip_horizontal) u = 1 - u;
    if (view.flip_vertical) v = 1 - v;
    return [rect.left + u * rect.w, rect.top + v * rect.h];
  };

  function onClick(event, slot, view, cell) {
    if (!markMode) return;
    const rect = cell.layout;
    const box = cell.getBoundingClientRect();
    let u = (event.clientX - box.left - rect.left) / rect.w;
    let v = (event.clientY - box.top - rect.top) / rect.h;
    if (u < 0 || u > 1 || v < 0 || v > 1) return;
    const shownU = u;
    const shownV = v;
    if (view.flip_horizontal) u = 1 - u;
    if (view.flip_vertical) v = 1 - v;
    // Nipple-relative hint from the breast box (fractions of the stored image), as displayed.
    let [x0, y0, x1, y1] = view.breast_box || [0, 0, 1, 1];
    if (view.flip_horizontal) [x0, x1] = [1 - x1, 1 - x0];
    if (view.flip_vertical) [y0, y1] = [1 - y1, 1 - y0];
    const nippleY = (y0 + y1) / 2;
    const chest = view.laterality === "R" ? x1 : x0;
    const nipple = view.laterality === "R" ? x0 : x1;
    const above = shownV < nippleY;
    const half = view.view === "CC" ? (above ? "externe" : "interne") : above ? "supérieur" : "inférieur";
    const depth = third(Math.min(1, Math.abs(shownU - nipple) / Math.max(1e-6, Math.abs(chest - nipple))));
    onEvent("mark", {
      sop_uid: view.sop_uid, slot, side: view.laterality === "R" ? "D" : "G", view: view.view,
      x: u * view.columns, y: v * view.rows, hint: { half, depth },
    }); // fmt: skip
  }

  function paintMarkers() {
    for (const node of root.querySelectorAll(".ws-marker")) node.remove();
    for (const marker of markers) {
      const cell = root.querySelector(`[data-sop="${CSS.escape(marker.sop_uid)}"]`);
      if (!cell || !cell.layout) continue;
      const [x, y] = toScreen(cell.view, cell.layout, marker.x, marker.y);
      const node = document.createElement("span");
      node.className = "ws-marker";
      node.dataset.testid = "marker";
      node.textContent = marker.label;
      Object.assign(node.style, { left: `${x}px`, top: `${y}px` });
      cell.append(node);
    }
  }

  function hang() {
    const views = caseJson.views || {};
    const rows = STAGES[stage] || GRID;
    const loads = [];
    const grid = document.createElement("div");
    grid.className = "ws-previews";
    grid.style.gridTemplateRows = `repeat(${rows.length}, 1fr)`;
    for (const row of rows) {
      for (const slot of row) {
        const view = views[slot];
        const cell = document.createElement("div");
        cell.className = `ws-cell side-${slot[0]}`;
        cell.dataset.slot = slot;
        cell.dataset.testid = `viewport-${slot}`;
        if (view && view.preview_url) {
          const img = document.createElement("img");
          img.alt = slot;
          img.draggable = false;
          img.src = view.preview_url;
          cell.dataset.sop = view.sop_uid;
          cell.view = view;
          cell.append(img);
          loads.push(img.decode().catch(() => null));
          cell.addEventListener("click", (event) => onClick(event, slot, view, cell));
          cell.img = img;
        } else {
          cell.classList.add("empty");
          cell.textContent = view ? slot : `${slot} —`;
        }
        const label = document.createElement("span");
        label.className = "ws-label";
        label.textContent = `${slot.slice(1)} ${slot[0] === "R" ? "D" : "G"} — APERÇU`;
        cell.append(label);
        grid.append(cell);
      }
    }
    grid.classList.toggle("inverted", inverted);
    root.replaceChildren(grid);
    for (const cell of grid.querySelectorAll(".ws-cell")) if (cell.img) cell.layout = layout(cell, cell.view, cell.img);
    paintMarkers();
    return Promise.all(loads);
  }

  const api = {
    kind: "apercu",
    async openCase(json) {
      caseJson = json;
      stage = 2;
      inverted = false;
      markers.length = 0;
      emit("l2:case-open", { exam_id: json.exam?.id });
      await hang();
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      emit("l2:first-paint", { exam_id: json.exam?.id });
      emit("l2:painted", {});
    },
    prefetch(json) {
      const urls = Object.values(json.views || {}).map((v) => v.preview_url).filter(Boolean);
      Promise.all(urls.map((url) => {
        if (!cache.has(url)) {
          const img = new Image();
          img.src = url;
          cache.set(url, img.decode().catch(() => null));
        }
        return cache.get(url);
      })).then(() => emit("l2:prefetch-done", { exam_id: json.exam?.id }));
    },
    stage(n) {
      if (!caseJson || !STAGES[n]) return;
      stage = n;
      hang().then(() => emit("l2:painted", {}));
    },
    nextStage() { api.stage(ORDER[(ORDER.indexOf(stage) + 1) % ORDER.length]); },
    previousStage() { api.stage(ORDER[(ORDER.indexOf(stage) + ORDER.length - 1) % ORDER.length]); },
    currentStage: () => stage,
    action(name) {
      if (name === "invert") {
        inverted = !inverted;
        root.querySelector(".ws-previews")?.classList.toggle("inverted", inverted);
      }
    },
    setMarkMode(on) {
      markMode = Boolean(on);
      root.classList.toggle("marking", markMode);
    },
    addMarker(marker) {
      markers.push(marker);
      paintMarkers();
    },
    clearMarkers() {
      markers.length = 0;
      paintMarkers();
    },
    losslessReady: () => true, // previews are all this fallback has: the banner says it is not diagnostic
    dispose() {
      root.replaceChildren();
    },
  };
  window.addEventListener("resize", () => caseJson && hang());
  return api;
}
