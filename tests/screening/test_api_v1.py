"""REST API v1 for the practices' software: create an exam with its L1 form, attach files, submit, poll."""

import datetime as dt

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from screening.api_v1 import docs
from screening.dicom.synth import make_exam_files
from screening.models import AuditEvent, Exam, ExamState, IngestFile
from screening.services.tokens import api_token_issue
from tests.factories import (
    PASSWORD,
    PracticeFactory,
    SiteFactory,
    UserFactory,
    l1_of,
    reader_at,
    staff_of,
)

SMALL = np.tile(np.arange(64, dtype=np.uint16) * 40, (80, 1))  # 80×64, fast to store and render


@pytest.fixture
def world():
    practice, other = PracticeFactory(code="CAB-A"), PracticeFactory(code="CAB-B")
    l1 = l1_of(practice, username="dr.l1", rpps="10001234567")
    reader = reader_at(SiteFactory())
    _token, raw = api_token_issue(practice=practice, name="RIS du cabinet")
    _other_token, other_raw = api_token_issue(practice=other, name="RIS B")
    return {"practice": practice, "l1": l1, "reader": reader, "raw": raw, "other_raw": other_raw}


def auth(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def exam_payload(**overrides) -> dict:
    payload = {
        "participant": {
            "programme_id": "03-2026-900001",
            "last_name": "DUPONT",
            "first_name": "Marie",
            "birth_date": "1961-03-02",
        },
        "mammogram_date": (timezone.localdate() - dt.timedelta(days=2)).isoformat(),
        "accession_number": "RIS-777",
        "l1_radiologist": "10001234567",
        "l1": {
            "clinical_exam": "N",
            "density": "B",
            "acr_initial_right": 1,
            "acr_initial_left": 1,
            "acr_final_right": 1,
            "acr_final_left": 1,
        },
    }
    payload.update(overrides)
    return payload


def create_exam(client, raw, **overrides):
    return client.post(
        reverse("api_v1:exams"), exam_payload(**overrides), content_type="application/json", **auth(raw)
    )


def dicom_uploads(exam: Exam, tmp_path) -> list[SimpleUploadedFile]:
    p = exam.participant
    paths = make_exam_files(
        tmp_path,
        patient_id=p.programme_id,
        patient_name=f"{p.last_name}^{p.first_name}",
        birth_date=p.birth_date.strftime("%Y%m%d"),
        study_date=exam.mammogram_date.strftime("%Y%m%d"),
        accession_number=exam.accession_number,
        compress=False,
        pixels=SMALL,
    )
    return [SimpleUploadedFile(path.name, path.read_bytes(), "application/dicom") for path in paths]


@pytest.mark.django_db(transaction=True)
def test_create_attach_four_views_submit_and_the_exam_is_assigned(client, world, tmp_path):
    created = create_exam(client, world["raw"])
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["state"], body["state_label"], body["practice"]) == ("DRAFT", "Brouillon", "CAB-A")
    assert [v["slot"] for v in body["missing_views"]] == ["RCC", "LCC", "RMLO", "LMLO"]
    exam = Exam.objects.get(pk=body["id"])
    assert exam.l1_radiologist == world["l1"] and exam.created_by.username == "api-CAB-A"
    assert body["due_at"] == (exam.mammogram_date + dt.timedelta(days=15)).isoformat()

    url = reverse("api_v1:exam_files", args=[exam.pk])
    sent = client.post(url, {"files": dicom_uploads(exam, tmp_path)}, **auth(world["raw"]))
    assert sent.status_code == 201, sent.content
    assert {f["state"] for f in sent.json()} == {"ACCEPTED"}
    assert {f["slot"] for f in sent.json()} == {"RCC", "LCC", "RMLO", "LMLO"}
    records = IngestFile.objects.filter(exam=exam)
    assert {(r.source, r.sender) for r in records} == {(IngestFile.Source.API, "RIS du cabinet")}
    assert AuditEvent.objects.filter(exam=exam, action=AuditEvent.Action.FILE_UPLOAD).count() == 4

    submitted = client.post(reverse("api_v1:exam_submit", args=[exam.pk]), **auth(world["raw"]))
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["state"] == ExamState.ASSIGNED
    polled = client.get(reverse("api_v1:exam", args=[exam.pk]), **auth(world["raw"])).json()
    assert polled["state"] == "ASSIGNED" and polled["missing_views"] == [] and polled["state_reason"] == ""
    assert len(polled["files"]) == 4


