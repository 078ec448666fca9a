"""Display renditions from the correct grey-scale pipeline (workstation spec §5 G1).

stored values → Modality LUT → VOI (header window or VOI LUT) → MONOCHROME1 / INVERSE → 8 bits.
The original is never modified; renditions can always be rebuilt from it.
"""

import math

import numpy as np
from PIL import Image
from pydicom import Dataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut


def _first(value: object) -> float | None:
    if value is None:
        return None
    try:
        return float(value[0]) if hasattr(value, "__len__") and not isinstance(value, str) else float(value)
    except (TypeError, ValueError, IndexError):
        return None


def header_window(ds: Dataset, modality_values: np.ndarray) -> tuple[float, float]:
    """The first header WC/WW pair, else the min/max of the image (only without a header VOI)."""
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is not None and width is not None and width >= 1:
        return center, width
    low, high = float(modality_values.min()), float(modality_values.max())
    return (low + high) / 2, max(high - low, 1.0)


def window_to_unit(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """PS3.3 C.11.2.1.2/3 windowing to the 0..1 range."""
    function = function.upper()
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR_EXACT":
        return np.clip((values - (center - width / 2)) / width, 0.0, 1.0)
    return np.clip(((values - (center - 0.5)) / (width - 1)) + 0.5, 0.0, 1.0)


def to_display(ds: Dataset, pixels: np.ndarray) -> tuple[np.ndarray, float, float]:
    """8-bit display values for one frame, and the window used.

    Stored values are integers of at most 16 bits: the whole pipeline is computed once per possible stored
    value (a lookup table of ≤ 65,536 entries) and applied by indexing — the same output as computing it
    per pixel, several times faster on a 13-Mpx mammogram.
    """
    if pixels.dtype.kind == "u" and pixels.dtype.itemsize <= 2 and "VOILUTSequence" not in ds:
        table = np.arange(int(pixels.max()) + 1, dtype=pixels.dtype)
        lut, center, width = _pipeline(ds, table, window_from=pixels)
        return lut[pixels], center, width
    return _pipeline(ds, pixels, window_from=pixels)


def _pipeline(ds: Dataset, pixels: np.ndarray, *, window_from: np.ndarray) -> tuple[np.ndarray, float, float]:
    values = apply_modality_lut(pixels, ds).astype(np.float32)
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is None or width is None or width < 1:  # auto window from the image, never the table's range
        center, width = header_window(Dataset(), apply_modality_lut(window_from, ds).astype(np.float32))
    if "VOILUTSequence" in ds and "WindowCenter" not in ds:
        lut_values = apply_voi_lut(pixels, ds).astype(np.float32)
        low, high = float(lut_values.min()), float(lut_values.max())
        unit = (lut_values - low) / max(high - low, 1.0)
    else:
        unit = window_to_unit(values, center, width, str(ds.get("VOILUTFunction", "LINEAR")))
    inverse = str(ds.get("PresentationLUTShape", "")).upper() == "INVERSE"
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1" or inverse:
        unit = 1.0 - unit
    return (unit * 255.0 + 0.5).astype(np.uint8), center, width


def reduce_to(image: Image.Image, max_height: int) -> Image.Image:
    """Area-averaged minification (never point sampling: calcifications must not alias)."""
    if image.height <= max_height:
        return image
    factor = math.ceil(image.height / max_height)
    reduced = image.reduce(factor) if factor > 1 else image
    if reduced.height > max_height:
        width = round(reduced.width * max_height / reduced.height)
        reduced = reduced.resize((width, max_height), Image.Resampling.BOX)
    return reduced


def breast_box(display: np.ndarray) -> list[float] | None:
    """Bounding box of the breast in a display image (tissue bright), as fractions [x0, y0, x1, y1].

    Rows and columns where more than 2 % of the pixels are above a low threshold; labels and burnt-in
    text are too thin to pass. None when nothing stands out (a blank image).
    """
    if display.size == 0:
        return None
    threshold = max(16, int(np.percentile(display, 99) * 0.08))
    mask = display > threshold
    rows = np.flatnonzero(mask.mean(axis=1) > 0.02)
    cols = np.flatnonzero(mask.mean(axis=0) > 0.02)
    if rows.size == 0 or cols.size == 0:
        return None
    height, width = display.shape
    return [
        round(cols[0] / width, 4),
        round(rows[0] / height, 4),
        round((cols[-1] + 1) / width, 4),
        round((rows[-1] + 1) / height, 4),
    ]
