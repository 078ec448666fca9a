"""DICOMweb with practice tokens: STOW-RS, QIDO-RS, WADO-RS, tenancy and the streaming multipart reader."""

import hashlib
import io
import uuid

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.http import parse_header_parameters
from pydicom.uid import generate_uid

from screening.dicom.synth import make_exam_files, write_mammogram
from screening.dicomweb.multipart import MultipartError, iter_parts
from screening.models import AuditEvent, DicomInstance, DicomStudy, IngestFile
from screening.services.tokens import api_token_issue
from tests.factories import PracticeFactory

pytestmark = pytest.mark.django_db(transaction=True)
SMALL = np.tile(np.arange(64, dtype=np.uint16) * 40, (80, 1))
DICOM = 'multipart/related; type="application/dicom"; boundary={}'


@pytest.fixture
def tokens():
    practice, other = PracticeFactory(code="CAB-STOW"), PracticeFactory(code="CAB-AUTRE")
    return {
        "practice": practice,
        "raw": api_token_issue(practice=practice, name="PACS du cabinet")[1],
        "other": api_token_issue(practice=other, name="PACS autre")[1],
    }


def auth(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def study_files(
    tmp_path, *, patient_id="PID-1", date="20260105", accession="ACC-1", views=("RCC", "LCC", "RMLO", "LMLO")
):
    folder = tmp_path / uuid.uuid4().hex
    return [
        p.read_bytes()
        for p in make_exam_files(
            folder,
            patient_id=patient_id,
            patient_name="MARTIN^Jeanne",
            birth_date="19600101",
            study_date=date,
            accession_number=accession,
            compress=False,
            pixels=SMALL,
            views=views,
        )
    ]


def multipart(parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b"".join(
        f"--{boundary}\r\nContent-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n" for ctype, data in parts
    )
    return body + f"--{boundary}--\r\n".encode(), boundary


def stow(client, raw, files, *, ctype="application/dicom", url=None, extra=()):
    body, boundary = multipart([(ctype, data) for data in files] + list(extra))
    return client.generic(
        "POST", url or reverse("dicomweb:studies"), body, content_type=DICOM.format(boundary), **auth(raw)
    )


def seq(body: dict, tag: str) -> list[dict]:
    return body.get(tag, {}).get("Value", [])


def value(item: dict, tag: str):
    return item[tag]["Value"][0]


def test_stow_four_images_and_a_non_dicom_part_gives_202_with_reasons(client, tokens, tmp_path):
    files = study_files(tmp_path)
    response = stow(client, tokens["raw"], [*files, b"ceci n'est pas un DICOM"])
    assert response.status_code == 202, response.content
    assert response["Content-Type"].startswith("application/dicom+json")
    body = response.json()
    referenced, failed = seq(body, "00081199"), seq(body, "00081198")
    assert len(referenced) == 4 and len(failed) == 1
    study_uid = DicomStudy.objects.get().study_uid
    assert value(body, "00081190").endswith(f"/dicomweb/studies/{study_uid}")
    for item in referenced:
        assert value(item, "00081150") == "1.2.840.10008.5.1.4.1.1.1.2"
        assert f"/instances/{value(item, '00081155')}" in value(item, "00081190")
    assert value(failed[0], "00081197") == 0xC000
    assert value(failed[0], "00090010") == "L2PLATFORM"
    assert value(failed[0], "00091001") == "not_dicom"
    assert "DICOM" in value(failed[0], "00091002")
    records = IngestFile.objects.all()
    assert {(r.source, r.sender) for r in records} == {(IngestFile.Source.STOW, "PACS du cabinet")}
    assert DicomInstance.objects.filter(series__study__practice=tokens["practice"]).count() == 4
    assert DicomStudy.objects.get().exam is None  # no exam yet: waits in the practice's inbox

    again = stow(client, tokens["raw"], files[:1])
    assert again.status_code == 200
    assert value(seq(again.json(), "00081199")[0], "00091001") == "duplicate"


def test_stow_all_failed_is_409_and_bad_requests_are_refused(client, tokens, tmp_path):
    ct = write_mammogram(tmp_path / "ct.dcm", patient_id="P", patient_name="A^B", birth_date="19600101",
                         study_date="20260105", accession_number="A", modality="CT", compress=False, pixels=SMALL)  # fmt: skip
    response = stow(client, tokens["raw"], [ct.read_bytes()], extra=[("text/plain", b"bonjour")])
    assert response.status_code == 409
    reasons = {value(i, "00091001"): value(i, "00081197") for i in seq(response.json(), "00081198")}
    assert reasons == {"wrong_modality": 0x0122, "part_not_dicom": 0xC000}

    url = reverse("dicomweb:studies")
    wrong = client.post(url, b"{}", content_type="application/json", **auth(tokens["raw"]))
    assert (wrong.status_code, wrong.json()["code"]) == (415, "unsupported_media_type")
    json_parts = client.generic("POST", url, b"", content_type='multipart/related; type="application/dicom+json"; boundary=x', **auth(tokens["raw"]))  # fmt: skip
    assert json_parts.status_code == 415
    garbage = client.generic("POST", url, b"garbage", content_type=DICOM.format("xyz"), **auth(tokens["raw"]))
    assert (garbage.status_code, garbage.json()["code"]) == (400, "multipart_invalid")
    body, boundary = multipart([])
    assert (
        client.generic("POST", url, body, content_type=DICOM.format(boundary), **auth(tokens["raw"])).json()[
            "code"
        ]
        == "no_parts"
    )
    anonymous = client.generic("POST", url, body, content_type=DICOM.format(boundary))
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    assert client.get(url, HTTP_AUTHORIZATION="Bearer l2p_faux").status_code == 401
    assert client.delete(url, **auth(tokens["raw"])).status_code == 405


def test_stow_limits_part_size_and_checks_the_target_study(client, tokens, tmp_path, settings):
    files = study_files(tmp_path, views=("RCC", "LCC"))
    other_study = reverse("dicomweb:study", args=[generate_uid()])
    mismatch = stow(client, tokens["raw"], files[:1], url=other_study)
    assert mismatch.status_code == 409
    assert value(seq(mismatch.json(), "00081198")[0], "00081197") == 0xA900
    settings.MAX_DICOM_FILE_BYTES = len(files[0]) - 1
    too_large = stow(client, tokens["raw"], [files[0], b"x" * 10])
    failed = {value(i, "00091001"): value(i, "00081197") for i in seq(too_large.json(), "00081198")}
    assert failed["file_too_large"] == 0xA700
    assert DicomInstance.objects.count() == 0


def test_qido_filters_and_tenancy(client, tokens, tmp_path):
    assert stow(client, tokens["raw"], study_files(tmp_path, patient_id="PID-1", date="20260105", accession="ACC-1")).status_code == 200  # fmt: skip
    assert stow(client, tokens["raw"], study_files(tmp_path, patient_id="PID-2", date="20260220", accession="ACC-2", views=("RCC",))).status_code == 200  # fmt: skip
    first = DicomStudy.objects.get(accession_number="ACC-1").study_uid
    url = reverse("dicomweb:studies")

    def uids(**params):
        response = client.get(url, params, **auth(tokens["raw"]))
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("application/dicom+json")
        return [value(study, "0020000D") for study in response.json()]

    assert len(uids()) == 2
    assert uids(PatientID="PID-1") == [first]
    assert uids(**{"00100020": "PID-1"}) == [first]
    assert len(uids(PatientID="PID-*")) == 2 and len(uids(PatientName="martin^j?anne")) == 2
    assert uids(StudyDate="20260105") == [first]
    assert uids(StudyDate="20260101-20260131") == [first]
    assert len(uids(StudyDate="20260101-")) == 2 and uids(StudyDate="-20260110") == [first]
    assert uids(AccessionNumber="ACC-1") == [first]
    assert uids(StudyInstanceUID=first) == [first]
    assert len(uids(ModalitiesInStudy="MG")) == 2 and uids(ModalitiesInStudy="CT") == []
    assert len(uids(limit="1")) == 1 and len(uids(limit="1", offset="1")) == 1
    bad = client.get(url, {"StudyDate": "05/01/2026"}, **auth(tokens["raw"]))
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_query")

    study = client.get(url, {"PatientID": "PID-1"}, **auth(tokens["raw"])).json()[0]
    assert value(study, "00201208") == 4 and value(study, "00201206") == 4
    assert study["00080061"]["Value"] == ["MG"] and value(study, "00100010") == {
        "Alphabetic": "MARTIN^Jeanne"
    }
    series = client.get(reverse("dicomweb:series_search", args=[first]), **auth(tokens["raw"])).json()
    assert len(series) == 4 and {value(s, "00080060") for s in series} == {"MG"}
    series_uid = value(series[0], "0020000E")
    instances = client.get(
        reverse("dicomweb:instances_search", args=[first, series_uid]), **auth(tokens["raw"])
    )
    assert len(instances.json()) == 1 and value(instances.json()[0], "00280010") == 80

    other = tokens["other"]
    assert client.get(url, **auth(other)).json() == []
    assert client.get(url, {"StudyInstanceUID": first}, **auth(other)).json() == []
    assert client.get(reverse("dicomweb:series_search", args=[first]), **auth(other)).status_code == 404


def _parts(response) -> list[tuple[dict, bytes]]:
    _media, params = parse_header_parameters(response["Content-Type"])
    body = b"".join(response.streaming_content)
    parts = []
    for part in iter_parts(io.BytesIO(body), params["boundary"], max_part_bytes=10**9):
        parts.append((part.headers, part.file.read()))
    return parts


def test_wado_returns_the_stored_original_byte_for_byte_and_audits(client, tokens, tmp_path):
    files = study_files(tmp_path)
    stow(client, tokens["raw"], files)
    instance = DicomInstance.objects.select_related("series__study").get(slot="LMLO")
    study, series = instance.series.study.study_uid, instance.series.series_uid
    url = reverse("dicomweb:instance", args=[study, series, instance.sop_uid])
    response = client.get(
        url, HTTP_ACCEPT='multipart/related; type="application/dicom"', **auth(tokens["raw"])
    )
    assert response.status_code == 200 and response.streaming
    [(headers, data)] = _parts(response)
    assert headers["content-type"].startswith("application/dicom")
    assert hashlib.sha256(data).hexdigest() == instance.sha256
    with default_storage.open(instance.file, "rb") as fh:
        assert data == fh.read()
    assert data in files
    audit = AuditEvent.objects.get(action=AuditEvent.Action.IMAGE_VIEW)
    assert audit.actor.username == "api-CAB-STOW" and instance.sop_uid in audit.object_ref

    whole_study = client.get(reverse("dicomweb:study", args=[study]), **auth(tokens["raw"]))
    assert sorted(hashlib.sha256(d).hexdigest() for _h, d in _parts(whole_study)) == sorted(
        hashlib.sha256(f).hexdigest() for f in files
    )
    transcode = client.get(url, HTTP_ACCEPT='multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50', **auth(tokens["raw"]))  # fmt: skip
    assert (transcode.status_code, transcode.json()["code"]) == (406, "transcoding_unsupported")

    metadata = client.get(reverse("dicomweb:instance_metadata", args=[study, series, instance.sop_uid]), **auth(tokens["raw"]))  # fmt: skip
    assert metadata.status_code == 200
    [meta] = metadata.json()
    assert value(meta, "00080018") == instance.sop_uid and "7FE00010" not in meta
    assert (
        len(client.get(reverse("dicomweb:study_metadata", args=[study]), **auth(tokens["raw"])).json()) == 4
    )

    other = tokens["other"]
    assert client.get(url, **auth(other)).status_code == 404
    assert client.get(reverse("dicomweb:study", args=[study]), **auth(other)).status_code == 404
    hidden = client.get(reverse("dicomweb:instance_metadata", args=[study, series, instance.sop_uid]), **auth(other))  # fmt: skip
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("chunk", [1, 7, 100, 65536])
def test_multipart_reader_streams_parts_across_chunk_boundaries(chunk):
    rng = np.random.default_rng(chunk)
    payloads = [b"", b"a", rng.bytes(5000), rng.bytes(70000), b"\r\n--almost-the-boundary\r\n"]
    body, boundary = multipart([("application/dicom", p) for p in payloads])
    body = b"preamble\r\n" + body + b"epilogue"
    seen = [(part.size, part.too_large, part.file.read()) for part in iter_parts(io.BytesIO(body), boundary, max_part_bytes=60000, chunk_bytes=chunk)]  # fmt: skip
    assert [size for size, _tl, _d in seen] == [len(p) for p in payloads]
    assert [tl for _s, tl, _d in seen] == [False, False, False, True, False]
    assert [d for _s, tl, d in seen if not tl] == [p for p in payloads if len(p) <= 60000]
    with pytest.raises(MultipartError):
        list(
            iter_parts(io.BytesIO(body[: len(body) // 2]), boundary, max_part_bytes=10**6, chunk_bytes=chunk)
        )
