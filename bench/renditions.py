"""Renditions benchmark: our display pipeline against a bare pydicom decode + Pillow downsample.

For M synthetic full-size mammograms (3328×4096, 16 bits allocated, uncompressed, as in the ingest
benchmark; optionally also JPEG 2000 lossless ones), each timed `reps` times after one warm-up:

    bare     dcmread + ds.pixel_array + Image.fromarray(…).convert("I").reduce(f) to ≤ 2048 rows
    ours     dcmread + ds.pixel_array + render.to_display + breast_box(reduce_to(512)) + reduce_to(2048)
             and reduce_to(256), each PNG-encoded (optimize=False, compress_level=3), as
             screening.services.ingest_store._renditions does (database and storage writes left out)
    lut        a suggested variant (NOT app code): the same windowing computed once per possible stored
               value into a uint8 table, applied with one fancy-indexing gather; its output is checked
               identical to ours, pixel for pixel
    lut+png1   lut with the display PNG at compress_level=1 (suggested; ≈3 % larger files)
    lut+jpeg95 lut with a JPEG q95 display rendition (lossy: only if acceptable for reading)

Times are CPU seconds of this single-threaded process (time.process_time: robust to other load on a
shared machine); wall-clock totals are printed alongside. Prints the medians, the ratios to bare
(target: ours ≤ 1.3× bare, on CPU time) and where our time goes.
"""

from __future__ import annotations

import io
import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import dcmread
from pydicom.pixels import apply_modality_lut

from bench import common
from screening.dicom import render
from screening.dicom.render import header_window, reduce_to, to_display, window_to_unit

# As in screening/services/ingest_store.py (RENDITION_HEIGHTS and _renditions' PNG options).
HEIGHTS = {"DISPLAY": 2048, "THUMBNAIL": 256}
BOX_HEIGHT = 512  # _renditions: breast_box(reduce_to(image, 512)), when render.breast_box exists
PNG_OPTIONS = {"format": "PNG", "optimize": False, "compress_level": 3}
TARGET = 1.3
# CPU time of this (single-threaded) process: robust to other load on a shared machine. Wall-clock
# totals are reported too.
clock = time.process_time
VARIANTS = {
    "bare": "bare: pydicom decode + Pillow reduce to 2048 rows",
    "ours": "ours: decode + to_display + box + 2 reduce_to + 2 PNG",
    "lut": "suggested: LUT windowing (+ same reduce, PNG level 3)",
    "lut+png1": "suggested: LUT windowing + display PNG level 1",
    "lut+jpeg95": "alternative: LUT + display JPEG q95 (lossy)",
}


def _png(image: Image.Image, **options) -> int:
    buffer = io.BytesIO()
    image.save(buffer, **{**PNG_OPTIONS, **options})
    return buffer.tell()


