"""Ingest benchmark: the L2 platform (STOW-RS, C-STORE) against Orthanc (REST, C-STORE) and `cp`.

One run generates N full-size synthetic mammograms (Hologic geometry: 3328×4096, 16 bits allocated,
uncompressed, ≈27 MB), then, for each repetition:

    cp              cp --reflink=never of the N files to the same disk (the limit)
    orthanc_rest    Orthanc (Debian package, fresh temp storage and SQLite index, defaults), REST
                    POST /instances, one instance per request, `--threads` client threads
    orthanc_cstore  dcmtk storescu → Orthanc, one association
    l2_stow         our app (gunicorn + PostgreSQL + Celery/Redis): STOW-RS POST /dicomweb/studies,
                    one instance per request (--stow-batch), `--threads` client threads
    l2_cstore       dcmtk storescu → our SCP (manage.py run_dicom_scp), one association

Every path gets the same bytes with new study/series/SOP UIDs (patched in place, same length), so no
path ever hits a duplicate. For our app two times are measured from the same start: "acknowledged"
(the last STOW response / storescu's end: every instance staged and header-checked) and "processed"
(the Celery worker has decoded, stored and rendered every instance: no IngestFile is RECEIVED any more).
Orthanc's time is "stored" (written, indexed; pixels never decoded). Afterwards, one STOW request
carrying `--upload-files` instances (≈540 MB for 20) measures the web worker's peak RSS.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench import common
from bench.common import MB, PYTHON, REPO, VENV_BIN, BenchFile

PATHS = ("cp", "orthanc_rest", "orthanc_cstore", "l2_stow", "l2_cstore")
LABELS = {
    "cp": "cp, same disk (limit)",
    "orthanc_rest": "Orthanc REST POST /instances",
    "orthanc_cstore": "Orthanc C-STORE (storescu)",
    "l2_stow": "L2 STOW-RS",
    "l2_cstore": "L2 C-STORE (storescu)",
}
STORESCU = "/usr/bin/storescu"  # dcmtk's (.venv/bin/storescu is pynetdicom's)
ORTHANC = "/usr/sbin/Orthanc"
SCU_AET, L2_AET, ORTHANC_AET = "BENCHSCU", "L2PLATFORM", "ORTHANC"
TARGETS = {"stow_vs_orthanc_rest": 1.2, "cstore_vs_orthanc_cstore": 1.5, "upload_web_rss_mb": 200.0}
HTTP_BLOCK = 1 << 20


@dataclass
class Config:
    n: int = 200
    reps: int = 3
    threads: int = 4
    stow_batch: int = 1
    upload_files: int = 20
    gunicorn_workers: int = 2
    gunicorn_threads: int = 4
    redis_db: int = 9
    orthanc_fsync: bool | None = None  # None: Orthanc's default (SyncStorageArea = true)
    worker_nice: int = 0  # run the Celery worker under `nice -n` (deployment knob, not app code)
    pause_worker: bool = False  # analysis: SIGSTOP the worker until every instance is acknowledged
    keep: bool = False
    quick: bool = False


# --- HTTP client (http.client, bodies streamed from disk) ----------------------------------------


class MultipartBody:
    """multipart/related body of DICOM files, read from disk in chunks (never whole in memory)."""

    def __init__(self, paths: list[Path], boundary: str) -> None:
        self.segments: list[bytes | Path] = []
        for path in paths:
            self.segments.append(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
            self.segments.append(path)
            self.segments.append(b"\r\n")
        self.segments.append(f"--{boundary}--\r\n".encode())
        self.length = sum(len(s) if isinstance(s, bytes) else s.stat().st_size for s in self.segments)
        self._index, self._current = 0, None

    def read(self, size: int = -1) -> bytes:
        size = HTTP_BLOCK if size is None or size < 0 else size
        while self._index < len(self.segments):
            segment = self.segments[self._index]
            if isinstance(segment, bytes):
                self._index += 1
                return segment
            if self._current is None:
                self._current = open(segment, "rb")  # noqa: SIM115  (closed at its end)
            data = self._current.read(size)
            if data:
                return data
            self._current.close()
            self._current = None
            self._index += 1
        return b""

    def close(self) -> None:
        if self._current is not None:
            self._current.close()


def _request(port: int, conn_box: list, method: str, url: str, make_body, headers: dict) -> tuple[int, bytes]:
    """One request on the thread's keep-alive connection; reconnects once if the server closed it."""
    for attempt in (1, 2):
        if conn_box[0] is None:
            conn_box[0] = http.client.HTTPConnection("127.0.0.1", port, timeout=900, blocksize=HTTP_BLOCK)
        body = make_body()
        try:
            conn_box[0].request(method, url, body=body, headers=headers)
            response = conn_box[0].getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            conn_box[0].close()
            conn_box[0] = None
            if attempt == 2:
                raise
        finally:
            with contextlib.suppress(Exception):
                body.close()
    raise AssertionError("unreachable")


