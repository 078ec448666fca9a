"""Follow-up services (R-FU-1..3, §4): BDD, surveillance checks, histology, treatment, interval cancers, with
real transitions from real states, the closed reasons of the reporting row, French refusals, tenant scoping."""

import datetime as dt

import pytest
from django.utils import timezone

from screening.models import ExamOutcome, ExamState, Histology, IntervalCancer, Treatment, WorkUp
from screening.services.errors import ServiceError
from screening.services.followup import (
    histology_record,
    interval_cancer_record,
    treatment_record,
    work_up_record,
)
from tests.screening.test_followup_support import (
    S,
    World,
    bdd,
    bdd_pending_exam,
    benign,
    l1_positive_exam,
    malignant,
    negative_exam,
    states,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def world() -> World:
    return World()


def outcome(exam) -> ExamOutcome:
    return ExamOutcome.objects.get(exam=exam)


# ---------------------------------------------------------------- BDD → closed, surveillance or histology


def test_bdd_acr_1_2_closes_as_false_positive(world):
    exam = bdd_pending_exam(world)
    work_up = work_up_record(exam_id=exam.pk, actor=world.l1, **bdd())
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    assert states(exam)[-3:] == [S.BDD_PENDING, S.BDD_RECEIVED, S.CLOSED]
    assert (work_up.source, work_up.entered_by, work_up.exams_done) == ("PRACTICE", world.l1, ["MAM", "ECH"])
    row = outcome(exam)
    assert row.closed_reason == "FALSE_POSITIVE"
    assert row.bdd_received_at == work_up.entered_at
    assert row.cancer is False
    last = exam.status_events.order_by("-at", "-pk").first()
    assert last.actor == world.l1 and last.reason.startswith("Faux positif : bilan ACR 2")


def test_bdd_acr_3_goes_to_surveillance_and_the_second_check_closes_it(world):
    exam = bdd_pending_exam(world, days_ago=300)
    first_day = TODAY() - dt.timedelta(days=290)
    work_up_record(
        exam_id=exam.pk,
        actor=world.staff,
        **bdd(acr_right=3, conduct="SURV", performed_on=first_day),
    )
    exam.refresh_from_db()
    assert exam.state == S.SURVEILLANCE
    check = bdd(origin="SURV", acr_right=3, conduct="SURV", performed_on=first_day + dt.timedelta(days=182))
    work_up_record(exam_id=exam.pk, actor=world.staff, **check)
    exam.refresh_from_db()
    assert exam.state == S.SURVEILLANCE  # first check, still ACR 3: the second one is due at +12 months
    check["performed_on"] = TODAY()
    work_up_record(exam_id=exam.pk, actor=world.staff, **check)
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    assert states(exam)[-2:] == [S.SURVEILLANCE, S.CLOSED]
    assert outcome(exam).closed_reason == "SURVEILLANCE_DONE"
    assert exam.work_ups.filter(origin="SURV").count() == 2


def test_bdd_acr_4_then_malignant_histology_closes_as_cancer(world):
    exam = bdd_pending_exam(world)
    work_up_record(exam_id=exam.pk, actor=world.l1, **bdd(acr_left=4, exams_done=["PMI"], conduct="BIO"))
    exam.refresh_from_db()
    assert exam.state == S.HISTOLOGY_PENDING
    histology = histology_record(exam_id=exam.pk, actor=world.l1, **malignant(pt="t1c", pn="n0", m="m0"))
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    assert states(exam)[-3:] == [S.HISTOLOGY_PENDING, S.HISTOLOGY_RECORDED, S.CLOSED]
    assert (histology.pt, histology.pn, histology.m, histology.adicap) == ("pT1c", "pN0", "M0", "BHSEA7F0")
    row = outcome(exam)
    assert (
        row.closed_reason,
        row.cancer,
        row.cancer_in_situ,
        row.cancer_size_mm,
        row.cancer_node_negative,
    ) == (
        "CANCER",
        True,
        False,
        12,
        True,
    )
    # The other breast's result may come later: added to the closed exam, the outcome recomputed.
    histology_record(exam_id=exam.pk, actor=world.secretariat, **benign())
    assert exam.histologies.count() == 2
    assert outcome(exam).closed_reason == "CANCER"
    assert ExamState.CLOSED == type(exam).objects.get(pk=exam.pk).state


def test_benign_histology_closes_as_benign(world):
    exam = l1_positive_exam(world, acr=4)
    assert exam.state == S.HISTOLOGY_PENDING
    histology_record(exam_id=exam.pk, actor=world.staff, **benign())
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    row = outcome(exam)
    assert (row.closed_reason, row.cancer, row.global_result) == ("BENIGN", False, "POS_L1")


def test_l1_acr_3_surveillance_check_acr_1_ends_surveillance(world):
    exam = l1_positive_exam(world, acr=3, days_ago=200)
    assert exam.state == S.SURVEILLANCE
    work_up_record(exam_id=exam.pk, actor=world.l1, **bdd(origin="SURV", acr_right=1))
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    assert outcome(exam).closed_reason == "SURVEILLANCE_DONE"


def test_surveillance_check_acr_4_asks_for_histology(world):
    exam = l1_positive_exam(world, acr=3, days_ago=200)
    work_up_record(
        exam_id=exam.pk, actor=world.l1, **bdd(origin="SURV", acr_right=4, exams_done=["PMA"], conduct="CHI")
    )
    exam.refresh_from_db()
    assert exam.state == S.HISTOLOGY_PENDING
    assert states(exam)[-2:] == [S.SURVEILLANCE, S.HISTOLOGY_PENDING]


# ---------------------------------------------------------------- refusals: French messages, nothing stored


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"performed_on": TODAY() + dt.timedelta(days=1)},
            "performed_on",
            "La date du bilan est dans le futur.",
        ),
        ({"performed_on": TODAY() - dt.timedelta(days=40)}, "performed_on", "précède la mammographie du"),
        ({"conduct": "BIO"}, "conduct", "Un ACR 1 ou 2 ne justifie ni surveillance ni prélèvement"),
        ({"acr_right": 4, "conduct": "DEP"}, "conduct", "Un ACR 4 ou 5 appelle un prélèvement"),
        ({"acr_right": 3, "conduct": "DEP"}, "conduct", "Un ACR 3 appelle une surveillance"),
        ({"acr_left": 0}, "acr_left", "L'ACR final d'un bilan va de 1 à 5"),
        ({"exams_done": []}, "exams_done", "Cochez au moins un examen"),
        ({"radiologist_name": "  "}, "radiologist_name", "Indiquez le radiologue"),
        ({"origin": "SURV"}, "origin", "attend un bilan différé, pas un contrôle"),
    ],
)
def test_bdd_refusals_store_nothing(world, overrides, field, message):
    exam = bdd_pending_exam(world, days_ago=30)
    with pytest.raises(ServiceError) as caught:
        work_up_record(exam_id=exam.pk, actor=world.l1, **bdd(**overrides))
    assert caught.value.field == field
    assert message in caught.value.message
    exam.refresh_from_db()
    assert exam.state == S.BDD_PENDING
    assert not WorkUp.objects.filter(exam=exam).exists()


