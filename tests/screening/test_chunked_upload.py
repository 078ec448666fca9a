"""Chunked, resumable browser uploads (screening/api_uploads.py): chunks in order only, resume from the server's
offset, and the assembled file goes through the one intake pipeline like every other way in."""

import datetime as dt
import hashlib
import io
import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage, storages
from django.test import Client
from django.urls import reverse

from screening.models import AuditEvent, DicomInstance, IngestFile
from screening.services.chunked_upload import (
    CHUNK_SIZE,
    OffsetMismatch,
    chunked_upload_append,
    chunked_upload_get,
    chunked_uploads_purge,
)
from screening.services.errors import ServiceError
from tests.factories import PASSWORD, PracticeFactory, draft_exam, exam_files, l1_of, staff_of

pytestmark = pytest.mark.django_db(transaction=True)
CHUNK = "application/offset+octet-stream"


@pytest.fixture
def exam():
    practice = PracticeFactory()
    return draft_exam(practice=practice, staff=staff_of(practice), l1=l1_of(practice))


@pytest.fixture
def staff_client(client, exam):
    assert client.login(username=exam.created_by.username, password=PASSWORD)
    return client


@pytest.fixture
def rcc(exam, tmp_path) -> Path:
    return next(p for p in exam_files(exam, tmp_path, views=("RCC",)))


def _create(client, exam, name, size):
    return client.post(
        reverse("api_exam_uploads", args=[exam.pk]),
        {"name": name, "size": size},
        content_type="application/json",
    )


def _patch(client, url, offset, data):
    return client.patch(url, data=data, content_type=CHUNK, headers={"Upload-Offset": str(offset)})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_file_sent_in_three_chunks_is_accepted_and_stored_byte_identical(staff_client, exam, rcc):
    data = rcc.read_bytes()
    assert 2 * CHUNK_SIZE < len(data) <= 3 * CHUNK_SIZE  # the synthetic view needs 3 chunks
    created = _create(staff_client, exam, f"CD/DICOM/{rcc.name}", len(data))
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["offset"], body["size"], body["chunk_size"]) == (0, len(data), CHUNK_SIZE)
    url = body["url"]
    assert url == reverse("api_exam_upload", args=[exam.pk, body["upload_id"]])

    for offset in (0, CHUNK_SIZE):
        response = _patch(staff_client, url, offset, data[offset : offset + CHUNK_SIZE])
        assert response.status_code == 200, response.content
        assert response.json()["offset"] == offset + CHUNK_SIZE
        assert response["Upload-Offset"] == str(offset + CHUNK_SIZE)
    final = _patch(staff_client, url, 2 * CHUNK_SIZE, data[2 * CHUNK_SIZE :])
    assert final.status_code == 201, final.content
    status = final.json()
    assert status["original_name"] == rcc.name  # the last path component only
    assert (status["state"], status["state_label"], status["slot"]) == ("ACCEPTED", "Accepté", "RCC")
    assert {"id", "reason_code", "reason"} <= set(status)

    instance = DicomInstance.objects.get(exam=exam, slot="RCC")
    assert instance.sha256 == _sha256(data)
    originals = storages["originals"] if "originals" in django_settings.STORAGES else default_storage
    with originals.open(instance.file, "rb") as fh:
        assert _sha256(fh.read()) == _sha256(data)
    assert AuditEvent.objects.filter(exam=exam, action=AuditEvent.Action.FILE_UPLOAD).count() == 1

    # the upload keeps only its answer: asking again gives the file's status, chunks are gone
    again = staff_client.get(url)
    assert again.status_code == 200
    assert again.json()["offset"] == len(data) and again.json()["file"]["state"] == "ACCEPTED"
    folder = f"uploads/{body['upload_id']}"
    assert not [n for n in default_storage.listdir(folder)[1] if n.startswith(("part-", "tmp-"))]
    # a late retry of the last chunk changes nothing
    late = _patch(staff_client, url, 2 * CHUNK_SIZE, data[2 * CHUNK_SIZE :])
    assert late.status_code == 409 and late.json()["offset"] == len(data)
    assert IngestFile.objects.filter(exam=exam).count() == 1


