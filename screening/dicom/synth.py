"""Synthetic screening mammograms (DICOM) for demo data and tests.

Pure pydicom + numpy: importable without Django settings.

Stored orientation follows the usual hanging targets (PatientOrientation R CC = P\\L,
L CC = A\\R, R MLO = P\\F, L MLO = A\\F): right breasts have the chest wall on the
right edge of the stored image, left breasts on the left edge, nipple pointing away,
and MLO views show the pectoral muscle in the top chest-wall corner.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    generate_uid,
)

# (rows, columns), portrait, chest wall along a long (vertical) edge.
# Hologic Selenia Dimensions: 24 x 29 cm detector at 70 um -> 3328 x 4096.
# GE Senographe DS / 2000D: 19 x 23 cm detector at 100 um -> 1914 x 2294.
DETECTORS: dict[str, tuple[int, int]] = {"hologic": (4096, 3328), "ge": (2294, 1914)}
PIXEL_SPACING_MM = {"hologic": 0.07, "ge": 0.1}
MANUFACTURERS = {"hologic": ("HOLOGIC, Inc.", "Selenia Dimensions"), "ge": ("GE MEDICAL SYSTEMS", "Senographe DS")}

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
MG_FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"
VIEW_CODES = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}
PATIENT_ORIENTATION = {
    ("R", "CC"): ["P", "L"],
    ("L", "CC"): ["A", "R"],
    ("R", "MLO"): ["P", "F"],
    ("L", "MLO"): ["A", "F"],
}
_VIEW_ORDER = [("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")]


def _resize(a: np.ndarray, rows: int, cols: int, smooth: bool = False) -> np.ndarray:
    """Bilinear (or smoothstep) resize of a 2-D float array to (rows, cols)."""

    def axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n_out, dtype=np.float32) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
        i0 = np.minimum(pos.astype(np.intp), max(n_in - 2, 0))
        w = np.clip(pos - i0, 0, 1)
        if smooth:
            w = w * w * (3 - 2 * w)
        return i0, np.minimum(i0 + 1, n_in - 1), w.astype(np.float32)

    r0, r1, wr = axis(a.shape[0], rows)
    c0, c1, wc = axis(a.shape[1], cols)
    a = np.ascontiguousarray(a)  # small pass first; np.take keeps C order (fancy indexing gives F order)
    a = np.take(a, c0, axis=1) * (1 - wc) + np.take(a, c1, axis=1) * wc
    out = a[r0]
    out *= (1 - wr)[:, None]
    lower = a[r1]
    lower *= wr[:, None]
    out += lower
    return out


def _fractal(rng: np.random.Generator, rows: int, cols: int, cells: int, octaves: int) -> np.ndarray:
    """Smooth value noise summed over octaves (coarsest has ``cells`` cells), roughly unit range."""
    out = np.zeros((rows, cols), np.float32)
    amp, total = 1.0, 0.0
    for k in range(octaves):
        n = cells * 2**k
        grid = rng.standard_normal((n + 1, max(2, round(n * cols / rows)) + 1)).astype(np.float32)
        out += amp * _resize(grid, rows, cols, smooth=True)
        total += amp
        amp *= 0.55
    return out / total


@functools.lru_cache(maxsize=4)
def _noise_gain(rows: int, cols: int) -> np.ndarray:
    """Cached multiplicative quantum-like noise, 1 +/- 0.6 % (margin of 64 so windows differ per image)."""
    noise = np.random.default_rng(12345).standard_normal((rows + 64, cols + 64), dtype=np.float32)
    np.clip(noise, -4, 4, out=noise)
    noise *= 0.006
    noise += 1
    return noise


def _sample(grid: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``grid`` at fractional (row ``u``, column ``v``) coordinates, clamped."""
    u = np.clip(u, 0, grid.shape[0] - 1.001)
    v = np.clip(v, 0, grid.shape[1] - 1.001)
    i, j = u.astype(np.intp), v.astype(np.intp)
    fu, fv = u - i, v - j
    top = grid[i, j] * (1 - fv) + grid[i, j + 1] * fv
    bottom = grid[i + 1, j] * (1 - fv) + grid[i + 1, j + 1] * fv
    return top * (1 - fu) + bottom * fu