def test_bdd_is_refused_when_none_is_expected(world):
    exam = l1_positive_exam(world, acr=4)
    with pytest.raises(ServiceError) as caught:
        work_up_record(exam_id=exam.pk, actor=world.l1, **bdd())
    assert caught.value.code == "work_up_not_expected"
    assert "Histologie attendue" in caught.value.message


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"invasiveness": ""}, "invasiveness", "in situ ou invasif"),
        ({"grade": 4}, "grade", "Le grade SBR va de 1 à 3."),
        ({"pt": "T9"}, "pt", "pT invalide : « T9 »"),
        ({"pn": "N7"}, "pn", "pN invalide"),
        ({"adicap": "AB12"}, "adicap", "Code ADICAP invalide"),
        ({"size_mm": 0}, "size_mm", "en millimètres"),
        ({"sampled_on": TODAY() + dt.timedelta(days=3)}, "sampled_on", "dans le futur"),
        ({"nature": "BENIGN"}, "nature", "Une lésion bénigne n'a ni invasion"),
    ],
)
def test_histology_refusals_store_nothing(world, overrides, field, message):
    exam = l1_positive_exam(world, acr=5)
    with pytest.raises(ServiceError) as caught:
        histology_record(exam_id=exam.pk, actor=world.l1, **malignant(**overrides))
    assert (caught.value.field, message in caught.value.message) == (field, True)
    exam.refresh_from_db()
    assert exam.state == S.HISTOLOGY_PENDING
    assert not Histology.objects.filter(exam=exam).exists()


def test_histology_is_refused_while_a_bdd_is_awaited(world):
    exam = bdd_pending_exam(world)
    with pytest.raises(ServiceError) as caught:
        histology_record(exam_id=exam.pk, actor=world.l1, **malignant())
    assert caught.value.code == "histology_not_expected"


# ---------------------------------------------------------------- who may enter what


def test_another_practice_cannot_enter_a_bdd(world):
    exam = bdd_pending_exam(world)
    for actor in (world.other_staff, world.other_l1):
        with pytest.raises(ServiceError) as caught:
            work_up_record(exam_id=exam.pk, actor=actor, **bdd())
        assert caught.value.code == "forbidden"
    with pytest.raises(ServiceError):
        histology_record(exam_id=l1_positive_exam(world, acr=4).pk, actor=world.other_staff, **malignant())
    assert not WorkUp.objects.exists()


