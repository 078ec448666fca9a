"""`manage.py benchmark_assignment`: the automatic assignment with real Celery workers, timed on PostgreSQL.

    manage.py benchmark_assignment --exams 10000 --readers 30 --workers 4 [--chunk 500]
        [--queue-exams 100000] [--queue-requests 50] [--seed 0] [--profile] [--keep-db]

The configured database is never touched: the command creates a throwaway database `l2_bench_<pid>` on the
same PostgreSQL server, migrates it and runs the benchmark itself in a child process pointed at it
(`--inner`), then drops it (unless --keep-db). Progress goes to stderr; stdout gets one JSON object.
"""

import argparse
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from readings.benchmarking_workers import postgres_admin_execute
from readings.services.assignment import db_now

TARGET_SECONDS = 5
BENCH_DB = re.compile(r"l2_bench_\d+")
PROFILE_ENV = "L2_BENCH_PROFILE"
# Phases of one queue_assign call (one chunk), in order; "other" is the rest (ORM objects, Python glue).
PHASES = ("select_exams", "lock_readers", "reader_states", "exam_facts", "plan", "insert_assignments",
          "loads_write", "exams_transition_bulk", "_record_queue_look", "commit")  # fmt: skip
WRAPPED = (
    "reader_states",
    "exam_facts",
    "plan",
    "loads_write",
    "exams_transition_bulk",
    "_record_queue_look",
)