def bare(path: Path) -> dict[str, float]:
    t0 = clock()
    ds = dcmread(path)
    pixels = ds.pixel_array
    t1 = clock()
    image = Image.fromarray(pixels).convert("I")
    factor = -(-image.height // HEIGHTS["DISPLAY"])
    reduced = image.reduce(factor) if factor > 1 else image
    t2 = clock()
    assert reduced.height <= HEIGHTS["DISPLAY"]
    return {"total": t2 - t0, "decode": t1 - t0, "downsample": t2 - t1}


def _box(image: Image.Image) -> None:
    if hasattr(render, "breast_box"):
        render.breast_box(np.asarray(reduce_to(image, BOX_HEIGHT)))


def ours(path: Path) -> tuple[dict[str, float], np.ndarray]:
    t = [clock()]
    ds = dcmread(path)
    pixels = ds.pixel_array
    t.append(clock())
    display, _center, _width = to_display(ds, pixels)
    t.append(clock())
    image = Image.fromarray(display)
    _box(image)
    t.append(clock())
    for height in HEIGHTS.values():
        reduced = reduce_to(image, height)
        t.append(clock())
        _png(reduced)
        t.append(clock())
    names = [
        "decode",
        "to_display",
        "breast_box",
        "reduce_display",
        "png_display",
        "reduce_thumb",
        "png_thumb",
    ]
    stages = {name: t[i + 1] - t[i] for i, name in enumerate(names)}
    stages["total"] = t[-1] - t[0]
    return stages, display


def to_display_anatomy(path: Path) -> dict[str, float]:
    """The steps of render.to_display (header-window branch), timed one by one."""
    ds = dcmread(path)
    pixels = ds.pixel_array
    t0 = clock()
    modality = apply_modality_lut(pixels, ds)  # float64 when Rescale* is present
    kind = str(modality.dtype)
    t1 = clock()
    values = modality.astype(np.float32)
    del modality  # as in to_display: the float64 copy is dropped at once
    t2 = clock()
    center, width = header_window(ds, values)
    unit = window_to_unit(values, center, width, str(ds.get("VOILUTFunction", "LINEAR")))
    t3 = clock()
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        unit = 1.0 - unit
    del values
    (unit * 255.0 + 0.5).astype(np.uint8)
    t4 = clock()
    return {
        f"apply_modality_lut ({kind})": t1 - t0,
        "astype(float32)": t2 - t1,
        "header_window + window_to_unit": t3 - t2,
        "invert + scale to uint8": t4 - t3,
    }


def lut_display(ds, pixels: np.ndarray) -> np.ndarray:
    """Suggested: to_display evaluated once per possible stored value, then one table lookup."""
    if pixels.dtype not in (np.uint8, np.uint16) or "VOILUTSequence" in ds or "WindowCenter" not in ds:
        return to_display(ds, pixels)[0]  # the general path keeps the rare cases
    levels = np.arange(np.iinfo(pixels.dtype).max + 1, dtype=pixels.dtype).reshape(1, -1)
    table = to_display(ds, levels)[0].ravel()  # header window: independent of the image's min/max
    return table[pixels]  # fancy indexing (np.take is several times slower here)


ENCODINGS = {
    "png3": {"format": "PNG", "optimize": False, "compress_level": 3},
    "png1": {"format": "PNG", "optimize": False, "compress_level": 1},
    "jpeg95": {"format": "JPEG", "quality": 95},
}


def lut_variant(path: Path, display_encoding: str = "png3") -> tuple[dict[str, float], np.ndarray]:
    """LUT windowing; the display rendition encoded as `display_encoding`, the thumbnail as ours."""
    t0 = clock()
    ds = dcmread(path)
    pixels = ds.pixel_array
    t1 = clock()
    display = lut_display(ds, pixels)
    t2 = clock()
    image = Image.fromarray(display)
    _box(image)
    _png(reduce_to(image, HEIGHTS["DISPLAY"]), **ENCODINGS[display_encoding])
    _png(reduce_to(image, HEIGHTS["THUMBNAIL"]))
    t3 = clock()
    return {"total": t3 - t0, "decode": t1 - t0, "display": t2 - t1, "reduce+encode": t3 - t2}, display


def _generate(directory: Path, m: int, compress: bool) -> list[Path]:
    files = common.generate(directory, m, nonce=os.getpid(), compress=compress)
    return [f.path for f in files]


def _measure(paths: list[Path], reps: int) -> dict:
    samples: dict[str, list[float]] = {key: [] for key in VARIANTS}
    walls: dict[str, list[float]] = {key: [] for key in VARIANTS}
    stages: dict[str, list[float]] = {}
    anatomy: dict[str, list[float]] = {}
    per_image_ratio: list[float] = []
    identical = True
    for path in paths:
        for rep in range(reps + 1):  # rep 0 is the warm-up, discarded
            wall = {}
            w = time.perf_counter()
            b = bare(path)
            wall["bare"] = time.perf_counter() - w
            w = time.perf_counter()
            o, display = ours(path)
            wall["ours"] = time.perf_counter() - w
            lut_times = {}
            for key in ("lut", "lut+png1", "lut+jpeg95"):
                encoding = {"lut": "png3", "lut+png1": "png1", "lut+jpeg95": "jpeg95"}[key]
                w = time.perf_counter()
                lut_times[key], lut_out = lut_variant(path, encoding)
                wall[key] = time.perf_counter() - w
                identical = identical and np.array_equal(display, lut_out)
            if rep == 0:
                continue
            for key, value in wall.items():
                walls[key].append(value)
            samples["bare"].append(b["total"])
            samples["ours"].append(o["total"])
            for key, value in lut_times.items():
                samples[key].append(value["total"])
            per_image_ratio.append(o["total"] / b["total"])
            for name, value in o.items():
                stages.setdefault(name, []).append(value)
            for name, value in b.items():
                stages.setdefault(f"bare {name}", []).append(value)
            for name, value in to_display_anatomy(path).items():
                anatomy.setdefault(name, []).append(value)
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
        "to_display_steps_median_s": {k: statistics.median(v) for k, v in anatomy.items()},
        "lut_output_identical": identical,
        "met": med["ours"] / med["bare"] <= TARGET,
    }


def run(m: int = 10, reps: int = 3, j2k: int = 0, keep: bool = False) -> dict:
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="l2bench-renditions-"))
    try:
        t = time.perf_counter()
        sets = {"uncompressed": _generate(tmp / "raw", m, False)}
        if j2k:
            sets["jpeg2000_lossless"] = _generate(tmp / "j2k", j2k, True)
        print(f">> generated {sum(len(v) for v in sets.values())} images in {time.perf_counter() - t:.0f} s")
        results = {name: _measure(paths, reps) for name, paths in sets.items()}
    finally:
        if keep:
            print(f">> kept {tmp}")
        else:
            common.rmtree(tmp)
    report = {
        "benchmark": "renditions",
        "machine": common.machine(),
        "versions": common.package_versions(["pydicom", "numpy", "pillow", "pylibjpeg-openjpeg"]),
        "config": {"images": m, "reps": reps, "j2k_images": j2k, "target_ratio": TARGET},
        "sets": results,
    }
    print_report(report)
    return report


def print_report(r: dict) -> None:
    m = r["machine"]
    print()
    print("=" * 100)
    print(f"RENDITIONS  {m['date']}  {m['host_cpu']}, {m['cores']} cores")
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
            f"{s['median_per_image_ratio']:.2f}x) -> {verdict}; LUT output identical to ours: "
            f"{s['lut_output_identical']}"
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
        )
        print(
            "inside to_display: "
            + ", ".join(f"{k} {v:.3f}" for k, v in s["to_display_steps_median_s"].items())
        )
    print("=" * 100)