def test_paper_entry_is_the_secretariats_and_practice_entry_the_practices(world):
    exam = bdd_pending_exam(world)
    with pytest.raises(ServiceError) as caught:
        work_up_record(exam_id=exam.pk, actor=world.staff, **bdd(source="PAPER"))
    assert caught.value.code == "forbidden"
    with pytest.raises(ServiceError):
        work_up_record(exam_id=exam.pk, actor=world.secretariat, **bdd(source="PRACTICE"))
    work_up = work_up_record(exam_id=exam.pk, actor=world.secretariat, **bdd(source="PAPER"))
    assert (work_up.source, work_up.entered_by) == ("PAPER", world.secretariat)
    assert "saisie papier" in exam.status_events.get(to_state=S.BDD_RECEIVED).reason


# ---------------------------------------------------------------- treatment


def test_treatment_dates_are_upserted_after_a_cancer(world):
    exam = l1_positive_exam(world, acr=5)
    histology_record(exam_id=exam.pk, actor=world.l1, **malignant())
    surgery = TODAY() - dt.timedelta(days=1)
    treatment_record(exam_id=exam.pk, actor=world.staff, surgery_on=surgery)
    treatment_record(exam_id=exam.pk, actor=world.secretariat, surgery_on=surgery, radiotherapy_on=TODAY())
    treatment = Treatment.objects.get(exam=exam)
    assert (treatment.surgery_on, treatment.radiotherapy_on, treatment.chemotherapy_on) == (
        surgery,
        TODAY(),
        None,
    )
    assert treatment.entered_by == world.secretariat
    with pytest.raises(ServiceError) as caught:
        treatment_record(exam_id=exam.pk, actor=world.staff)
    assert caught.value.message == "Indiquez au moins une date de traitement."


def test_treatment_needs_a_malignant_histology(world):
    exam = l1_positive_exam(world, acr=4)
    histology_record(exam_id=exam.pk, actor=world.l1, **benign())
    with pytest.raises(ServiceError) as caught:
        treatment_record(exam_id=exam.pk, actor=world.l1, surgery_on=TODAY())
    assert caught.value.code == "treatment_without_cancer"
    assert not Treatment.objects.exists()


# ---------------------------------------------------------------- interval cancers


def test_interval_cancer_on_a_negative_exam(world):
    exam = negative_exam(world, days_ago=200)
    assert outcome(exam).closed_reason == "NEGATIVE"
    cancer = interval_cancer_record(
        exam_id=exam.pk,
        actor=world.secretariat,
        diagnosed_on=TODAY() - dt.timedelta(days=5),
        side="G",
        invasiveness="INVASIVE",
        size_mm=18,
        source="Registre des cancers de l'Allier",
    )
    assert (cancer.side, cancer.size_mm, cancer.entered_by) == ("G", 18, world.secretariat)
    assert outcome(exam).interval_cancer is True
    with pytest.raises(ServiceError) as caught:  # one per breast
        interval_cancer_record(
            exam_id=exam.pk, actor=world.secretariat, diagnosed_on=TODAY(), side="G", invasiveness=""
        )
    assert caught.value.code == "interval_cancer_duplicate"


def test_interval_cancer_on_result_sent_negative(world):
    exam = negative_exam(world, days_ago=100, closed=False)
    assert exam.state == S.RESULT_SENT
    interval_cancer_record(
        exam_id=exam.pk, actor=world.secretariat, diagnosed_on=TODAY(), side="D", invasiveness=""
    )
    assert IntervalCancer.objects.filter(exam=exam).count() == 1


def test_interval_cancer_only_on_negatives(world):
    positive = bdd_pending_exam(world)
    false_positive = bdd_pending_exam(world)
    work_up_record(exam_id=false_positive.pk, actor=world.l1, **bdd())
    for exam in (positive, false_positive):
        with pytest.raises(ServiceError) as caught:
            interval_cancer_record(
                exam_id=exam.pk, actor=world.secretariat, diagnosed_on=TODAY(), side="D", invasiveness=""
            )
        assert caught.value.code == "interval_cancer_not_negative"
    assert not IntervalCancer.objects.exists()


def test_interval_cancer_window_and_secretariat_only(world):
    exam = negative_exam(world, days_ago=800)
    mammogram = exam.mammogram_date
    for day in (mammogram, mammogram + dt.timedelta(days=740)):
        with pytest.raises(ServiceError) as caught:
            interval_cancer_record(
                exam_id=exam.pk, actor=world.secretariat, diagnosed_on=day, side="D", invasiveness=""
            )
        assert caught.value.code == "interval_cancer_window"
        assert "au plus tard 24 mois après" in caught.value.message
    with pytest.raises(ServiceError) as caught:
        interval_cancer_record(
            exam_id=exam.pk,
            actor=world.staff,
            diagnosed_on=mammogram + dt.timedelta(days=300),
            side="D",
            invasiveness="",
        )
    assert caught.value.code == "forbidden"
    interval_cancer_record(
        exam_id=exam.pk,
        actor=world.secretariat,
        diagnosed_on=mammogram + dt.timedelta(days=700),
        side="D",
        invasiveness="",
    )
