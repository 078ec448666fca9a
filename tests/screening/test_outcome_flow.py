"""From the final L2 verdict to a closed exam, under each double-reading policy (domain spec §4, §5, §7)."""

import datetime as dt

import pytest
from django.utils import timezone

from readings.models import Assignment, Consensus, L2Reading, Retake
from readings.services.assignment import exam_assign
from readings.services.l2_reading import CtiInput, FindingInput, l2_reading_submit
from screening.models import ExamOutcome, ExamState, Letter, LetterKind, ParticipantDoctor
from screening.services.consensus import consensus_meeting_decide
from screening.services.errors import ServiceError
from screening.services.letters import letters_generate_due, letters_mark_sent
from screening.services.policies import policy_create
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    coordinator,
    draft_exam,
    l1_negative,
    l1_of,
    queued_exam,
    reader_at,
    staff_of,
)

pytestmark = pytest.mark.django_db(transaction=True)
S = ExamState
ANOMALY = [FindingInput(side="G", lesion_type="C", quadrant="QSE", acr=4, clock=2)]
CTI = [CtiInput(side="D", view="MLO", reason="FLO")]


@pytest.fixture
def centre():
    practice = PracticeFactory()
    sites = [SiteFactory(), SiteFactory()]
    return {
        "practice": practice,
        "staff": staff_of(practice),
        "l1": l1_of(practice),
        "readers": [reader_at(sites[0]), reader_at(sites[1]), reader_at(sites[0])],
        "coordinator": coordinator(),
    }


def exam_under(centre, version="FR-2006", **l1):
    exam = queued_exam(
        practice=centre["practice"], staff=centre["staff"], l1=centre["l1"], l1_data=l1_negative(**l1)
    )
    exam.policy_version = version
    exam.save(update_fields=["policy_version"])
    ParticipantDoctor.objects.create(participant=exam.participant, kind="GP", name="Dr Dupuis", town="Vichy")
    return exam


def read(exam, reader, verdict, **kwargs):
    exam_assign(exam_id=exam.pk, actor=None, reader=reader)
    return l2_reading_submit(exam_id=exam.pk, reader=reader, verdict=verdict, undo_seconds=0, **kwargs)


def send(exam, *kinds, actor, now=None):
    """Generate what is due and mark the given kinds sent, as the secretariat does after printing."""
    letters_generate_due(now=now)
    ids = list(Letter.objects.filter(exam=exam, kind__in=kinds, status="READY").values_list("pk", flat=True))
    assert ids, f"no READY letter of {kinds}"
    letters_mark_sent(letter_ids=ids, actor=actor)
    exam.refresh_from_db()


def states(exam):
    return list(exam.status_events.values_list("to_state", flat=True))


def test_france_negative_goes_to_letters_then_closed(centre):
    exam = exam_under(centre)
    read(exam, centre["readers"][0], "NORMAL")
    exam.refresh_from_db()
    assert exam.state == S.L2_NEGATIVE
    planned = set(Letter.objects.filter(exam=exam).values_list("kind", "recipient_kind"))
    assert planned == {(LetterKind.NEG_F, "WOMAN"), (LetterKind.NEG_M, "GP")}
    send(exam, LetterKind.NEG_F, LetterKind.NEG_M, actor=centre["coordinator"])
    assert exam.state == S.CLOSED and states(exam)[-2:] == [S.RESULT_SENT, S.CLOSED]
    outcome = ExamOutcome.objects.get(exam=exam)
    assert (outcome.global_result, outcome.closed_reason, outcome.recalled) == ("NEG", "NEGATIVE", False)
    assert outcome.l2_reader == centre["readers"][0] and outcome.result_sent_at is not None


