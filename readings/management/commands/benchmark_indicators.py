"""`manage.py benchmark_indicators`: the quality-indicator pages timed on millions of ExamOutcome rows.

    manage.py benchmark_indicators --exams 2000000 [--repeat 3] [--seed 0] [--keep] [--no-extra-indexes]

The configured database is never touched: a scratch database `l2_bench_ind_<pid>` is created on the same
PostgreSQL server and migrated; a child process (`--inner`) fills it (readings/benchmarking_indicators),
adds the indexes the indicator queries need (EXTRA_INDEXES, unless --no-extra-indexes), runs VACUUM ANALYZE,
then requests every page the indicators screen serves — each breakdown, for one calendar year and for the
ten years — plus the exports and a yearly PDF sheet, through the Django test client as a coordinator.
The database is dropped at the end unless --keep. Progress goes to stderr; stdout gets ONE JSON object:
{"page:1y:practice": median_ms, …, "sql:page:1y:practice": median SQL ms, "rows": N, "fill_s": …}.
"""

import argparse
import datetime as dt
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.urls import reverse

from readings.benchmarking_workers import postgres_admin_execute

BENCH_DB = re.compile(r"l2_bench_ind_\d+")
BREAKDOWNS = ("", "month", "quarter", "year", "practice", "l1", "reader", "site", "medium")
# Indexes the indicator queries use beyond ExamOutcome.Meta.indexes (see the report: which ones mattered).
EXTRA_INDEXES = {
    # QI-11 and the readers' chart select the readings of a period across all readers.
    "examoutcome_l2_read_at": 'CREATE INDEX IF NOT EXISTS examoutcome_l2_read_at ON "screening_examoutcome" (l2_read_at)',
}


