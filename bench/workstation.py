"""Reading workstation benchmark (issue 5, spec §6 P1-P3, P5): headless Chromium reads real cases.

    .venv/bin/python bench/run.py workstation [--cases 12] [--reps 3] [--cold 4] [--uncompressed]

One run builds a throwaway PostgreSQL database `l2bench_<pid>`, loads `--cases` women for one L2 reader
through the real intake (each woman: a prior exam, read NORMAL, and a current exam; 4 full-size synthetic
views each, Hologic geometry 3328×4096, JPEG 2000 lossless like the demo, or uncompressed with
`--uncompressed`), starts gunicorn (DEBUG off: whitenoise serves the collected static files) and drives
Debian's Chromium (Playwright, headless, SwiftShader WebGL) on loopback. For each repetition:

    peers     in a fresh browser context, for each case: fetch() of its 4 original DICOM files
              (cache: no-store; the network floor of "lossless"), the 4 preview PNGs painted in plain
              <img> tags (the floor of "first paint"), and a key press that swaps 4 already decoded
              <img> (the floor of "prefetched next case painted")
    cold      `--cold` cases opened each in a fresh context (empty caches) with /lecture/poste/?examen=<id>:
              P2 = l2:case-open → l2:first-paint, P3 = l2:case-open → l2:lossless
    session   /lecture/poste/ in a fresh context, station check skipped, every case read with the keyboard:
              wait for l2:lossless, the lock-out and the l2:prefetch-done of the next case, sample the memory,
              press "n" (Normal, one key); P1 = keydown event.timeStamp → the next case's l2:painted (the
              rAF after its lossless 4-up render). The first case of the session is a cold sample too.

Between repetitions the verdicts are withdrawn through the undo service (the server runs with a long undo
window, L2_UNDO_WINDOW_SECONDS=86400, so that they stay provisional), so every repetition reads the same cases.

Memory (P5 / "the tab stays under 1.5 GB with three cases cached"): before each verdict, the renderer's
VmRSS (the tab's process, from /proc; the largest `--type=renderer` child of Chromium), the GPU process's
VmRSS (SwiftShader keeps the WebGL textures there, in RAM), performance.memory.usedJSHeapSize (precise:
--enable-precise-memory-info), cornerstone's cache size and how many cases (4 current + 4 prior views) are
entirely decoded in it.

The same file is also the Django-side helper, run as a subprocess in the benchmark's environment:
    python bench/workstation.py load --cases N --workdir DIR [--uncompressed]   → JSON on stdout
    python bench/workstation.py withdraw --reader USERNAME                      → JSON on stdout
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import MB, PYTHON, REPO, VENV_BIN  # noqa: E402

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
PASSWORD = "bench-password-l2"
READER = "dr.bench"
UNDO_WINDOW_SECONDS = 86400
TARGETS = {"p1_ms": 100.0, "p2_ms": 1000.0, "p3_ms": 3000.0, "tab_mb": 1500.0}
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
  const abs = (u) => 'wadouri:' + new URL(u, location.href).href;
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


# --- statistics ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    """Percentile with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def stats(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"n": 0, "median": None, "p95": None, "min": None, "max": None}
    return {
        "n": len(values),
        "median": round(statistics.median(values), 1),
        "p95": round(pct(values, 95), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


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


# --- the benchmark (driver side) -----------------------------------------------------------------


@dataclass
class Config:
    cases: int = 12
    reps: int = 3
    cold: int = 4
    compress: bool = True
    gunicorn_workers: int = 2
    gunicorn_threads: int = 4
    keep: bool = False


@dataclass
class Workstation:
    cfg: Config
    procs: common.Processes = field(default_factory=common.Processes)
    notes: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db_name = f"l2bench_{os.getpid()}"
        assert re.fullmatch(r"l2bench_\d+", self.db_name)
        self.db_created = False

    # -- lifecycle --

    def run(self) -> dict:
        self.app_commit = common.app_commit()
        self.tmp = Path(tempfile.mkdtemp(prefix="l2bench-ws-"))
        try:
            return self._run()
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        self.procs.stop_all()
        if self.db_created:
            try:
                _admin_sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001
                print(f"!! could not drop {self.db_name}: {exc}", file=sys.stderr)
        if self.cfg.keep:
            print(f">> kept {self.tmp} (--keep)", file=sys.stderr)
        else:
            common.rmtree(self.tmp)

    def _run(self) -> dict:
        started = time.perf_counter()
        self._setup()
        data = self._load()
        self._start_server()
        reps = self._browse(data)
        report = self._report(data, reps, time.perf_counter() - started)
        print_report(report)
        return report

    # -- setup --

    def _setup(self) -> None:
        for sub in ("media", "static", "uploads", "logs", "gen"):
            (self.tmp / sub).mkdir()
        _admin_sql(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True
        env = dict(os.environ)
        for key in list(env):
            if key.startswith(("DJANGO_", "CELERY_", "L2_")) or key in ("DATABASE_URL", "MEDIA_ROOT"):
                del env[key]
        env.update(
            DJANGO_SETTINGS_MODULE="screening.settings",
            DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{self.db_name}",
            MEDIA_ROOT=str(self.tmp / "media"),
            STATIC_ROOT=str(self.tmp / "static"),
            FILE_UPLOAD_TEMP_DIR=str(self.tmp / "uploads"),
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_DEBUG="false",
            DJANGO_SECURE_COOKIES="false",
            L2_UNDO_WINDOW_SECONDS=str(UNDO_WINDOW_SECONDS),
            PYTHONUNBUFFERED="1",
        )  # no CELERY_BROKER_URL: tasks run eagerly (intake, assignment) in the loader and the server
        self.env = env
        t = time.perf_counter()
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True
        )
        subprocess.run(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True
        )
        print(
            f">> database {self.db_name} migrated, static collected in {time.perf_counter() - t:.0f} s",
            file=sys.stderr,
        )

    def _helper(self, *args: str) -> dict:
        out = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), *args],
            cwd=REPO,
            env=self.env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    def _load(self) -> dict:
        t = time.perf_counter()
        args = ["load", "--cases", str(self.cfg.cases), "--workdir", str(self.tmp / "gen")]
        data = self._helper(*args, *([] if self.cfg.compress else ["--uncompressed"]))
        data["load_seconds"] = round(time.perf_counter() - t, 1)
        print(
            f">> loaded {len(data['cases'])} cases (+ priors, {data['images']} images, "
            f"{data['file_mb_mean']:.1f} MB per file) in {data['load_seconds']:.0f} s",
            file=sys.stderr,
        )
        return data

    def _start_server(self) -> None:
        from bench.ingest import wait_http

        self.port = common.free_port()
        web = self.procs.start(
            "web",
            [
                str(VENV_BIN / "gunicorn"),
                "screening.wsgi:application",
                "-k",
                "gthread",
                "-w",
                str(self.cfg.gunicorn_workers),
                "--threads",
                str(self.cfg.gunicorn_threads),
                "-b",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "300",
                "--graceful-timeout",
                "10",
            ],
            env=self.env,
            log=self.tmp / "logs" / "gunicorn.log",
        )
        wait_http(self.port, "/healthz/", 60, web)
        self.base = f"http://127.0.0.1:{self.port}"
        print(f">> gunicorn on {self.base}", file=sys.stderr)

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
            """([name, id, after]) => performance.getEntriesByName(name)
                 .some((m) => m.startTime > after && m.detail && m.detail.exam_id === id)""",
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

    # -- report --

    def _report(self, data: dict, reps: list[dict], wall: float) -> dict:
        def collect(path: list[str]) -> list[float]:
            values = []
            for rep in reps:
                node = rep
                for key in path:
                    node = node.get(key) if isinstance(node, dict) else None
                    if node is None:
                        break
                if isinstance(node, list):
                    values.extend(v for v in node if v is not None)
            return values

        sessions = [r["session"] for r in reps if r.get("session")]
        colds = [c for r in reps for c in (r.get("cold") or [])]
        colds += [s["first_case"] for s in sessions if s.get("first_case")]
        transitions = [t for s in sessions for t in s["transitions"]]
        p1 = stats([t["p1_ms"] for t in transitions if t.get("prefetched")])
        p1_all = stats([t["p1_ms"] for t in transitions])
        p2 = stats([c["first_paint_ms"] for c in colds])
        p3 = stats([c["lossless_ms"] for c in colds])
        peer_fetch = stats(collect(["peers", "fetch_ms"]))
        peer_paint = stats(collect(["peers", "img_paint_ms"]))
        peer_swap = stats(collect(["peers", "img_swap_ms"]))
        memory = [m for s in sessions for m in s["memory"]]
        three = [m for m in memory if m["cases_cached"] >= 3]
        tab = max((m["renderer_mb"] for m in three), default=None)
        tab_any = max((m["renderer_mb"] for m in memory), default=None)
        gpu = max((m["renderer_mb"] + m["gpu_mb"] for m in three), default=None)

        def target(key: str, s: dict, peer: dict | None, what: str, peer_what: str | None) -> dict:
            entry = {
                "what": what,
                "target_ms": TARGETS[key],
                **{f"{k}_ms" if k != "n" else k: v for k, v in s.items()},
            }
            if peer is not None:
                entry["peer"] = {
                    "what": peer_what,
                    **{f"{k}_ms" if k != "n" else k: v for k, v in peer.items()},
                }
                entry["ratio_median"] = ratio(s["median"], peer["median"])
                entry["ratio_p95"] = ratio(s["p95"], peer["p95"])
            entry["met"] = s["p95"] is not None and s["p95"] < TARGETS[key]
            return entry

        targets = {
            "p1_prefetched_next_case": target(
                "p1_ms",
                p1,
                peer_swap,
                "keydown 'n' event.timeStamp → the next case's l2:painted (rAF after its lossless 4-up)",
                "keydown → rAF after swapping 4 already decoded preview PNGs in plain <img> tags",
            ),
            "p2_cold_first_paint": target(
                "p2_ms",
                p2,
                peer_paint,
                "l2:case-open → l2:first-paint, cold (fresh context)",
                "4 preview PNGs painted in plain <img> tags (decode() + rAF), cold",
            ),
            "p3_cold_lossless": target(
                "p3_ms",
                p3,
                peer_fetch,
                "l2:case-open → l2:lossless (4 current views, full resolution, decoded), cold",
                "fetch() of the same 4 original DICOM files (cache: no-store): the network floor",
            ),
            "tab_memory_three_cases": {
                "what": "renderer VmRSS (the tab) at the samples with >= 3 cases entirely decoded in cornerstone's cache",
                "target_mb": TARGETS["tab_mb"],
                "max_mb": tab,
                "max_mb_any_sample": tab_any,
                "samples_with_3_cases": len(three),
                "renderer_plus_gpu_process_max_mb": gpu,
                "met": tab is not None and tab < TARGETS["tab_mb"],
            },
        }
        report = {
            "benchmark": "workstation",
            "machine": common.machine(),
            "versions": {
                "app_commit": self.app_commit,
                "chromium": getattr(self, "chromium_version", "?"),
                "playwright": getattr(self, "playwright_version", "?"),
                **common.package_versions(["django", "gunicorn", "pydicom"]),
            },
            "config": {
                "cases": len(data["cases"]),
                "reps": self.cfg.reps,
                "cold_per_rep": self.cfg.cold,
                "images": f"{data['rows']}x{data['columns']} (Hologic geometry), 16 bits allocated, "
                + ("JPEG 2000 lossless" if self.cfg.compress else "uncompressed")
                + f", {data['file_mb_mean']:.2f} MB per file; 4 current + 4 prior views per case",
                "viewport": f"{VIEWPORT['width']}x{VIEWPORT['height']}",
                "chromium_args": CHROMIUM_ARGS,
                "server": f"gunicorn {self.cfg.gunicorn_workers} workers x {self.cfg.gunicorn_threads} threads "
                "(gthread), DEBUG off, whitenoise, PostgreSQL (loopback), Celery eager",
                "undo_window_s": UNDO_WINDOW_SECONDS,
                "load_seconds": data["load_seconds"],
            },
            "targets": targets,
            "p1_all_transitions": p1_all,
            "unprefetched_transitions": sum(1 for t in transitions if not t.get("prefetched")),
            "prefetched_but_evicted_transitions": sum(
                1 for t in transitions if t.get("prefetched") and t.get("first_paint_lossless") is False
            ),
            "session_detail": {
                "keydown_to_case_json_start": stats([t.get("case_json_start_ms") for t in transitions]),
                "keydown_to_case_json_end": stats([t.get("case_json_end_ms") for t in transitions]),
                "keydown_to_case_open": stats([t["case_open_ms"] for t in transitions]),
                "keydown_to_stage_hung": stats([t.get("stage_hung_ms") for t in transitions]),
                "keydown_to_first_paint": stats([t["first_paint_ms"] for t in transitions]),
                "keydown_to_lossless": stats([t["lossless_ms"] for t in transitions]),
                "cold_case_json_included": False,
            },
            "memory": {
                "samples": len(memory),
                "renderer_mb": stats([m["renderer_mb"] for m in memory]),
                "gpu_process_mb": stats([m["gpu_mb"] for m in memory]),
                "chromium_all_mb": stats([m["all_mb"] for m in memory]),
                "js_heap_used_mb": stats([m["heap_used"] / MB for m in memory if m.get("heap_used")]),
                "cornerstone_cache_mb": stats(
                    [m["cache_bytes"] / MB for m in memory if m.get("cache_bytes")]
                ),
                "cases_cached": [m["cases_cached"] for m in memory],
            },
            "bandwidth_per_case": [s.get("bandwidth") for s in sessions],
            "reps_detail": reps,
            "errors": self.errors,
            "notes": self.notes,
            "wall_seconds": round(wall, 1),
        }
        return report


