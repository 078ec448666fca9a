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

The Django-side data loader is bench/ws_data.py, run as a subprocess in the benchmark's environment
(this file still accepts its command line):
    python bench/ws_data.py load --cases N --workdir DIR [--uncompressed]   → JSON on stdout
    python bench/ws_data.py withdraw --reader USERNAME                      → JSON on stdout
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, ws_data  # noqa: E402
from bench.common import MB, PYTHON, REPO, VENV_BIN  # noqa: E402
from bench.ws_browser import CHROMIUM_ARGS, VIEWPORT, WorkstationBrowser  # noqa: E402
from bench.ws_report import print_report, ratio, stats  # noqa: E402

UNDO_WINDOW_SECONDS = 86400
TARGETS = {"p1_ms": 100.0, "p2_ms": 1000.0, "p3_ms": 3000.0, "tab_mb": 1500.0}


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
class Workstation(WorkstationBrowser):
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
            [PYTHON, str(Path(ws_data.__file__).resolve()), *args],
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


def _admin_sql(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


if __name__ == "__main__":
    ws_data.helper_main(sys.argv[1:])
