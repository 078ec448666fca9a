"""The assignment rules on PostgreSQL, one by one: eligibility, exclusions, priority, balance, explanations."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from readings.models import Assignment, AssignmentRules, DeclaredConflict, ReaderAbsence, ReaderLoad
from readings.services.assignment import exam_assign, exam_pin_urgent, exams_assign_to_reader, queue_assign
from screening.models import ExamState, PracticeMembership, PracticeRole
from screening.services.errors import ServiceError
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    l1_of,
    queued_exam,
    reader_at,
    staff_of,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def world():
    vichy, moulins = SiteFactory(name="Vichy"), SiteFactory(name="Moulins")
    practice = PracticeFactory(home_site=vichy)
    return {
        "vichy": vichy,
        "moulins": moulins,
        "practice": practice,
        "staff": staff_of(practice),
        "l1": l1_of(practice),
        "coord": coordinator(),
    }


def _exam(w, **kwargs):
    return queued_exam(practice=w["practice"], staff=w["staff"], l1=w["l1"], **kwargs)


def _reader_of(exam):
    exam.refresh_from_db()
    active = exam.assignments.filter(state=Assignment.State.ACTIVE).first()
    return active.reader if active else None


def test_absent_reader_and_day_off_are_skipped_and_the_why_says_so(world):
    absent = reader_at(world["vichy"], user=UserFactory(last_name="Absente"))
    ReaderAbsence.objects.create(
        reader=absent.reader_profile, starts_on=timezone.localdate(), ends_on=timezone.localdate()
    )
    off = reader_at(world["vichy"], user=UserFactory(last_name="Partiel"))
    off.reader_profile.workdays = "1234567".replace(str(timezone.localdate().isoweekday()), "")
    off.reader_profile.save()
    present = reader_at(world["moulins"], user=UserFactory(last_name="Presente"))
    exam = _exam(world)
    queue_assign(exam_ids=[exam.pk])
    assert _reader_of(exam) == present
    why = exam.assignments.get().why
    assert "absent ce jour" in why and "ne lit pas ce jour de la semaine" in why
    decision = exam.assignments.get().decision
    assert {e["code"] for e in decision["excluded"]} == {"ABSENT", "DAY_OFF"}
    assert decision["chosen"]["reader_id"] == present.pk


def test_daily_and_weekly_capacities_are_never_exceeded_and_the_rest_waits_with_a_reason(world):
    reader = reader_at(world["moulins"], daily_capacity=2, weekly_capacity=3)
    exams = [_exam(world) for _ in range(4)]
    result = queue_assign(limit=10)
    assert result.assigned == 2 and result.waiting == {"NO_CAPACITY": 2}
    waiting = [e for e in exams if _reader_of(e) is None]
    assert all(e.queue_wait_code == "NO_CAPACITY" for e in waiting)
    assert "capacité du jour atteinte" in waiting[0].queue_wait_reason
    load = ReaderLoad.objects.get(reader=reader, period="D")
    assert (load.assigned, load.capacity) == (2, 2)
    # The database refuses a counter over capacity: the last guard if a bug ever slipped through.
    with pytest.raises(IntegrityError), transaction.atomic():
        ReaderLoad.objects.filter(pk=load.pk).update(assigned=3)


def test_same_practice_and_cross_site_rules_apply_only_when_switched_on(world):
    member = reader_at(world["moulins"])
    PracticeMembership.objects.create(
        user=member, practice=world["practice"], role=PracticeRole.L1_RADIOLOGIST
    )
    home = reader_at(world["vichy"])  # the practice's home site
    exam = _exam(world)
    AssignmentRules.objects.create(exclude_same_practice=True, cross_site=True)
    queue_assign(exam_ids=[exam.pk])
    assert _reader_of(exam) is None
    exam.refresh_from_db()
    assert exam.queue_wait_code == "ALL_EXCLUDED"
    assert "membre du cabinet" in exam.queue_wait_reason and "site de rattachement" in exam.queue_wait_reason
    AssignmentRules.objects.create(exclude_same_practice=False, cross_site=True)  # a new version applies
    queue_assign(exam_ids=[exam.pk])
    assert _reader_of(exam) == member
    assert home.pk != member.pk


def test_declared_conflict_excludes_the_reader(world):
    declared = reader_at(world["moulins"])
    DeclaredConflict.objects.create(
        reader=declared.reader_profile, practice=world["practice"], reason="associé"
    )
    other = reader_at(world["vichy"])
    exam = _exam(world)
    queue_assign(exam_ids=[exam.pk])
    assert _reader_of(exam) == other
    assert "conflit d'intérêts déclaré" in exam.assignments.get().why


def test_priority_pinned_urgent_then_deadline_then_retake_then_oldest(world):
    reader_at(world["moulins"], daily_capacity=1)
    late = _exam(world, due_in_days=12)
    soon = _exam(world, due_in_days=2)
    retake = _exam(world, due_in_days=2)
    retake.l2_round = 2
    retake.save(update_fields=["l2_round"])
    queue_assign(limit=10)
    assert _reader_of(retake) is not None  # same deadline: the retake first
    assert _reader_of(soon) is None and _reader_of(late) is None
    exam_pin_urgent(exam_id=late.pk, actor=world["coord"], urgent=True)
    reader_at(world["vichy"], daily_capacity=1)
    queue_assign(limit=10)
    assert _reader_of(late) is not None and _reader_of(soon) is None  # the pin beats the deadline


def test_the_l1_radiologist_is_refused_by_the_coordinator_path_too(world):
    world["l1"].reader_profile = None
    reader_at(world["moulins"], user=world["l1"])
    exam = _exam(world)
    with pytest.raises(ServiceError) as error:
        exam_assign(exam_id=exam.pk, actor=world["coord"], reader=world["l1"])
    assert "R-COI-1" in error.value.message
    plan = exams_assign_to_reader(exam_ids=[exam.pk], reader=world["l1"], actor=world["coord"], dry_run=True)
    assert plan.assigned == [] and "R-COI-1" in plan.refused[0][1]


def test_coordinator_assignment_records_who_and_counts_against_capacity(world):
    reader = reader_at(world["moulins"], daily_capacity=1)
    first, second = _exam(world), _exam(world)
    assignment = exam_assign(exam_id=first.pk, actor=world["coord"], reader=reader)
    assert assignment.way == Assignment.Way.COORDINATOR and assignment.assigned_by == world["coord"]
    with pytest.raises(ServiceError) as error:
        exam_assign(exam_id=second.pk, actor=world["coord"], reader=reader)
    assert "capacité du jour atteinte" in error.value.message
    second.refresh_from_db()
    assert second.state == ExamState.QUEUED


def test_rules_admin_writes_a_new_version_each_time(world, client):
    from tests.factories import PASSWORD

    admin = UserFactory(is_staff=True, is_superuser=True)
    client.login(username=admin.username, password=PASSWORD)
    for flag in ("on", ""):
        data = {"yearly_target": 1500, "stale_after_hours": 72, "reading_lock_minutes": 30,
                "session_timeout_minutes": 60, "alert_due_within_days": 3, "note": "essai"}  # fmt: skip
        if flag:
            data["cross_site"] = "on"
        response = client.post("/admin/readings/assignmentrules/add/", data)
        assert response.status_code == 302
    versions = list(AssignmentRules.objects.order_by("pk"))
    assert [v.cross_site for v in versions] == [True, False]
    assert versions[-1].created_by == admin
    # Editing an old version also appends instead of overwriting it.
    client.post(f"/admin/readings/assignmentrules/{versions[0].pk}/change/", {**data, "yearly_target": 2000})
    assert AssignmentRules.objects.count() == 3
    assert AssignmentRules.objects.get(pk=versions[0].pk).yearly_target == 1500


def test_due_date_counts_from_the_mammogram(world):
    reader_at(world["moulins"])
    exam = _exam(world, days_ago=14)
    assert exam.due_at == exam.mammogram_date + dt.timedelta(days=15)


def test_a_coordinator_in_the_coordination_group_edits_rules_and_calendars_but_not_exams(world, client):
    from django.contrib.auth.models import Group

    from tests.factories import PASSWORD

    coord = world["coord"]
    coord.is_staff = True
    coord.save()
    coord.groups.add(Group.objects.get(name="Coordination"))
    client.login(username=coord.username, password=PASSWORD)
    data = {"yearly_target": 1500, "stale_after_hours": 48, "reading_lock_minutes": 30,
            "session_timeout_minutes": 60, "alert_due_within_days": 3, "note": "48 h"}  # fmt: skip
    assert client.post("/admin/readings/assignmentrules/add/", data).status_code == 302
    assert AssignmentRules.objects.get().stale_after_hours == 48
    assert client.get("/admin/readings/readerabsence/add/").status_code == 200
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 200
    assert client.get("/admin/screening/exam/").status_code == 403
