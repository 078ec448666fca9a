"""Renditions benchmark: our rendition code against a bare pydicom decode + Pillow downsample.

For M synthetic full-size mammograms (3328×4096, 16 bits allocated, uncompressed, as in the ingest
benchmark; by default also a few JPEG 2000 lossless ones), each timed `reps` times after one warm-up:

    bare        dcmread + ds.pixel_array + Image.fromarray(…).convert("I").reduce(f) to ≤ 2048 rows
    ours        dcmread + ds.pixel_array + screening.services.ingest_store._renditions itself (windowing,
                breast box, reduce_to and encoding of every rendition), with its database and storage
                writes replaced by no-ops: the app's code as it is, whatever it becomes
    jpeg95      alternative (NOT app code): the same steps, the display rendition as JPEG q95 (lossy)
    png0        alternative (NOT app code): the same steps, the display rendition as PNG level 0
                (no deflate: ≈3.4 MB files)

Times are CPU seconds of this single-threaded process (time.process_time: robust to other load on a
shared machine); wall-clock totals are printed alongside. Prints the medians, the ratios to bare
(target: ours ≤ 1.3× bare, on CPU time) and where our time goes (the app's functions, timed in place).
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

from PIL import Image
from pydicom import dcmread

from bench import common

TARGET = 1.3
DISPLAY_ROWS = 2048  # bare reference: area downsample to the display rendition's height
# CPU time of this (single-threaded) process: robust to other load on a shared machine. Wall-clock
# totals are reported too.
clock = time.process_time
VARIANTS = {
    "bare": "bare: pydicom decode + Pillow reduce to 2048 rows",
    "ours": "ours: decode + ingest_store._renditions (as is)",
    "jpeg95": "alternative: display rendition JPEG q95 (lossy)",
    "png0": "alternative: display rendition PNG level 0 (no deflate)",
}


def _app():
    """screening.services.ingest_store, importable once Django is set up (no database is touched)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "screening.settings")
    import django

    django.setup()
    from screening.services import ingest_store

    return ingest_store


def bare(path: Path) -> dict[str, float]:
    t0 = clock()
    ds = dcmread(path)
    pixels = ds.pixel_array
    t1 = clock()
    image = Image.fromarray(pixels).convert("I")
    factor = -(-image.height // DISPLAY_ROWS)
    reduced = image.reduce(factor) if factor > 1 else image
    t2 = clock()
    assert reduced.height <= DISPLAY_ROWS
    return {"total": t2 - t0, "decode": t1 - t0, "downsample": t2 - t1}


class _Timed:
    """Wraps the functions _renditions calls, in its own module namespace, to time them in place."""

    def __init__(self, store) -> None:
        self.store, self.spent = store, defaultdict(float)
        self.sizes: dict[str, int] = {}
        self.display_format: dict | None = None  # alternative encoding of the tallest rendition

    def _wrap(self, name: str, func):
        def timed(*args, **kwargs):
            t = clock()
            try:
                return func(*args, **kwargs)
            finally:
                self.spent[name] += clock() - t

        return timed

    def patches(self) -> ExitStack:
        stack = ExitStack()
        for name in ("to_display", "reduce_to", "breast_box"):
            if hasattr(self.store, name):
                stack.enter_context(
                    mock.patch.object(self.store, name, self._wrap(name, getattr(self.store, name)))
                )
        original_save = Image.Image.save
        timed = self

        def save(image, fp, format=None, **params):  # noqa: A002  (Pillow's signature)
            t = clock()
            try:
                if timed.display_format and image.height > 1024:
                    format, params = timed.display_format["format"], dict(timed.display_format)
                    params.pop("format")
                return original_save(image, fp, format, **params)
            finally:
                timed.spent["encode"] += clock() - t
                timed.sizes[f"{image.height}"] = fp.tell() if hasattr(fp, "tell") else 0

        stack.enter_context(mock.patch.object(Image.Image, "save", save))
        storage = SimpleNamespace(save=lambda name, content: name)
        stack.enter_context(mock.patch.object(self.store, "default_storage", storage))
        stack.enter_context(
            mock.patch.object(
                self.store, "Rendition", SimpleNamespace(objects=SimpleNamespace(create=lambda **k: None))
            )
        )
        return stack


def ours(store, path: Path, display_format: dict | None = None) -> tuple[dict[str, float], dict[str, int]]:
    timed = _Timed(store)
    timed.display_format = display_format
    instance = SimpleNamespace(sop_uid="1.2.3", breast_box=None, save=lambda **kwargs: None)
    t0 = clock()
    ds = dcmread(path)
    pixels = ds.pixel_array
    t1 = clock()
    with timed.patches():
        store._renditions(instance, ds, pixels, [])
    t2 = clock()
    stages = {"decode": t1 - t0, **timed.spent}
    stages["other"] = (t2 - t1) - sum(timed.spent.values())
    stages["total"] = t2 - t0
    return stages, timed.sizes


def _generate(directory: Path, m: int, compress: bool) -> list[Path]:
    files = common.generate(directory, m, nonce=os.getpid(), compress=compress)
    return [f.path for f in files]


def _measure(store, paths: list[Path], reps: int) -> dict:
    samples: dict[str, list[float]] = {key: [] for key in VARIANTS}
    walls: dict[str, list[float]] = {key: [] for key in VARIANTS}
    stages: dict[str, list[float]] = defaultdict(list)
    sizes: dict[str, list[int]] = defaultdict(list)
    per_image_ratio: list[float] = []
    alternatives = {
        "jpeg95": {"format": "JPEG", "quality": 95},
        "png0": {"format": "PNG", "optimize": False, "compress_level": 0},
    }
    for path in paths:
        for rep in range(reps + 1):  # rep 0 is the warm-up, discarded
            times, wall = {}, {}
            w = time.perf_counter()
            times["bare"] = bare(path)
            wall["bare"] = time.perf_counter() - w
            w = time.perf_counter()
            times["ours"], our_sizes = ours(store, path)
            wall["ours"] = time.perf_counter() - w
            for key, fmt in alternatives.items():
                w = time.perf_counter()
                times[key], alt_sizes = ours(store, path, fmt)
                wall[key] = time.perf_counter() - w
                sizes[f"{key} display bytes"].append(max(alt_sizes.values(), default=0))
            if rep == 0:
                continue
            for key in VARIANTS:
                samples[key].append(times[key]["total"])
                walls[key].append(wall[key])
            per_image_ratio.append(times["ours"]["total"] / times["bare"]["total"])
            for name, value in times["ours"].items():
                stages[name].append(value)
            for name, value in times["bare"].items():
                stages[f"bare {name}"].append(value)
            for height, size in our_sizes.items():
                sizes[f"ours {height}-row rendition bytes"].append(size)
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "images": len(paths),
        "reps": reps,
        "median_s": med,
        "min_s": {k: min(v) for k, v in samples.items()},
        "max_s": {k: max(v) for k, v in samples.items()},
        "median_wall_s": {k: statistics.median(v) for k, v in walls.items()},
        "ratio_ours_vs_bare": med["ours"] / med["bare"],
        "ratios_vs_bare": {k: v / med["bare"] for k, v in med.items()},
        "median_per_image_ratio": statistics.median(per_image_ratio),
        "ours_stages_median_s": {k: statistics.median(v) for k, v in stages.items()},
        "median_bytes": {k: int(statistics.median(v)) for k, v in sizes.items()},
        "met": med["ours"] / med["bare"] <= TARGET,
    }


