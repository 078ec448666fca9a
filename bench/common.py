"""Shared helpers of the benchmarks: statistics, machine description, processes, RSS sampling, data.

Only the standard library, numpy/pydicom (through screening.dicom.synth, which needs no Django settings)
and psycopg2/redis (driver side). Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
MB = 1_000_000  # throughput figures are in decimal megabytes (MB/s), sizes too

# Fixed-length UIDs so that a file can be given new identities by patching bytes in place:
#   ROOT + TAG (12 digits, first non-zero) + "." + KIND (1 study, 2 series, 3 SOP) + 6-digit index
UID_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's root, as generate_uid() uses
UID_KINDS = {"study": 1, "series": 2, "sop": 3}
UID_LENGTH = len(UID_ROOT) + 12 + 1 + 1 + 6  # 46: even, so no padding byte is involved
HEADER_SCAN_BYTES = 8192


# --- statistics ----------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """'median (min-max, n=k)' with 3 significant digits."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3g} (n=1)"
    return f"{median(values):.3g} ({min(values):.3g}-{max(values):.3g}, n={len(values)})"


# --- machine -------------------------------------------------------------------------------------


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else "?"


def machine() -> dict:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    fs = _first_line(["findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", "/tmp"])
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host_cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_gb, 1),
        "tmp_fs": fs,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def app_commit() -> str:
    """`git describe --always --dirty` of the checkout under test ('?' outside git)."""
    return _first_line(["git", "-C", str(REPO), "describe", "--always", "--dirty"])