def _outline(rows: int, mlo: bool, depth: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Per-row breast depth (pixels from the chest wall) and the nipple row."""
    y = np.arange(rows, dtype=np.float32)
    expo = rng.uniform(1.8, 2.6)
    if mlo:  # from the axilla (top edge) out to the nipple, back to the inframammary fold
        yn, fold, top = rows * rng.uniform(0.5, 0.6), rows * rng.uniform(0.9, 1.05), rng.uniform(0.5, 0.65)
        v = np.where(y < yn, (yn - y) / yn, (y - yn) / (fold - yn))
        shape = np.where(y < yn, top + (1 - top) * (1 - v**1.6), np.sqrt(np.clip(1 - v**expo, 0, 1)))
    else:
        yn, half = rows * rng.uniform(0.46, 0.54), rows * rng.uniform(0.38, 0.47)
        shape = np.sqrt(np.clip(1 - np.abs((y - yn) / half) ** expo, 0, 1))
    return depth * shape, yn


def mammogram_pixels(
    *, laterality: str, view: str, rows: int, columns: int, bits_stored: int = 12, seed: int = 0
) -> np.ndarray:
    """Return a uint16 MONOCHROME2 mammogram (air ~0) with the chest wall on the stored-side edge.

    Breast size and density derive from ``seed`` alone (same "patient" across views);
    texture and exact outline also depend on laterality and view.
    """
    laterality, view = laterality.upper(), view.upper()
    if laterality not in ("R", "L") or view not in ("CC", "MLO"):
        raise ValueError(f"unsupported laterality/view {laterality!r}/{view!r}")
    patient = np.random.default_rng(seed)
    size, density = patient.uniform(0.75, 1.0), patient.uniform(-0.6, 0.5)
    rng = np.random.default_rng([seed, "RL".index(laterality), ("CC", "MLO").index(view)])
    mlo = view == "MLO"
    depth = columns * size * rng.uniform(0.6, 0.72) * (1.08 if mlo else 1.0)
    d, yn = _outline(rows, mlo, depth, rng)
    pw, ph = d[0] * rng.uniform(0.65, 0.9), rows * rng.uniform(0.35, 0.55)  # pectoral triangle

    # Tissue map at 1/4 scale in the canonical frame (chest wall at x=0, nipple at (depth, yn)).
    lr, lc = rows // 4, columns // 4
    ys = (np.arange(lr, dtype=np.float32) + 0.5) * 4
    xs = (np.arange(lc, dtype=np.float32) + 0.5) * 4
    xx, yy = xs[None, :] / depth, (ys[:, None] - yn) / depth  # nipple-relative, in breast depths
    base = _fractal(rng, lr, lc, 3, 6)
    # Fibrous streaks converging on the nipple: noise sampled in polar coordinates around it.
    # The focus sits behind the nipple so the streaks do not form a star.
    radius = np.sqrt((1.4 - xx) ** 2 + yy**2)
    angle = np.arctan2(yy, 1.4 - xx)
    polar = _fractal(rng, 256, 48, 6, 5)
    streak = _sample(polar, (angle / np.pi + 0.5) * 510, radius * 30)
    fine = _fractal(rng, lr, lc, 24, 3)
    rim = np.clip((d[ys.astype(np.intp)][:, None] - xs[None, :]) / (0.25 * depth), 0, 1)  # subcutaneous fat
    prior = rim * np.exp(-((yy + (0.1 if mlo else -0.1)) ** 2) / 0.25 - (xx - 0.45) ** 2 / 0.18)
    gland = 1 / (1 + np.exp(-(2.0 * base + 1.2 * streak + 2.5 * prior - 1.4 + density) / 0.3))
    ridges = (1 - np.abs(4 * streak)).clip(0, 1) ** 4
    tissue = 0.26 + 0.04 * base + gland * (0.28 + 0.05 * streak + 0.05 * fine) + 0.03 * ridges * (1 - gland)
    for _ in range(rng.integers(3, 8)):  # a few brighter fibroglandular blobs
        by, bx, r = rng.uniform(-0.5, 0.5), rng.uniform(0.2, 0.8), rng.uniform(0.02, 0.07)
        tissue += rng.uniform(0.04, 0.1) * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * r * r))
    if mlo:  # pectoral muscle: bright triangle in the top chest-wall corner, slightly convex edge
        u, v = xs[None, :] / pw, ys[:, None] / ph
        m = np.clip((1 - (u + v - 0.5 * u * v + 0.05 * base)) / 0.015, 0, 1)
        tissue = tissue * (1 - m) + (0.47 + 0.08 * (1 - u) + 0.03 * base + 0.02 * fine) * m
    # Distance to the skin in full-res pixels (per-row slope correction), at the low-res grid.
    slope = 1 / np.sqrt(1 + np.gradient(d) ** 2)
    rows_lr = ys.astype(np.intp)
    dist = (d * slope)[rows_lr][:, None] - xs[None, :] * slope[rows_lr][:, None]
    mm = columns / 200  # ~pixels per mm (assumes a 19-24 cm wide detector)
    t = np.clip(dist / (12 * mm), 0, 1)
    tissue *= 0.5 + 0.5 * np.sqrt(t * (2 - t))  # compressed-breast thickness roll-off
    tissue += 0.06 * np.clip(1 - np.abs(dist - 1.5 * mm) / mm, 0, 1)  # skin line
    tissue *= np.clip(dist / 4 + 0.5, 0, 1)  # breast mask, anti-aliased at the 4-pixel grid
    maxval = 2**bits_stored - 1
    tissue = (np.clip(tissue, 0, 0.93) + 0.004) * maxval  # air ~0.4 % of full scale
    if laterality == "R":
        tissue = tissue[:, ::-1]
    img = _resize(tissue, rows, columns)
    oy, ox = rng.integers(0, 64, 2)
    img *= _noise_gain(rows, columns)[oy : oy + rows, ox : ox + columns]
    return img.astype(np.uint16)