def test_a_chunk_at_the_wrong_offset_is_refused_with_the_current_offset(staff_client, exam, rcc):
    data = rcc.read_bytes()
    url = _create(staff_client, exam, rcc.name, len(data)).json()["url"]
    assert _patch(staff_client, url, 0, data[:CHUNK_SIZE]).status_code == 200

    for wrong in (0, 2 * CHUNK_SIZE, 17):  # sent twice, skipping one, anywhere
        response = _patch(staff_client, url, wrong, data[wrong : wrong + 1024])
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "offset_mismatch"
        assert response.json()["offset"] == CHUNK_SIZE
        assert response["Upload-Offset"] == str(CHUNK_SIZE)
    assert staff_client.get(url).json()["offset"] == CHUNK_SIZE
    assert not IngestFile.objects.exists()


def test_resuming_after_a_lost_chunk_asks_the_offset_and_sends_the_rest(staff_client, exam, rcc):
    data = rcc.read_bytes()
    url = _create(staff_client, exam, rcc.name, len(data)).json()["url"]
    assert _patch(staff_client, url, 0, data[:CHUNK_SIZE]).status_code == 200
    # the second chunk is "lost": the browser never knows whether it arrived, so it asks the server
    head = staff_client.head(url)
    assert head.status_code == 200 and head["Upload-Offset"] == str(CHUNK_SIZE)
    assert head["Upload-Length"] == str(len(data)) and head["Cache-Control"] == "no-store"
    offset = staff_client.get(url).json()["offset"]
    assert offset == CHUNK_SIZE
    while offset < len(data):
        response = _patch(staff_client, url, offset, data[offset : offset + CHUNK_SIZE])
        assert response.status_code in (200, 201), response.content
        offset = min(offset + CHUNK_SIZE, len(data))
    assert response.status_code == 201 and response.json()["state"] == "ACCEPTED"
    assert DicomInstance.objects.get(exam=exam).sha256 == _sha256(data)


def test_a_chunk_cut_short_by_a_dropped_connection_is_discarded(staff_client, exam, rcc):
    """The body ends before its announced length (the connection dropped): nothing of that chunk is kept."""
    data = rcc.read_bytes()
    upload_id = _create(staff_client, exam, rcc.name, len(data)).json()["upload_id"]
    with pytest.raises(ServiceError) as cut:
        chunked_upload_append(
            exam=exam, actor=exam.created_by, upload_id=upload_id, offset=0, length=CHUNK_SIZE,
            body=io.BytesIO(data[:1000]),
        )  # fmt: skip
    assert cut.value.code == "incomplete_chunk"
    assert chunked_upload_get(exam=exam, actor=exam.created_by, upload_id=upload_id).offset == 0
    assert default_storage.listdir(f"uploads/{upload_id}")[1] == ["manifest.json"]


def test_two_requests_racing_for_one_offset_keep_the_chunk_once(staff_client, exam, rcc):
    """A retry sent while the first try is still being read: the second to finish is told where to go on."""
    data = rcc.read_bytes()
    upload_id = _create(staff_client, exam, rcc.name, len(data)).json()["upload_id"]
    append = {
        "exam": exam,
        "actor": exam.created_by,
        "upload_id": upload_id,
        "offset": 0,
        "length": CHUNK_SIZE,
    }

    class SlowBody(io.BytesIO):
        """The first try's body: the retry gets in while the first 64 KiB are being read."""

        raced = False

        def read(self, size=-1):
            if not self.raced:
                self.raced = True
                chunked_upload_append(**append, body=io.BytesIO(data[:CHUNK_SIZE]))
            return super().read(size)

    with pytest.raises(OffsetMismatch) as late:
        chunked_upload_append(**append, body=SlowBody(data[:CHUNK_SIZE]))
    assert late.value.offset == CHUNK_SIZE
    parts = [n for n in default_storage.listdir(f"uploads/{upload_id}")[1] if n != "manifest.json"]
    assert parts == [f"part-{0:012d}"]
    assert (
        staff_client.get(reverse("api_exam_upload", args=[exam.pk, upload_id])).json()["offset"] == CHUNK_SIZE
    )