class ChunkProfile:
    """--profile, worker side: wall and SQL time per phase of each chunk, the service code left as it is.

    The benchmark worker imports this module (-I) with L2_BENCH_PROFILE=1; the phases are timed by wrapping
    the names queue_assign looks up in its module and by an execute wrapper on the SQL statements.
    """

    def __init__(self) -> None:
        self.wall: Counter = Counter()
        self.sql: Counter = Counter()
        self.chunks, self.phase = 0, ""

    def timed(self, name: str, fn):
        def inner(*args, **kwargs):
            previous, self.phase = self.phase, name
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[name] += time.perf_counter() - t
                self.phase = previous
                self.chunks += name == "total"

        return inner

    def sql_timer(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent, phase = time.perf_counter() - t, self.phase
            if phase == "total":  # a statement of queue_assign's own body
                if "SKIP LOCKED" in sql and '"screening_exam"' in sql:
                    phase = "select_exams"
                elif '"readings_readerprofile"' in sql and "FOR UPDATE" in sql:
                    phase = "lock_readers"
                elif sql.startswith('INSERT INTO "readings_assignment"'):
                    phase = "insert_assignments"
                if phase != "total":
                    self.wall[phase] += spent
            self.sql[phase] += spent

    def install(self) -> None:
        from celery.signals import task_prerun

        from readings import benchmarking
        from readings.services import assignment as service

        for name in WRAPPED:
            setattr(service, name, self.timed(name, getattr(service, name)))
        service.queue_assign = self.timed("total", service.queue_assign)

        def start(**kwargs):
            self.__init__()
            if self.sql_timer not in connection.execute_wrappers:
                connection.execute_wrappers.append(self.sql_timer)
            if not hasattr(connection.commit, "profiled"):
                connection.commit = self.timed("commit", connection.commit)
                connection.commit.profiled = True

        task_prerun.connect(start, weak=False)
        benchmarking.report_extras.append(lambda: {"profile": self.report()})

    def report(self) -> dict:
        other = self.wall["total"] - sum(self.wall[p] for p in PHASES)
        wall = {p: self.wall[p] for p in PHASES} | {"other": other, "total": self.wall["total"]}
        return {"chunks": self.chunks, "wall_s": wall, "sql_s": dict(self.sql)}


if os.environ.get(PROFILE_ENV):
    ChunkProfile().install()


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine (/proc/stat): how busy the cores were during the run."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return sum(values) - values[3] - values[4], sum(values)


def _sigterm(signum, frame):
    raise KeyboardInterrupt  # clean up (workers, database) in the finally blocks


class Command(BaseCommand):
    help = (
        "Mesure l'attribution automatique (workers Celery réels, PostgreSQL) sur une base jetable "
        "l2_bench_<pid>, puis la page « file L2 » de la coordination ; affiche un objet JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exams", type=int, default=10000, help="examens en file L2 (défaut 10000)")
        parser.add_argument("--readers", type=int, default=30, help="seconds lecteurs (défaut 30)")
        parser.add_argument("--workers", type=int, default=4, help="workers Celery concurrents (défaut 4)")
        parser.add_argument("--chunk", type=int, default=500, help="examens par transaction (défaut 500)")
        parser.add_argument(
            "--queue-exams", type=int, default=100000, help="examens en file pour la page file L2 (0 : sans)"
        )
        parser.add_argument("--queue-requests", type=int, default=50, help="requêtes mesurées (défaut 50)")
        parser.add_argument("--seed", type=int, default=0, help="graine du monde synthétique (défaut 0)")
        parser.add_argument(
            "--profile",
            action="store_true",
            help="temps par phase de chaque lot (verrous, calcul, écritures)",
        )
        parser.add_argument("--keep-db", action="store_true", help="garder la base l2_bench_<pid>")
        parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options) -> None:
        for name in ("exams", "readers", "workers", "chunk"):
            if options[name] < 1:
                raise CommandError(f"--{name} doit valoir au moins 1.")
        if options["queue_exams"] < 0 or options["queue_requests"] < 1:
            raise CommandError("--queue-exams doit être ≥ 0 et --queue-requests ≥ 1.")
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("postgresql"):
            raise CommandError(
                "benchmark_assignment a besoin de PostgreSQL : DATABASE_URL=postgres://… "
                f"(base configurée : {db['ENGINE']})."
            )
        if not settings.CELERY_BROKER_URL.startswith("redis"):
            raise CommandError("benchmark_assignment a besoin de Redis : CELERY_BROKER_URL=redis://…")
        signal.signal(signal.SIGTERM, _sigterm)
        if options["inner"] and not BENCH_DB.fullmatch(db["NAME"]):
            raise CommandError(
                f"--inner refuse de tourner sur la base {db['NAME']} (l2_bench_<pid> seulement)."
            )
        try:
            report = self._inner(options) if options["inner"] else self._outer(options, db)
        except KeyboardInterrupt:
            raise CommandError(
                "interrompu : workers arrêtés, base jetable supprimée (sauf --keep-db)."
            ) from None
        self.stdout.write(json.dumps(report, ensure_ascii=False))

    # --- parent: a throwaway database, migrated, then the child process on it ---------------------------

    def _admin(self, db: dict, sql: str) -> None:
        postgres_admin_execute(db, sql)

    def _outer(self, options: dict, db: dict) -> dict:
        from readings.benchmarking import database_url

        name = f"l2_bench_{os.getpid()}"
        assert BENCH_DB.fullmatch(name)
        env = dict(os.environ, DATABASE_URL=database_url({**db, "NAME": name}), PYTHONUNBUFFERED="1")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        self._admin(db, f'CREATE DATABASE "{name}"')
        child = None
        try:
            self._log(f"base jetable {name} créée ; migrations…")
            subprocess.run(
                [*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, stdout=sys.stderr
            )
            argv = [*manage, "benchmark_assignment", "--inner"]
            for key in ("exams", "readers", "workers", "chunk", "queue_exams", "queue_requests", "seed"):
                argv += [f"--{key.replace('_', '-')}", str(options[key])]
            argv += ["--profile"] if options["profile"] else []
            child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
            out, _ = child.communicate()
            if child.returncode != 0:
                raise CommandError(f"le benchmark a échoué (code {child.returncode}), voir ci-dessus.")
            report = json.loads(out.strip().splitlines()[-1])
            report["database"] = name + (" (gardée)" if options["keep_db"] else " (supprimée)")
            return report
        finally:
            if child is not None and child.poll() is None:
                child.terminate()
                child.wait(timeout=60)
            if not options["keep_db"]:
                self._admin(db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                self._log(f"base {name} supprimée")

    def _log(self, text: str) -> None:
        print(f">> {text}", file=sys.stderr, flush=True)

    # --- child: the world, the timed run, the invariants, the queue page ---------------------------------

    def _inner(self, o: dict) -> dict:
        from readings import benchmarking as bench

        t = time.perf_counter()
        world = bench.world_build(exams=o["exams"], readers=o["readers"], seed=o["seed"])
        self._analyze()
        self._log(
            f"monde construit en {time.perf_counter() - t:.1f} s : {o['exams']} examens, {o['readers']} lecteurs"
        )
        with tempfile.TemporaryDirectory(prefix="l2bench-") as tmp:
            pool = bench.workers_start(
                count=o["workers"], database_url=bench.database_url(connection.settings_dict),
                broker_url=settings.CELERY_BROKER_URL, log_dir=Path(tmp),
                include=(__name__,) if o["profile"] else (), env={PROFILE_ENV: "1"} if o["profile"] else {},
            )  # fmt: skip
            try:
                bench.workers_wait_ready(pool)
                self._log(f"{o['workers']} workers prêts ; attribution…")
                cpu0, load0 = _cpu_times(), os.getloadavg()[0]
                started_at, t0 = db_now(), time.perf_counter()
                bench.drains_dispatch(pool, started_at=started_at, chunk=o["chunk"], count=o["workers"])
                done = bench.drains_wait(pool, count=o["workers"])
                seconds = time.perf_counter() - t0
                cpu1 = _cpu_times()
            finally:
                bench.workers_stop(pool)
        failed = [d for d in done if d["state"] != "SUCCESS"]
        if failed:
            raise CommandError(f"tâche(s) en échec : {failed}")
        left, why, eligible = bench.queue_left()
        found = bench.violations()
        report = {
            "exams": o["exams"], "readers": o["readers"], "workers": o["workers"], "chunk": o["chunk"],
            "seconds": round(seconds, 3),
            "assigned": sum(d["result"]["assigned"] for d in done),
            "left": left, "left_why": why, "eligible_left": eligible,
            "violations": {k: found[k] for k in ("own_l1", "double", "over_capacity")},
            "checks": {k: v for k, v in found.items() if k not in ("own_l1", "double", "over_capacity")},
            "per_worker": [
                {"assigned": d["result"]["assigned"], "selected": d["result"]["selected"],
                 "busy_s": round(d["finished"] - d["started"], 3)}
                for d in sorted(done, key=lambda d: d["pid"])
            ],
        }  # fmt: skip
        busy, total = cpu1[0] - cpu0[0], (cpu1[1] - cpu0[1]) or 1
        report["machine"] = {
            "cores": os.cpu_count(), "load_1m_before": round(load0, 2),
            "busy_cores_during_run": round(busy / total * (os.cpu_count() or 1), 2),
        }  # fmt: skip
        if o["profile"]:
            report["profile"] = self._profile(done)
        if o["queue_exams"]:
            report["queue_page"] = self._queue_page(
                world, target=o["queue_exams"], requests=o["queue_requests"]
            )
        report["target_seconds"] = TARGET_SECONDS
        report["met"] = seconds < TARGET_SECONDS and eligible == 0 and not any(report["violations"].values())
        return report

    def _profile(self, done: list[dict]) -> dict:
        """Milliseconds per chunk and per phase over all workers, wall (SQL part), and the lock-wait share."""
        chunks = sum(d["profile"]["chunks"] for d in done) or 1
        wall, sql = Counter(), Counter()
        for d in done:
            wall.update(d["profile"]["wall_s"])
            sql.update(d["profile"]["sql_s"])
        ms = {
            p: f"{1000 * wall[p] / chunks:.1f} ({1000 * sql[p] / chunks:.1f} SQL)"
            for p in wall
            if p != "total"
        }
        ms["total"] = f"{1000 * wall['total'] / chunks:.1f}"
        critical = wall["total"] - wall["lock_readers"] - wall["select_exams"]
        return {
            "chunks": chunks, "ms_per_chunk": ms,
            "lock_wait_share": round(wall["lock_readers"] / (wall["total"] or 1), 3),
            "critical_section_s": round(critical, 3),
        }  # fmt: skip

    def _analyze(self) -> None:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")

    def _queue_page(self, world, *, target: int, requests: int) -> dict:
        from django.test import Client
        from django.urls import reverse

        from readings.benchmarking import exams_add
        from screening.models import Exam, ExamState, User

        queued = Exam.objects.filter(state=ExamState.QUEUED).count()
        t = time.perf_counter()
        if target > queued:
            exams_add(world, target - queued)
        self._analyze()
        queued = Exam.objects.filter(state=ExamState.QUEUED).count()
        self._log(f"{queued} examens en file ({time.perf_counter() - t:.0f} s) ; page file L2…")
        result = {"exams": queued, "requests": 0}
        try:
            url = reverse("coordination:queue")
        except Exception as exc:  # noqa: BLE001 (the page is being written: report, do not fail the run)
            return {**result, "error": f"{type(exc).__name__}: {exc}"}
        client = Client(raise_request_exception=False)
        client.force_login(User.objects.get(pk=world.coordinator_id))
        today = world.today
        variants = [
            {}, {"page": 2}, {"page": 40}, {"deadline": "overdue"}, {"deadline": "soon"},
            {"practice": world.practice_ids[0]}, {"site": world.site_ids[1]}, {"urgent": "true"},
            {"wait": "NO_CAPACITY"}, {"due_before": today.isoformat()}, {"state": ExamState.ASSIGNED},
            {"mammogram_from": (today.replace(day=1)).isoformat(), "mammogram_to": today.isoformat()},
        ]  # fmt: skip
        for _ in range(2):  # warm-up (templates, caches), not measured
            client.get(url)
        times, statuses, per_variant = [], Counter(), {}
        for i in range(requests):
            query = variants[i % len(variants)]
            t = time.perf_counter()
            status = client.get(url, query).status_code
            ms = (time.perf_counter() - t) * 1000
            times.append(ms)
            statuses[status] += 1
            per_variant.setdefault(json.dumps(query) if query else "(sans filtre)", []).append(ms)
        times.sort()
        return {
            **result, "requests": requests, "url": url,
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)], 1),
            "max_ms": round(times[-1], 1), "status": {str(k): v for k, v in sorted(statuses.items())},
            "median_ms_by_query": {k: round(statistics.median(v), 1) for k, v in per_variant.items()},
        }  # fmt: skip