def test_france_positive_doctor_first_then_woman_24_hours_later(centre):
    exam = exam_under(centre)
    read(exam, centre["readers"][0], "ANOMALY", findings=ANOMALY)
    exam.refresh_from_db()
    assert exam.state == S.L2_POSITIVE
    assert not Letter.objects.filter(
        exam=exam, kind=LetterKind.POS_F
    ).exists()  # after the doctor's, not before
    send(exam, LetterKind.POS_M, LetterKind.POS_R, actor=centre["coordinator"])
    assert exam.state == S.RESULT_SENT
    woman = Letter.objects.get(exam=exam, kind=LetterKind.POS_F)
    doctor = Letter.objects.get(exam=exam, kind=LetterKind.POS_M)
    assert woman.not_before - doctor.sent_at == dt.timedelta(hours=24)  # R-LET-1, from the doctor's letter
    letters_generate_due()
    assert Letter.objects.get(pk=woman.pk).status == "PLANNED"  # not before its time
    send(exam, LetterKind.POS_F, actor=centre["coordinator"], now=timezone.now() + dt.timedelta(hours=25))
    assert exam.state == S.BDD_PENDING
    outcome = ExamOutcome.objects.get(exam=exam)
    assert outcome.global_result == "POS_L2" and outcome.recalled and outcome.discordant
    assert outcome.woman_letter_at > outcome.doctor_letter_at


def test_france_cti_plans_letters_and_waits_for_the_retake(centre):
    exam = exam_under(centre)
    read(exam, centre["readers"][0], "CTI", cti_items=CTI)
    exam.refresh_from_db()
    assert exam.state == S.CTI_REQUESTED
    retake = Retake.objects.get(exam=exam)
    send(exam, LetterKind.CTI_F, LetterKind.CTI_R, actor=centre["coordinator"])
    assert exam.state == S.RETAKE_PENDING
    retake.refresh_from_db()
    assert retake.requested_at is not None
    assert ExamOutcome.objects.get(exam=exam).global_result == "CTI"


def test_uk_discordance_goes_to_a_third_reader_who_decides(centre):
    policy_create(version="UK-test", preset="UK", actor=centre["coordinator"])
    exam = exam_under(centre, version="UK-test")
    first = centre["readers"][0]
    read(exam, first, "ANOMALY", findings=ANOMALY)
    exam.refresh_from_db()
    assert exam.state == S.CONSENSUS_PENDING
    consensus = Consensus.objects.get(exam=exam)
    assert (consensus.kind, consensus.state) == ("ARBITRATION", "OPEN")
    third = Assignment.objects.get(exam=exam, state="ACTIVE").reader
    assert third not in (first, centre["l1"])
    reading = l2_reading_submit(exam_id=exam.pk, reader=third, verdict="NORMAL", undo_seconds=0)
    assert reading.purpose == L2Reading.Purpose.ARBITRATION
    exam.refresh_from_db()
    assert exam.state == S.L2_NEGATIVE  # the third reading decides: no recall
    consensus.refresh_from_db()
    assert (consensus.state, consensus.outcome) == ("DECIDED", "NEGATIVE")
    outcome = ExamOutcome.objects.get(exam=exam)
    assert (outcome.resolved_by, outcome.discordant, outcome.recalled) == ("ARBITRATION", True, False)
    assert outcome.l2_reader == first  # the second reading stays the L2 reader's (QI-02)


def test_uk_concordant_negative_needs_no_arbitration(centre):
    policy_create(version="UK-test", preset="UK", actor=centre["coordinator"])
    exam = exam_under(centre, version="UK-test")
    read(exam, centre["readers"][0], "NORMAL")
    exam.refresh_from_db()
    assert exam.state == S.L2_NEGATIVE and not Consensus.objects.exists()


