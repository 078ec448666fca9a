"""Demo data after the verdicts (issue 6): letters rendered and sent as the secretariat would have, a positive
followed to its histology, a retake pending, the women's doctors — all through the real services."""

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from screening.demo_people import Organisation
from screening.models import Exam, ExamState, Letter, LetterKind, ParticipantDoctor
from screening.services.followup import histology_record, work_up_record
from screening.services.letters import letters_generate_due, letters_mark_sent

S = ExamState
DOCTORS = (("Dr Anne Chevalier", "12 rue de Paris", "03200", "Vichy"), ("Dr Luc Aubert", "4 place d'Allier", "03000", "Moulins"),
           ("Dr Inès Barret", "9 avenue de la Gare", "03100", "Montluçon"))  # fmt: skip
SENT_AFTER_DAYS = 10  # letters of exams older than this were printed and posted in the demo


def _doctors_add() -> None:
    """Every woman named her GP (the letters go to them too); a few a gynaecologist."""
    for index, exam in enumerate(Exam.objects.select_related("participant").order_by("pk")):
        p = exam.participant
        if p.doctors.exists():
            continue
        name, street, postal_code, town = DOCTORS[index % len(DOCTORS)]
        ParticipantDoctor.objects.create(participant=p, kind="GP", name=p.gp_name or name, address=street,
                                         postal_code=postal_code, town=town)  # fmt: skip
        if index % 5 == 0:
            ParticipantDoctor.objects.create(participant=p, kind="GYN", name="Dr Claire Fontaine",
                                             address="2 boulevard Carnot", postal_code="03200", town="Vichy")  # fmt: skip


def _send(letters: list[Letter], actor) -> None:
    ids = [x.pk for x in letters if x.status == Letter.Status.READY]
    if ids:
        letters_mark_sent(letter_ids=ids, actor=actor)


def outcomes_demo(org: Organisation, today: dt.date, log: Callable[[str], None]) -> None:
    from screening.services.outcome_letters import letters_for_outcome

    _doctors_add()
    secretary = org.coordinator
    # Letters planned before the doctors were known: plan again (idempotent per recipient) now they are.
    for exam in Exam.objects.filter(state__in=(S.L2_NEGATIVE, S.L2_POSITIVE, S.CTI_REQUESTED)):
        reading = exam.l2_readings.filter(status="FINAL").order_by("-pk").first()
        letters_for_outcome(exam=exam, to_state=exam.state, reading=reading)
    letters_generate_due()
    old = today - dt.timedelta(days=SENT_AFTER_DAYS)
    for exam in Exam.objects.filter(
        mammogram_date__lte=old, state__in=(S.L2_NEGATIVE, S.L2_POSITIVE, S.CTI_REQUESTED)
    ):
        first_kinds = (
            LetterKind.NEG_F,
            LetterKind.NEG_M,
            LetterKind.POS_M,
            LetterKind.POS_R,
            LetterKind.CTI_F,
            LetterKind.CTI_R,
        )
        _send(list(Letter.objects.filter(exam=exam, kind__in=first_kinds)), secretary)
    # The oldest positive: the woman's letter went 2 days later, the work-up found a cancer, histology came back.
    positive = Exam.objects.filter(state=S.RESULT_SENT).order_by("mammogram_date").first()
    if positive is not None:
        woman = list(Letter.objects.filter(exam=positive, kind=LetterKind.POS_F))
        Letter.objects.filter(pk__in=[x.pk for x in woman]).update(
            not_before=timezone.now() - dt.timedelta(hours=1)
        )
        letters_generate_due()
        _send(list(Letter.objects.filter(exam=positive, kind=LetterKind.POS_F)), secretary)
        positive.refresh_from_db()
        if positive.state == S.BDD_PENDING:
            work_up_record(
                exam_id=positive.pk, actor=secretary, origin="POS_L2", radiologist_name=str(positive.l1_radiologist),
                performed_on=today - dt.timedelta(days=3), exams_done=["MAM", "ECH", "PMI"], acr_right=1,
                acr_left=4, conduct="BIO", report="Microbiopsie échoguidée du foyer du QSE gauche.", source="PAPER",
            )  # fmt: skip
            histology_record(
                exam_id=positive.pk, actor=secretary, side="G", sampled_on=today - dt.timedelta(days=2),
                nature="MALIGNANT", invasiveness="INVASIVE", size_mm=9, grade=1, pt="pT1b", pn="pN0", m="M0",
                er=True, pr=True, her2=False,
            )  # fmt: skip
    states = {s: Exam.objects.filter(state=s).count() for s in (S.CLOSED, S.BDD_PENDING, S.RETAKE_PENDING)}
    ready = Letter.objects.filter(status=Letter.Status.READY).count()
    log(
        f"Résultats : {states[S.CLOSED]} examens clos, {states[S.BDD_PENDING]} bilans différés attendus, "
        f"{states[S.RETAKE_PENDING]} reprises attendues, {ready} courriers prêts à imprimer."
    )