def package_versions(names: Iterable[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def wait_log(path: Path, needle: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}; see {path}")
        with contextlib.suppress(OSError):
            if needle in path.read_text(errors="replace"):
                return
        time.sleep(0.2)
    raise TimeoutError(f"{needle!r} not in {path} after {timeout:.0f} s")


class Processes:
    """Child processes started by a benchmark, each in its own session; stopped by id, never by name."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: list = []

    def start(self, name: str, cmd: list[str], *, env: dict, log: Path, cwd: Path = REPO) -> subprocess.Popen:
        out = open(log, "ab")  # noqa: SIM115  (closed in stop())
        self.logs.append(out)
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def stop(self, name: str, timeout: float = 20.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the group this process leads (its own session)
            os.killpg(proc.pid, signal.SIGCONT)  # in case it was paused
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def pause(self, name: str, paused: bool) -> None:
        """SIGSTOP / SIGCONT the process group of `name` (analysis option --pause-worker)."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGSTOP if paused else signal.SIGCONT)

    def stop_all(self) -> None:
        for name in list(self.procs)[::-1]:
            try:
                self.stop(name)
            except Exception as exc:  # noqa: BLE001  (cleanup goes on)
                print(f"!! stopping {name}: {exc}", file=sys.stderr)
        for out in self.logs:
            out.close()
        self.logs.clear()


def descendants(pid: int) -> list[int]:
    """pid's children, grandchildren… (from /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found.append(int(child))
                    todo.append(int(child))
    return found


def proc_status_kb(pid: int, key: str) -> int:
    """VmRSS / VmHWM of a process in kB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = ("postgres", "redis-server")  # shared services our app uses: their CPU counts as ours


@dataclass
class CpuSnapshot:
    at: float
    busy: int  # user + nice + system + steal ticks of the machine (irq/softirq left out)
    kernel: int  # ticks of kernel threads (write-back, …: mostly induced by the benchmark itself)
    ours: int  # ticks of this benchmark's process tree (exited children through cutime) + services


def _ticks(fields: list[str], children: bool) -> int:
    # fields after the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    return sum(int(v) for v in fields[11 : 15 if children else 13])


def cpu_snapshot() -> CpuSnapshot:
    me = os.getpid()
    mine = {me, *descendants(me)}
    kernel = ours = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields, pid = tail.split(), int(entry.name)
        if fields[1] == "2" or pid == 2:
            kernel += _ticks(fields, False)
        elif pid in mine:
            ours += _ticks(fields, pid == me)  # our exited children (cp, storescu) are in our cutime
        elif head.split("(", 1)[1] in SERVICES:
            ours += _ticks(fields, True)  # the postmaster reaps PostgreSQL backends
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    busy = values[0] + values[1] + values[2] + values[7]
    return CpuSnapshot(time.monotonic(), busy, kernel, ours)


def foreign_cores(start: CpuSnapshot, end: CpuSnapshot) -> float:
    """CPU (in cores) used by other processes (and hypervisor steal) between two snapshots.

    Machine busy time minus this benchmark's processes, PostgreSQL, Redis and kernel threads.
    Approximate (a process of ours that exits mid-phase other than a direct child is missed).
    """
    seconds = end.at - start.at
    if seconds <= 0:
        return 0.0
    other = (end.busy - start.busy) - (end.ours - start.ours) - (end.kernel - start.kernel)
    return max(0.0, other / CLOCK_TICKS / seconds)


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (writing 5 to clear_refs, Linux >= 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class RssSampler:
    """Samples VmRSS of role → process (and its descendants) every `interval` seconds in a thread.

    `peaks[phase][role]` holds the largest RSS (MB) of any single process of the role seen during the
    phase ("master" processes and the processes doing the work are separate roles).
    """

    roles: dict[str, int] = field(default_factory=dict)  # role -> root pid
    interval: float = 0.1
    phase: str = "idle"
    peaks: dict[str, dict[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def pids(self) -> dict[str, list[int]]:
        """role -> pids: '<role>' are the working children (or the root itself when it has none)."""
        out: dict[str, list[int]] = {}
        for role, root in self.roles.items():
            children = descendants(root)
            if children:
                out[f"{role} master"] = [root]
                out[role] = children
            else:
                out[role] = [root]
        return out

    def sample(self) -> None:
        phase = self.peaks.setdefault(self.phase, {})
        for role, pids in self.pids().items():
            rss = max((proc_status_kb(pid, "VmRSS") for pid in pids), default=0) / 1024
            if rss > phase.get(role, 0.0):
                phase[role] = rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):
                self.sample()

    def start(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def hwm(self) -> dict[str, float]:
        """role -> largest VmHWM (MB) of its processes: the kernel's peak since start (or last reset)."""
        return {
            role: max((proc_status_kb(pid, "VmHWM") for pid in pids), default=0) / 1024
            for role, pids in self.pids().items()
        }

    def overall(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for phase in self.peaks.values():
            for role, value in phase.items():
                total[role] = max(total.get(role, 0.0), value)
        return total


# --- synthetic data with patchable UIDs ----------------------------------------------------------


def uid(tag: str, kind: str, index: int) -> str:
    value = f"{UID_ROOT}{tag}.{UID_KINDS[kind]}{index:06d}"
    assert len(value) == UID_LENGTH, value
    return value


def tag_for(nonce: int, slot: int) -> str:
    """12 digits, first one non-zero (no leading zero in a UID component)."""
    return f"9{nonce % 10**8:08d}{slot % 1000:03d}"


@dataclass
class BenchFile:
    path: Path
    size: int
    index: int
    offsets: dict[str, list[int]]  # kind -> byte offsets of the UID value in the header


def _write_one(args: tuple) -> tuple[int, int, dict[str, list[int]]]:
    path, index, tag, detector, compress = args
    study = index // 4
    laterality, view = [("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")][index % 4]
    uids = {"study": uid(tag, "study", study), "series": uid(tag, "series", index)}
    uids["sop"] = uid(tag, "sop", index)
    quiet = _stdout_to_devnull() if compress else contextlib.nullcontext()  # openjpeg prints "tile number"
    with quiet:
        _write(path, uids, study, laterality, view, detector, compress)
    with open(path, "rb") as fh:
        head = fh.read(HEADER_SCAN_BYTES)
    return index, os.path.getsize(path), _uid_offsets(path, head, uids)


@contextlib.contextmanager
def _stdout_to_devnull():
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _write(
    path: Path, uids: dict[str, str], study: int, laterality: str, view: str, detector: str, compress: bool
):
    from screening.dicom.synth import write_mammogram  # numpy + pydicom only: no Django settings needed

    write_mammogram(
        path,
        patient_id=f"BENCH{study:05d}",
        patient_name=f"BENCH^PATIENTE{study:05d}",
        birth_date="19650412",
        study_date="20250317",
        accession_number=f"BENCHACC{study:05d}",
        study_uid=uids["study"],
        series_uid=uids["series"],
        sop_uid=uids["sop"],
        laterality=laterality,
        view=view,
        detector=detector,
        compress=compress,
        seed=study,
    )


def _uid_offsets(path: Path, head: bytes, uids: dict[str, str]) -> dict[str, list[int]]:
    offsets: dict[str, list[int]] = {}
    for kind, value in uids.items():
        needle, start = value.encode("ascii"), 0
        while (found := head.find(needle, start)) != -1:
            offsets.setdefault(kind, []).append(found)
            start = found + 1
    expected = {"study": 1, "series": 1, "sop": 2}  # SOP UID: file meta + data set
    counts = {kind: len(offsets.get(kind, [])) for kind in expected}
    if counts != expected:
        raise RuntimeError(f"{path}: unexpected UID occurrences {counts}")
    return offsets


def generate(
    directory: Path, n: int, *, nonce: int, detector: str = "hologic", compress: bool = False
) -> list[BenchFile]:
    """n synthetic mammograms (n/4 studies of 4 views) written in parallel, with their UID offsets."""
    directory.mkdir(parents=True, exist_ok=True)
    tag = tag_for(nonce, 999)
    jobs = [(directory / f"mg{i:05d}.dcm", i, tag, detector, compress) for i in range(n)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(_write_one, jobs))
    return [
        BenchFile(path=jobs[i][0], size=size, index=i, offsets=offsets)
        for i, size, offsets in sorted(results)
    ]


def patch_uids(files: Sequence[BenchFile], tag: str) -> None:
    """Give every file new study/series/SOP UIDs (same length) by rewriting header bytes in place."""
    for f in files:
        fd = os.open(f.path, os.O_WRONLY)
        try:
            for kind, offsets in f.offsets.items():
                index = f.index // 4 if kind == "study" else f.index
                value = uid(tag, kind, index).encode("ascii")
                for offset in offsets:
                    os.pwrite(fd, value, offset)
        finally:
            os.close(fd)


def sop_prefix(tag: str) -> str:
    return f"{UID_ROOT}{tag}.{UID_KINDS['sop']}"


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def warm(files: Sequence[BenchFile]) -> None:
    """Read the inputs so that every phase starts with them in the page cache (same conditions)."""
    for f in files:
        with open(f.path, "rb", buffering=0) as fh:
            while fh.read(8 << 20):
                pass


def sync() -> None:
    """Flush dirty pages so that one phase's write-back does not slow the next one down."""
    os.sync()
