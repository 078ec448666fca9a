"""Derived images of a stored original, for the reading workstation (spec reading-workstation §0, §5 G2/G3):

- HTJ2K: the stored pixel values re-encoded losslessly in HTJ2K RPCL (1.2.840.10008.1.2.4.202), which the
  browser decodes several times faster than JPEG 2000; its `pixel_sha256` lets the client check what it decoded;
  the instance's DICOM JSON header rides along for WADO-RS /metadata and the case JSON.
- PREVIEW: an 8-bit WebP under 300 kB that paints first and is then replaced in place by the lossless frame.

Originals are never touched: every rendition can be rebuilt from them (`renditions_rebuild`)."""

import hashlib
import io
import logging

import imagecodecs
import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from screening.dicom.render import reduce_to, to_display
from screening.models import DicomInstance, Rendition

log = logging.getLogger(__name__)

HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202"
PREVIEW_HEIGHT = 1536  # a 4-up viewport on a 5 Mpx screen is ~1,000 device px high
PREVIEW_QUALITY = 80
# Header elements the viewer never needs and that may be large or identifying beyond the case's own data.
_HEADER_SKIP = {Tag(0x7FE0, 0x0010), Tag(0x7FE0, 0x0008), Tag(0x7FE0, 0x0009), Tag(0x0088, 0x0200)}
_INLINE_BINARY_MAX = 64 * 1024


def header_json(ds: Dataset) -> dict:
    """DICOM JSON (PS3.18 F.2) of the header without pixel data, private or overlay bulk, for WADO-RS."""
    header = Dataset()
    for elem in ds:
        if elem.tag in _HEADER_SKIP or elem.tag.is_private or 0x6000 <= elem.tag.group <= 0x60FF:
            continue
        if isinstance(elem.value, bytes) and len(elem.value) > _INLINE_BINARY_MAX:
            continue
        header.add(elem)
    data = header.to_json_dict(bulk_data_threshold=_INLINE_BINARY_MAX * 2, bulk_data_element_handler=None)
    data["00020010"] = {"vr": "UI", "Value": [HTJ2K_LOSSLESS_RPCL]}
    return data


def pixel_sha256(pixels: np.ndarray) -> str:
    """SHA-256 of the stored values as little-endian integers of their own width (what the browser decodes)."""
    return hashlib.sha256(
        np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<")).tobytes()
    ).hexdigest()


def _save(instance: DicomInstance, name: str, payload: bytes, written: list) -> str:
    stored = default_storage.save(f"renditions/{instance.sop_uid}/{name}", ContentFile(payload))
    written.append((default_storage, stored))
    return stored


def rendition_htj2k_build(
    *, instance: DicomInstance, ds: Dataset, pixels: np.ndarray, written: list
) -> Rendition:
    """Encode the stored values losslessly (reversible 5/3, RPCL) and prove it by decoding them back."""
    if pixels.dtype.kind not in "ui" or pixels.dtype.itemsize > 2:
        pixels = pixels.astype(np.int16 if int(ds.get("PixelRepresentation", 0)) else np.uint16)
    encoded = bytes(imagecodecs.htj2k_encode(np.ascontiguousarray(pixels), reversible=True))
    digest = pixel_sha256(pixels)
    if pixel_sha256(imagecodecs.htj2k_decode(encoded).astype(pixels.dtype, copy=False)) != digest:
        raise ValueError(f"HTJ2K round trip differs for {instance.sop_uid}")  # never serve a lossy "lossless"
    name = _save(instance, "frame.j2c", encoded, written)
    return Rendition.objects.create(
        instance=instance, kind=Rendition.Kind.HTJ2K, file=name, width=int(pixels.shape[1]),
        height=int(pixels.shape[0]), window_center=0, window_width=0, pixel_sha256=digest,
        metadata=header_json(ds), size_bytes=len(encoded),
    )  # fmt: skip


def rendition_preview_build(
    *, instance: DicomInstance, image: Image.Image, center: float, width: float, written: list
) -> Rendition:
    reduced = reduce_to(image, PREVIEW_HEIGHT)
    buffer = io.BytesIO()
    reduced.save(buffer, format="WEBP", quality=PREVIEW_QUALITY, method=2)
    name = _save(instance, "preview.webp", buffer.getvalue(), written)
    return Rendition.objects.create(
        instance=instance, kind=Rendition.Kind.PREVIEW, file=name, width=reduced.width,
        height=reduced.height, window_center=center, window_width=width, size_bytes=buffer.tell(),
    )  # fmt: skip


def workstation_renditions_build(
    *, instance: DicomInstance, ds: Dataset, pixels: np.ndarray, written: list
) -> None:
    """The workstation's renditions of a single-frame image; multi-frame (tomosynthesis) keeps its original."""
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        return
    rendition_htj2k_build(instance=instance, ds=ds, pixels=pixels, written=written)


def renditions_rebuild(*, instance: DicomInstance, kinds: set[str] | None = None) -> list[str]:
    """Rebuild the workstation renditions of one instance from its original (replacing stale rows)."""
    kinds = kinds or {Rendition.Kind.HTJ2K, Rendition.Kind.PREVIEW}
    with storages["originals"].open(instance.file, "rb") as fh:
        ds = dcmread(fh)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if frames > 1:
            ds.pixel_array_options(index=frames // 2)
        pixels = ds.pixel_array
    old = list(instance.renditions.filter(kind__in=kinds))
    for item in old:
        default_storage.delete(item.file)
        item.delete()
    written: list = []
    if Rendition.Kind.PREVIEW in kinds:
        display, center, width = to_display(ds, pixels)
        rendition_preview_build(
            instance=instance, image=Image.fromarray(display), center=center, width=width, written=written
        )
    if Rendition.Kind.HTJ2K in kinds:
        workstation_renditions_build(instance=instance, ds=ds, pixels=pixels, written=written)
    return sorted(kinds)
