"""Smoke test of `manage.py benchmark_indicators` (the real run uses --exams 2000000, see the report): a
scratch database is created, filled, timed and dropped, and stdout is one JSON object of timings."""

import io
import json

import psycopg2
import pytest
from django.conf import settings
from django.core.management import call_command

pytestmark = [pytest.mark.postgres]


def _databases() -> set[str]:
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(
        host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432, user=db.get("USER") or None,
        password=db.get("PASSWORD") or None, dbname="postgres",
    )  # fmt: skip
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'l2_bench_ind_%%'")
            return {row[0] for row in cursor.fetchall()}
    finally:
        conn.close()


def test_benchmark_prints_one_json_object_and_drops_its_database():
    before = _databases()
    out = io.StringIO()
    call_command("benchmark_indicators", exams=20000, repeat=1, stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue())
    assert report["rows"] == 20000
    assert report["fill_s"] > 0 and report["extra_indexes"] == ["examoutcome_l2_read_at"]
    pages = [f"page:{period}:{by}" for period in ("1y", "10y") for by in
             ("none", "month", "quarter", "year", "practice", "l1", "reader", "site", "medium")]  # fmt: skip
    for name in [*pages, "export_xlsx_all:1y:practice", "export_csv_QI-08:10y:practice"]:
        assert isinstance(report[name], float) and report[name] > 0, name
        assert 0 < report[f"sql:{name}"] <= report[name], name
    assert any(key.startswith("feedback_pdf:") for key in report)
    assert report["max_page_ms"] == max(report[p] for p in pages)
    assert report["database"].endswith("(supprimée)")
    assert _databases() == before  # the scratch database is gone
