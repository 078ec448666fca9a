"""Follow-up of positives (R-FU-1..3): the deferred work-up (BDD) and ACR 3 surveillance checks, histology,
treatment dates and interval cancers. Each write moves the exam through `exam_transition` and refreshes its
reporting row (ExamOutcome) in the same transaction; bad input raises a ServiceError and stores nothing.

The closing reasons follow from the state the exam closes from (outcome_record.CLOSED_FROM): a BDD ACR 1–2
closes from BDD_RECEIVED (false positive), a check from SURVEILLANCE (surveillance done), a histology from
HISTOLOGY_RECORDED (cancer or benign).
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from screening.models import Exam, ExamState, Histology, IntervalCancer, Treatment, User, WorkUp
from screening.models.l1 import Side
from screening.selectors import user_roles
from screening.selectors_followup import (
    exam_is_negative,
    follow_up_in_surveillance,
    months_later,
    surveillance_checks,
    surveillance_start,
)

from .errors import ServiceError
from .exam_state import exam_transition
from .followup_checks import (
    check_date,
    check_size,
    clean_adicap,
    clean_m,
    clean_pn,
    clean_pt,
    work_up_acr_check,
    work_up_conduct_check,
    work_up_exams_clean,
    work_up_origin_check,
)
from .outcome_record import exam_outcome_refresh

S = ExamState


def _locked_exam(exam_id: int) -> Exam:
    exam = Exam.objects.select_for_update(of=("self",)).select_related("l1_form").filter(pk=exam_id).first()
    if exam is None:
        raise ServiceError("exam_not_found", _("Examen introuvable."))
    return exam


def _check_actor(exam: Exam, actor: User, *, source: str | None = None) -> None:
    """The practice enters the follow-up of its own exams; the secretariat (coordinator) of any, from paper."""
    roles = user_roles(actor)
    in_practice = exam.practice_id in roles.practice_ids
    if source == WorkUp.Source.PRACTICE:
        allowed = in_practice
    elif source == WorkUp.Source.PAPER:
        allowed = roles.is_coordinator
    else:
        allowed = in_practice or roles.is_coordinator
    if not allowed:
        raise ServiceError("forbidden", _("Vous ne pouvez pas saisir le suivi de cet examen."))


def _source_label(source: str) -> str:
    return _("saisie papier") if source == WorkUp.Source.PAPER else _("saisie du cabinet")


def work_up_record(
    *,
    exam_id: int,
    actor: User,
    origin: str,
    radiologist_name: str,
    performed_on: dt.date,
    exams_done: list[str],
    acr_right: int,
    acr_left: int,
    conduct: str,
    report: str = "",
    source: str,
) -> WorkUp:
    """A deferred work-up (BDD) or an ACR 3 check; the final ACR decides what comes next (§4, R-FU-3)."""
    with transaction.atomic():
        exam = _locked_exam(exam_id)
        if source not in WorkUp.Source.values:
            raise ServiceError("work_up_source", _("Origine de la saisie inconnue."))
        _check_actor(exam, actor, source=source)
        if exam.state not in (S.BDD_PENDING, S.SURVEILLANCE, S.LOST_TO_FOLLOW_UP):
            raise ServiceError(
                "work_up_not_expected",
                _("Aucun bilan n'est attendu pour cet examen (état : %(state)s).")
                % {"state": exam.get_state_display()},
            )
        in_surveillance = follow_up_in_surveillance(exam=exam)
        work_up_origin_check(origin=origin, check=in_surveillance)
        radiologist_name = (radiologist_name or "").strip()
        if not radiologist_name:
            raise ServiceError(
                "work_up_radiologist",
                _("Indiquez le radiologue qui a fait le bilan."),
                field="radiologist_name",
            )
        check_date(performed_on, exam, field="performed_on", what=_("La date du bilan"))
        start = surveillance_start(exam=exam) if in_surveillance else None
        if start is not None and performed_on < start:
            raise ServiceError(
                "work_up_before_surveillance",
                _("Le contrôle ne peut précéder le bilan qui a décidé la surveillance (%(d)s).")
                % {"d": start.strftime("%d/%m/%Y")},
                field="performed_on",
            )
        exams_done = work_up_exams_clean(exams_done)
        work_up_acr_check(acr_right=acr_right, acr_left=acr_left)
        work_up_conduct_check(worst=max(acr_right, acr_left), conduct=conduct, check=in_surveillance)
        work_up = WorkUp.objects.create(
            exam=exam,
            origin=origin,
            radiologist_name=radiologist_name[:200],
            performed_on=performed_on,
            exams_done=exams_done,
            acr_right=acr_right,
            acr_left=acr_left,
            conduct=conduct,
            report=(report or "").strip(),
            source=source,
            entered_by=actor,
        )
        if in_surveillance:
            _check_route(exam, work_up, start, actor)
        else:
            _work_up_route(exam, work_up, actor)
        exam_outcome_refresh(exam_id=exam.pk)
    return work_up


def _work_up_route(exam: Exam, work_up: WorkUp, actor: User) -> None:
    """BDD_PENDING (or lost) → BDD_RECEIVED → CLOSED | SURVEILLANCE | HISTOLOGY_PENDING by the final ACR."""
    worst = max(work_up.acr_right, work_up.acr_left)
    exam_transition(
        exam_id=exam.pk,
        to_state=S.BDD_RECEIVED,
        actor=actor,
        reason=_("Bilan différé du %(d)s reçu (%(src)s) : ACR final D %(r)s / G %(l)s.")
        % {
            "d": work_up.performed_on.strftime("%d/%m/%Y"),
            "src": _source_label(work_up.source),
            "r": work_up.acr_right,
            "l": work_up.acr_left,
        },
    )
    if worst <= 2:
        to_state, reason = S.CLOSED, _("Faux positif : bilan ACR %(a)s, retour au dépistage.") % {"a": worst}
    elif worst == 3:
        to_state, reason = S.SURVEILLANCE, _("Bilan ACR 3 : surveillance, contrôles à 6 et 12 mois.")
    else:
        to_state, reason = S.HISTOLOGY_PENDING, _("Bilan ACR %(a)s : histologie attendue.") % {"a": worst}
    exam_transition(exam_id=exam.pk, to_state=to_state, actor=actor, reason=reason)


def _check_route(exam: Exam, work_up: WorkUp, start: dt.date, actor: User) -> None:
    """An ACR 3 check (R-FU-3): 4–5 → histology; 1–2, back to screening, or the second check → done."""
    worst = max(work_up.acr_right, work_up.acr_left)
    done = len(surveillance_checks(exam=exam, start=start))
    if exam.state == S.LOST_TO_FOLLOW_UP:  # late news: back into surveillance (the lost flag stays)
        exam_transition(
            exam_id=exam.pk,
            to_state=S.BDD_RECEIVED,
            actor=actor,
            reason=_("Contrôle de surveillance reçu après la perte de vue (%(src)s).")
            % {"src": _source_label(work_up.source)},
        )
        if worst <= 3:
            exam_transition(
                exam_id=exam.pk, to_state=S.SURVEILLANCE, actor=actor, reason=_("Reprise de la surveillance.")
            )
    if worst >= 4:
        exam_transition(
            exam_id=exam.pk,
            to_state=S.HISTOLOGY_PENDING,
            actor=actor,
            reason=_("Contrôle de surveillance ACR %(a)s : histologie attendue.") % {"a": worst},
        )
    elif worst <= 2 or work_up.conduct == WorkUp.Conduct.SCREENING or done >= 2:
        # Closing from SURVEILLANCE gives the reason "surveillance terminée" (outcome_record.CLOSED_FROM).
        exam_transition(
            exam_id=exam.pk,
            to_state=S.CLOSED,
            actor=actor,
            reason=_("Surveillance terminée : contrôle n° %(n)s ACR %(a)s, retour au dépistage.")
            % {"n": done, "a": worst},
        )


def histology_record(
    *,
    exam_id: int,
    actor: User,
    side: str,
    sampled_on: dt.date,
    nature: str,
    invasiveness: str,
    size_mm: int | None,
    grade: int | None,
    pt: str,
    pn: str,
    m: str,
    er: bool | None,
    pr: bool | None,
    her2: bool | None,
    adicap: str = "",
    adicap_2: str = "",
) -> Histology:
    """A pathology result: HISTOLOGY_PENDING (or lost) → HISTOLOGY_RECORDED → CLOSED (cancer or benign).

    The other breast's result may follow on the closed exam: it is added and the outcome recomputed."""
    with transaction.atomic():
        exam = _locked_exam(exam_id)
        _check_actor(exam, actor)
        adding = exam.state == S.CLOSED and exam.histologies.exists()
        if exam.state not in (S.HISTOLOGY_PENDING, S.LOST_TO_FOLLOW_UP) and not adding:
            raise ServiceError(
                "histology_not_expected",
                _("Aucune histologie n'est attendue pour cet examen (état : %(state)s).")
                % {"state": exam.get_state_display()},
            )
        if side not in Side.values:
            raise ServiceError("histology_side", _("Précisez le sein prélevé."), field="side")
        check_date(sampled_on, exam, field="sampled_on", what=_("La date du prélèvement"))
        if nature not in Histology.Nature.values:
            raise ServiceError(
                "histology_nature", _("Précisez si la lésion est maligne ou bénigne."), field="nature"
            )
        invasiveness = invasiveness or ""
        if invasiveness not in Histology.Invasiveness.values:
            raise ServiceError("histology_invasiveness", _("Invasion inconnue."), field="invasiveness")
        pt, pn, m = clean_pt(pt), clean_pn(pn), clean_m(m)
        if nature == Histology.Nature.MALIGNANT and not invasiveness:
            raise ServiceError(
                "histology_invasiveness",
                _("Un cancer est in situ ou invasif : précisez-le."),
                field="invasiveness",
            )
        if nature == Histology.Nature.BENIGN and (
            invasiveness or grade is not None or pt or pn or m or {er, pr, her2} != {None}
        ):
            raise ServiceError(
                "histology_benign_fields",
                _("Une lésion bénigne n'a ni invasion, ni grade SBR, ni stade pTNM, ni récepteurs."),
                field="nature",
            )
        if grade is not None and grade not in (1, 2, 3):
            raise ServiceError("histology_grade", _("Le grade SBR va de 1 à 3."), field="grade")
        check_size(size_mm, field="size_mm")
        histology = Histology.objects.create(
            exam=exam,
            side=side,
            sampled_on=sampled_on,
            adicap=clean_adicap(adicap, field="adicap"),
            adicap_2=clean_adicap(adicap_2, field="adicap_2"),
            nature=nature,
            invasiveness=invasiveness,
            size_mm=size_mm,
            grade=grade,
            pt=pt,
            pn=pn,
            m=m,
            er=er,
            pr=pr,
            her2=her2,
            entered_by=actor,
        )
        if not adding:
            exam_transition(
                exam_id=exam.pk,
                to_state=S.HISTOLOGY_RECORDED,
                actor=actor,
                reason=_("Histologie du %(d)s reçue : %(n)s (%(s)s).")
                % {
                    "d": sampled_on.strftime("%d/%m/%Y"),
                    "n": histology.get_nature_display(),
                    "s": histology.get_side_display(),
                },
            )
            malignant = exam.histologies.filter(nature=Histology.Nature.MALIGNANT).exists()
            exam_transition(
                exam_id=exam.pk,
                to_state=S.CLOSED,
                actor=actor,
                reason=_("Cancer confirmé par l'histologie.")
                if malignant
                else _("Lésion bénigne à l'histologie."),
            )
        exam_outcome_refresh(exam_id=exam.pk)
    return histology