def test_meeting_without_agreement_positive_wins(centre):
    policy_create(version="NO-test", preset="NO-DE", actor=centre["coordinator"])
    exam = exam_under(centre, version="NO-test")
    read(exam, centre["readers"][0], "ANOMALY", findings=ANOMALY)
    exam.refresh_from_db()
    consensus = Consensus.objects.get(exam=exam)
    assert exam.state == S.CONSENSUS_PENDING and consensus.kind == "MEETING"
    assert not Assignment.objects.filter(exam=exam, state="ACTIVE").exists()  # a meeting, not a third reader
    r1, r2 = centre["readers"][0], centre["readers"][1]
    with pytest.raises(ServiceError) as error:
        consensus_meeting_decide(
            consensus_id=consensus.pk, actor=centre["coordinator"], opinions={r1.pk: "POSITIVE"}
        )
    assert error.value.code == "consensus_participants"
    consensus_meeting_decide(
        consensus_id=consensus.pk,
        actor=centre["coordinator"],
        opinions={r1.pk: "POSITIVE", r2.pk: "NEGATIVE"},
        note="Réunion du jeudi",
    )
    exam.refresh_from_db()
    consensus.refresh_from_db()
    assert exam.state == S.L2_POSITIVE and consensus.tie_break and consensus.outcome == "POSITIVE"
    assert set(consensus.participants.all()) == {r1, r2}
    assert ExamOutcome.objects.get(exam=exam).resolved_by == "MEETING"


def test_cti_needs_a_second_reader_when_required_and_a_disagreement_means_no_cti(centre):
    policy_create(version="FR-CTI", preset="FR-2006", cti_consensus="REQUIRED", actor=centre["coordinator"])
    confirmed, refused = exam_under(centre, version="FR-CTI"), exam_under(centre, version="FR-CTI")
    for exam, second_verdict, final in (
        (confirmed, "CTI", S.CTI_REQUESTED),
        (refused, "NORMAL", S.L2_NEGATIVE),
    ):
        read(exam, centre["readers"][0], "CTI", cti_items=CTI)
        exam.refresh_from_db()
        assert exam.state == S.CONSENSUS_PENDING
        assert not Letter.objects.filter(exam=exam).exists()  # no CTI letter before the confirmation
        second = Assignment.objects.get(exam=exam, state="ACTIVE").reader
        kwargs = {"cti_items": CTI} if second_verdict == "CTI" else {}
        reading = l2_reading_submit(
            exam_id=exam.pk, reader=second, verdict=second_verdict, undo_seconds=0, **kwargs
        )
        assert reading.purpose == L2Reading.Purpose.CTI_CONFIRMATION
        exam.refresh_from_db()
        assert exam.state == final
    assert Letter.objects.filter(exam=confirmed, kind=LetterKind.CTI_R).exists()
    assert Letter.objects.filter(exam=refused, kind=LetterKind.NEG_F).exists()


def test_a_policy_applies_only_to_exams_submitted_after_it(centre):
    from screening.services.exams import exam_submit

    before = draft_exam(practice=centre["practice"], staff=centre["staff"], l1=centre["l1"], medium="FILM")
    exam_submit(exam_id=before.pk, actor=centre["staff"])
    policy_create(version="UK-2027", preset="UK", actor=centre["coordinator"])
    after = draft_exam(practice=centre["practice"], staff=centre["staff"], l1=centre["l1"], medium="FILM")
    exam_submit(exam_id=after.pk, actor=centre["staff"])
    before.refresh_from_db()
    after.refresh_from_db()
    assert (before.policy_version, after.policy_version) == ("FR-2006", "UK-2027")
    with pytest.raises(ServiceError) as error:
        policy_create(
            version="UK-old",
            preset="UK",
            actor=centre["coordinator"],
            active_from=timezone.now() - dt.timedelta(days=3),
        )
    assert error.value.code == "policy_retroactive"


@pytest.mark.parametrize(("acr", "state"), [(4, S.HISTOLOGY_PENDING), (3, S.SURVEILLANCE)])
def test_l1_positive_exams_go_to_their_follow_up(centre, acr, state):
    from screening.services.exams import exam_submit

    l1 = l1_negative(acr_initial_left=acr, acr_final_left=acr, conduct="PMI" if acr == 4 else "S06")
    exam = draft_exam(
        practice=centre["practice"], staff=centre["staff"], l1=centre["l1"], l1_data=l1, medium="FILM"
    )
    exam_submit(exam_id=exam.pk, actor=centre["staff"])
    exam.refresh_from_db()
    assert exam.state == state and S.L1_POSITIVE in states(exam)
    assert ExamOutcome.objects.get(exam=exam).global_result == "POS_L1"