def test_a_file_over_the_limit_is_refused_before_any_byte_is_sent(staff_client, exam, settings):
    settings.MAX_DICOM_FILE_BYTES = 10 * 1024 * 1024
    response = _create(staff_client, exam, "enorme.dcm", 10 * 1024 * 1024 + 1)
    assert response.status_code == 400
    assert response.json()["code"] == "file_too_large"
    assert "trop volumineux" in response.json()["detail"]
    assert _create(staff_client, exam, "vide.dcm", 0).json()["code"] == "empty_file"


def test_a_chunk_beyond_the_announced_size_is_refused(staff_client, exam):
    url = _create(staff_client, exam, "petit.dcm", 10).json()["url"]
    response = _patch(staff_client, url, 0, b"x" * 11)
    assert response.status_code == 400 and response.json()["code"] == "invalid_chunk"
    assert staff_client.get(url).json()["offset"] == 0


def test_another_practice_sees_neither_the_exam_nor_the_upload(client, exam, rcc):
    other = PracticeFactory()
    owner, stranger = exam.created_by, staff_of(other)
    assert client.login(username=owner.username, password=PASSWORD)
    url = _create(client, exam, rcc.name, rcc.stat().st_size).json()["url"]
    client.logout()

    assert client.login(username=stranger.username, password=PASSWORD)
    assert _create(client, exam, rcc.name, rcc.stat().st_size).status_code == 404
    assert client.get(url).status_code == 404
    assert _patch(client, url, 0, rcc.read_bytes()[:CHUNK_SIZE]).status_code == 404
    # the stranger's own exam does not open someone else's upload either
    own = draft_exam(practice=other, staff=stranger, l1=l1_of(other))
    foreign = url.replace(f"/examens/{exam.pk}/", f"/examens/{own.pk}/")
    assert client.get(foreign).status_code == 404
    assert _patch(client, foreign, 0, b"x").status_code == 404
    assert not IngestFile.objects.exists()


def test_anonymous_and_csrf_less_requests_are_refused(client, exam, rcc):
    url = reverse("api_exam_uploads", args=[exam.pk])
    assert client.post(url, {"name": "a.dcm", "size": 10}, content_type="application/json").status_code == 403
    strict = Client(enforce_csrf_checks=True)
    assert strict.login(username=exam.created_by.username, password=PASSWORD)
    response = strict.post(url, {"name": "a.dcm", "size": 10}, content_type="application/json")
    assert response.status_code == 403


def test_a_finalised_non_dicom_file_is_refused_with_a_french_reason(staff_client, exam):
    data = b"%PDF-1.4\n% compte rendu, pas une image\n" * 200
    url = _create(staff_client, exam, "compte-rendu.pdf", len(data)).json()["url"]
    response = _patch(staff_client, url, 0, data)
    assert response.status_code == 201, response.content
    status = response.json()
    assert (status["state"], status["state_label"], status["reason_code"]) == (
        "REFUSED",
        "Refusé",
        "not_dicom",
    )
    assert "n'est pas un fichier DICOM" in status["reason"]
    assert IngestFile.objects.get(pk=status["id"]).state == IngestFile.State.REFUSED


def test_abandoned_uploads_are_purged_after_a_day(staff_client, exam, rcc):
    data = rcc.read_bytes()
    old = _create(staff_client, exam, rcc.name, len(data)).json()
    _patch(staff_client, old["url"], 0, data[:CHUNK_SIZE])
    fresh = _create(staff_client, exam, rcc.name, len(data)).json()
    day_ago = (dt.datetime.now() - dt.timedelta(hours=25)).timestamp()
    folder = Path(default_storage.path(f"uploads/{old['upload_id']}"))
    for path in folder.iterdir():
        os.utime(path, (day_ago, day_ago))

    assert chunked_uploads_purge(older_than=dt.timedelta(hours=24)) == 1
    assert not folder.exists()
    assert staff_client.get(old["url"]).status_code == 404
    assert staff_client.get(fresh["url"]).status_code == 200
    assert chunked_uploads_purge(older_than=dt.timedelta(hours=24)) == 0
