"""WADO-RS of the workstation: each view's HTJ2K lossless frame decodes to exactly the stored values of the
original, its metadata is the original's header, both scoped to the reader's assignments and audited; the
WebP preview stays under 300 kB (spec reading-workstation §0, §5 G2, §6 P6)."""

import hashlib
import io
import tempfile
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from django.core.files.storage import default_storage, storages
from django.core.management import call_command
from PIL import Image
from pydicom import dcmread

from screening.dicom.synth import make_mammogram
from screening.models import AuditEvent, Rendition
from screening.services.renditions import HTJ2K_LOSSLESS_RPCL, renditions_rebuild
from tests.factories import (
    PASSWORD,
    PracticeFactory,
    SiteFactory,
    draft_exam,
    l1_of,
    reader_at,
    staff_of,
    submitted_exam,
    upload,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]  # ingest runs on commit


@pytest.fixture
def world(client):
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    reader = reader_at(SiteFactory())
    exam = submitted_exam(practice=practice, staff=staff, l1=l1, compress=True)  # JPEG 2000 originals
    client.login(username=reader.username, password=PASSWORD)
    return {"reader": reader, "exam": exam, "practice": practice, "staff": staff, "l1": l1}


def _frame(response) -> tuple[str, bytes]:
    """The single part of a multipart/related answer: its Content-Type and its bytes."""
    body = b"".join(response.streaming_content)
    boundary = response["Content-Type"].split("boundary=")[1].strip()
    part = body.split(f"--{boundary}".encode())[1]
    headers, payload = part.split(b"\r\n\r\n", 1)
    content_type = next(h for h in headers.decode().split("\r\n") if h.lower().startswith("content-type"))
    return content_type.split(":", 1)[1].strip(), payload[: -len(b"\r\n")]


def _original_pixels(instance) -> np.ndarray:
    with storages["originals"].open(instance.file, "rb") as fh:
        return dcmread(fh).pixel_array


def test_the_frame_decodes_to_the_originals_stored_values_and_matches_the_served_hash(client, world):
    case = client.get(f"/lecture/api/cas/{world['exam'].pk}/").json()
    for slot, view in case["views"].items():
        wado = view["wado"]
        assert wado["transfer_syntax"] == HTJ2K_LOSSLESS_RPCL
        response = client.get(wado["frames_url"])
        assert response.status_code == 200, slot
        assert response["Content-Type"].startswith("multipart/related")
        assert f"transfer-syntax={HTJ2K_LOSSLESS_RPCL}" in response["Content-Type"]
        assert "immutable" in response["Cache-Control"] and "private" in response["Cache-Control"]
        part_type, payload = _frame(response)
        assert part_type == f"application/octet-stream; transfer-syntax={HTJ2K_LOSSLESS_RPCL}"
        assert int(response["Content-Length"]) > len(payload)
        decoded = imagecodecs.htj2k_decode(payload)
        original = _original_pixels(world["exam"].instances.get(sop_uid=view["sop_uid"]))
        assert decoded.shape == original.shape and np.array_equal(decoded, original), slot
        digest = hashlib.sha256(original.astype("<u2").tobytes()).hexdigest()
        assert wado["pixel_sha256"] == digest == response["X-L2-Pixel-SHA256"]
        # RPCL progression (COD marker, progression byte), reversible: a real lossless HTJ2K codestream.
        cod = payload.find(b"\xff\x52")
        assert payload[:2] == b"\xff\x4f" and payload[cod + 5] == 2
    audits = AuditEvent.objects.filter(exam=world["exam"], object_ref__startswith="trame HTJ2K")
    assert audits.count() == 4


