"""Real Celery workers for the assignment benchmark and the concurrency test: start, report, drain, stop.

The worker side is only a `task_prerun`/`task_postrun` hook, active when a worker is started with
L2_BENCH_DONE_KEY set, that reports each finished task into a Redis list. Split out of readings/benchmarking.py,
which re-exports these names (workers are started with `-I readings.benchmarking`).
"""

import datetime as dt
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from celery.exceptions import AlwaysEagerIgnored
from celery.signals import task_postrun, task_prerun
from django.conf import settings

DONE_KEY_ENV = "L2_BENCH_DONE_KEY"
DRAIN_TASK = "readings.tasks.assign_queue_drain"
report_extras: list = []  # callables returning a dict merged into each task's report (profiling)


# --- real Celery workers ----------------------------------------------------------------------------

_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id=None, **kwargs) -> None:
    if os.environ.get(DONE_KEY_ENV):
        _started[task_id] = time.time()


@task_postrun.connect
def _task_done(task_id=None, task=None, retval=None, state=None, **kwargs) -> None:
    """In a benchmark worker only: report the finished task (result or error) into a Redis list."""
    key = os.environ.get(DONE_KEY_ENV)
    if not key:
        return
    import redis

    payload = {
        "task_id": task_id, "task": getattr(task, "name", ""), "state": state, "pid": os.getpid(),
        "result": retval if isinstance(retval, dict) else repr(retval),
        "started": _started.pop(task_id, None), "finished": time.time(),
    }  # fmt: skip
    for extra in report_extras:
        payload.update(extra())
    redis.Redis.from_url(settings.CELERY_BROKER_URL).rpush(key, json.dumps(payload, default=str))


def database_url(db: dict) -> str:
    """A DATABASE_URL for the PostgreSQL database described by a Django DATABASES entry."""
    user = quote(db.get("USER") or "", safe="")
    auth = f"{user}:{quote(db['PASSWORD'], safe='')}@" if db.get("PASSWORD") else (f"{user}@" if user else "")
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def postgres_admin_execute(db: dict, sql: str) -> None:
    """One statement on the server's `postgres` database, outside a transaction (CREATE / DROP DATABASE)."""
    import psycopg2

    conn = psycopg2.connect(
        host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432,
        user=db.get("USER") or None, password=db.get("PASSWORD") or None, dbname="postgres",
    )  # fmt: skip
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


@dataclass
class WorkerPool:
    queue: str
    done_key: str
    names: list[str]
    procs: list[subprocess.Popen]
    logs: list[Path]

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for path in self.logs:
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            out.append(f"--- {path.name}\n" + "\n".join(text[-lines:]))
        return "\n".join(out)


def _celery_bin() -> str:
    local = Path(sys.executable).parent / "celery"
    return str(local) if local.exists() else (shutil.which("celery") or "celery")


def workers_start(
    *,
    count: int,
    database_url: str,
    broker_url: str,
    log_dir: Path,
    include: tuple = (),
    env: dict | None = None,
) -> WorkerPool:
    """`count` solo workers on a queue of their own (no other run's message is consumed).

    `include`: more modules each worker imports (a profiler); `env`: more environment variables.
    """
    token = secrets.token_hex(4)
    queue, host = f"l2bench-{token}", socket.gethostname()
    pool = WorkerPool(queue=queue, done_key=f"l2bench:done:{token}", names=[], procs=[], logs=[])
    extra_env, env = env or {}, {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(extra_env)
    env.update(DATABASE_URL=database_url, CELERY_BROKER_URL=broker_url, PYTHONUNBUFFERED="1",
               DJANGO_SETTINGS_MODULE="screening.settings", **{DONE_KEY_ENV: pool.done_key})  # fmt: skip
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        for i in range(count):
            _worker_spawn(pool, f"bench{i}-{token}", host=host, env=env, log_dir=log_dir, include=include)
    except BaseException:
        workers_stop(pool)
        raise
    return pool


def _worker_spawn(
    pool: WorkerPool, name: str, *, host: str, env: dict, log_dir: Path, include: tuple
) -> None:
    log = log_dir / f"worker-{name}.log"
    modules = ",".join(("readings.benchmarking", *include))
    cmd = [_celery_bin(), "-A", "screening", "worker", "--pool", "solo", "-c", "1", "-Q", pool.queue,
           "-n", f"{name}@%h", "-I", modules, "--without-gossip", "--without-mingle", "--without-heartbeat",
           "-l", "warning"]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    pool.procs.append(proc)
    pool.names.append(f"{name}@{host}")
    pool.logs.append(log)


def workers_wait_ready(pool: WorkerPool, *, timeout: float = 90) -> None:
    from screening.celery import app

    waiting, deadline = set(pool.names), time.monotonic() + timeout
    while waiting:
        dead = [p.args for p in pool.procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = "a worker exited" if dead else f"no answer from {sorted(waiting)}"
            raise RuntimeError(f"Celery workers not ready ({why}):\n{pool.log_tail()}")
        for reply in app.control.ping(destination=sorted(waiting), timeout=1.0) or []:
            waiting -= set(reply)


def drains_dispatch(pool: WorkerPool, *, started_at: dt.datetime, chunk: int, count: int) -> list[str]:
    """The real task, `count` times on the pool's queue (send_task: never run in process, even when eager)."""
    from screening.celery import app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlwaysEagerIgnored)  # the point of send_task here
        return [
            app.send_task(DRAIN_TASK, args=[started_at.isoformat(), chunk], queue=pool.queue).id
            for _ in range(count)
        ]


def drains_wait(pool: WorkerPool, *, count: int, timeout: float = 600) -> list[dict]:
    """Block until `count` tasks reported their end; RuntimeError if a worker dies or time runs out."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    done, deadline = [], time.monotonic() + timeout
    while len(done) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{count - len(done)} drain(s) unfinished after {timeout} s:\n{pool.log_tail()}"
            )
        if any(p.poll() is not None for p in pool.procs):
            raise RuntimeError(f"a Celery worker exited during the run:\n{pool.log_tail()}")
        item = client.blpop([pool.done_key], timeout=1)
        if item:
            done.append(json.loads(item[1]))
    return done


def workers_stop(pool: WorkerPool, *, timeout: float = 20) -> None:
    """Warm shutdown (SIGTERM), then SIGKILL after `timeout`; remove the run's Redis keys."""
    for proc in pool.procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in pool.procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    try:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
            pool.done_key, pool.queue, f"_kombu.binding.{pool.queue}"
        )
    except Exception:  # noqa: BLE001 (clean-up only: the keys are this run's own)
        pass
