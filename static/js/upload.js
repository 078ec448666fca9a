// Browser upload: one request per file with its own progress bar, a total bar, and the
// status the server gives each file (accepted / refused with the reason in French).
(function () {
  "use strict";
  const box = document.getElementById("upload");
  if (!box) return;
  const input = document.getElementById("files");
  const rows = document.getElementById("file-rows");
  const total = box.querySelector(".total");
  const totalBar = document.getElementById("total-progress");
  const totalLabel = document.getElementById("total-label");
  const CONCURRENCY = 3;
  const t = box.dataset; // translated labels, rendered by the template (Django i18n)

  function row(name, size) {
    const tr = document.createElement("tr");
    tr.innerHTML = "<td></td><td><progress max='100' value='0'></progress></td><td class='st'></td><td></td>";
    tr.children[0].textContent = name;
    tr.children[2].textContent = t.tWaiting;
    tr.dataset.size = size;
    rows.appendChild(tr);
    return tr;
  }

  function show(tr, data) {
    const cell = tr.children[2];
    cell.className = "st st-" + data.state;
    cell.textContent = data.state_label + (data.slot ? " (" + data.slot + ")" : "");
    tr.children[3].textContent = data.reason || "";
    tr.dataset.fileId = data.id;
  }

  function send(file, tr, progress) {
    return new Promise(function (resolve) {
      const xhr = new XMLHttpRequest();
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.open("POST", box.dataset.url);
      xhr.setRequestHeader("X-CSRFToken", box.dataset.csrf);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { tr.querySelector("progress").value = (100 * e.loaded) / e.total; progress(file, e.loaded); }
      };
      xhr.onload = function () {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = {}; }
        if (xhr.status === 201) { show(tr, data); }
        else { show(tr, { state: "REFUSED", state_label: t.tRefused, reason: data.detail || (t.tError + " " + xhr.status) }); }
        progress(file, file.size);
        resolve();
      };
      xhr.onerror = function () {
        show(tr, { state: "REFUSED", state_label: t.tNotSent, reason: t.tConnection });
        resolve();
      };
      xhr.send(form);
    });
  }

  async function uploadAll(files) {
    const sent = new Map();
    const size = files.reduce((s, f) => s + f.size, 0) || 1;
    total.hidden = false;
    const progress = function (file, loaded) {
      sent.set(file, loaded);
      let done = 0; sent.forEach((v) => { done += v; });
      totalBar.value = (100 * done) / size;
      totalLabel.textContent = Math.round((100 * done) / size) + " %";
    };
    const queue = files.map((f) => [f, row(f.name, f.size)]);
    const workers = Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async function () {
      while (queue.length) { const [file, tr] = queue.shift(); await send(file, tr, progress); }
    });
    await Promise.all(workers);
    totalLabel.textContent = t.tDone;
    poll();
  }

  async function poll() {
    const response = await fetch(box.dataset.url, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    let waiting = false;
    data.files.forEach(function (f) {
      const tr = rows.querySelector("tr[data-file-id='" + f.id + "']");
      if (tr) show(tr, f);
      if (f.state === "RECEIVED") waiting = true;
    });
    const missing = document.querySelector("[data-testid=missing-views]");
    if (missing) missing.textContent = data.missing_views.length ? t.tMissing + " : " + data.missing_views.join(", ") : t.tComplete;
    if (waiting) setTimeout(poll, 1500);
  }

  input.addEventListener("change", function () { uploadAll(Array.from(input.files)); input.value = ""; });
  box.addEventListener("dragover", function (e) { e.preventDefault(); });
  box.addEventListener("drop", function (e) { e.preventDefault(); uploadAll(Array.from(e.dataTransfer.files)); });
})();
