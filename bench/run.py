"""Benchmarks of the L2 platform: one entry point (see bench/README.md and docs/benchmarks.md).

    .venv/bin/python bench/run.py ingest [--n 200] [--reps 3] [--quick]
    .venv/bin/python bench/run.py renditions [--n 10] [--reps 3] [--j2k 4]
    .venv/bin/python bench/run.py [all] [--quick]       # both (what `make bench` runs)

Each prints a table and, last, one JSON line (also written to --json FILE when given).
The ingest benchmark needs PostgreSQL (127.0.0.1:5432, user postgres), Redis (127.0.0.1:6379), Debian's
`orthanc` and dcmtk's `storescu`; it creates and drops its own database `l2bench_<pid>`, uses Redis
db 9 (--redis-db) and a temporary directory, and removes them on exit (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest, renditions  # noqa: E402  (after the sys.path line: run as a script)


def _sigterm(signum, frame):
    raise KeyboardInterrupt  # the benchmarks clean up in their finally blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("which", nargs="?", default="all", choices=["all", "ingest", "renditions"])
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
