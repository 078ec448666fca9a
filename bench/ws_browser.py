"""Reading workstation benchmark: headless Chromium (Playwright) driving, marks, peers and memory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench import common
from bench.common import MB
from bench.ws_data import PASSWORD, READER
from bench.ws_report import bandwidth, case_json_times, case_times, stats, transition_times

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--enable-precise-memory-info",  # performance.memory without bucketing
]
VIEWPORT = {"width": 2560, "height": 1440}
WAIT_MS = 120_000

INIT_SCRIPT = """
(() => {
  window.__l2keys = [];
  window.addEventListener('keydown', (e) => {
    window.__l2keys.push({key: e.key, t: e.timeStamp, trusted: e.isTrusted, repeat: e.repeat});
  }, {capture: true});
  try { performance.setResourceTimingBufferSize(10000); } catch (e) {}
})();
"""
MARKS_JS = """() => performance.getEntriesByType('mark')
  .filter((m) => m.name.startsWith('l2:'))
  .map((m) => ({name: m.name, t: m.startTime, detail: m.detail || null}))"""
RESOURCES_JS = """() => performance.getEntriesByType('resource').map((r) => ({
  name: r.name, type: r.initiatorType, start: r.startTime, end: r.responseEnd,
  encoded: r.encodedBodySize, transfer: r.transferSize}))"""
MEMORY_JS = """(cases) => {
  const cs = window.L2Cornerstone && window.L2Cornerstone.core;
  const abs = (u) => (u.includes('/frames/') ? 'wadors:' : 'wadouri:') + new URL(u, location.href).href;
  const per = {};
  let full = 0;
  for (const [id, urls] of Object.entries(cases)) {
    const n = cs ? urls.filter((u) => cs.cache.getImage(abs(u))).length : 0;
    per[id] = n;
    if (n === urls.length) full += 1;
  }
  const mem = performance.memory || {};
  return {heap_used: mem.usedJSHeapSize || null, heap_total: mem.totalJSHeapSize || null,
          cache_bytes: cs ? cs.cache.getCacheSize() : null, cases_cached: full, per_case: per};
}"""
PEER_FETCH_JS = """async (urls) => {
  const t0 = performance.now();
  const sizes = await Promise.all(urls.map((u) => fetch(u, {cache: 'no-store', credentials: 'same-origin'})
    .then((r) => { if (!r.ok) throw new Error(u + ' ' + r.status); return r.arrayBuffer(); })
    .then((b) => b.byteLength)));
  return {ms: performance.now() - t0, bytes: sizes.reduce((a, b) => a + b, 0)};
}"""
GRID_JS = """
window.__grid = () => {
  document.body.innerHTML = '';
  document.body.style.cssText = 'margin:0;background:#000';
  const box = document.createElement('div');
  box.style.cssText = 'display:grid;grid-template-columns:repeat(4,1fr);width:100vw;height:100vh;background:#000';
  document.body.append(box);
  return box;
};
window.__img = (src) => {
  const img = new Image();
  img.style.cssText = 'width:100%;height:100%;object-fit:contain;min-width:0;min-height:0';
  img.src = src;
  return img;
};
"""
PEER_PAINT_JS = """async (urls) => {
  const box = window.__grid();
  const t0 = performance.now();
  const imgs = urls.map((u) => window.__img(u));
  imgs.forEach((i) => box.append(i));
  await Promise.all(imgs.map((i) => i.decode()));
  return await new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now() - t0)));
}"""
PEER_SWAP_SETUP_JS = """async ([shownUrls, nextUrls]) => {
  const box = window.__grid();
  const shown = shownUrls.map((u) => window.__img(u));
  shown.forEach((i) => box.append(i));
  const next = nextUrls.map((u) => window.__img(u));
  await Promise.all([...shown, ...next].map((i) => i.decode()));
  window.__swap = null;
  window.addEventListener('keydown', (e) => {
    shown.forEach((img, k) => img.replaceWith(next[k]));
    requestAnimationFrame(() => { window.__swap = performance.now() - e.timeStamp; });
  }, {once: true});
  await new Promise((r) => requestAnimationFrame(() => r()));
}"""


# --- Chromium processes --------------------------------------------------------------------------


def chromium_rss() -> dict:
    """VmRSS (MB) of Chromium's processes under this benchmark: the largest renderer, the GPU process…"""
    out = {"renderer_mb": 0.0, "gpu_mb": 0.0, "browser_mb": 0.0, "all_mb": 0.0, "renderers": 0}
    for pid in common.descendants(os.getpid()):
        try:
            # Chromium's children rewrite their command line as one space-separated string
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            continue
        name = Path(argv[0].decode(errors="replace")).name if argv else ""
        if not name.startswith(("chromium", "chrome", "headless_shell")) or "crashpad" in name:
            continue
        rss = common.proc_status_kb(pid, "VmRSS") * 1024 / MB
        kind = next((a.split(b"=", 1)[1].decode() for a in argv if a.startswith(b"--type=")), "browser")
        out["all_mb"] += rss
        if kind == "renderer" and b"--extension-process" not in argv:
            out["renderers"] += 1
            out["renderer_mb"] = max(out["renderer_mb"], rss)
        elif kind == "gpu-process":
            out["gpu_mb"] += rss
        elif kind == "browser":
            out["browser_mb"] += rss
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}


