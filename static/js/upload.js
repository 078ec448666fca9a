// Browser upload: files or whole folders (a CD's content too), sent in chunks that resume after a dropped
// connection, with a progress bar per file and for the whole exam, and the status the server gives each file
// (accepted / refused with the reason in French).
//
// Protocol (screening/api_uploads.py): POST <uploads-url> {name, size} → {upload_id, url, offset, chunk_size};
// PATCH <url> with "Upload-Offset" and the raw chunk → {offset}, or the file's status after the last chunk;
// 409 → {offset} to go on from; GET <url> → {offset, file} to resume from what the server really holds.
(function () {
  "use strict";
  const box = document.getElementById("upload");
  if (!box) return;
  const input = document.getElementById("files");
  const folderInput = document.getElementById("folder");
  const rows = document.getElementById("file-rows");
  const total = box.querySelector(".total");
  const totalBar = document.getElementById("total-progress");
  const totalLabel = document.getElementById("total-label");
  const CONCURRENCY = 3;
  // Back-off after a failure: about a minute in all, then "Non envoyé" (data-retry-delays overrides, for tests).
  const retryDelays = () => (box.dataset.retryDelays || "1000,2000,4000,8000,16000,32000").split(",").map(Number);
  const REQUEST_TIMEOUT_MS = 180000;
  const CHUNK_TYPE = "application/offset+octet-stream";
  const t = box.dataset; // translated labels, rendered by the template (Django i18n)

  let batch = []; // the files of the current sending, for the total bar
  const queue = [];
  let active = 0;

  // A dropped connection, a time-out or a server error (5xx): worth trying again.
  class Transient extends Error {}

  // ------------------------------------------------------------------------------------------ display

  function row(name, size) {
    const tr = document.createElement("tr");
    tr.innerHTML = "<td></td><td><progress max='100' value='0'></progress></td><td class='st'></td><td></td>";
    tr.children[0].textContent = name;
    tr.children[2].textContent = t.tWaiting;
    tr.dataset.size = size;
    rows.appendChild(tr);
    return tr;
  }

  function status(tr, state, label, reason) {
    const cell = tr.children[2];
    cell.className = "st st-" + state;
    cell.textContent = label;
    tr.children[3].textContent = reason || "";
  }

  function show(tr, data) {
    status(tr, data.state, data.state_label + (data.slot ? " (" + data.slot + ")" : ""), data.reason);
    if (data.id) tr.dataset.fileId = data.id;
  }

  function refuse(task, data, httpStatus) {
    show(task.tr, { state: "REFUSED", state_label: t.tRefused, reason: data.detail || (t.tError + " " + httpStatus) });
  }

  function progress(task, loaded) {
    task.loaded = Math.min(loaded, task.size);
    task.tr.querySelector("progress").value = task.size ? (100 * task.loaded) / task.size : 100;
    const size = batch.reduce((s, x) => s + x.size, 0) || 1;
    const done = batch.reduce((s, x) => s + x.loaded, 0);
    totalBar.value = (100 * done) / size;
    totalLabel.textContent = Math.round((100 * done) / size) + " %";
  }

  // ----------------------------------------------------------------------------------------- requests

  function request(method, url, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.timeout = REQUEST_TIMEOUT_MS;
      xhr.setRequestHeader("X-CSRFToken", t.csrf);
      xhr.setRequestHeader("Accept", "application/json");
      Object.entries(options.headers || {}).forEach(([k, v]) => xhr.setRequestHeader(k, v));
      if (options.onProgress) {
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) options.onProgress(e.loaded, e.total); };
      }
      xhr.onload = function () {
        if (xhr.status === 0 || xhr.status >= 500 || xhr.status === 408 || xhr.status === 429) {
          reject(new Transient("HTTP " + xhr.status));
          return;
        }
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = {}; }
        resolve({ status: xhr.status, data: data || {} });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () { reject(new Transient("network")); };
      xhr.send(options.body === undefined ? null : options.body);
    });
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // -------------------------------------------------------------------------------------- one file

  // One step of a file's upload; true when the file has its final status.
  async function step(task) {
    if (!task.url) {
      const r = await request("POST", t.uploadsUrl, {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: task.name, size: task.size }),
      });
      if (r.status !== 201) { refuse(task, r.data, r.status); return true; }
      task.url = r.data.url;
      task.offset = r.data.offset;
      task.chunkSize = r.data.chunk_size;
      return false;
    }
    if (task.sync) { // ask the server what it really holds before going on
      const r = await request("GET", task.url);
      if (r.status === 404 && !task.restarted) { // expired: start this file again
        task.restarted = true;
        task.url = null;
        task.sync = false;
        progress(task, 0);
        return false;
      }
      if (r.status !== 200) { refuse(task, r.data, r.status); return true; }
      task.sync = false;
      task.offset = r.data.offset;
      progress(task, task.offset);
      if (r.data.file) { show(task.tr, r.data.file); return true; }
      return false;
    }
    const end = Math.min(task.offset + task.chunkSize, task.size);
    const last = end === task.size;
    const r = await request("PATCH", task.url, {
      headers: { "Content-Type": CHUNK_TYPE, "Upload-Offset": String(task.offset) },
      body: task.file.slice(task.offset, end),
      onProgress: function (loaded, length) {
        progress(task, task.offset + loaded);
        if (last && loaded === length) status(task.tr, "CHECKING", t.tChecking, "");
      },
    });
    if (r.status === 201) { show(task.tr, r.data); return true; }
    if (r.status === 200) {
      task.offset = r.data.offset;
      if (task.tr.children[2].textContent !== t.tSending) status(task.tr, "SENDING", t.tSending, "");
      return false;
    }
    if (r.status === 409) { // not where the server stands (a retried chunk had arrived): resume from there
      task.offset = r.data.offset;
      task.sync = task.offset >= task.size; // complete: its status is on the server
      return false;
    }
    if (r.status === 400 && r.data.code === "upload_finalising") throw new Transient("finalising");
    if (r.status === 404 && !task.restarted) { task.sync = true; return false; }
    refuse(task, r.data, r.status);
    return true;
  }

  async function send(task) {
    let failures = 0;
    status(task.tr, "SENDING", t.tSending, "");
    for (;;) {
      const before = task.offset;
      try {
        if (await step(task)) { task.sent = true; progress(task, task.size); return; }
        if (task.offset > before) failures = 0; // bytes went through: a new failure starts the back-off again
      } catch (err) {
        if (!(err instanceof Transient)) throw err;
        const delays = retryDelays();
        if (failures >= delays.length) { giveUp(task); return; }
        status(task.tr, "RETRYING", t.tRetrying, "");
        await sleep(delays[failures++]);
        if (task.url) task.sync = true;
      }
    }
  }

  function giveUp(task) {
    status(task.tr, "NOT_SENT", t.tNotSent, t.tConnection + " ");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t.tResume;
    button.setAttribute("data-testid", "resume-upload");
    button.addEventListener("click", function () {
      button.remove();
      task.sync = Boolean(task.url); // from what the server holds
      enqueue([task]);
    });
    task.tr.children[3].appendChild(button);
  }

  // ---------------------------------------------------------------------------------------- queue

  function enqueue(tasks) {
    if (!tasks.length) return;
    if (active === 0 && queue.length === 0) batch = [];
    tasks.forEach(function (task) { task.sent = false; if (!batch.includes(task)) batch.push(task); queue.push(task); });
    total.hidden = false;
    progress(tasks[0], tasks[0].loaded);
    pump();
  }

  function pump() {
    while (active < CONCURRENCY && queue.length) {
      const task = queue.shift();
      active += 1;
      send(task).catch(function (err) {
        refuse(task, { detail: String(err) }, "");
      }).finally(function () {
        active -= 1;
        pump();
        if (active === 0 && queue.length === 0) finished();
      });
    }
  }

  function finished() {
    totalLabel.textContent = batch.every((task) => task.sent) ? t.tDone : t.tIncomplete;
    poll();
  }

  async function poll() {
    let data;
    try {
      const response = await fetch(box.dataset.url, { credentials: "same-origin" });
      if (!response.ok) return;
      data = await response.json();
    } catch (err) {
      return;
    }
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

  // ---------------------------------------------------------------------------------- files in

  const hidden = (path) => path.split("/").some((part) => part.startsWith("."));
  const baseName = (path) => path.split("/").pop();

  // items: [{file, path}] (path relative to what was dropped or chosen)
  function add(items) {
    const tasks = [];
    items
      .filter((item) => !hidden(item.path))
      .sort((a, b) => a.path.localeCompare(b.path))
      .forEach(function (item) {
        const tr = row(item.path, item.file.size);
        if (baseName(item.path).toUpperCase() === "DICOMDIR") { // the CD's index: the images come one by one
          tr.children[1].textContent = "";
          status(tr, "IGNORED", t.tDicomdir, "");
          return;
        }
        tasks.push({ file: item.file, name: item.path, size: item.file.size, tr: tr, loaded: 0, offset: 0 });
      });
    enqueue(tasks);
  }

  function fromList(files) {
    return Array.from(files).map((file) => ({ file: file, path: file.webkitRelativePath || file.name }));
  }

  async function walk(entry, out) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file: file, path: entry.fullPath.replace(/^\/+/, "") || file.name });
    } else if (entry.isDirectory && !entry.name.startsWith(".")) {
      const reader = entry.createReader();
      for (;;) { // readEntries answers in batches until an empty one
        const entries = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!entries.length) break;
        for (const child of entries) await walk(child, out);
      }
    }
  }

  input.addEventListener("change", function () { add(fromList(input.files)); input.value = ""; });
  if (folderInput) {
    folderInput.addEventListener("change", function () { add(fromList(folderInput.files)); folderInput.value = ""; });
  }
  box.addEventListener("dragover", function (e) { e.preventDefault(); });
  box.addEventListener("drop", function (e) {
    e.preventDefault();
    // The entries must be taken now: the DataTransfer is emptied once this handler returns.
    const items = Array.from(e.dataTransfer.items || []).filter((item) => item.kind === "file");
    const entries = items.map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
    if (!entries.length || entries.some((entry) => !entry)) { add(fromList(e.dataTransfer.files)); return; }
    const out = [];
    entries.reduce((done, entry) => done.then(() => walk(entry, out)), Promise.resolve())
      .catch(function () { /* an unreadable entry: send what could be read */ })
      .then(function () { add(out); });
  });
})();
