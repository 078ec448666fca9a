"""Film exams (§4 "Film exams"): registration without images, booking into lightbox sessions under R-COI-1,
keyed results through the browser's verdict service, CTI with reprint, and the return of the films."""

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest
from django.utils import timezone

from readings.models import Assignment, CtiItem, Discordance, FilmRecord, L2Reading, LightboxSession
from readings.selectors_films import film_exams_to_book, films_to_return
from readings.services.assignment import exam_assign, exams_assign_to_reader, queue_assign
from readings.services.films import (
    film_exam_register,
    film_result_key_in,
    film_return_record,
    lightbox_session_book,
    lightbox_session_create,
    lightbox_session_unbook,
)
from readings.services.l2_reading import CtiInput, FindingInput, l2_reading_submit
from screening.models import Exam, ExamOutcome, ExamState, Participant
from screening.services.errors import ServiceError
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    coordinator,
    l1_negative,
    l1_of,
    queued_exam,
    reader_at,
    staff_of,
)

pytestmark = pytest.mark.django_db(transaction=True)
_numbers = itertools.count(1)


def make_world() -> SimpleNamespace:
    """A practice with its staff and L1 radiologist, a reading site with one reader, the secretariat."""
    practice = PracticeFactory()
    site = SiteFactory()
    return SimpleNamespace(
        practice=practice,
        staff=staff_of(practice),
        l1=l1_of(practice),
        site=site,
        reader=reader_at(site),
        secretary=coordinator(),
    )


@pytest.fixture
def world() -> SimpleNamespace:
    return make_world()


def register(world, *, l1=None, **overrides) -> Exam:
    n = next(_numbers)
    exam = film_exam_register(
        actor=world.secretary,
        practice=world.practice,
        participant={
            "programme_id": f"03-FILM-{n:05d}",
            "last_name": f"BERNARD{n}",
            "first_name": "Anne",
            "birth_date": dt.date(1960, 3, 2),
        },
        l1_radiologist=l1 or world.l1,
        mammogram_date=timezone.localdate() - dt.timedelta(days=4),
        l1=l1_negative(),
        **overrides,
    )
    exam.refresh_from_db()
    return exam


def session_for(world, reader=None) -> LightboxSession:
    return lightbox_session_create(
        site=world.site,
        reader=reader or world.reader,
        scheduled_on=timezone.localdate(),
        actor=world.secretary,
    )


def booked(world) -> tuple[Exam, LightboxSession]:
    exam = register(world)
    session = session_for(world)
    lightbox_session_book(session_id=session.pk, exam_ids=[exam.pk], actor=world.secretary)
    exam.refresh_from_db()
    return exam, session


def test_a_film_exam_is_registered_without_images_and_reaches_the_queue(world):
    exam = register(world, equipment=Exam.Equipment.CR, film_count=6)
    assert exam.medium == Exam.Medium.FILM and exam.equipment == Exam.Equipment.CR
    assert exam.state == ExamState.QUEUED
    assert not exam.instances.exists()
    assert list(exam.status_events.values_list("to_state", flat=True)) == ["DRAFT", "SUBMITTED", "QUEUED"]
    record = FilmRecord.objects.get(exam=exam)
    assert (record.film_count, record.received_by, record.returned_at) == (6, world.secretary, None)
    assert exam.l1_form.signed_by == world.l1
    # The engine ran on entering the queue (eager task) and left it alone, although a reader is free.
    assert not Assignment.objects.filter(exam=exam).exists()
    assert list(film_exams_to_book()) == [exam]


def test_registration_is_all_or_nothing_and_checks_the_l1_form_as_for_practices(world):
    with pytest.raises(ServiceError) as error:
        film_exam_register(
            actor=world.secretary,
            practice=world.practice,
            participant={
                "programme_id": "03-X-1",
                "last_name": "X",
                "first_name": "Y",
                "birth_date": dt.date(1960, 1, 1),
            },
            l1_radiologist=world.l1,
            mammogram_date=timezone.localdate() - dt.timedelta(days=2),
            l1=l1_negative(acr_final_left=0),
        )
    assert error.value.code == "l1_acr0_final"
    assert not Participant.objects.filter(programme_id="03-X-1").exists()
    assert not Exam.objects.exists() and not FilmRecord.objects.exists()
    with pytest.raises(ServiceError) as error:
        register(world, equipment=Exam.Equipment.DR)
    assert error.value.code == "film_equipment"
    with pytest.raises(ServiceError) as error:  # only the secretariat registers films
        film_exam_register(
            actor=world.staff,
            practice=world.practice,
            participant={
                "programme_id": "03-X-2",
                "last_name": "X",
                "first_name": "Y",
                "birth_date": dt.date(1960, 1, 1),
            },
            l1_radiologist=world.l1,
            mammogram_date=timezone.localdate() - dt.timedelta(days=2),
            l1=l1_negative(),
        )
    assert error.value.code == "not_allowed"


