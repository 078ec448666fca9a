// First viewer: back-to-back hanging (right breast on the left, chest walls at the seam), flips from
// the ingest classification applied as viewport transforms, shared zoom, mirrored pan for R/L pairs.
// The full workstation (stages, 1:1, magnifier, W/L on lossless data) comes with the workstation issue.
(function () {
  "use strict";
  const viewer = document.getElementById("viewer");
  const opened = performance.now();
  const state = { zoom: 1, panX: 0, panY: 0 };

  function apply() {
    viewer.querySelectorAll(".viewport img").forEach(function (img) {
      const right = img.parentElement.classList.contains("side-R");
      const fx = img.dataset.flipH === "1" ? -1 : 1;
      const fy = img.dataset.flipV === "1" ? -1 : 1;
      const dx = right ? state.panX : -state.panX; // mirrored pan: ΔxL = −ΔxR
      // The transform origin is the seam edge; a horizontal flip is mirrored about that edge and
      // shifted back by one image width so the chest wall stays on the seam.
      const flip = fx < 0 ? (right ? " translateX(-100%) scaleX(-1)" : " translateX(100%) scaleX(-1)") : "";
      img.style.transform = "translate(" + dx + "px," + state.panY + "px) scale(" + state.zoom + "," + state.zoom * fy + ")" + flip;
    });
  }

  function fit() { state.zoom = 1; state.panX = 0; state.panY = 0; apply(); }
  function zoom(factor) { state.zoom = Math.min(16, Math.max(0.5, state.zoom * factor)); apply(); }

  if (viewer) {
    viewer.addEventListener("click", function (e) {
      const action = e.target.dataset && e.target.dataset.action;
      if (action === "fit") fit();
      if (action === "zoom-in") zoom(1.25);
      if (action === "zoom-out") zoom(0.8);
      if (action === "prior") {
        viewer.querySelectorAll(".hanging").forEach(function (h) { h.hidden = !h.hidden; });
      }
    });
    viewer.addEventListener("wheel", function (e) {
      if (!e.target.closest(".viewport")) return;
      e.preventDefault();
      zoom(e.deltaY < 0 ? 1.25 : 0.8);
    }, { passive: false });
    let drag = null;
    viewer.addEventListener("mousedown", function (e) {
      const vp = e.target.closest(".viewport");
      if (!vp || e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, right: vp.classList.contains("side-R"), px: state.panX, py: state.panY };
      e.preventDefault();
    });
    window.addEventListener("mousemove", function (e) {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      state.panX = drag.px + (drag.right ? dx : -dx);
      state.panY = drag.py + (e.clientY - drag.y);
      apply();
    });
    window.addEventListener("mouseup", function () { drag = null; });
    apply();
  }

  const form = document.getElementById("verdict-form");
  if (!form) return;
  function showVerdict() {
    const chosen = form.querySelector("input[name=verdict]:checked");
    form.querySelectorAll("fieldset[data-for]").forEach(function (fs) {
      fs.hidden = !chosen || fs.dataset.for !== chosen.value;
      fs.disabled = fs.hidden; // fields of another verdict are not submitted
    });
  }
  form.addEventListener("change", showVerdict);
  form.addEventListener("submit", function () {
    form.querySelector("[name=reading_seconds]").value = Math.round((performance.now() - opened) / 1000);
  });
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, select, textarea") || e.repeat || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "f" || e.key === "F") fit();
  });
  showVerdict();
})();
