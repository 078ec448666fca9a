"""`manage.py load_demo`: a small demo set built through the services, idempotent, and resettable."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import F

from readings.models import Assignment, ReaderProfile
from screening.demo_people import CENTRE_CODE, DEMO_PASSWORD
from screening.models import (
    CentreRole,
    DicomInstance,
    Exam,
    ExamOutcome,
    ExamState,
    Letter,
    Participant,
    PracticeMembership,
    PracticeRole,
    ReadingCentre,
    User,
)

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit must fire: tasks run at commit

# States an exam reaches only after the intake check found its images (the L2 path).
L2_PATH = {
    ExamState.QUEUED,
    ExamState.ASSIGNED,
    ExamState.IN_READING,
    ExamState.DEFERRED,
    ExamState.CONSENSUS_PENDING,
    ExamState.L2_NEGATIVE,
    ExamState.L2_POSITIVE,
    ExamState.CTI_REQUESTED,
    ExamState.RESULT_SENT,
    ExamState.RETAKE_PENDING,
}


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "demo-media")
    return Path(settings.MEDIA_ROOT)


def _load(**options) -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out, **options)
    return out.getvalue()


def _counts() -> dict[str, int]:
    from readings.models import L2Reading
    from screening.models import IngestFile, Practice

    models = (User, Practice, Participant, Exam, DicomInstance, IngestFile, Assignment, L2Reading)
    return {m.__name__: m.objects.count() for m in models}


def _memberships(username: str, role: str) -> set[str]:
    return set(
        PracticeMembership.objects.filter(user__username=username, role=role).values_list(
            "practice__code", flat=True
        )
    )


def test_small_demo_set_is_built_through_the_services_and_is_idempotent(media):
    output = _load(exams=12)
    assert "http://127.0.0.1:8000/" in output

    # The five fixed accounts, with their roles and the shared password.
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=["staff.vichy", "dr.martin", "dr.bernard", "coord.allier", "admin"]
        )
    }
    assert len(users) == 5
    assert all(u.check_password(DEMO_PASSWORD) for u in users.values())
    assert _memberships("staff.vichy", PracticeRole.STAFF) == {"VICHY-CEL"}
    assert _memberships("dr.martin", PracticeRole.L1_RADIOLOGIST) == {"VICHY-CEL"}
    assert not ReaderProfile.objects.filter(user__username="dr.martin").exists()
    bernard = ReaderProfile.objects.select_related("site").get(user__username="dr.bernard")
    assert bernard.site.town == "Moulins"
    assert _memberships("dr.bernard", PracticeRole.L1_RADIOLOGIST) - {"VICHY-CEL"}
    assert users["coord.allier"].centre_role == CentreRole.COORDINATOR
    assert users["admin"].is_superuser and users["admin"].centre_role == CentreRole.ADMINISTRATOR
    assert ReaderProfile.objects.count() == 8
    assert ReaderProfile.objects.values("site").distinct().count() == 3

    # Exams in the main states, all made by the services.
    states = set(Exam.objects.values_list("state", flat=True))
    assert {ExamState.DRAFT, ExamState.ASSIGNED} <= states
    assert states & {
        ExamState.L2_NEGATIVE,
        ExamState.CLOSED,
    }  # read negative; closed once its letters went out
    assert states & {
        ExamState.HISTOLOGY_PENDING,
        ExamState.SURVEILLANCE,
        ExamState.BDD_PENDING,
    }  # L1 positives
    # Issue 6: results went out as real PDF letters, to the woman and her doctor.
    sent = Letter.objects.filter(status=Letter.Status.SENT)
    assert sent.filter(recipient_kind="WOMAN").exists() and sent.filter(recipient_kind="GP").exists()
    assert all(letter.pdf.read(5) == b"%PDF-" for letter in sent[:3])
    assert ExamOutcome.objects.filter(global_result="NEG").exists()
    assert Exam.objects.count() == 12
    assert Assignment.objects.filter(reader__username="dr.bernard", state=Assignment.State.ACTIVE).exists()
    assert Exam.objects.filter(medium=Exam.Medium.FILM).exists()
    assert Exam.objects.filter(priors__isnull=False).exists(), "a woman with an exam two years earlier"
    for participant in Participant.objects.all():
        assert participant.programme_id.startswith("03-")
    for exam in Exam.objects.filter(medium=Exam.Medium.CONSOLE, state__in=L2_PATH):
        slots = set(exam.instances.filter(is_default_for_slot=True).values_list("slot", flat=True))
        assert slots == {"RCC", "LCC", "RMLO", "LMLO"}, exam
        assert exam.status_events.filter(to_state=ExamState.QUEUED).exists()
    assert not Assignment.objects.filter(reader=F("l1_radiologist")).exists()  # R-COI-1
    assert (media / "originals").is_dir()

    # Running it again without --reset changes nothing.
    before = _counts()
    again = _load(exams=12)
    assert "Données de démonstration déjà chargées" in again
    assert "dr.bernard" in again and DEMO_PASSWORD in again
    assert _counts() == before


def test_reset_replaces_the_data_and_the_stored_images(media):
    _load(exams=4)
    first_exams = set(Exam.objects.values_list("pk", flat=True))
    _load(exams=4, reset=True)
    assert ReadingCentre.objects.filter(code=CENTRE_CODE).count() == 1
    assert Exam.objects.count() == 4
    assert not first_exams & set(Exam.objects.values_list("pk", flat=True))
    assert User.objects.filter(username="admin").count() == 1
    stored = sorted(p.name for p in (media / "originals").rglob("*.dcm"))
    assert stored == sorted(f"{sha}.dcm" for sha in DicomInstance.objects.values_list("sha256", flat=True))