def send_parallel(items: list, threads: int, send) -> tuple[float, list]:
    """Run send(conn_box, item) over items with `threads` threads; returns (seconds, results)."""
    todo: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)
    results, errors = [], []
    lock = threading.Lock()

    def worker() -> None:
        conn_box = [None]
        try:
            while True:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    result = send(conn_box, item)
                except Exception as exc:  # noqa: BLE001  (reported, counted as a failure)
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    results.append(result)
        finally:
            if conn_box[0] is not None:
                conn_box[0].close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        print(f"!! {len(errors)} request(s) failed, first: {errors[0]}", file=sys.stderr)
    return elapsed, results + [("error", e) for e in errors]


def stow_send(port: int, token: str):
    def send(conn_box: list, batch: list[BenchFile]) -> tuple[int, int, int]:
        boundary = f"l2bench-{uuid.uuid4().hex}"
        length = MultipartBody([f.path for f in batch], boundary).length
        headers = {
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Content-Length": str(length),
            "Authorization": f"Bearer {token}",
            "Accept": "application/dicom+json",
        }
        status, data = _request(
            port,
            conn_box,
            "POST",
            "/dicomweb/studies",
            lambda: MultipartBody([f.path for f in batch], boundary),
            headers,
        )
        stored = failed = 0
        with contextlib.suppress(ValueError):
            payload = json.loads(data)
            stored = len(payload.get("00081199", {}).get("Value", []))
            failed = len(payload.get("00081198", {}).get("Value", []))
        return status, stored, failed

    return send


def orthanc_send(port: int):
    def send(conn_box: list, f: BenchFile) -> tuple[int, int, int]:
        headers = {"Content-Type": "application/dicom", "Content-Length": str(f.size)}
        status, data = _request(port, conn_box, "POST", "/instances", lambda: open(f.path, "rb"), headers)
        ok = status == 200 and b'"Success"' in data
        return status, int(ok), int(not ok)

    return send


