"""factory_boy factories for the organisation, and helpers that build exams through the real services."""

import datetime as dt
import tempfile
from pathlib import Path

import factory
from django.core.files import File
from django.utils import timezone

from readings.models import ReaderProfile
from screening.dicom.synth import make_exam_files
from screening.models import (
    CentreRole,
    Participant,
    Practice,
    PracticeMembership,
    PracticeRole,
    ReadingCentre,
    ReadingSite,
    User,
)
from screening.services.exams import exam_create, exam_submit
from screening.services.ingest import ingest_file_receive

PASSWORD = "test-password-l2"


class CentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReadingCentre
        django_get_or_create = ("code",)

    code = "ARA-03"
    name = "CRCDC AURA — Allier"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReadingSite

    centre = factory.SubFactory(CentreFactory)
    code = factory.Sequence(lambda n: f"SITE{n}")
    name = factory.Sequence(lambda n: f"Site de lecture {n}")
    town = "Moulins"


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice

    centre = factory.SubFactory(CentreFactory)
    code = factory.Sequence(lambda n: f"CAB{n:03d}")
    name = factory.Sequence(lambda n: f"Cabinet de radiologie {n}")
    town = "Vichy"
    dematerialised_on = dt.date(2024, 1, 1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Claire"
    last_name = factory.Sequence(lambda n: f"Durand{n}")
    title = "Dr"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


def staff_of(practice: Practice, **kwargs) -> User:
    user = UserFactory(**kwargs)
    PracticeMembership.objects.create(user=user, practice=practice, role=PracticeRole.STAFF)
    return user


def l1_of(practice: Practice, **kwargs) -> User:
    user = UserFactory(**kwargs)
    PracticeMembership.objects.create(user=user, practice=practice, role=PracticeRole.L1_RADIOLOGIST)
    return user


def reader_at(site: ReadingSite, user: User | None = None, **kwargs) -> User:
    user = user or UserFactory()
    ReaderProfile.objects.create(user=user, site=site, **kwargs)
    return user


def coordinator(**kwargs) -> User:
    return UserFactory(centre_role=CentreRole.COORDINATOR, **kwargs)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    programme_id = factory.Sequence(lambda n: f"03-2026-{n:06d}")
    last_name = factory.Sequence(lambda n: f"MARTIN{n}")
    first_name = "Sophie"
    birth_date = dt.date(1962, 5, 14)


def l1_negative(**overrides) -> dict:
    data = {
        "clinical_exam": "N",
        "density": "B",
        "acr_initial_right": 1,
        "acr_initial_left": 1,
        "acr_final_right": 1,
        "acr_final_left": 1,
        "conduct": "",
    }
    data.update(overrides)
    return data


def draft_exam(*, practice, staff, l1, participant=None, days_ago: int = 3, l1_data=None, **kwargs):
    participant = participant or ParticipantFactory()
    return exam_create(
        actor=staff,
        practice=practice,
        participant=participant,
        l1_radiologist=l1,
        mammogram_date=timezone.localdate() - dt.timedelta(days=days_ago),
        l1=l1_data or l1_negative(),
        **kwargs,
    )


def exam_files(
    exam, directory: Path, *, views=("RCC", "LCC", "RMLO", "LMLO"), seed: int = 0, compress: bool = False
) -> list[Path]:
    """The exam's views as DICOM files; uncompressed by default (6× faster), JPEG 2000 lossless on demand."""
    p = exam.participant
    return make_exam_files(
        directory,
        patient_id=p.programme_id,
        patient_name=f"{p.last_name}^{p.first_name}",
        birth_date=p.birth_date.strftime("%Y%m%d"),
        study_date=exam.mammogram_date.strftime("%Y%m%d"),
        accession_number=f"ACC{exam.pk}",
        seed=seed,
        views=views,
        compress=compress,
    )


def upload(exam, path: Path, actor):
    with open(path, "rb") as fh:
        return ingest_file_receive(
            practice=exam.practice,
            exam=exam,
            upload=File(fh, name=path.name),
            original_name=path.name,
            actor=actor,
        )


def submitted_exam(*, practice, staff, l1, views=("RCC", "LCC", "RMLO", "LMLO"), compress=False, **kwargs):
    """A console exam with its images uploaded and submitted, through the services (tasks eager)."""
    exam = draft_exam(practice=practice, staff=staff, l1=l1, **kwargs)
    with tempfile.TemporaryDirectory() as tmp:
        for path in exam_files(exam, Path(tmp), views=views, seed=exam.pk, compress=compress):
            upload(exam, path, staff)
    exam_submit(exam_id=exam.pk, actor=staff)
    exam.refresh_from_db()
    return exam


def queued_exam(*, practice, staff, l1, due_in_days: int | None = None, **kwargs):
    """An exam straight into the L2 queue (DRAFT → SUBMITTED → QUEUED, history rows written), no images:
    for assignment tests that do not need pixels. Nothing is assigned automatically."""
    from screening.models import ExamState
    from screening.services.exam_state import exam_transition

    exam = draft_exam(practice=practice, staff=staff, l1=l1, **kwargs)
    if due_in_days is not None:
        exam.due_at = timezone.localdate() + dt.timedelta(days=due_in_days)
        exam.save(update_fields=["due_at"])
    exam_transition(exam_id=exam.pk, to_state=ExamState.SUBMITTED, actor=staff)
    exam_transition(exam_id=exam.pk, to_state=ExamState.QUEUED, actor=staff)
    exam.refresh_from_db()
    return exam