def run(m: int = 10, reps: int = 3, j2k: int = 0, keep: bool = False) -> dict:
    import tempfile

    store = _app()
    tmp = Path(tempfile.mkdtemp(prefix="l2bench-renditions-"))
    try:
        t = time.perf_counter()
        sets = {"uncompressed": _generate(tmp / "raw", m, False)}
        if j2k:
            sets["jpeg2000_lossless"] = _generate(tmp / "j2k", j2k, True)
        print(f">> generated {sum(len(v) for v in sets.values())} images in {time.perf_counter() - t:.0f} s")
        results = {name: _measure(store, paths, reps) for name, paths in sets.items()}
    finally:
        if keep:
            print(f">> kept {tmp}")
        else:
            common.rmtree(tmp)
    report = {
        "benchmark": "renditions",
        "machine": common.machine(),
        "versions": {
            **common.package_versions(["pydicom", "numpy", "pillow", "pylibjpeg-openjpeg"]),
            "app_commit": common.app_commit(),
        },
        "config": {"images": m, "reps": reps, "j2k_images": j2k, "target_ratio": TARGET},
        "sets": results,
    }
    print_report(report)
    return report


def print_report(r: dict) -> None:
    m = r["machine"]
    print()
    print("=" * 100)
    print(f"RENDITIONS  {m['date']}  {m['host_cpu']}, {m['cores']} cores, app {r['versions']['app_commit']}")
    for name, s in r["sets"].items():
        print("-" * 100)
        print(
            f"{name}: {s['images']} images (3328x4096, 16 bits), median of {s['reps']} runs each (1 warm-up)"
        )
        print(f"{'variant':<58}{'CPU s':>8}{'min':>8}{'max':>8}{'vs bare':>9}{'wall s':>8}{'vs bare':>9}")
        for key, label in VARIANTS.items():
            ratio = s["median_s"][key] / s["median_s"]["bare"]
            wall = s["median_wall_s"][key]
            print(
                f"{label:<58}{s['median_s'][key]:>8.3f}{s['min_s'][key]:>8.3f}{s['max_s'][key]:>8.3f}"
                f"{ratio:>8.2f}x{wall:>8.3f}{wall / s['median_wall_s']['bare']:>8.2f}x"
            )
        verdict = "MET" if s["met"] else "MISSED"
        print(
            f"target ours <= {TARGET}x bare (CPU time): {s['ratio_ours_vs_bare']:.2f}x (per-image median "
            f"{s['median_per_image_ratio']:.2f}x) -> {verdict}"
        )
        stages = s["ours_stages_median_s"]
        total = stages["total"]
        print(
            "where our time goes (median CPU s): "
            + ", ".join(
                f"{k} {v:.3f} ({v / total:.0%})"
                for k, v in stages.items()
                if not k.startswith("bare") and k != "total"
            )
            + f"; bare: decode {stages['bare decode']:.3f}, downsample {stages['bare downsample']:.3f}"
        )
        print(
            "rendition sizes (median bytes): " + ", ".join(f"{k} {v:,}" for k, v in s["median_bytes"].items())
        )
    print("=" * 100)