def _sigterm(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Mesure les pages d'indicateurs de qualité sur une base jetable l2_bench_ind_<pid> remplie de N "
        "examens (ExamOutcome) ; affiche un objet JSON des temps médians (ms)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--exams", type=int, default=2_000_000, help="lignes ExamOutcome (défaut 2000000)"
        )
        parser.add_argument("--repeat", type=int, default=3, help="mesures par page (défaut 3, médiane)")
        parser.add_argument("--seed", type=int, default=0, help="graine des données (défaut 0)")
        parser.add_argument("--keep", action="store_true", help="garder la base l2_bench_ind_<pid>")
        parser.add_argument(
            "--no-extra-indexes", action="store_true", help="sans les index ajoutés par le banc (comparaison)"
        )
        parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options) -> None:
        if options["exams"] < 100 or options["repeat"] < 1:
            raise CommandError("--exams doit valoir au moins 100 et --repeat au moins 1.")
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("postgresql"):
            raise CommandError("benchmark_indicators a besoin de PostgreSQL : DATABASE_URL=postgres://…")
        if options["inner"] and not BENCH_DB.fullmatch(db["NAME"]):
            raise CommandError(
                f"--inner refuse de tourner sur la base {db['NAME']} (l2_bench_ind_<pid> seulement)."
            )
        signal.signal(signal.SIGTERM, _sigterm)
        try:
            report = self._inner(options) if options["inner"] else self._outer(options, db)
        except KeyboardInterrupt:
            raise CommandError("interrompu : base jetable supprimée (sauf --keep).") from None
        self.stdout.write(json.dumps(report, ensure_ascii=False))

    # --- parent: the scratch database and the child process ----------------------------------------------

    def _admin(self, db: dict, sql: str) -> None:
        postgres_admin_execute(db, sql)

    def _outer(self, options: dict, db: dict) -> dict:
        from readings.benchmarking_workers import database_url

        name = f"l2_bench_ind_{os.getpid()}"
        assert BENCH_DB.fullmatch(name)
        env = dict(os.environ, DATABASE_URL=database_url({**db, "NAME": name}), PYTHONUNBUFFERED="1")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        self._admin(db, f'CREATE DATABASE "{name}"')
        child = None
        try:
            _log(f"base jetable {name} créée ; migrations…")
            subprocess.run(
                [*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, stdout=sys.stderr
            )
            argv = [*manage, "benchmark_indicators", "--inner", "--exams", str(options["exams"])]
            argv += ["--repeat", str(options["repeat"]), "--seed", str(options["seed"])]
            argv += ["--no-extra-indexes"] if options["no_extra_indexes"] else []
            child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
            out, _ = child.communicate()
            if child.returncode != 0:
                raise CommandError(f"le banc a échoué (code {child.returncode}), voir ci-dessus.")
            report = json.loads(out.strip().splitlines()[-1])
            report["database"] = name + (" (gardée)" if options["keep"] else " (supprimée)")
            return report
        finally:
            if child is not None and child.poll() is None:
                child.terminate()
                child.wait(timeout=60)
            if not options["keep"]:
                self._admin(db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                _log(f"base {name} supprimée")

    # --- child: fill, index, analyse, time ---------------------------------------------------------------

    def _inner(self, o: dict) -> dict:
        from readings.benchmarking_indicators import fill

        t0 = time.perf_counter()
        world = fill(exams=o["exams"], seed=o["seed"])
        fill_s = time.perf_counter() - t0
        _log(f"{o['exams']} examens remplis en {fill_s:.1f} s")
        t0 = time.perf_counter()
        indexes = [] if o["no_extra_indexes"] else list(EXTRA_INDEXES)
        with connection.cursor() as cursor:
            for index in indexes:
                cursor.execute(EXTRA_INDEXES[index])
            cursor.execute("VACUUM ANALYZE")
            cursor.execute('SELECT count(*) FROM "screening_examoutcome"')
            rows = cursor.fetchone()[0]
        index_s = time.perf_counter() - t0
        _log(f"index et VACUUM ANALYZE en {index_s:.1f} s ; mesures…")
        report = self._time_pages(world, o["repeat"])
        return report | {
            "rows": rows,
            "fill_s": round(fill_s, 1),
            "index_analyze_s": round(index_s, 1),
            "extra_indexes": indexes,
            "repeat": o["repeat"],
            "cpus": os.cpu_count(),
        }

    def _time_pages(self, world: dict, repeat: int) -> dict:
        from django.test import Client

        client = Client()
        client.force_login(world["coordinator"])
        today: dt.date = world["today"]
        last_year = today.year - 1
        periods = {
            "1y": (dt.date(last_year, 1, 1), dt.date(last_year, 12, 31)),
            "10y": (world["start"], today),
        }
        page = reverse("indicators:page")
        requests: dict[str, str] = {}
        for label, (start, end) in periods.items():
            for by in BREAKDOWNS:
                query = urlencode({"du": start.isoformat(), "au": end.isoformat(), "par": by})
                requests[f"page:{label}:{by or 'none'}"] = f"{page}?{query}"
            query = urlencode({"du": start.isoformat(), "au": end.isoformat(), "par": "practice"})
            requests[f"export_xlsx_all:{label}:practice"] = (
                f"{reverse('indicators:export', args=['xlsx'])}?{query}"
            )
            requests[f"export_csv_QI-08:{label}:practice"] = (
                f"{reverse('indicators:export', args=['csv'])}?{query}&qi=QI-08"
            )
        reader = _first_reader_id()
        requests[f"feedback_pdf:{last_year}"] = reverse("indicators:feedback_pdf", args=[reader, last_year])

        sql_time = [0.0]

        def timer(execute, sql, params, many, context):
            t = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                sql_time[0] += time.perf_counter() - t

        report: dict = {}
        started = time.perf_counter()
        with connection.execute_wrapper(timer):
            for name, url in requests.items():
                client.get(url)  # warm-up: plans, caches, imports
                walls, sqls = [], []
                for _ in range(repeat):
                    sql_time[0] = 0.0
                    t = time.perf_counter()
                    response = client.get(url)
                    walls.append((time.perf_counter() - t) * 1000)
                    sqls.append(sql_time[0] * 1000)
                    if response.status_code != 200:
                        raise CommandError(f"{name}: HTTP {response.status_code}")
                report[name] = round(statistics.median(walls), 1)
                report[f"sql:{name}"] = round(statistics.median(sqls), 1)
                _log(f"{name}: {report[name]} ms (SQL {report[f'sql:{name}']} ms)")
        pages = [v for k, v in report.items() if k.startswith("page:")]
        report["max_page_ms"] = max(pages)
        report["pages_over_1s"] = sorted(k for k, v in report.items() if k.startswith("page:") and v > 1000)
        report["timing_s"] = round(time.perf_counter() - started, 1)
        return report


def _first_reader_id() -> int:
    from readings.models import ReaderProfile

    return ReaderProfile.objects.order_by("user_id").values_list("user_id", flat=True).first()


def _log(text: str) -> None:
    print(f">> {text}", file=sys.stderr, flush=True)