def test_the_engine_assigns_console_exams_and_leaves_film_exams_in_the_queue(world):
    film = register(world)
    console = queued_exam(practice=world.practice, staff=world.staff, l1=world.l1)
    result = queue_assign()
    film.refresh_from_db(), console.refresh_from_db()
    assert (result.selected, result.assigned) == (1, 1)
    assert console.state == ExamState.ASSIGNED
    assert Assignment.objects.get(exam=console).reader == world.reader
    assert film.state == ExamState.QUEUED and film.queue_wait_code == ""
    assert not Assignment.objects.filter(exam=film).exists()
    # Coordinator, batch and reading-session assignment go through the same refusal.
    plan = exams_assign_to_reader(exam_ids=[film.pk], reader=world.reader, actor=world.secretary)
    assert plan.assigned == []
    assert plan.refused == [(film.pk, "examen sur films : à programmer dans une séance de négatoscope")]


def test_booking_assigns_the_session_reader_without_reading_lock(world):
    exam, session = booked(world)
    assert exam.state == ExamState.ASSIGNED
    assignment = Assignment.objects.get(exam=exam, state=Assignment.State.ACTIVE)
    assert assignment.reader == world.reader and assignment.assigned_by == world.secretary
    assert assignment.decision["lightbox_session_id"] == session.pk
    assert list(session.exams.all()) == [exam]
    assert list(film_exams_to_book()) == []


def test_booking_refuses_the_exams_l1_radiologist_with_a_french_reason_and_books_nothing(world):
    reader_at(world.site, user=world.l1)  # the L1 radiologist is also a second reader
    other = register(world, l1=l1_of(world.practice))
    exam = register(world)
    session = session_for(world, reader=world.l1)
    with pytest.raises(ServiceError) as error:
        lightbox_session_book(session_id=session.pk, exam_ids=[other.pk, exam.pk], actor=world.secretary)
    assert error.value.code == "booking_refused"
    assert "Aucun examen programmé" in error.value.message
    assert f"{exam.participant.programme_id} : radiologue L1 de l'examen (R-COI-1)" in error.value.message
    assert other.participant.programme_id not in error.value.message
    assert not Assignment.objects.exists() and not session.exams.exists()
    assert set(Exam.objects.values_list("state", flat=True)) == {ExamState.QUEUED}


def test_a_session_holds_at_most_the_configured_number_of_exams(world, settings):
    settings.L2_LIGHTBOX_SESSION_MAX = 1
    first, second = register(world), register(world)
    session = session_for(world)
    with pytest.raises(ServiceError) as error:
        lightbox_session_book(session_id=session.pk, exam_ids=[first.pk, second.pk], actor=world.secretary)
    assert error.value.code == "session_full"
    assert lightbox_session_book(session_id=session.pk, exam_ids=[first.pk], actor=world.secretary) == [
        first.pk
    ]


def test_an_unread_exam_taken_out_of_its_session_is_to_book_again(world):
    exam, session = booked(world)
    lightbox_session_unbook(session_id=session.pk, exam_id=exam.pk, actor=world.secretary)
    exam.refresh_from_db()
    assert exam.state == ExamState.QUEUED
    assert Assignment.objects.get(exam=exam).state == Assignment.State.RELEASED
    assert not session.exams.exists()
    assert list(film_exams_to_book()) == [exam]


def test_a_result_keyed_by_the_secretariat_matches_a_browser_verdict(world):
    film, _session = booked(world)
    console = queued_exam(practice=world.practice, staff=world.staff, l1=world.l1)
    exam_assign(exam_id=console.pk, actor=world.secretary, reader=world.reader)
    finding = FindingInput(side="G", lesion_type="C", quadrant="QSE", acr=4)
    browser = l2_reading_submit(
        exam_id=console.pk, reader=world.reader, verdict="ANOMALY", findings=[finding]
    )
    keyed = film_result_key_in(
        exam_id=film.pk, reader=world.reader, keyed_by=world.secretary, verdict="ANOMALY", findings=[finding]
    )
    film.refresh_from_db(), console.refresh_from_db(), browser.refresh_from_db()
    assert film.state == console.state == ExamState.L2_POSITIVE
    fields = ("verdict", "acr_right", "acr_left", "status", "reader_id", "reading_round", "purpose")
    assert [getattr(keyed, f) for f in fields] == [getattr(browser, f) for f in fields]
    assert (keyed.medium, keyed.keyed_by, keyed.site_id) == ("FILM", world.secretary, world.site.pk)
    assert (browser.medium, browser.keyed_by) == ("CONSOLE", None)
    assert keyed.status == L2Reading.Status.FINAL
    assert Assignment.objects.get(exam=film).state == Assignment.State.COMPLETED
    assert Discordance.objects.get(exam=film).kind == Discordance.Kind.L2_POSITIVE
    film_outcome, console_outcome = ExamOutcome.objects.get(exam=film), ExamOutcome.objects.get(exam=console)
    assert (film_outcome.medium, console_outcome.medium) == ("FILM", "CONSOLE")
    assert film_outcome.global_result == console_outcome.global_result == "POS_L2"
    assert film_outcome.l2_reader_id == world.reader.pk and film_outcome.l2_positive