def treatment_record(
    *,
    exam_id: int,
    actor: User,
    surgery_on: dt.date | None = None,
    radiotherapy_on: dt.date | None = None,
    chemotherapy_on: dt.date | None = None,
    hormonotherapy_on: dt.date | None = None,
) -> Treatment:
    """The treatment dates of a cancer found by screening (upsert: the form shows and saves all four)."""
    with transaction.atomic():
        exam = _locked_exam(exam_id)
        _check_actor(exam, actor)
        if not exam.histologies.filter(nature=Histology.Nature.MALIGNANT).exists():
            raise ServiceError(
                "treatment_without_cancer",
                _("Les dates de traitement se saisissent après une histologie maligne."),
            )
        dates = {
            "surgery_on": surgery_on,
            "radiotherapy_on": radiotherapy_on,
            "chemotherapy_on": chemotherapy_on,
            "hormonotherapy_on": hormonotherapy_on,
        }
        if all(value is None for value in dates.values()):
            raise ServiceError("treatment_empty", _("Indiquez au moins une date de traitement."))
        for field, value in dates.items():
            if value is not None:
                check_date(value, exam, field=field, what=_("Une date de traitement"))
        treatment, _created = Treatment.objects.update_or_create(
            exam=exam, defaults={**dates, "entered_by": actor}
        )
        exam_outcome_refresh(exam_id=exam.pk)
    return treatment