# --- the browser side of the benchmark (mixed into bench.workstation.Workstation) ----------------


class WorkstationBrowser:
    """Playwright/Chromium part of Workstation: expects self.cfg, self.base, self.errors, self._helper."""

    # -- browser --

    def _browse(self, data: dict) -> list[dict]:
        from playwright.sync_api import sync_playwright

        reps = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            self.chromium_version = browser.version
            self.playwright_version = common.package_versions(["playwright"])["playwright"]
            try:
                state = self._login(browser)
                for rep in range(self.cfg.reps):
                    print(f">> repetition {rep + 1}/{self.cfg.reps}", file=sys.stderr)
                    result = {"rep": rep + 1}
                    result["peers"] = self._guard("peers", self._peers, browser, state, data)
                    result["cold"] = self._guard("cold", self._cold, browser, state, data, rep)
                    result["session"] = self._guard("session", self._session, browser, state, data)
                    reps.append(result)
                    if rep + 1 < self.cfg.reps:
                        undone = self._helper("withdraw", "--reader", data["reader"])
                        print(f"   withdrew {undone['withdrawn']} verdict(s)", file=sys.stderr)
            finally:
                browser.close()
        return reps

    def _guard(self, what: str, fn, *args):
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001  (reported; the other parts still run)
            message = f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            print(f"!! {message}", file=sys.stderr)
            self.errors.append(message)
            return None

    def _context(self, browser, state=None):
        context = browser.new_context(
            base_url=self.base, locale="fr-FR", viewport=VIEWPORT, storage_state=state
        )
        context.set_default_timeout(WAIT_MS)
        context.add_init_script(INIT_SCRIPT)
        return context

    def _login(self, browser) -> dict:
        context = self._context(browser)
        try:
            page = context.new_page()
            page.goto("/connexion/")
            page.fill("#id_username", READER)
            page.fill("#id_password", PASSWORD)
            with page.expect_navigation():
                page.get_by_role("button", name="Se connecter").click()
            if page.locator("[data-testid=current-user]").count() != 1:
                raise RuntimeError(f"login failed: still on {page.url}")
            return context.storage_state()
        finally:
            context.close()

    def _peers(self, browser, state, data: dict) -> dict:
        """Same browser, same cases, no viewer: the floors the workstation's figures are compared with."""
        context = self._context(browser, state)
        out = {"fetch_ms": [], "fetch_bytes": [], "img_paint_ms": [], "img_swap_ms": []}
        try:
            page = context.new_page()
            page.goto("/healthz/")
            page.evaluate(GRID_JS)
            cases = data["cases"]
            for case in cases:
                r = page.evaluate(PEER_FETCH_JS, case["urls"])
                out["fetch_ms"].append(round(r["ms"], 1))
                out["fetch_bytes"].append(r["bytes"])
            for case in cases:
                if all(case["previews"]):
                    out["img_paint_ms"].append(round(page.evaluate(PEER_PAINT_JS, case["previews"]), 1))
            for a, b in zip(cases, cases[1:], strict=False):
                if not (all(a["previews"]) and all(b["previews"])):
                    continue
                page.evaluate(PEER_SWAP_SETUP_JS, [a["previews"], b["previews"]])
                page.keyboard.press("n")
                page.wait_for_function("() => window.__swap !== null", polling=50)
                out["img_swap_ms"].append(round(page.evaluate("() => window.__swap"), 1))
        finally:
            context.close()
        print(
            f"   peers: fetch 4 originals {stats(out['fetch_ms'])['median']} ms, 4 previews in <img> "
            f"{stats(out['img_paint_ms'])['median']} ms, key → 4 decoded <img> swapped "
            f"{stats(out['img_swap_ms'])['median']} ms",
            file=sys.stderr,
        )
        return out

    def _wait_mark(self, page, name: str, exam_id: int, after: float = 0.0, timeout: float = WAIT_MS) -> None:
        page.wait_for_function(
            # prefetch-done counts only for a decoded (N+1) prefetch: N+2/N+3 are fetched compressed only
            """([name, id, after]) => performance.getEntriesByName(name)
                 .some((m) => m.startTime > after && m.detail && m.detail.exam_id === id
                              && (name !== 'l2:prefetch-done' || m.detail.decoded !== false))""",
            arg=[name, exam_id, after],
            polling=50,
            timeout=timeout,
        )

    def _cold(self, browser, state, data: dict, rep: int) -> list[dict]:
        """--cold cases opened each in a fresh context: empty memory and HTTP caches, new renderer."""
        cases = data["cases"]
        picked = [
            cases[(rep * self.cfg.cold + k) % len(cases)] for k in range(min(self.cfg.cold, len(cases)))
        ]
        results = []
        for case in picked:
            context = self._context(browser, state)
            try:
                page = context.new_page()
                page.goto(f"/lecture/poste/?examen={case['exam_id']}")
                self._wait_mark(page, "l2:lossless", case["exam_id"])
                marks = page.evaluate(MARKS_JS)
                results.append(case_times(marks, case["exam_id"]) | {"exam_id": case["exam_id"]})
                r = results[-1]
                print(
                    f"   cold {case['exam_id']}: first paint {r['first_paint_ms']} ms, lossless {r['lossless_ms']} ms",
                    file=sys.stderr,
                )
            finally:
                context.close()
        return results

    def _session(self, browser, state, data: dict) -> dict:
        """Read every case with the keyboard in one tab: P1 per transition, memory before each verdict."""
        by_id = {c["exam_id"]: c for c in data["cases"]}
        cached_urls = {str(c["exam_id"]): c["urls"] + c["prior_urls"] for c in data["cases"]}
        context = self._context(browser, state)
        js_errors: list[str] = []
        session = {"memory": [], "transitions": []}
        try:
            page = context.new_page()
            page.on("pageerror", lambda e: js_errors.append(str(e)))
            page.goto("/lecture/poste/")
            page.locator("[data-role=station-skip]").click()
            page.wait_for_function("() => window.L2Workstation && window.L2Workstation.station", polling=50)
            session["viewer"] = page.evaluate("() => window.L2Workstation.kind")
            last_key = 0.0
            for index in range(len(by_id)):
                current = page.wait_for_function(
                    "() => window.L2Workstation.current && window.L2Workstation.current.id", polling=50
                ).json_value()
                if current not in by_id:
                    raise RuntimeError(f"the workstation opened exam {current}, not a benchmark case")
                self._wait_mark(page, "l2:lossless", current, after=last_key)
                page.wait_for_function(
                    "() => { const s = window.L2Workstation; return s.lockStarted && performance.now() > s.lockUntil + 20; }",
                    polling=50,
                )
                following = page.evaluate(
                    """() => { const s = window.L2Workstation;
                       return s.nextIds.find((id) => !s.done.has(id) && !s.skipped.includes(id) && id !== s.current.id) ?? null; }"""
                )
                prefetched = None
                if following is not None:
                    try:
                        self._wait_mark(page, "l2:prefetch-done", following, timeout=WAIT_MS)
                        prefetched = True
                    except Exception:  # noqa: BLE001  (P1 then measures a cold case: flagged)
                        prefetched = False
                memory = page.evaluate(MEMORY_JS, cached_urls) | chromium_rss()
                memory["exam_id"] = current
                per_case = memory.pop("per_case", {})
                next_cached = per_case.get(str(following)) if following is not None else None
                session["memory"].append(memory)
                keys_before = page.evaluate("() => window.__l2keys.length")
                page.keyboard.press("n")
                key = page.wait_for_function(
                    "(n) => window.__l2keys.length > n && window.__l2keys[n]", arg=keys_before, polling=50
                ).json_value()
                last_key = key["t"]
                if following is None:
                    page.wait_for_selector("[data-testid=end]", state="visible")
                    break
                self._wait_mark(page, "l2:painted", following, after=last_key)
                session["transitions"].append(
                    {
                        "from": current,
                        "to": following,
                        "key_t": key["t"],
                        "trusted": key["trusted"],
                        "prefetched": prefetched,
                        "next_images_decoded_at_key": next_cached,
                    }
                )
                cache_mb = (memory["cache_bytes"] or 0) / MB
                print(
                    f"   case {index + 1}: exam {current}, cache {cache_mb:.0f} MB, "
                    f"{memory['cases_cached']} case(s) cached, renderer {memory['renderer_mb']:.0f} MB, "
                    f"GPU process {memory['gpu_mb']:.0f} MB",
                    file=sys.stderr,
                )
            page.wait_for_function("() => window.L2Workstation.outbox.pending === 0", polling=100)
            marks = page.evaluate(MARKS_JS)
            resources = page.evaluate(RESOURCES_JS)
        finally:
            context.close()
        session["js_errors"] = js_errors
        for tr in session["transitions"]:
            tr.update(transition_times(marks, tr["to"], tr["key_t"]))
            tr.update(case_json_times(resources, tr["to"], tr["key_t"]))
        first = session["memory"][0]["exam_id"] if session["memory"] else None
        session["first_case"] = case_times(marks, first) | {"exam_id": first} if first else None
        session["bandwidth"] = bandwidth(resources, len(session["memory"]))
        p1 = stats([t["p1_ms"] for t in session["transitions"]])
        print(
            f"   session: P1 median {p1['median']} ms, p95 {p1['p95']} ms over {p1['n']} transitions",
            file=sys.stderr,
        )
        return session