def case_times(marks: list[dict], exam_id: int | None) -> dict:
    """case-open → first-paint and → lossless of the first opening of exam_id in this page."""

    def first(name: str, after: float = -1.0) -> float | None:
        return next(
            (
                m["t"]
                for m in marks
                if m["name"] == name and m["t"] >= after and (m["detail"] or {}).get("exam_id") == exam_id
            ),
            None,
        )

    opened = first("l2:case-open")
    if opened is None:
        return {"first_paint_ms": None, "lossless_ms": None}
    fp, ll = first("l2:first-paint", opened), first("l2:lossless", opened)
    return {
        "first_paint_ms": round(fp - opened, 1) if fp is not None else None,
        "lossless_ms": round(ll - opened, 1) if ll is not None else None,
    }


def transition_times(marks: list[dict], to: int, key_t: float) -> dict:
    def first(name: str) -> dict | None:
        return next(
            (
                m
                for m in marks
                if m["name"] == name and m["t"] > key_t and (m["detail"] or {}).get("exam_id") == to
            ),
            None,
        )

    painted, fp, ll, opened = (
        first("l2:painted"),
        first("l2:first-paint"),
        first("l2:lossless"),
        first("l2:case-open"),
    )
    stage = next((m for m in marks if m["name"] == "l2:stage" and opened and m["t"] > opened["t"]), None)
    return {
        "stage_hung_ms": round(stage["t"] - key_t, 1) if stage else None,
        "p1_ms": round(painted["t"] - key_t, 1) if painted else None,
        "case_open_ms": round(opened["t"] - key_t, 1) if opened else None,
        "first_paint_ms": round(fp["t"] - key_t, 1) if fp else None,
        "first_paint_lossless": (fp["detail"] or {}).get("lossless") if fp else None,
        "lossless_ms": round(ll["t"] - key_t, 1) if ll else None,
    }


