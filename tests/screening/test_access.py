"""Who sees what (R-TENANT-1, R-ANON-1) and the audit of every view of patient data or images."""

import pytest
from django.urls import reverse

from readings.services.l2_reading import l2_reading_submit
from screening.models import AuditEvent
from tests.factories import (
    PASSWORD,
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    l1_of,
    reader_at,
    staff_of,
    submitted_exam,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    practice, other_practice = PracticeFactory(), PracticeFactory()
    l1 = l1_of(practice)
    reader = reader_at(SiteFactory(), user=UserFactory(last_name="Lecteurdiscret"))
    staff = staff_of(practice)
    exam = submitted_exam(practice=practice, staff=staff, l1=l1)
    return {
        "exam": exam,
        "staff": staff,
        "l1": l1,
        "reader": reader,
        "other_staff": staff_of(other_practice),
        "coordinator": coordinator(),
    }


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_practice_sees_its_exam_and_the_other_practice_does_not(client, world):
    exam = world["exam"]
    login(client, world["other_staff"])
    assert client.get(reverse("practice:exam_detail", args=[exam.pk])).status_code == 404
    assert exam.participant.programme_id not in client.get(reverse("practice:exam_list")).content.decode()
    assert client.get(reverse("api_exam_files", args=[exam.pk])).status_code in (400, 404)
    client.logout()
    login(client, world["staff"])
    page = client.get(reverse("practice:exam_list")).content.decode()
    assert exam.participant.programme_id in page


def test_second_reader_stays_anonymous_to_the_practice(client, world):
    exam = world["exam"]
    l2_reading_submit(exam_id=exam.pk, reader=world["reader"], verdict="NORMAL")
    login(client, world["staff"])
    page = client.get(reverse("practice:exam_detail", args=[exam.pk])).content.decode()
    assert "Second lecteur" in page
    assert "Lecteurdiscret" not in page


def test_reader_sees_only_assigned_exams_and_no_practice_or_coordination_pages(client, world):
    exam = world["exam"]
    stranger = reader_at(SiteFactory())
    login(client, stranger)
    assert client.get(reverse("readings:read", args=[exam.pk])).status_code == 404
    client.logout()
    login(client, world["reader"])
    assert exam.participant.programme_id in client.get(reverse("readings:worklist")).content.decode()
    assert client.get(reverse("readings:read", args=[exam.pk])).status_code == 200
    assert client.get(reverse("practice:exam_list")).status_code == 403
    assert client.get(reverse("coordination:dashboard")).status_code == 403


def test_l1_radiologist_cannot_open_the_exam_as_second_reader(client, world):
    reader_at(SiteFactory(), user=world["l1"])
    login(client, world["l1"])
    assert client.get(reverse("readings:read", args=[world["exam"].pk])).status_code == 404


def test_every_view_of_the_exam_and_its_images_is_audited(client, world):
    exam = world["exam"]
    login(client, world["reader"])
    client.get(reverse("readings:read", args=[exam.pk]))
    instance = exam.instances.get(slot="RCC")
    response = client.get(reverse("rendition", args=[instance.pk, "affichage"]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    actions = set(
        AuditEvent.objects.filter(actor=world["reader"], exam=exam).values_list("action", flat=True)
    )
    assert {"READING_OPEN", "IMAGE_VIEW"} <= actions


def test_images_are_not_served_to_an_unrelated_practice(client, world):
    instance = world["exam"].instances.first()
    login(client, world["other_staff"])
    assert client.get(reverse("rendition", args=[instance.pk, "affichage"])).status_code == 404


def test_coordinator_dashboard_shows_states_and_discordances(client, world):
    exam = world["exam"]
    from readings.services.l2_reading import FindingInput

    l2_reading_submit(
        exam_id=exam.pk,
        reader=world["reader"],
        verdict="ANOMALY",
        findings=[FindingInput(side="D", lesion_type="B", quadrant="QIE", acr=0)],
    )
    login(client, world["coordinator"])
    page = client.get(reverse("coordination:dashboard")).content.decode()
    assert "L1 négative / L2 positive" in page
    assert exam.participant.programme_id in page
    table = client.get(reverse("coordination:exams")).content.decode()
    assert "Lecteurdiscret" in table  # the centre sees reader identities


def test_upload_api_refuses_with_a_stable_code(client, world, tmp_path):
    login(client, world["staff"])
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8\xff not dicom")
    exam = world["exam"]  # already assigned: closed for upload
    with bad.open("rb") as fh:
        response = client.post(reverse("api_exam_files", args=[exam.pk]), {"file": fh})
    assert response.status_code == 400
    assert response.json()["code"] == "exam_closed_for_upload"


def test_reader_sees_the_identity_strip_but_not_the_womans_nir_address_or_doctor(client, world):
    exam = world["exam"]
    participant = exam.participant
    participant.nir, participant.address, participant.gp_name = (
        "262056900000012",
        "12 rue des Tilleuls",
        "Dr Généraliste",
    )
    participant.save()
    login(client, world["reader"])
    page = client.get(reverse("readings:read", args=[exam.pk])).content.decode()
    assert participant.programme_id in page and participant.last_name.upper() in page
    for hidden in ("262056900000012", "12 rue des Tilleuls", "Dr Généraliste"):
        assert hidden not in page