def http_json(port: int, url: str, timeout: float = 10) -> tuple[int, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data
    finally:
        conn.close()


def wait_http(port: int, url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if http_json(port, url, timeout=2)[0] == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"http://127.0.0.1:{port}{url} did not answer 200 within {timeout:.0f} s")


# --- the benchmark -------------------------------------------------------------------------------


@dataclass
class Ingest:
    cfg: Config
    tmp: Path = field(init=False)
    procs: common.Processes = field(default_factory=common.Processes)
    sampler: common.RssSampler = field(default_factory=common.RssSampler)
    results: dict = field(default_factory=lambda: {p: [] for p in PATHS})
    notes: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nonce = int(time.time()) % 10**8
        self.db_name = f"l2bench_{os.getpid()}"
        assert re.fullmatch(r"l2bench_\d+", self.db_name)
        self.db_created = False
        self.redis = None

    # -- lifecycle --

    def run(self) -> dict:
        import tempfile

        self.app_commit = common.app_commit()  # the code the processes start with
        self.tmp = Path(tempfile.mkdtemp(prefix="l2bench-"))
        try:
            return self._run()
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        self.sampler.stop()
        self.procs.stop_all()
        if self.db_created:
            try:
                self._admin_sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001
                print(f"!! could not drop {self.db_name}: {exc}", file=sys.stderr)
        if self.redis is not None:
            with contextlib.suppress(Exception):
                self.redis.flushdb()
        if self.cfg.keep:
            print(f">> kept {self.tmp} (--keep)")
        else:
            common.rmtree(self.tmp)

    def _run(self) -> dict:
        cfg = self.cfg
        started = time.perf_counter()
        files = self._generate()
        self._start_app()
        self.sampler.interval = 0.1
        self.sampler.start()
        for rep in range(cfg.reps):
            print(f">> repetition {rep + 1}/{cfg.reps}")
            self._rep(rep, files)
        upload = self._upload(files)
        self.sampler.phase = "end"
        self.sampler.sample()
        hwm = self.sampler.hwm()
        report = self._report(files, upload, hwm, time.perf_counter() - started)
        return report

    # -- setup --

    def _generate(self) -> list[BenchFile]:
        t = time.perf_counter()
        files = common.generate(self.tmp / "data", self.cfg.n, nonce=self.nonce)
        total = sum(f.size for f in files)
        print(
            f">> generated {len(files)} MG instances ({files[0].size / MB:.1f} MB each, "
            f"{total / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s"
        )
        return files

    def _admin_sql(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def _db(self):
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=self.db_name)
        conn.autocommit = True
        return conn

    def _redis(self):
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, db=self.cfg.redis_db)
        keys = [k.decode(errors="replace") for k in client.keys("*")]
        foreign = [k for k in keys if not re.match(r"(_kombu\.|celery|pixels|unacked)", k)]
        if foreign:
            raise RuntimeError(
                f"Redis db {self.cfg.redis_db} holds other keys ({foreign[:3]}…): pick another --redis-db"
            )
        client.flushdb()  # leftovers of an interrupted benchmark run only
        return client

    def _start_app(self) -> None:
        cfg = self.cfg
        for sub in ("media", "static", "uploads", "scp", "logs"):
            (self.tmp / sub).mkdir()
        self.redis = self._redis()
        self._admin_sql(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True
        self.env = dict(os.environ)
        for key in list(self.env):
            if key.startswith(("DJANGO_", "CELERY_")) or key in ("DATABASE_URL", "MEDIA_ROOT"):
                del self.env[key]
        self.env.update(
            DJANGO_SETTINGS_MODULE="screening.settings",
            DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{self.db_name}",
            CELERY_BROKER_URL=f"redis://127.0.0.1:6379/{cfg.redis_db}",
            MEDIA_ROOT=str(self.tmp / "media"),
            STATIC_ROOT=str(self.tmp / "static"),
            FILE_UPLOAD_TEMP_DIR=str(self.tmp / "uploads"),
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_DEBUG="false",
            DJANGO_SECURE_COOKIES="false",
            TMPDIR=str(self.tmp / "scp"),  # the SCP's temporary files (same disk)
            PYTHONUNBUFFERED="1",
        )
        logs = self.tmp / "logs"
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=self.env, check=True
        )
        out = subprocess.run(
            [PYTHON, str(REPO / "bench" / "app_setup.py"), "setup", "--ae-title", SCU_AET],
            cwd=REPO,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        self.token = json.loads(out.stdout.strip().splitlines()[-1])["token"]
        self.web_port, self.scp_port = common.free_port(), common.free_port()
        web = self.procs.start(
            "web",
            [
                str(VENV_BIN / "gunicorn"),
                "screening.wsgi:application",
                "-k",
                "gthread",
                "-w",
                str(cfg.gunicorn_workers),
                "--threads",
                str(cfg.gunicorn_threads),
                "-b",
                f"127.0.0.1:{self.web_port}",
                "--timeout",
                "900",
                "--graceful-timeout",
                "10",
            ],
            env=self.env,
            log=logs / "gunicorn.log",
        )
        nice = ["nice", "-n", str(cfg.worker_nice)] if cfg.worker_nice else []
        worker = self.procs.start(
            "worker",
            [
                *nice,
                str(VENV_BIN / "celery"),
                "-A",
                "screening",
                "worker",
                "-Q",
                "celery,pixels",
                "-c",
                "1",
                "-l",
                "info",
                "-n",
                f"l2bench{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=self.env,
            log=logs / "celery.log",
        )
        scp = self.procs.start(
            "scp",
            [
                PYTHON,
                "manage.py",
                "run_dicom_scp",
                "--port",
                str(self.scp_port),
                "--ae-title",
                L2_AET,
                "--bind",
                "127.0.0.1",
            ],
            env=self.env,
            log=logs / "scp.log",
        )
        wait_http(self.web_port, "/healthz/", 60, web)
        common.wait_log(logs / "celery.log", " ready.", 60, worker)
        common.wait_port(self.scp_port, 60, scp)
        self.sampler.roles.update(web=web.pid, worker=worker.pid, scp=scp.pid)
        print(
            f">> app up: gunicorn {cfg.gunicorn_workers} workers × {cfg.gunicorn_threads} threads on "
            f":{self.web_port}, celery -c 1 (queues celery,pixels), SCP {L2_AET} on :{self.scp_port}, "
            f"PostgreSQL db {self.db_name}, Redis db {cfg.redis_db}, media in {self.tmp / 'media'}"
        )

    # -- Orthanc --

    def _orthanc_start(self, rep: int) -> tuple[int, int]:
        home = self.tmp / f"orthanc-{rep}"
        (home / "storage").mkdir(parents=True)
        http_port, dicom_port = common.free_port(), common.free_port()
        config = {
            "Name": "l2bench",
            "StorageDirectory": str(home / "storage"),
            "IndexDirectory": str(home / "storage"),
            "HttpPort": http_port,
            "DicomPort": dicom_port,
            "DicomAet": ORTHANC_AET,
            "RemoteAccessAllowed": False,  # HTTP from loopback only
            "AuthenticationEnabled": False,
            "DicomAlwaysAllowStore": False,  # C-STORE only from the benchmark's AE on 127.0.0.1
            "DicomAlwaysAllowEcho": False,
            "DicomCheckModalityHost": True,
            "DicomModalities": {
                "bench": {
                    "AET": SCU_AET,
                    "Host": "127.0.0.1",
                    "Port": 104,
                    "AllowStore": True,
                    "AllowEcho": True,
                }
            },
            "Plugins": [],
            "SaveJobs": False,
        }
        if self.cfg.orthanc_fsync is not None:
            config["SyncStorageArea"] = self.cfg.orthanc_fsync
        (home / "orthanc.json").write_text(json.dumps(config, indent=2))
        proc = self.procs.start(
            "orthanc", [ORTHANC, str(home / "orthanc.json")], env=dict(os.environ), log=home / "orthanc.log"
        )
        wait_http(http_port, "/system", 60, proc)
        common.wait_port(dicom_port, 30, proc)
        self.sampler.roles["orthanc"] = proc.pid
        return http_port, dicom_port

    def _orthanc_stop(self, rep: int) -> None:
        self.sampler.roles.pop("orthanc", None)
        self.procs.stop("orthanc")
        if not self.cfg.keep:
            common.rmtree(self.tmp / f"orthanc-{rep}")

    # -- one repetition --

    def _phase(self, name: str, rep: int, files: list[BenchFile]) -> str:
        """Flush the previous phase's writes, warm the inputs' page cache; returns the phase's UID tag."""
        common.warm(files)
        common.sync()
        self.sampler.phase = name
        self._cpu0 = common.cpu_snapshot()
        tag = common.tag_for(self.nonce, rep * 10 + PATHS.index(name) if name in PATHS else 900 + rep)
        return tag

    def _rep(self, rep: int, files: list[BenchFile]) -> None:
        n, total = len(files), sum(f.size for f in files)
        paths = [str(f.path) for f in files]

        # cp: the disk's limit
        self._phase("cp", rep, files)
        dest = self.tmp / "cp-out"
        dest.mkdir()
        t = time.perf_counter()
        subprocess.run(["cp", "--reflink=never", *paths, str(dest)], check=True)
        self._record("cp", rep, time.perf_counter() - t, n, total, n, 0)
        common.rmtree(dest)

        # Orthanc: fresh storage and index for this repetition
        http_port, dicom_port = self._orthanc_start(rep)
        try:
            tag = self._phase("orthanc_rest", rep, files)
            common.patch_uids(files, tag)
            seconds, res = send_parallel(files, self.cfg.threads, orthanc_send(http_port))
            stored = sum(r[1] for r in res if r[0] != "error")
            self._record("orthanc_rest", rep, seconds, n, total, stored, n - stored)
            count_rest = http_json(http_port, "/statistics")[1].get("CountInstances", -1)

            tag = self._phase("orthanc_cstore", rep, files)
            common.patch_uids(files, tag)
            seconds, rc = self._storescu(paths, ORTHANC_AET, dicom_port, f"orthanc-{rep}")
            count = http_json(http_port, "/statistics")[1].get("CountInstances", -1)
            stored = count - count_rest
            self._record("orthanc_cstore", rep, seconds, n, total, stored, n - stored, rc=rc)
            if count_rest != n:
                self.notes.append(
                    f"rep {rep + 1}: Orthanc counted {count_rest} instances after REST, not {n}"
                )
        finally:
            self._orthanc_stop(rep)

        # our app: STOW-RS
        tag = self._phase("l2_stow", rep, files)
        common.patch_uids(files, tag)
        batches = [files[i : i + self.cfg.stow_batch] for i in range(0, n, self.cfg.stow_batch)]
        t0 = time.time()
        self._pause(True)
        seconds, res = send_parallel(batches, self.cfg.threads, stow_send(self.web_port, self.token))
        self._pause(False)
        acked = sum(r[1] for r in res if r[0] in (200, 202))
        bad_status = [r for r in res if r[0] not in (200, 202)]
        if bad_status:
            self.notes.append(f"rep {rep + 1}: STOW non-2xx responses: {bad_status[:3]}")
        processed, states = self._drain(tag, n, t0)
        self._record("l2_stow", rep, seconds, n, total, acked, n - acked, processed=processed, states=states)

        # our app: C-STORE
        tag = self._phase("l2_cstore", rep, files)
        common.patch_uids(files, tag)
        t0 = time.time()
        self._pause(True)
        seconds, rc = self._storescu(paths, L2_AET, self.scp_port, f"l2-{rep}")
        self._pause(False)
        processed, states = self._drain(tag, n, t0)
        acked = sum(states.values())
        self._record(
            "l2_cstore", rep, seconds, n, total, acked, n - acked, processed=processed, states=states, rc=rc
        )
        self.sampler.phase = "idle"
        self._purge_media()

    def _pause(self, paused: bool) -> None:
        if self.cfg.pause_worker:
            self.procs.pause("worker", paused)

    def _storescu(self, paths: list[str], aec: str, port: int, label: str) -> tuple[float, int]:
        log = self.tmp / "logs" / f"storescu-{label}.log"
        with open(log, "wb") as out:
            t = time.perf_counter()
            rc = subprocess.run(
                [STORESCU, "-aet", SCU_AET, "-aec", aec, "127.0.0.1", str(port), *paths],
                stdout=out,
                stderr=subprocess.STDOUT,
            ).returncode
            seconds = time.perf_counter() - t
        if rc != 0:
            self.notes.append(f"storescu → {aec} exited with {rc} (see {log.name})")
        return seconds, rc

    def _drain(self, tag: str, expected: int, t0: float) -> tuple[float | None, dict[str, int]]:
        """Wait until the worker has processed every file of this phase; seconds from t0 to the last one."""
        prefix = common.sop_prefix(tag) + "%"
        deadline = time.monotonic() + 120 + 10 * expected
        conn = self._db()
        try:
            with conn.cursor() as cur:
                while True:
                    cur.execute(
                        "SELECT state, count(*) FROM screening_ingestfile WHERE sop_uid LIKE %s GROUP BY state",
                        [prefix],
                    )
                    states = dict(cur.fetchall())
                    if sum(states.values()) >= expected and not states.get("RECEIVED"):
                        break
                    if time.monotonic() > deadline:
                        self.notes.append(f"drain timed out: {states}")
                        return None, states
                    time.sleep(0.2)
                cur.execute(
                    "SELECT extract(epoch FROM max(processed_at)) FROM screening_ingestfile WHERE sop_uid LIKE %s",
                    [prefix],
                )
                last = cur.fetchone()[0]
        finally:
            conn.close()
        if states.get("ACCEPTED", 0) != expected:
            self.notes.append(f"{tag}: states {states} (expected {expected} ACCEPTED)")
        return (float(last) - t0 if last is not None else None), states

    def _purge_media(self) -> None:
        """Originals and renditions of finished phases (rows stay): bounds the disk used by the run."""
        common.sync()
        for sub in ("originals", "renditions"):
            common.rmtree(self.tmp / "media" / sub)

    def _record(self, path: str, rep: int, seconds: float, n: int, total: int, ok: int, failed: int, **extra):
        extra["foreign_cores"] = round(common.foreign_cores(self._cpu0, common.cpu_snapshot()), 2)
        row = {
            "rep": rep + 1,
            "seconds": seconds,
            "n": n,
            "bytes": total,
            "ok": ok,
            "failed": failed,
            **extra,
        }
        self.results[path].append(row)
        msg = f"   {LABELS[path]:<32} {n / seconds:7.2f} inst/s {total / MB / seconds:8.1f} MB/s"
        if extra.get("processed"):
            p = extra["processed"]
            msg += f" | processed {n / p:6.2f} inst/s {total / MB / p:7.1f} MB/s"
        msg += f"  [other load {extra['foreign_cores']:.2f} cores]"
        if failed:
            msg += f"  !! {failed} not stored"
        print(msg, flush=True)

    # -- 500 MB upload --

    def _upload(self, files: list[BenchFile]) -> dict:
        chosen = files[: self.cfg.upload_files]
        total = sum(f.size for f in chosen)
        tag = self._phase("upload", 0, chosen)
        common.patch_uids(chosen, tag)
        self.sampler.phase = "upload"
        web = self.sampler.pids().get("web", [])
        before = {pid: common.proc_status_kb(pid, "VmRSS") / 1024 for pid in web}
        reset = all(common.reset_peak_rss(pid) for pid in web)
        t0 = time.time()
        seconds, res = send_parallel([chosen], 1, stow_send(self.web_port, self.token))
        hwm = {pid: common.proc_status_kb(pid, "VmHWM") / 1024 for pid in web}
        status, stored = (res[0][0], res[0][1]) if res else ("error", 0)
        sampled = self.sampler.peaks.get("upload", {}).get("web", 0.0)
        processed, states = self._drain(tag, len(chosen), t0)
        self.sampler.phase = "idle"
        self._purge_media()
        peak = max([sampled, *hwm.values()]) if reset else sampled
        busiest = max(web, key=lambda pid: hwm.get(pid, 0) - before.get(pid, 0), default=None)
        result = {
            "files": len(chosen),
            "bytes": total,
            "seconds": seconds,
            "status": status,
            "stored": stored,
            "processed_seconds": processed,
            "states": states,
            "web_workers": {
                str(pid): {"rss_before_mb": round(before[pid], 1), "peak_mb": round(hwm.get(pid, 0), 1)}
                for pid in web
            },
            "web_rss_before_mb": round(before.get(busiest, 0), 1),
            "web_peak_rss_mb": round(peak, 1),
            "peak_from": "VmHWM reset before the request" if reset else "VmRSS sampled every 0.1 s",
        }
        print(
            f">> upload: 1 STOW request, {len(chosen)} instances, {total / MB:.0f} MB in {seconds:.1f} s "
            f"({total / MB / seconds:.0f} MB/s), HTTP {status}, {stored} stored; web worker RSS "
            f"{result['web_rss_before_mb']:.0f} MB before, peak {peak:.0f} MB"
        )
        return result

    # -- report --

    def _report(self, files: list[BenchFile], upload: dict, hwm: dict, wall: float) -> dict:
        cfg = self.cfg
        summary: dict[str, dict] = {}
        for path, rows in self.results.items():
            if not rows:
                continue
            ips = [r["n"] / r["seconds"] for r in rows]
            mbs = [r["bytes"] / MB / r["seconds"] for r in rows]
            entry = {
                "inst_per_s": common.median(ips),
                "mb_per_s": common.median(mbs),
                "inst_per_s_all": [round(x, 3) for x in ips],
                "mb_per_s_all": [round(x, 1) for x in mbs],
                "seconds_all": [round(r["seconds"], 2) for r in rows],
                "failed": sum(r["failed"] for r in rows),
                "other_load_cores_all": [r.get("foreign_cores") for r in rows],
            }
            processed = [r["processed"] for r in rows if r.get("processed")]
            if processed and len(processed) == len(rows):
                entry["processed_inst_per_s"] = common.median([r["n"] / r["processed"] for r in rows])
                entry["processed_mb_per_s"] = common.median([r["bytes"] / MB / r["processed"] for r in rows])
                entry["processed_seconds_all"] = [round(p, 2) for p in processed]
            summary[path] = entry

        def ratio(a: str, b: str, key: str = "inst_per_s") -> float | None:
            if a in summary and b in summary and key in summary[a]:
                return summary[a][key] / summary[b]["inst_per_s"]
            return None

        ratios = {
            "stow_vs_orthanc_rest": ratio("l2_stow", "orthanc_rest"),
            "cstore_vs_orthanc_cstore": ratio("l2_cstore", "orthanc_cstore"),
            "stow_processed_vs_orthanc_rest": ratio("l2_stow", "orthanc_rest", "processed_inst_per_s"),
            "cstore_processed_vs_orthanc_cstore": ratio(
                "l2_cstore", "orthanc_cstore", "processed_inst_per_s"
            ),
        }

        def paired(a: str, b: str) -> list[float]:
            """Ratio within each repetition (same machine state), ours / Orthanc, instances per second."""
            rows_a, rows_b = self.results.get(a, []), self.results.get(b, [])
            return [round(rb["seconds"] / ra["seconds"], 3) for ra, rb in zip(rows_a, rows_b, strict=False)]

        ratios["stow_vs_orthanc_rest_per_rep"] = paired("l2_stow", "orthanc_rest")
        ratios["cstore_vs_orthanc_cstore_per_rep"] = paired("l2_cstore", "orthanc_cstore")
        peaks = self.sampler.overall()
        ingest_phases = [p for p in self.sampler.peaks if p not in ("upload",)]
        ingest_peaks: dict[str, float] = {}
        for phase in ingest_phases:
            for role, value in self.sampler.peaks[phase].items():
                ingest_peaks[role] = max(ingest_peaks.get(role, 0.0), value)
        targets = {
            "stow_vs_orthanc_rest": (ratios["stow_vs_orthanc_rest"] or 0) >= TARGETS["stow_vs_orthanc_rest"],
            "cstore_vs_orthanc_cstore": (ratios["cstore_vs_orthanc_cstore"] or 0)
            >= TARGETS["cstore_vs_orthanc_cstore"],
            "upload_web_rss_mb": upload["web_peak_rss_mb"] < TARGETS["upload_web_rss_mb"],
        }
        report = {
            "benchmark": "ingest",
            "machine": common.machine(),
            "versions": {
                **common.package_versions(
                    ["django", "gunicorn", "celery", "pydicom", "pynetdicom", "psycopg2-binary"]
                ),
                "orthanc": _version([ORTHANC, "--version"]),
                "dcmtk_storescu": _version([STORESCU, "--version"]),
                "postgresql": self._pg_version(),
                "app_commit": self.app_commit,
            },
            "config": {
                "n": cfg.n,
                "reps": cfg.reps,
                "instance_mb": round(files[0].size / MB, 2),
                "client_threads": cfg.threads,
                "stow_instances_per_request": cfg.stow_batch,
                "gunicorn": f"{cfg.gunicorn_workers} workers x {cfg.gunicorn_threads} threads (gthread)",
                "celery": "1 worker process (-c 1), queues celery,pixels"
                + (f", nice {cfg.worker_nice}" if cfg.worker_nice else "")
                + (", PAUSED until every instance is acknowledged (analysis)" if cfg.pause_worker else ""),
                "database": "PostgreSQL (local, loopback)",
                "broker": f"Redis db {cfg.redis_db}",
                "orthanc": "defaults, SQLite index, uncompressed storage, fresh per repetition, SyncStorageArea="
                + ("default (true)" if cfg.orthanc_fsync is None else str(cfg.orthanc_fsync).lower()),
            },
            "paths": summary,
            "ratios": ratios,
            "rss_mb": {
                "ingest_peaks_sampled": {k: round(v, 1) for k, v in ingest_peaks.items()},
                "all_peaks_sampled": {k: round(v, 1) for k, v in peaks.items()},
                "vmhwm_at_end": {k: round(v, 1) for k, v in hwm.items()},
            },
            "upload": upload,
            "targets": {k: {"target": TARGETS[k], "met": v} for k, v in targets.items()},
            "notes": self.notes,
            "wall_seconds": round(wall, 1),
        }
        print_report(report)
        return report

    def _pg_version(self) -> str:
        try:
            conn = self._db()
        except Exception:  # noqa: BLE001
            return "?"
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                return cur.fetchone()[0]
        finally:
            conn.close()


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    return lines[0] if lines else "?"


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def print_report(r: dict) -> None:
    c, m = r["config"], r["machine"]
    print()
    print("=" * 100)
    print(
        f"INGEST  {m['date']}  {m['host_cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, /tmp {m['tmp_fs']}"
    )
    print(
        f"N={c['n']} instances x {c['instance_mb']} MB (3328x4096, 16 bits, uncompressed), "
        f"median of {c['reps']} repetition(s); client threads {c['client_threads']}, "
        f"STOW {c['stow_instances_per_request']} instance(s)/request"
    )
    print(
        f"app {r['versions']['app_commit']}: gunicorn {c['gunicorn']}, celery {c['celery']}, {c['database']}, "
        f"{c['broker']}"
    )
    print(f"Orthanc {r['versions']['orthanc']}: {c['orthanc']}")
    print("-" * 100)
    print(f"{'path':<34}{'what the time covers':<30}{'inst/s':>9}{'MB/s':>9}{'vs Orthanc':>12}{'vs cp':>8}")
    cp = r["paths"].get("cp", {}).get("inst_per_s")
    peers = {"l2_stow": "orthanc_rest", "l2_cstore": "orthanc_cstore"}
    for path, label in LABELS.items():
        e = r["paths"].get(path)
        if not e:
            continue
        what = {
            "cp": "copied",
            "orthanc_rest": "stored (not decoded)",
            "orthanc_cstore": "stored (not decoded)",
        }.get(path, "acknowledged (staged+header)")
        peer = r["paths"].get(peers.get(path, ""), {}).get("inst_per_s")
        vs = f"{e['inst_per_s'] / peer:.2f}x" if peer else ""
        print(
            f"{label:<34}{what:<30}{e['inst_per_s']:>9.2f}{e['mb_per_s']:>9.1f}{vs:>12}"
            f"{e['inst_per_s'] / cp if cp else 0:>7.2f}x"
        )
        if "processed_inst_per_s" in e:
            vs = f"{e['processed_inst_per_s'] / peer:.2f}x" if peer else ""
            print(
                f"{'':<34}{'processed (decoded+renditions)':<30}{e['processed_inst_per_s']:>9.2f}"
                f"{e['processed_mb_per_s']:>9.1f}{vs:>12}{e['processed_inst_per_s'] / cp if cp else 0:>7.2f}x"
            )
    print("-" * 100)
    rss = r["rss_mb"]
    peaks = rss["ingest_peaks_sampled"]
    print(
        "peak RSS during the ingest phases (MB, largest single process, sampled 10/s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in sorted(peaks.items()))
    )
    print(
        "VmHWM at the end (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(rss["vmhwm_at_end"].items()))
    )
    u = r["upload"]
    print(
        f"upload: one STOW request of {u['files']} instances ({u['bytes'] / MB:.0f} MB) in {u['seconds']:.1f} s, "
        f"HTTP {u['status']}; web worker RSS {u['web_rss_before_mb']:.0f} MB before, "
        f"peak {u['web_peak_rss_mb']:.0f} MB ({u['peak_from']})"
    )
    print("-" * 100)
    ratios, targets = r["ratios"], r["targets"]
    print(
        f"target STOW-RS >= {TARGETS['stow_vs_orthanc_rest']}x Orthanc REST: "
        f"{_fmt(ratios['stow_vs_orthanc_rest'])}x acknowledged "
        f"({_fmt(ratios['stow_processed_vs_orthanc_rest'])}x processed) -> "
        + ("MET" if targets["stow_vs_orthanc_rest"]["met"] else "MISSED")
    )
    print(
        f"target C-STORE >= {TARGETS['cstore_vs_orthanc_cstore']}x Orthanc C-STORE: "
        f"{_fmt(ratios['cstore_vs_orthanc_cstore'])}x acknowledged "
        f"({_fmt(ratios['cstore_processed_vs_orthanc_cstore'])}x processed) -> "
        + ("MET" if targets["cstore_vs_orthanc_cstore"]["met"] else "MISSED")
    )
    print(
        f"target web worker peak RSS < {TARGETS['upload_web_rss_mb']:.0f} MB during a 500 MB upload: "
        f"{u['web_peak_rss_mb']:.0f} MB -> " + ("MET" if targets["upload_web_rss_mb"]["met"] else "MISSED")
    )
    print(
        "same ratios within each repetition (paired): STOW "
        + ", ".join(f"{x:.2f}x" for x in ratios["stow_vs_orthanc_rest_per_rep"])
        + "; C-STORE "
        + ", ".join(f"{x:.2f}x" for x in ratios["cstore_vs_orthanc_cstore_per_rep"])
    )
    loads = {p: e.get("other_load_cores_all", []) for p, e in r["paths"].items()}
    busiest = max((x for v in loads.values() for x in v if x is not None), default=0.0)
    if busiest > 0.2:
        print(
            f"warning: other processes used up to {busiest:.2f} of the {m['cores']} cores during some phases "
            "(shared machine): see other_load_cores_all in the JSON; prefer a quiet machine"
        )
    for note in r["notes"]:
        print(f"note: {note}")
    print(f"wall time {r['wall_seconds']:.0f} s")
    print("=" * 100)