def interval_cancer_record(
    *,
    exam_id: int,
    actor: User,
    diagnosed_on: dt.date,
    side: str,
    invasiveness: str,
    size_mm: int | None = None,
    source: str = "",
    note: str = "",
) -> IntervalCancer:
    """A cancer diagnosed after a negative exam, within 24 months (secretariat only)."""
    with transaction.atomic():
        exam = _locked_exam(exam_id)
        if not user_roles(actor).is_coordinator:
            raise ServiceError("forbidden", _("Seul le secrétariat enregistre les cancers de l'intervalle."))
        if not exam_is_negative(exam=exam):
            raise ServiceError(
                "interval_cancer_not_negative",
                _(
                    "Un cancer de l'intervalle s'enregistre sur un examen négatif (courriers envoyés) ; "
                    "cet examen est « %(state)s »."
                )
                % {"state": exam.get_state_display()},
            )
        if side not in Side.values:
            raise ServiceError("interval_cancer_side", _("Précisez le sein atteint."), field="side")
        check_date(diagnosed_on, exam, field="diagnosed_on", what=_("La date du diagnostic"))
        months = int(getattr(settings, "L2_INTERVAL_CANCER_MONTHS", 24))
        limit = months_later(exam.mammogram_date, months)
        if diagnosed_on <= exam.mammogram_date or diagnosed_on > limit:
            raise ServiceError(
                "interval_cancer_window",
                _(
                    "Un cancer de l'intervalle est diagnostiqué après la mammographie du %(m)s et au plus tard "
                    "%(n)s mois après (le %(l)s)."
                )
                % {
                    "m": exam.mammogram_date.strftime("%d/%m/%Y"),
                    "n": months,
                    "l": limit.strftime("%d/%m/%Y"),
                },
                field="diagnosed_on",
            )
        if invasiveness not in Histology.Invasiveness.values:
            raise ServiceError("interval_cancer_invasiveness", _("Invasion inconnue."), field="invasiveness")
        check_size(size_mm, field="size_mm")
        if exam.interval_cancers.filter(side=side).exists():
            raise ServiceError(
                "interval_cancer_duplicate",
                _("Un cancer de l'intervalle est déjà enregistré pour ce sein sur cet examen."),
                field="side",
            )
        cancer = IntervalCancer.objects.create(
            exam=exam,
            diagnosed_on=diagnosed_on,
            side=side,
            invasiveness=invasiveness,
            size_mm=size_mm,
            source=(source or "").strip()[:200],
            note=(note or "").strip(),
            entered_by=actor,
        )
        exam_outcome_refresh(exam_id=exam.pk)
    return cancer
