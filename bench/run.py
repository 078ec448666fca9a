"""Benchmarks of the L2 platform: one entry point (see bench/README.md and docs/benchmarks.md).

    .venv/bin/python bench/run.py ingest [--n 200] [--reps 3] [--quick]
    .venv/bin/python bench/run.py renditions [--n 10] [--reps 3] [--j2k 4]
    .venv/bin/python bench/run.py [all] [--quick]       # both (what `make bench` runs)
    .venv/bin/python bench/run.py assignment [--exams 10000] [--readers 30] [--workers 4] [--profile]
    .venv/bin/python bench/run.py workstation [--cases 12] [--reps 3] [--cold 4] [--uncompressed]

Each prints a table and, last, one JSON line (also written to --json FILE when given).
The ingest benchmark needs PostgreSQL (127.0.0.1:5432, user postgres), Redis (127.0.0.1:6379), Debian's
`orthanc` and dcmtk's `storescu`; it creates and drops its own database `l2bench_<pid>`, uses Redis
db 9 (--redis-db) and a temporary directory, and removes them on exit (also on Ctrl-C).
The assignment benchmark runs `manage.py benchmark_assignment` (real Celery workers on PostgreSQL, then the
coordinator's queue page with --queue-exams queued exams); it creates and drops its own database
`l2_bench_<pid>` on the server of DATABASE_URL (default the local `postgres` user) and uses the Redis broker
of CELERY_BROKER_URL (default 127.0.0.1:6379/0) with queues and keys of its own. It is not part of `all`.
The workstation benchmark (bench/workstation.py) reads --cases full-size 4-view cases with a prior in Debian's
headless Chromium (Playwright, /usr/bin/chromium) against gunicorn on loopback and reports the workstation's
performance marks (P1 prefetched next case, P2 cold first paint, P3 cold lossless, tab memory) against peers
measured by the same browser; it creates and drops its own database `l2bench_<pid>` (127.0.0.1:5432, user
postgres), needs no Redis (tasks run eagerly) and is not part of `all`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest, renditions, workstation  # noqa: E402  (after the sys.path line: run as a script)
from bench.common import PYTHON, REPO  # noqa: E402

ASSIGNMENT_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/l2platform",  # only its server is used
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def assignment(args: argparse.Namespace) -> dict:
    """`manage.py benchmark_assignment` in a child process; its JSON line is the report."""
    argv = [PYTHON, "manage.py", "benchmark_assignment"]
    for name in ("exams", "readers", "workers", "chunk", "queue_exams", "queue_requests"):
        value = getattr(args, name)
        if args.quick and value is None:
            value = {"exams": 2000, "queue_exams": 10000, "queue_requests": 20}.get(name)
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    argv += ["--profile"] if args.profile else []
    env = {**ASSIGNMENT_ENV, **os.environ}
    print(">> " + " ".join(argv[1:]), file=sys.stderr)
    child = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = child.communicate()
    finally:
        if child.poll() is None:  # interrupted: the command drops its database in its own clean-up
            child.terminate()
            child.wait(timeout=120)
    if child.returncode != 0:
        raise SystemExit(f"benchmark_assignment failed (exit {child.returncode})")
    report = json.loads(out.strip().splitlines()[-1])
    print(
        f"assignment: {report['exams']} exams, {report['readers']} readers, {report['workers']} workers: "
        f"{report['seconds']:.2f} s (target < {report['target_seconds']} s), {report['assigned']} assigned, "
        f"{report['left']} left {report['left_why']}, eligible left {report['eligible_left']}, "
        f"violations {report['violations']}"
    )
    page = report.get("queue_page")
    if page:
        print(f"queue page, {page['exams']} queued: " + (
            f"p50 {page['p50_ms']} ms, p95 {page['p95_ms']} ms over {page['requests']} requests"
            if "p50_ms" in page else page.get("error", "?")
        ))  # fmt: skip
    return {"benchmark": "assignment", **report}


def workstation_bench(args: argparse.Namespace) -> dict:
    cfg = workstation.Config(
        cases=args.cases or (3 if args.quick else 12),
        reps=args.reps or (1 if args.quick else 3),
        cold=args.cold if args.cold is not None else (1 if args.quick else 4),
        compress=not args.uncompressed,
        gunicorn_workers=args.gunicorn_workers,
        gunicorn_threads=args.gunicorn_threads,
        keep=args.keep,
    )
    return workstation.Workstation(cfg).run()


def _sigterm(signum, frame):
    raise KeyboardInterrupt  # the benchmarks clean up in their finally blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=["all", "ingest", "renditions", "assignment", "workstation"],
    )
    parser.add_argument("--n", type=int, help="instances (ingest, default 200) or images (renditions, 10)")
    parser.add_argument("--reps", type=int, help="repetitions (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: ingest N=20 reps=1, renditions 3×1")
    parser.add_argument("--threads", type=int, default=4, help="client threads for REST/STOW (default 4)")
    parser.add_argument("--stow-batch", type=int, default=1, help="instances per STOW request (default 1)")
    parser.add_argument("--upload-files", type=int, default=20, help="instances in the big STOW request")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument(
        "--orthanc-fsync",
        choices=["default", "on", "off"],
        default="default",
        help="Orthanc's SyncStorageArea (default: Orthanc's own default, true)",
    )
    parser.add_argument("--worker-nice", type=int, default=0, help="run the Celery worker under nice -n N")
    parser.add_argument(
        "--pause-worker",
        action="store_true",
        help="analysis: pause the Celery worker until every instance is acknowledged (no pixel contention)",
    )
    parser.add_argument("--j2k", type=int, help="renditions: also N JPEG 2000 lossless images (default 4)")
    parser.add_argument("--exams", type=int, help="assignment: queued exams (default 10000)")
    parser.add_argument("--readers", type=int, help="assignment: L2 readers (default 30)")
    parser.add_argument("--workers", type=int, help="assignment: concurrent Celery workers (default 4)")
    parser.add_argument("--chunk", type=int, help="assignment: exams per transaction (default 200)")
    parser.add_argument(
        "--queue-exams", type=int, help="assignment: queued exams for the queue page (100000)"
    )
    parser.add_argument("--queue-requests", type=int, help="assignment: measured queue page requests (50)")
    parser.add_argument("--profile", action="store_true", help="assignment: time per phase of each chunk")
    parser.add_argument("--cases", type=int, help="workstation: cases read per repetition (default 12)")
    parser.add_argument("--cold", type=int, help="workstation: extra cold opens per repetition (default 4)")
    parser.add_argument(
        "--uncompressed", action="store_true", help="workstation: uncompressed originals (default JPEG 2000)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (debugging)")
    parser.add_argument("--json", type=Path, help="also write the JSON result(s) to this file")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background

    reports = []
    try:
        if args.which in ("all", "ingest"):
            cfg = ingest.Config(
                n=args.n or (20 if args.quick else 200),
                reps=args.reps or (1 if args.quick else 3),
                threads=args.threads,
                stow_batch=args.stow_batch,
                upload_files=args.upload_files,
                gunicorn_workers=args.gunicorn_workers,
                gunicorn_threads=args.gunicorn_threads,
                redis_db=args.redis_db,
                orthanc_fsync={"default": None, "on": True, "off": False}[args.orthanc_fsync],
                worker_nice=args.worker_nice,
                pause_worker=args.pause_worker,
                keep=args.keep,
                quick=args.quick,
            )
            reports.append(ingest.Ingest(cfg).run())
        if args.which in ("all", "renditions"):
            n = args.n if args.which == "renditions" and args.n else (3 if args.quick else 10)
            j2k = args.j2k if args.j2k is not None else (0 if args.quick else 4)
            reps = args.reps if args.which == "renditions" and args.reps else (1 if args.quick else 3)
            reports.append(renditions.run(m=n, reps=reps, j2k=j2k, keep=args.keep))
        if args.which == "assignment":
            reports.append(assignment(args))
        if args.which == "workstation":
            reports.append(workstation_bench(args))
    except KeyboardInterrupt:
        print("!! interrupted: processes, database and temporary files cleaned up", file=sys.stderr)
        return 130
    line = json.dumps(reports[0] if len(reports) == 1 else {"benchmarks": reports}, default=str)
    print(line)
    if args.json:
        args.json.write_text(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