def case_json_times(resources: list[dict], to: int, key_t: float) -> dict:
    """The case JSON request the verdict key triggered (Resource Timing), relative to the keydown."""
    pattern = re.compile(rf"/lecture/api/cas/{to}/$")
    r = next((r for r in resources if pattern.search(r["name"]) and r["start"] > key_t), None)
    if r is None:
        return {"case_json_start_ms": None, "case_json_end_ms": None}
    return {
        "case_json_start_ms": round(r["start"] - key_t, 1),
        "case_json_end_ms": round(r["end"] - key_t, 1),
    }


def bandwidth(resources: list[dict], cases: int) -> dict:
    dicom = [r for r in resources if "/lecture/dicom/" in r["name"]]
    previews = [r for r in resources if "/affichage" in r["name"]]
    n = max(cases, 1)
    return {
        "cases_opened": cases,
        "dicom_requests": len(dicom),
        "dicom_mb_per_case": round(sum(r["encoded"] or 0 for r in dicom) / MB / n, 1),
        "preview_requests": len(previews),
        "preview_kb_mean": round(statistics.mean([r["encoded"] or 0 for r in previews]) / 1000, 1)
        if previews
        else None,
    }


def _admin_sql(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _fmt(s: dict, key: str = "median") -> str:
    v = s.get(f"{key}_ms", s.get(key))
    return "n/a" if v is None else f"{v:.0f}"


def print_report(r: dict) -> None:
    c, m, t = r["config"], r["machine"], r["targets"]
    print()
    print("=" * 100)
    print(f"WORKSTATION  {m['date']}  {m['host_cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM")
    print(
        f"Chromium {r['versions']['chromium']} headless (SwiftShader WebGL), viewport {c['viewport']}, app {r['versions']['app_commit']}"
    )
    print(
        f"{c['cases']} cases x {c['reps']} repetition(s), {c['cold_per_rep']} extra cold opens per repetition; {c['images']}"
    )
    print(f"server: {c['server']}")
    print("-" * 100)
    print(f"{'target':<34}{'median':>9}{'p95':>9}{'n':>5}{'limit':>9}  {'peer median':>12}{'ratio':>8}  met")
    for key, label in (
        ("p1_prefetched_next_case", "P1 prefetched next case painted"),
        ("p2_cold_first_paint", "P2 cold first paint"),
        ("p3_cold_lossless", "P3 cold lossless, 4 views"),
    ):
        e = t[key]
        peer = e.get("peer", {})
        print(
            f"{label:<34}{_fmt(e):>9}{_fmt(e, 'p95'):>9}{e['n']:>5}{e['target_ms']:>9.0f}  "
            f"{_fmt(peer):>12}{(str(e.get('ratio_median')) + 'x') if e.get('ratio_median') else 'n/a':>8}  "
            + ("MET" if e["met"] else "MISSED")
        )
    mem = t["tab_memory_three_cases"]
    print(
        f"tab (renderer) RSS with >= 3 cases cached: max {mem['max_mb']} MB over {mem['samples_with_3_cases']} samples "
        f"(limit {mem['target_mb']:.0f}) -> {'MET' if mem['met'] else 'MISSED'}; renderer + GPU process "
        f"{mem['renderer_plus_gpu_process_max_mb']} MB"
    )
    mm = r["memory"]
    print(
        f"memory over the session: JS heap {mm['js_heap_used_mb']['median']} MB (median), cornerstone cache "
        f"{mm['cornerstone_cache_mb']['max']} MB (max), cases cached {mm['cases_cached']}"
    )
    for bw in r["bandwidth_per_case"]:
        if bw:
            print(
                f"bandwidth: {bw['dicom_mb_per_case']} MB of DICOM per case opened, previews {bw['preview_kb_mean']} kB each"
            )
    d = r["session_detail"]
    print(
        "P1 decomposed (median ms after the keydown): case JSON request "
        f"{d['keydown_to_case_json_start']['median']} → {d['keydown_to_case_json_end']['median']}, l2:case-open "
        f"{d['keydown_to_case_open']['median']}, stage hung {d['keydown_to_stage_hung']['median']}, first paint "
        f"{d['keydown_to_first_paint']['median']}, lossless {d['keydown_to_lossless']['median']}"
    )
    if r["prefetched_but_evicted_transitions"]:
        print(
            f"note: {r['prefetched_but_evicted_transitions']} transition(s) had l2:prefetch-done for the next case but "
            "opened it on previews (its images were no longer in cornerstone's cache)"
        )
    if r["unprefetched_transitions"]:
        print(
            f"note: {r['unprefetched_transitions']} transition(s) without l2:prefetch-done of the next case (not in P1)"
        )
    for error in r["errors"]:
        print(f"error: {error}")
    print(f"wall time {r['wall_seconds']:.0f} s")
    print("=" * 100)


# --- Django-side helper (subprocess, benchmark database only) ------------------------------------


def _gen(job: tuple) -> tuple[str, int]:
    from screening.dicom.synth import write_mammogram

    path, kwargs = job
    with common._stdout_to_devnull():  # openjpeg prints "tile number …"
        write_mammogram(path, **kwargs)
    return path, os.path.getsize(path)


def helper_load(cases: int, workdir: Path, compress: bool) -> dict:
    import datetime as dt
    from concurrent.futures import ProcessPoolExecutor

    from pydicom.uid import generate_uid

    today = dt.date.today()
    women = []
    jobs = []
    for i in range(cases):
        who = {
            "programme_id": f"03-2099-{i + 1:06d}",
            "last_name": f"BANC{i + 1:03d}",
            "first_name": "Lise",
            "birth_date": dt.date(1960 + i % 12, 1 + i % 12, 1 + i % 27),
        }
        dates = {"P": today - dt.timedelta(days=2 + i + 730), "C": today - dt.timedelta(days=2 + i)}
        women.append((who, dates))
        for kind in ("P", "C"):
            study_uid = generate_uid()
            for slot in ("RCC", "LCC", "RMLO", "LMLO"):
                kwargs = {
                    "patient_id": who["programme_id"],
                    "patient_name": f"{who['last_name']}^{who['first_name']}",
                    "birth_date": who["birth_date"].strftime("%Y%m%d"),
                    "study_date": dates[kind].strftime("%Y%m%d"),
                    "accession_number": f"WSB{i + 1:03d}{kind}",
                    "study_uid": study_uid,
                    "laterality": slot[0],
                    "view": slot[1:],
                    "detector": "hologic",
                    "compress": compress,
                    "seed": 2 * i + (kind == "C"),
                }
                jobs.append((str(workdir / f"w{i:03d}{kind}_{slot}.dcm"), kwargs))
    # The pool forks before Django opens any connection; files are written while earlier ones are ingested.
    pool = ProcessPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1))
    results = pool.map(_gen, jobs)

    import django

    django.setup()
    from django.core.files import File
    from django.urls import reverse

    from readings.models import ReaderProfile
    from readings.services.l2_reading import l2_reading_open, l2_reading_submit
    from screening.models import (
        Exam,
        ExamState,
        Participant,
        Practice,
        PracticeMembership,
        PracticeRole,
        ReadingCentre,
        ReadingSite,
        User,
    )
    from screening.services.exams import exam_create, exam_submit
    from screening.services.ingest import ingest_file_receive

    centre = ReadingCentre.objects.create(code="BENCH", name="Centre de benchmark")
    site = ReadingSite.objects.create(
        centre=centre, code="BENCHSITE", name="Site de benchmark", town="Moulins"
    )
    practice = Practice.objects.create(
        centre=centre,
        code="BENCHCAB",
        name="Cabinet de benchmark",
        town="Vichy",
        dematerialised_on=dt.date(2024, 1, 1),
    )

    def user(username: str, last: str) -> User:
        u = User(username=username, first_name="Claire", last_name=last, title="Dr")
        u.set_password(PASSWORD)
        u.save()
        return u

    staff, l1, reader = (
        user("staff.bench", "Secrétariat"),
        user("dr.l1bench", "Premier"),
        user(READER, "Second"),
    )
    PracticeMembership.objects.create(user=staff, practice=practice, role=PracticeRole.STAFF)
    PracticeMembership.objects.create(user=l1, practice=practice, role=PracticeRole.L1_RADIOLOGIST)
    ReaderProfile.objects.create(user=reader, site=site)
    form = {
        "clinical_exam": "N", "density": "B", "acr_initial_right": 1, "acr_initial_left": 1,
        "acr_final_right": 1, "acr_final_left": 1, "conduct": "",
    }  # fmt: skip

    sizes = []
    out_cases = []
    started = time.perf_counter()
    for i, (who, dates) in enumerate(women):
        participant = Participant.objects.create(**who)
        exams = {}
        for kind in ("P", "C"):
            exam = exam_create(
                actor=staff, practice=practice, participant=participant, l1_radiologist=l1,
                mammogram_date=dates[kind], l1=form, accession_number=f"WSB{i + 1:03d}{kind}",
            )  # fmt: skip
            for _ in range(4):
                path, size = next(results)
                sizes.append(size)
                with open(path, "rb") as fh:
                    ingest_file_receive(
                        practice=practice, exam=exam, upload=File(fh, name=Path(path).name),
                        original_name=Path(path).name, actor=staff,
                    )  # fmt: skip
                os.unlink(path)
            exam_submit(exam_id=exam.pk, actor=staff)
            exam.refresh_from_db()
            if exam.state != ExamState.ASSIGNED:
                raise SystemExit(f"exam {exam.pk} ({kind}) is {exam.state}, not ASSIGNED")
            if kind == "P":  # the prior is read and closed, like the demo's priors
                l2_reading_open(exam_id=exam.pk, reader=reader)
                l2_reading_submit(
                    exam_id=exam.pk, reader=reader, verdict="NORMAL", acr_right=1, acr_left=1,
                    reading_seconds=45, undo_seconds=0,
                )  # fmt: skip
            exams[kind] = exam
        current, prior = exams["C"], exams["P"]
        if not current.priors.filter(pk=prior.pk).exists():
            raise SystemExit(f"exam {current.pk}: prior {prior.pk} not linked")

        def urls(exam: Exam) -> tuple[list[str], list[str | None]]:
            views = {
                v.slot: v
                for v in exam.instances.filter(is_default_for_slot=True).prefetch_related("renditions")
            }
            ordered = [views[s] for s in ("RCC", "LCC", "RMLO", "LMLO")]
            previews = []
            for v in ordered:
                display = next((r for r in v.renditions.all() if r.kind == "DISPLAY"), None)
                previews.append(reverse("rendition", args=[v.pk, "affichage"]) if display else None)
            return [reverse("readings:dicom", args=[v.sop_uid]) for v in ordered], previews

        cur_urls, cur_previews = urls(current)
        prior_urls, _ = urls(prior)
        out_cases.append(
            {
                "exam_id": current.pk,
                "prior_id": prior.pk,
                "urls": cur_urls,
                "previews": cur_previews,
                "prior_urls": prior_urls,
            }  # fmt: skip
        )
        print(f"   case {i + 1}/{len(women)}: exam {current.pk} (prior {prior.pk}) "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
    pool.shutdown()
    rows, columns = 4096, 3328
    return {
        "reader": READER,
        "cases": out_cases,
        "images": len(sizes),
        "file_mb_mean": sum(sizes) / len(sizes) / MB,
        "rows": rows,
        "columns": columns,
    }


def helper_withdraw(username: str) -> dict:
    import django

    django.setup()
    from readings.models import L2Reading
    from readings.services.verdicts import l2_reading_withdraw
    from screening.models import User

    reader = User.objects.get(username=username)
    ids = list(
        L2Reading.objects.filter(reader=reader, status=L2Reading.Status.PROVISIONAL).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        l2_reading_withdraw(reading_id=pk, reader=reader)
    return {"withdrawn": len(ids)}


def helper_main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["load", "withdraw"])
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--uncompressed", action="store_true")
    parser.add_argument("--reader", default=READER)
    args = parser.parse_args(argv)
    if "/l2bench_" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("refusing to run: DATABASE_URL is not a benchmark database (…/l2bench_<pid>)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "screening.settings")
    if args.action == "load":
        result = helper_load(args.cases, args.workdir, not args.uncompressed)
    else:
        result = helper_withdraw(args.reader)
    print(json.dumps(result))


if __name__ == "__main__":
    helper_main(sys.argv[1:])
