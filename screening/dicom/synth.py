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
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, JPEG2000Lossless, generate_uid

# (rows, columns), portrait, chest wall along a long (vertical) edge.
# Hologic Selenia Dimensions: 24 x 29 cm detector at 70 um -> 3328 x 4096.
# GE Senographe DS / 2000D: 19 x 23 cm detector at 100 um -> 1914 x 2294.
DETECTORS: dict[str, tuple[int, int]] = {"hologic": (4096, 3328), "ge": (2294, 1914)}
# detector -> (pixel spacing mm, manufacturer, model, detector type, source-detector distance mm)
EQUIPMENT = {
    "hologic": (0.07, "HOLOGIC, Inc.", "Selenia Dimensions", "DIRECT", 700),
    "ge": (0.1, "GE MEDICAL SYSTEMS", "Senographe DS", "SCINTILLATOR", 660),
}
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
    """Separable bilinear (or smoothstep) resize of a 2-D float array (both sides >= 2)."""
    for axis, n_out in ((1, cols), (0, rows)):
        n_in = a.shape[axis]
        pos = np.clip((np.arange(n_out, dtype=np.float32) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
        i0 = np.minimum(pos.astype(np.intp), n_in - 2)
        w = (pos - i0).reshape((-1, 1) if axis == 0 else (1, -1))
        if smooth:
            w = w * w * (3 - 2 * w)
        a = np.take(a, i0, axis) * (1 - w) + np.take(a, i0 + 1, axis) * w  # np.take keeps C order
    return a


def _upsample4(a: np.ndarray) -> np.ndarray:
    """Fast 4x bilinear upsampling (two full-size passes, one allocation)."""
    w = np.arange(4, dtype=np.float32) / 4
    a = np.concatenate([a, a[:, -1:]], axis=1)
    a = (a[:, :-1, None] + (a[:, 1:] - a[:, :-1])[:, :, None] * w).reshape(a.shape[0], -1)
    a = np.concatenate([a, a[-1:]], axis=0)
    out = np.empty((a.shape[0] - 1, 4, a.shape[1]), np.float32)
    np.multiply((a[1:] - a[:-1])[:, None, :], w[None, :, None], out=out)
    out += a[:-1, None, :]
    return out.reshape(-1, a.shape[1])


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


_MARGIN = 256


@functools.lru_cache(maxsize=4)
def _grain(rows: int, cols: int) -> np.ndarray:
    """Cached multiplicative grain: fine mottle (~3 px) + quantum noise, ~1 +/- 2 %.

    Larger than the image by ``_MARGIN`` so each image takes a different window.
    """
    rng = np.random.default_rng(12345)
    r, c = rows + _MARGIN, cols + _MARGIN
    gain = _resize(rng.standard_normal((r // 3, c // 3), dtype=np.float32), r, c, smooth=True)
    gain *= 0.015 / gain.std()
    gain += np.clip(rng.standard_normal((r, c), dtype=np.float32), -4, 4) * 0.006
    gain += 1
    return gain


def _sample(grid: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``grid`` at fractional (row ``u``, column ``v``) coordinates, clamped."""
    u = np.clip(u, 0, grid.shape[0] - 1.001)
    v = np.clip(v, 0, grid.shape[1] - 1.001)
    i, j = u.astype(np.intp), v.astype(np.intp)
    fu, fv = u - i, v - j
    top = grid[i, j] * (1 - fv) + grid[i, j + 1] * fv
    bottom = grid[i + 1, j] * (1 - fv) + grid[i + 1, j + 1] * fv
    return top * (1 - fu) + bottom * fu


def _outline(
    rows: int, mlo: bool, depth: float, size: float, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Per-row breast depth (pixels from the chest wall) and the nipple row."""
    y = np.arange(rows, dtype=np.float32)
    expo = rng.uniform(1.8, 2.6)
    if mlo:  # from the axilla (top edge) out to the nipple, back to the inframammary fold
        yn, fold, top = rows * rng.uniform(0.5, 0.6), rows * rng.uniform(0.9, 1.05), rng.uniform(0.5, 0.65)
        v = np.where(y < yn, (yn - y) / yn, (y - yn) / (fold - yn))
        shape = np.where(y < yn, top + (1 - top) * (1 - v**1.6), np.sqrt(np.clip(1 - v**expo, 0, 1)))
    else:
        yn, half = rows * rng.uniform(0.47, 0.53), rows * size * rng.uniform(0.42, 0.5)
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
    d, yn = _outline(rows, mlo, depth, size, rng)
    pw, ph = d[0] * rng.uniform(0.55, 0.8), rows * rng.uniform(0.35, 0.55)  # pectoral triangle

    # Tissue map at 1/4 scale in the canonical frame (chest wall at x=0, nipple at (depth, yn)).
    lr, lc = -(-rows // 4), -(-columns // 4)
    ys = np.arange(lr, dtype=np.float32) * 4  # low-res sample j sits on full-res row 4j
    xs = np.arange(lc, dtype=np.float32) * 4
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
        m = np.clip((1 - (u + v - 0.3 * u * v + 0.05 * base)) / 0.015, 0, 1)
        tissue = tissue * (1 - m) + (0.47 + 0.08 * (1 - u) + 0.03 * base + 0.02 * fine) * m
    # Distance to the skin in full-res pixels (per-row slope correction), at the low-res grid.
    slope = 1 / np.sqrt(1 + np.gradient(d) ** 2)
    rows_lr = ys.astype(np.intp)
    dist = (d * slope)[rows_lr][:, None] - xs[None, :] * slope[rows_lr][:, None]
    mm = columns / 200  # ~pixels per mm (assumes a 19-24 cm wide detector)
    t = np.clip(dist / (12 * mm), 0, 1)
    tissue *= 0.5 + 0.5 * np.sqrt(t * (2 - t))  # compressed-breast thickness roll-off
    tissue += 0.06 * np.clip(1 - np.abs(dist - 1.5 * mm) / mm, 0, 1)  # skin line
    tissue *= np.clip(dist / 4, 0, 1)  # breast mask, anti-aliased over the 4-pixel grid
    maxval = 2**bits_stored - 1
    tissue = (np.clip(tissue, 0, 0.9) + 0.004) * maxval  # air ~0.4 % of full scale
    if laterality == "R":
        tissue = tissue[:, ::-1]
    img = _upsample4(tissue)[:rows, :columns]
    oy, ox = rng.integers(0, _MARGIN, 2)
    img *= _grain(rows, columns)[oy : oy + rows, ox : ox + columns]
    return img.astype(np.uint16)


def _window(stored: np.ndarray, maxval: int, inverted: bool) -> tuple[int, int]:
    """Window centre/width spanning the 1st-99th percentile of breast tissue (background excluded)."""
    sub = stored[::8, ::8].astype(np.float32)
    if inverted:
        sub = maxval - sub
    lo, hi = float(sub.min()), float(sub.max())
    tissue = sub[sub > lo + 0.05 * (hi - lo)]
    if tissue.size < 16:
        centre, width = (lo + hi) / 2, hi - lo + 1
    else:
        p1, p99 = np.percentile(tissue, [1, 99])
        centre, width = float(p1 + p99) / 2, float(p99 - p1) * 1.1 + 1
    return round(maxval - centre if inverted else centre), round(width)


def _age(birth_date: str, study_date: str) -> str | None:
    try:
        born, seen = dt.datetime.strptime(birth_date, "%Y%m%d"), dt.datetime.strptime(study_date, "%Y%m%d")
    except (TypeError, ValueError):
        return None
    years = seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day))
    return f"{years:03d}Y" if 0 <= years < 1000 else None


def make_mammogram(
    *,
    patient_id: str,
    patient_name: str,
    birth_date: str,
    study_date: str,
    accession_number: str,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    laterality: str = "R",
    view: str = "CC",
    detector: str = "ge",
    bits_stored: int = 12,
    photometric: str = "MONOCHROME2",
    modality: str = "MG",
    presentation_intent: str = "FOR PRESENTATION",
    compress: bool = True,
    seed: int = 0,
    pixels: np.ndarray | None = None,
    set_view_code: bool = True,
    set_image_laterality: bool = True,
    acquisition_datetime: str | None = None,
    instance_number: int = 1,
    manufacturer: str | None = None,
) -> Dataset:
    """Build a digital mammography image (with file meta), JPEG 2000 lossless when ``compress``.

    ``pixels`` (2-D unsigned ints < 2**bits_stored) are stored verbatim; otherwise a synthetic
    breast is generated and inverted for MONOCHROME1. ``modality``, ``photometric`` and
    ``presentation_intent`` are written verbatim so tests can build invalid inputs.
    """
    laterality, view = laterality.upper(), view.upper()
    if detector not in DETECTORS:
        raise ValueError(f"unknown detector {detector!r}; expected one of {sorted(DETECTORS)}")
    if not 1 <= bits_stored <= 16:
        raise ValueError("bits_stored must be within 1..16")
    maxval = 2**bits_stored - 1
    if pixels is None:
        rows, cols = DETECTORS[detector]
        arr = mammogram_pixels(
            laterality=laterality, view=view, rows=rows, columns=cols, bits_stored=bits_stored, seed=seed
        )
        if photometric == "MONOCHROME1":
            arr = maxval - arr
    else:
        arr = np.asarray(pixels)
        in_range = arr.dtype.kind in "ui" and 0 <= arr.min(initial=0) <= arr.max(initial=0) <= maxval
        if arr.ndim != 2 or not in_range:
            raise ValueError(f"pixels must be a 2-D integer array within 0..{maxval}")
        arr = np.ascontiguousarray(arr, dtype=np.uint16)
    order = _VIEW_ORDER.index((laterality, view)) if (laterality, view) in _VIEW_ORDER else 0
    study_time = f"{8 + seed % 10:02d}{seed * 7 % 60:02d}00"
    if acquisition_datetime is None:  # views acquired a minute apart after the study time
        try:
            start = dt.datetime.strptime(study_date + study_time, "%Y%m%d%H%M%S")
            acquisition_datetime = (start + dt.timedelta(minutes=order + 1)).strftime("%Y%m%d%H%M%S")
        except ValueError:
            acquisition_datetime = ""
    dense = acquisition_datetime[:14]
    content = (dense[:8], dense[8:]) if len(dense) == 14 and dense.isdigit() else (study_date, study_time)
    sop_class = MG_FOR_PRESENTATION if presentation_intent == "FOR PRESENTATION" else MG_FOR_PROCESSING
    sop_uid = sop_uid or generate_uid()
    spacing, make, model, detector_type, distance = EQUIPMENT[detector]
    rng = np.random.default_rng([seed, 99, order])

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.StudyDate, ds.SeriesDate, ds.ContentDate = study_date, content[0], content[0]
    ds.StudyTime, ds.SeriesTime, ds.ContentTime = study_time, content[1], content[1]
    ds.AcquisitionDateTime = acquisition_datetime
    ds.AccessionNumber, ds.Modality = accession_number, modality
    ds.PresentationIntentType = presentation_intent
    ds.Manufacturer, ds.ManufacturerModelName = manufacturer or make, model
    ds.ReferringPhysicianName, ds.StudyDescription = "", "Mammographie de dépistage"
    ds.SeriesDescription = f"{laterality} {view}"
    ds.PatientName, ds.PatientID = patient_name, patient_id
    ds.PatientBirthDate, ds.PatientSex = birth_date, "F"
    if age := _age(birth_date, study_date):
        ds.PatientAge = age
    ds.BodyPartExamined = "BREAST"
    kvp, thickness, force = rng.uniform([26, 35, 60], [32, 65, 140]).round(1)
    ds.KVP, ds.BodyPartThickness, ds.CompressionForce = float(kvp), round(thickness), round(force)
    ds.DistanceSourceToDetector, ds.DetectorType = distance, detector_type
    ds.PositionerPrimaryAngle = 0 if view == "CC" else (45 if laterality == "R" else -45)
    ds.ImagerPixelSpacing = ds.PixelSpacing = [spacing, spacing]
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid or generate_uid(), series_uid or generate_uid()
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", order + 1, instance_number
    ds.PatientOrientation = PATIENT_ORIENTATION.get((laterality, view), "")
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.Rows, ds.Columns = arr.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, bits_stored, bits_stored - 1, 0
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1 if photometric == "MONOCHROME1" else -1
    ds.WindowCenter, ds.WindowWidth = _window(arr, maxval, photometric == "MONOCHROME1")
    ds.WindowCenterWidthExplanation, ds.VOILUTFunction = "NORMAL", "LINEAR"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.LossyImageCompression, ds.BurnedInAnnotation = "00", "NO"
    ds.PresentationLUTShape = "INVERSE" if photometric == "MONOCHROME1" else "IDENTITY"
    ds.ViewPosition = view
    if set_view_code and view in VIEW_CODES:
        item = Dataset()
        item.CodeValue, item.CodeMeaning = VIEW_CODES[view]
        item.CodingSchemeDesignator, item.ViewModifierCodeSequence = "SCT", []
        ds.ViewCodeSequence = [item]
    if set_image_laterality:
        ds.ImageLaterality = laterality
    ds.BreastImplantPresent, ds.QualityControlImage = "NO", "NO"

    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = sop_class, sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta.ImplementationVersionName = f"PYDICOM {pydicom.__version__}"[:16]
    if compress and min(arr.shape) < 32:  # openjpeg's 6 DWT resolutions need >= 32 px per side
        raise ValueError("JPEG 2000 needs at least 32x32 pixels; use compress=False for tiny images")
    if compress:
        ds.compress(JPEG2000Lossless, arr, generate_instance_uid=False)
    else:
        ds.PixelData = arr.tobytes()
    return ds


def write_mammogram(path: str | Path, **kwargs) -> Path:
    """``make_mammogram(**kwargs)`` saved as a DICOM Part 10 file at ``path`` (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    make_mammogram(**kwargs).save_as(path, enforce_file_format=True)
    return path


def make_exam_files(
    directory: str | Path,
    *,
    patient_id: str,
    patient_name: str,
    birth_date: str,
    study_date: str,
    accession_number: str,
    detector: str = "ge",
    seed: int = 0,
    compress: bool = True,
    views: tuple[str, ...] = ("RCC", "LCC", "RMLO", "LMLO"),
    **overrides,
) -> list[Path]:
    """Write one screening study (one series per view, e.g. "RCC", "LMLO") and return the paths.

    Extra keyword arguments are forwarded to :func:`make_mammogram` for every view.
    """
    common = dict(patient_id=patient_id, patient_name=patient_name, birth_date=birth_date)
    common.update(study_date=study_date, accession_number=accession_number)
    common.update(detector=detector, seed=seed, compress=compress)
    common.update(overrides, study_uid=overrides.get("study_uid") or generate_uid())
    stem = "".join(ch if ch.isalnum() else "_" for ch in accession_number) or "exam"
    paths = []
    for code in views:
        laterality, view = code[:1].upper(), code[1:].upper()
        path = Path(directory) / f"{stem}_{laterality}{view}.dcm"
        paths.append(write_mammogram(path, laterality=laterality, view=view, **common))
    return paths