@pytest.mark.django_db(transaction=True)
def test_file_refusals_are_per_file(client, world, tmp_path):
    exam_id = create_exam(client, world["raw"]).json()["id"]
    url = reverse("api_v1:exam_files", args=[exam_id])
    files = [SimpleUploadedFile("notes.txt", b"pas une image"), SimpleUploadedFile("vide.dcm", b"")]
    sent = client.post(url, {"files": files}, **auth(world["raw"]))
    assert sent.status_code == 201
    by_name = {f["original_name"]: f for f in sent.json()}
    assert by_name["notes.txt"]["state"] == "REFUSED" and by_name["notes.txt"]["reason_code"] == "not_dicom"
    assert by_name["vide.dcm"]["id"] is None and by_name["vide.dcm"]["reason_code"] == "empty_file"
    only_empty = client.post(url, {"files": [SimpleUploadedFile("vide.dcm", b"")]}, **auth(world["raw"]))
    assert (only_empty.status_code, only_empty.json()["code"]) == (400, "files_refused")
    nothing = client.post(url, {}, **auth(world["raw"]))
    assert (nothing.status_code, nothing.json()["code"]) == (400, "file_missing")
    early = client.post(reverse("api_v1:exam_submit", args=[exam_id]), **auth(world["raw"]))
    assert (early.status_code, early.json()["code"]) == (400, "no_images")


@pytest.mark.django_db
def test_validation_errors_are_french_with_codes(client, world):
    bad = create_exam(client, world["raw"], l1={"density": "Z"}, mammogram_date="hier")
    assert bad.status_code == 400
    body = bad.json()
    assert body["code"] == "invalid"
    assert body["errors"]["mammogram_date"][0].startswith("La date n")
    assert body["errors"]["l1"]["clinical_exam"] == ["Ce champ est obligatoire."]
    assert "n'est pas un choix valide" in body["errors"]["l1"]["density"][0]

    unknown = create_exam(client, world["raw"], l1_radiologist="dr.inconnu")
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["field"]) == (
        400,
        "l1_unknown",
        "l1_radiologist",
    )
    by_username = create_exam(client, world["raw"], l1_radiologist="dr.l1")
    assert by_username.status_code == 201
    duplicate = create_exam(client, world["raw"], l1_radiologist="dr.l1")
    assert (duplicate.status_code, duplicate.json()["code"]) == (400, "exam_duplicate")
    incoherent = create_exam(
        client,
        world["raw"],
        participant={**exam_payload()["participant"], "programme_id": "03-2026-900002"},
        l1={**exam_payload()["l1"], "acr_final_right": 4},
    )
    assert incoherent.json()["code"] == "l1_conduct_incoherent"
    assert Exam.objects.count() == 1


@pytest.mark.django_db
def test_list_filters_pagination_and_tenancy(client, world):
    first = create_exam(client, world["raw"]).json()
    create_exam(
        client,
        world["raw"],
        accession_number="RIS-778",
        participant={**exam_payload()["participant"], "programme_id": "03-2026-900003"},
    )
    url = reverse("api_v1:exams")
    listing = client.get(url, **auth(world["raw"])).json()
    assert listing["count"] == 2 and len(listing["results"]) == 2
    only = client.get(url, {"accession_number": "RIS-777"}, **auth(world["raw"])).json()
    assert [e["id"] for e in only["results"]] == [first["id"]]
    assert client.get(url, {"state": "ASSIGNED"}, **auth(world["raw"])).json()["count"] == 0
    assert client.get(url, {"state": "DRAFT"}, **auth(world["raw"])).json()["count"] == 2
    assert client.get(url, {"state": "NOPE"}, **auth(world["raw"])).json()["code"] == "invalid_state"

    other = world["other_raw"]
    assert client.get(url, **auth(other)).json()["count"] == 0
    hidden = client.get(reverse("api_v1:exam", args=[first["id"]]), **auth(other))
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    upload = client.post(reverse("api_v1:exam_files", args=[first["id"]]), {}, **auth(other))
    assert upload.status_code == 404
    assert client.post(reverse("api_v1:exam_submit", args=[first["id"]]), **auth(other)).status_code == 404


@pytest.mark.django_db
def test_session_users_are_scoped_to_their_practices(client, world):
    staff = staff_of(world["practice"])
    assert client.login(username=staff.username, password=PASSWORD)
    created = client.post(reverse("api_v1:exams"), exam_payload(), content_type="application/json")
    assert created.status_code == 201, created.content
    assert Exam.objects.get().created_by == staff
    assert client.get(reverse("api_v1:exams")).json()["count"] == 1
    client.logout()
    outsider = UserFactory()
    assert client.login(username=outsider.username, password=PASSWORD)
    refused = client.get(reverse("api_v1:exams"))
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


@pytest.mark.django_db
def test_schema_and_docs(client, monkeypatch):
    schema = client.get(reverse("api_schema"), {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/exams/" in paths and "/api/v1/exams/{exam_id}/files/" in paths
    assert not any(path.startswith("/api/examens") for path in paths)
    assert "jetonCabinet" in schema.json()["components"]["securitySchemes"]
    page = client.get(reverse("api_docs"))
    assert page.status_code == 200
    if docs.sidecar_installed():
        assert b"swagger-ui" in page.content and b"cdn.jsdelivr" not in page.content
    monkeypatch.setattr(docs, "sidecar_installed", lambda: False)
    fallback = client.get(reverse("api_docs"))
    assert fallback.status_code == 200 and b"/api/v1/exams/{exam_id}/submit/" in fallback.content