def test_a_result_keyed_by_the_reader_has_no_keyed_by_and_the_same_rules(world):
    exam, _session = booked(world)
    with pytest.raises(ServiceError) as error:
        film_result_key_in(
            exam_id=exam.pk, reader=world.reader, keyed_by=world.reader, verdict="NORMAL", acr_right=3
        )
    assert error.value.code == "normal_acr"
    reading = film_result_key_in(
        exam_id=exam.pk, reader=world.reader, keyed_by=world.reader, verdict="NORMAL"
    )
    exam.refresh_from_db()
    assert exam.state == ExamState.L2_NEGATIVE
    assert (reading.medium, reading.keyed_by) == ("FILM", None)
    with pytest.raises(ServiceError) as error:  # read once: the booking is over
        film_result_key_in(exam_id=exam.pk, reader=world.reader, keyed_by=world.secretary, verdict="NORMAL")
    assert error.value.code == "not_booked"
    # A practice user can never key a result in for a reader.
    with pytest.raises(ServiceError) as error:
        film_result_key_in(exam_id=exam.pk, reader=world.reader, keyed_by=world.staff, verdict="NORMAL")
    assert error.value.code == "not_allowed"


def test_a_cti_on_films_asks_for_a_reprint(world):
    exam, _session = booked(world)
    with pytest.raises(ServiceError) as error:  # "send the image again" is for DICOM, not films
        film_result_key_in(exam_id=exam.pk, reader=world.reader, keyed_by=world.secretary, verdict="CTI",
                           cti_items=[CtiInput(side="D", view="CC", reason="EXP", action="REN")])  # fmt: skip
    assert error.value.code == "cti_action_film"
    items = [
        CtiInput(side="D", view="CC", reason="IMP", action="REI", instructions="film trop pâle"),
        CtiInput(side="G", view="MLO", reason="POS", action="REF"),
    ]
    reading = film_result_key_in(
        exam_id=exam.pk, reader=world.reader, keyed_by=world.secretary, verdict="CTI", cti_items=items
    )
    exam.refresh_from_db()
    assert exam.state == ExamState.CTI_REQUESTED
    stored = {(i.side, i.view): (i.reason, i.action, i.instructions) for i in reading.cti_items.all()}
    assert stored == {
        ("D", "CC"): (CtiItem.Reason.IMP, CtiItem.Action.REI, "film trop pâle"),
        ("G", "MLO"): (CtiItem.Reason.POS, CtiItem.Action.REF, ""),
    }
    outcome = ExamOutcome.objects.get(exam=exam)
    assert (outcome.global_result, outcome.l2_cti, outcome.medium) == ("CTI", True, "FILM")


def test_films_are_returned_once_read_and_only_once(world):
    exam, _session = booked(world)
    with pytest.raises(ServiceError) as error:
        film_return_record(exam_id=exam.pk, actor=world.secretary, returned_to="Cabinet")
    assert error.value.code == "films_still_needed"
    assert list(films_to_return()) == []
    film_result_key_in(exam_id=exam.pk, reader=world.reader, keyed_by=world.secretary, verdict="NORMAL")
    assert [r.exam_id for r in films_to_return()] == [exam.pk]
    with pytest.raises(ServiceError) as error:
        film_return_record(exam_id=exam.pk, actor=world.secretary, returned_to="  ")
    assert error.value.code == "returned_to_missing"
    record = film_return_record(exam_id=exam.pk, actor=world.secretary, returned_to="Cabinet de Vichy")
    assert record.returned_to == "Cabinet de Vichy" and record.returned_at is not None
    assert list(films_to_return()) == []
    with pytest.raises(ServiceError) as error:
        film_return_record(exam_id=exam.pk, actor=world.secretary, returned_to="Patiente")
    assert error.value.code == "films_already_returned"
    assert FilmRecord.objects.get(exam=exam).returned_to == "Cabinet de Vichy"
