"""The workstation's JSON endpoints: the case, the originals, the verdict, deferral and the key map."""

import hashlib
import json
import uuid

import pytest

from readings.models import Alert, L2Reading
from readings.services.workstation import exam_deferral_resolve
from screening.models import AuditEvent, Exam, ExamState
from tests.factories import (
    PASSWORD,
    PracticeFactory,
    SiteFactory,
    coordinator,
    l1_of,
    reader_at,
    staff_of,
    submitted_exam,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]  # ingest runs on commit


@pytest.fixture
def world(client):
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    reader = reader_at(SiteFactory())
    first = submitted_exam(practice=practice, staff=staff, l1=l1)
    second = submitted_exam(practice=practice, staff=staff, l1=l1)
    client.login(username=reader.username, password=PASSWORD)
    return {"reader": reader, "exams": [first, second], "l1": l1, "staff": staff, "practice": practice}


def _post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_case_json_hangs_the_four_views_with_their_transforms_and_lists_the_next_case(client, world):
    first, second = world["exams"]
    response = client.get(f"/lecture/api/cas/{first.pk}/")
    assert response.status_code == 200
    case = response.json()
    assert sorted(case["views"]) == ["LCC", "LMLO", "RCC", "RMLO"] and case["missing"] == []
    rcc = case["views"]["RCC"]
    instance = first.instances.get(slot="RCC")
    assert rcc["sop_uid"] == instance.sop_uid and rcc["laterality"] == "R" and rcc["view"] == "CC"
    assert (rcc["flip_horizontal"], rcc["flip_vertical"]) == (
        instance.flip_horizontal,
        instance.flip_vertical,
    )
    assert rcc["spacing_mm"] == instance.pixel_spacing_mm and len(rcc["breast_box"]) == 4
    assert case["identity"]["programme_id"] == first.participant.programme_id
    assert case["next"] == [second.pk]
    assert case["normal_acr"] == {"right": 1, "left": 1}
    assert AuditEvent.objects.filter(exam=first, object_ref="poste de lecture : cas ouvert").count() == 1
    # The original DICOM, lossless and byte for byte, with its hash.
    original = client.get(rcc["url"])
    assert original.status_code == 200 and original["Content-Type"] == "application/dicom"
    body = b"".join(original.streaming_content)
    assert hashlib.sha256(body).hexdigest() == rcc["sha256"] == original["X-L2-SHA256"]


def test_another_reader_or_the_l1_gets_nothing(client, world):
    first = world["exams"][0]
    other = reader_at(SiteFactory())
    client.login(username=other.username, password=PASSWORD)
    assert client.get(f"/lecture/api/cas/{first.pk}/").status_code == 404
    sop = first.instances.first().sop_uid
    assert client.get(f"/lecture/dicom/{sop}/").status_code == 404
    reader_at(SiteFactory(), user=world["l1"])
    client.login(username=world["l1"].username, password=PASSWORD)
    assert client.get(f"/lecture/api/cas/{first.pk}/").status_code == 404


def test_verdict_api_is_idempotent_and_explains_refusals(client, world):
    first = world["exams"][0]
    url = f"/lecture/api/cas/{first.pk}/verdict/"
    key = str(uuid.uuid4())
    bad = _post(client, url, {"verdict": "ANOMALY", "findings": []})
    assert bad.status_code == 400 and bad.json()["code"] == "anomaly_without_finding"
    finding = {"side": "G", "lesion_type": "C", "quadrant": "QSE", "acr": 4, "clock": 2, "depth": "MOY",
               "marks": [{"sop_uid": first.instances.get(slot="LCC").sop_uid, "x": 10, "y": 20}]}  # fmt: skip
    deep = _post(client, url, {"verdict": "ANOMALY", "findings": [{**finding, "depth": "profond"}]})
    assert deep.status_code == 400 and deep.json()["code"] == "finding_depth"
    ok = _post(
        client,
        url,
        {"verdict": "ANOMALY", "findings": [finding], "client_uuid": key, "timings": {"decision_ms": 41000}},
    )
    again = _post(client, url, {"verdict": "ANOMALY", "findings": [finding], "client_uuid": key})
    assert (
        ok.status_code == again.status_code == 201 and ok.json()["reading_id"] == again.json()["reading_id"]
    )
    reading = L2Reading.objects.get(exam=first)
    assert reading.acr_left == 4 and reading.timings == {"decision_ms": 41000}
    assert reading.findings.get().marks[0]["x"] == 10 and reading.findings.get().depth == "MOY"
    assert _post(client, url, "not an object").json()["code"] == "bad_json"


def test_defer_needs_a_reason_and_reaches_the_coordinator_who_puts_it_back(client, world):
    first = world["exams"][0]
    url = f"/lecture/api/cas/{first.pk}/mettre-de-cote/"
    assert _post(client, url, {"reason": ""}).json()["code"] == "defer_reason"
    assert _post(client, url, {"reason": "OTHER"}).json()["code"] == "defer_text"
    done = _post(client, url, {"reason": "IDENTITY", "text": "étiquette RCC d'une autre patiente"})
    assert done.status_code == 200 and done.json()["state"] == ExamState.DEFERRED
    alert = Alert.objects.get(kind=Alert.Kind.DEFERRED, exam=first)
    assert "identité discordante" in alert.message and "autre patiente" in alert.message
    exam_deferral_resolve(exam_id=first.pk, actor=coordinator(), to_state=ExamState.QUEUED)
    first.refresh_from_db()
    assert first.state == ExamState.ASSIGNED  # back in the queue, and assigned again at once
    assert Alert.objects.get(pk=alert.pk).resolved_at is not None
    assert Exam.objects.get(pk=first.pk).assignments.filter(release_code="DEFER").count() == 1


def test_key_map_overrides_are_checked_for_azerty_and_duplicates(client):
    reader = reader_at(SiteFactory())
    client.login(username=reader.username, password=PASSWORD)
    defaults = client.get("/lecture/api/preferences/").json()
    assert defaults["keymap"]["normal"] == "n" and defaults["keymap"]["stage_4up"] == "Digit1"
    put = client.put(
        "/lecture/api/preferences/", json.dumps({"keymap": {"normal": "."}}), content_type="application/json"
    )
    assert put.status_code == 400 and "AZERTY" in put.json()["detail"]
    put = client.put(
        "/lecture/api/preferences/", json.dumps({"keymap": {"normal": "a"}}), content_type="application/json"
    )
    assert put.json()["code"] == "keymap_duplicate"
    put = client.put(
        "/lecture/api/preferences/",
        json.dumps({"keymap": {"normal": "b"}, "two_step_normal": True, "lockout_ms": 1500}),
        content_type="application/json",
    )
    assert (
        put.status_code == 200 and put.json()["keymap"]["normal"] == "b" and put.json()["lockout_ms"] == 1500
    )


def test_the_coordinator_resolves_a_deferred_case_from_the_queue_page(client, world):
    first = world["exams"][0]
    _post(client, f"/lecture/api/cas/{first.pk}/mettre-de-cote/", {"reason": "PRIOR_MISSING"})
    coord = coordinator()
    client.login(username=coord.username, password=PASSWORD)
    page = client.get("/coordination/file/", {"state": "DEFERRED"}).content.decode()
    assert 'data-testid="resolve-deferral"' in page and "antériorité manquante" in page
    done = client.post(
        "/coordination/file/", {"action": "resolve_deferral", "exam": first.pk, "to_state": "AWAITING_PRIORS"}
    )
    assert done.status_code == 302
    first.refresh_from_db()
    assert first.state == ExamState.AWAITING_PRIORS
