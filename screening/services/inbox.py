"""The practice's inbox: studies received before (or without) their exam, attached by staff."""

from django.db import transaction
from pydicom import Dataset

from screening.dicom.classify import Refusal
from screening.models import DicomStudy, Exam, ExamState, User

from .errors import ServiceError
from .ingest import UPLOAD_STATES
from .ingest_checks import identity_check
from .ingest_store import study_attach


def _study_header(study: DicomStudy) -> Dataset:
    header = Dataset()
    header.PatientName = study.patient_name
    header.PatientBirthDate = study.patient_birth_date
    header.StudyDate = study.study_date
    return header


def inbox_study_attach(*, study_id: int, exam_id: int, actor: User) -> Exam:
    """Attach an unmatched study to an exam of the same practice, after the identity check."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update(of=("self",)).select_related("participant").get(pk=exam_id)
        study = DicomStudy.objects.select_for_update().get(pk=study_id)
        if study.practice_id != exam.practice_id:
            raise ServiceError("study_other_practice", "Cette étude n'appartient pas au cabinet de l'examen.")
        if study.exam_id is not None:
            raise ServiceError("study_already_attached", "Cette étude est déjà rattachée à un examen.")
        if exam.state not in UPLOAD_STATES:
            raise ServiceError(
                "exam_closed_for_upload",
                f"L'examen est « {exam.get_state_display()} » : il n'accepte plus d'images.",
            )
        try:
            identity_check(_study_header(study), exam.participant, exam)
        except Refusal as refusal:
            raise ServiceError(refusal.code, refusal.reason) from refusal
        study_attach(study=study, exam=exam)
        if exam.state == ExamState.SUBMITTED:
            from screening import tasks

            transaction.on_commit(lambda: tasks.exam_intake_check.delay(exam.pk))
    return exam