def test_a_reader_asks_for_a_consensus_and_the_second_l2_reader_decides(centre):
    from readings.services.workstation import exam_defer

    exam = exam_under(centre)
    first = centre["readers"][0]
    exam_assign(exam_id=exam.pk, actor=None, reader=first)
    exam_defer(exam_id=exam.pk, reader=first, reason_code="ADVICE", text="Asymétrie douteuse QSE gauche")
    exam.refresh_from_db()
    consensus = Consensus.objects.get(exam=exam)
    assert exam.state == S.CONSENSUS_PENDING and (consensus.trigger, consensus.kind) == (
        "READER",
        "CONSENSUS",
    )
    second = Assignment.objects.get(exam=exam, state="ACTIVE").reader
    assert second not in (first, centre["l1"])
    reading = l2_reading_submit(
        exam_id=exam.pk, reader=second, verdict="ANOMALY", findings=ANOMALY, undo_seconds=0
    )
    assert reading.purpose == L2Reading.Purpose.L2
    exam.refresh_from_db()
    consensus.refresh_from_db()
    assert exam.state == S.L2_POSITIVE and consensus.outcome == "POSITIVE"
    assert set(consensus.participants.all()) == {first, second}
    outcome = ExamOutcome.objects.get(exam=exam)
    assert (outcome.l2_reader, outcome.l2_positive, outcome.resolved_by) == (second, True, "CONSENSUS")


def test_after_a_refused_bdi_a_normal_l2_still_leads_to_the_deferred_work_up(centre, settings):
    settings.L2_ON_REFUSED_BDI = True
    exam = exam_under(centre, acr_initial_right=0, acr_final_right=0, bdi_refused_by_woman=True)
    read(exam, centre["readers"][0], "NORMAL")
    exam.refresh_from_db()
    assert exam.state == S.BDD_PENDING
    assert not Letter.objects.filter(exam=exam, kind__in=(LetterKind.NEG_F, LetterKind.NEG_M)).exists()
    assert ExamOutcome.objects.get(exam=exam).global_result == "POS_L1"


def test_a_reprint_only_cti_does_not_call_the_woman_back(centre):
    exam = exam_under(centre)
    read(
        exam,
        centre["readers"][0],
        "CTI",
        cti_items=[CtiInput(side="D", view="CC", reason="EXP", action="REN")],
    )
    assert set(Letter.objects.filter(exam=exam).values_list("kind", flat=True)) == {LetterKind.CTI_R}
    send(exam, LetterKind.CTI_R, actor=centre["coordinator"])
    assert exam.state == S.RETAKE_PENDING


def test_a_reader_consensus_under_an_arbitration_policy_goes_on_to_arbitration(centre):
    from readings.services.workstation import exam_defer

    policy_create(version="UK-c", preset="UK", actor=centre["coordinator"])
    exam = exam_under(centre, version="UK-c")
    first = centre["readers"][0]
    exam_assign(exam_id=exam.pk, actor=None, reader=first)
    exam_defer(exam_id=exam.pk, reader=first, reason_code="ADVICE")
    second = Assignment.objects.get(exam=exam, state="ACTIVE").reader
    l2_reading_submit(exam_id=exam.pk, reader=second, verdict="ANOMALY", findings=ANOMALY, undo_seconds=0)
    exam.refresh_from_db()
    assert exam.state == S.CONSENSUS_PENDING  # discordant with L1: the policy's arbitration follows
    kinds = list(Consensus.objects.filter(exam=exam).order_by("pk").values_list("kind", "state"))
    assert kinds == [("CONSENSUS", "DECIDED"), ("ARBITRATION", "OPEN")]
    third = Assignment.objects.get(exam=exam, state="ACTIVE").reader
    assert third not in (first, second, centre["l1"])