def test_metadata_is_the_original_header_without_pixels_and_names_the_served_syntax(client, world):
    view = client.get(f"/lecture/api/cas/{world['exam'].pk}/").json()["views"]["LMLO"]
    response = client.get(view["wado"]["metadata_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom+json"
    (meta,) = response.json()
    assert meta == view["wado"]["metadata"]
    assert meta["00080018"]["Value"] == [view["sop_uid"]]
    assert meta["00280010"]["Value"] == [view["rows"]] and meta["00280011"]["Value"] == [view["columns"]]
    assert meta["00020010"]["Value"] == [HTJ2K_LOSSLESS_RPCL]
    assert "7FE00010" not in meta and "00181164" in meta  # ImagerPixelSpacing kept for the scale


def test_frames_of_an_exam_not_assigned_to_the_reader_are_not_found(client, world):
    other_reader = reader_at(SiteFactory())
    url = client.get(f"/lecture/api/cas/{world['exam'].pk}/").json()["views"]["RCC"]["wado"]["frames_url"]
    client.logout()
    client.login(username=other_reader.username, password=PASSWORD)
    assert client.get(url).status_code == 404
    assert client.get(url.replace("/frames/1", "/metadata")).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_a_wrong_frame_number_or_uid_mismatch_is_a_clear_404(client, world):
    wado = client.get(f"/lecture/api/cas/{world['exam'].pk}/").json()["views"]["RCC"]["wado"]
    response = client.get(wado["frames_url"].replace("/frames/1", "/frames/2"))
    assert response.status_code == 404 and response.json()["code"] == "frame_out_of_range"
    wrong_study = wado["frames_url"].replace("/studies/", "/studies/9.9.", 1)
    assert client.get(wrong_study).status_code == 404


def test_preview_is_a_small_webp_and_renditions_rebuild_from_the_original(client, world):
    instance = world["exam"].instances.get(slot="RCC")
    preview = instance.renditions.get(kind=Rendition.Kind.PREVIEW)
    response = client.get(f"/images/{instance.pk}/apercu.webp")
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).format == "WEBP"
    assert preview.size_bytes < 300_000
    before = instance.renditions.get(kind=Rendition.Kind.HTJ2K)
    renditions_rebuild(instance=instance)
    after = instance.renditions.get(kind=Rendition.Kind.HTJ2K)
    assert after.pk != before.pk and after.pixel_sha256 == before.pixel_sha256
    assert default_storage.exists(after.file)
    assert instance.renditions.filter(kind=Rendition.Kind.PREVIEW).count() == 1


def test_full_size_signed_and_12_bit_images_round_trip_exactly(world):
    """A full-field 4096 × 3328 detector image and a signed one: the frame is the stored values, bit for bit."""
    staff = world["staff"]
    exam = draft_exam(practice=world["practice"], staff=staff, l1=world["l1"])
    rng = np.random.default_rng(5)
    big = rng.integers(0, 4096, size=(4096, 3328), dtype=np.uint16)
    signed = rng.integers(-2000, 2000, size=(256, 200), dtype=np.int16)
    p = exam.participant
    with tempfile.TemporaryDirectory() as tmp:
        for index, pixels in enumerate((big, signed)):
            path = Path(tmp) / f"extra{index}.dcm"
            ds = make_mammogram(
                patient_id=p.programme_id, patient_name=f"{p.last_name}^{p.first_name}",
                birth_date=p.birth_date.strftime("%Y%m%d"),
                study_date=exam.mammogram_date.strftime("%Y%m%d"), accession_number=f"ACC{exam.pk}",
                laterality="R", view="CC", pixels=np.abs(pixels).astype(np.uint16), compress=False,
                seed=index, instance_number=10 + index,
            )  # fmt: skip
            if pixels.dtype == np.int16:  # two's complement stored values, PixelRepresentation 1
                ds.PixelRepresentation, ds.PixelData = 1, pixels.tobytes()
            ds.save_as(path, enforce_file_format=True)
            record = upload(exam, path, staff)
            record.refresh_from_db()
            assert record.state == "ACCEPTED", (record.state, record.reason_code, record.reason)
    for pixels in (big, signed):
        rendition = Rendition.objects.filter(kind=Rendition.Kind.HTJ2K, width=pixels.shape[1]).latest("pk")
        with default_storage.open(rendition.file, "rb") as fh:
            decoded = imagecodecs.htj2k_decode(fh.read())
        assert decoded.dtype == pixels.dtype and np.array_equal(decoded, pixels)
        assert rendition.size_bytes < pixels.nbytes


def test_rebuild_renditions_command_fills_what_is_missing(world):
    exam = world["exam"]
    Rendition.objects.filter(instance__exam=exam, kind=Rendition.Kind.HTJ2K).delete()
    out = io.StringIO()
    call_command("rebuild_renditions", stdout=out)
    assert '"rebuilt": 4' in out.getvalue() and '"failed": []' in out.getvalue()
    assert Rendition.objects.filter(instance__exam=exam, kind=Rendition.Kind.HTJ2K).count() == 4
    out = io.StringIO()
    call_command("rebuild_renditions", stdout=out)
    assert '"rebuilt": 0' in out.getvalue()
