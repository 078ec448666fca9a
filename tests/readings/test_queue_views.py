"""The coordinator's L2 queue pages (issue 4): filters, priority order, pagination, the deadline heat map,
pin / assign / release through the page, the decision page, the readers page, alerts, access and cost."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from readings.models import (
    Alert,
    Assignment,
    Batch,
    BatchExam,
    L2Reading,
    ReaderAbsence,
    ReaderLoad,
    ReadingSession,
)
from readings.services.assignment import exam_assign, queue_assign
from readings.services.engine import EXCLUSIONS
from screening.models import AuditEvent, Exam, ExamState, Participant
from tests.factories import (
    PASSWORD,
    ParticipantFactory,
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    l1_of,
    reader_at,
    staff_of,
)

pytestmark = pytest.mark.django_db

QUEUE = reverse("coordination:queue")
TODAY = None  # set per test from timezone.localdate()


@pytest.fixture
def w():
    """Two practices with their L1 radiologists, two reading sites, a coordinator."""
    site_a, site_b = SiteFactory(name="Site de Vichy"), SiteFactory(name="Site de Moulins")
    tilleuls = PracticeFactory(name="Cabinet des Tilleuls", home_site=site_a)
    allier = PracticeFactory(name="Cabinet de l'Allier", home_site=site_b)
    return SimpleNamespace(
        today=timezone.localdate(),
        site_a=site_a,
        site_b=site_b,
        tilleuls=tilleuls,
        allier=allier,
        staff=staff_of(tilleuls),
        l1=l1_of(tilleuls, first_name="Paul", last_name="Premier"),
        l1_allier=l1_of(allier, first_name="Anne", last_name="Allier"),
        coord=coordinator(first_name="Nadia", last_name="Coordo"),
    )


def exam(w, *, practice=None, due_in=5, state=ExamState.QUEUED, **fields) -> Exam:
    practice = practice or w.tilleuls
    l1 = w.l1 if practice == w.tilleuls else w.l1_allier
    return Exam.objects.create(
        participant=ParticipantFactory(),
        practice=practice,
        l1_radiologist=l1,
        created_by=w.staff,
        mammogram_date=w.today + dt.timedelta(days=due_in - 15),
        due_at=w.today + dt.timedelta(days=due_in),
        state=state,
        **fields,
    )


def bulk_exams(w, n: int, *, practice=None, due_in=5, prefix="B") -> list[Exam]:
    practice = practice or w.tilleuls
    people = Participant.objects.bulk_create(
        [
            Participant(
                programme_id=f"{prefix}-{i:06d}",
                last_name="X",
                first_name="Y",
                birth_date=dt.date(1960, 1, 1),
            )
            for i in range(n)
        ]
    )
    return Exam.objects.bulk_create(
        [
            Exam(
                participant=p,
                practice=practice,
                l1_radiologist=w.l1 if practice == w.tilleuls else w.l1_allier,
                created_by=w.staff,
                mammogram_date=w.today - dt.timedelta(days=10),
                due_at=w.today + dt.timedelta(days=due_in + i % 20),
                state=ExamState.QUEUED,
            )
            for i, p in enumerate(people)
        ]
    )


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def rows(html: str) -> list[str]:
    """Programme numbers of the queue table, top to bottom."""
    return re.findall(r'<tr data-exam="\d+" data-programme="([^"]+)"', html)


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# ------------------------------------------------------------------------------------- queue: list, order


def test_queue_shows_only_queued_exams_urgent_first_then_deadline_then_retakes(client, w):
    later = exam(w, due_in=9)
    soon = exam(w, due_in=2)
    retake = exam(w, due_in=9, l2_round=2)
    pinned = exam(w, due_in=12, urgent=True)
    exam(w, due_in=1, state=ExamState.ASSIGNED)  # not in the default view
    exam(w, due_in=1, state=ExamState.L2_NEGATIVE)  # never in the queue
    login(client, w.coord)
    response = client.get(QUEUE)
    assert response.status_code == 200
    order = [e.participant.programme_id for e in (pinned, soon, retake, later)]
    assert rows(text(response)) == order
    html = text(response)
    assert "File de seconde lecture" in html and "4 examens affichés" in html
    assert AuditEvent.objects.filter(actor=w.coord, action=AuditEvent.Action.DASHBOARD_VIEW).count() == 1


def test_queue_row_shows_deadline_colour_days_left_reader_and_wait_reason(client, w):
    overdue = exam(
        w, due_in=-2, queue_wait_reason="capacités des lecteurs éligibles atteintes. Dr X : plein."
    )
    soon = exam(w, due_in=3)
    reader = reader_at(w.site_b, user=UserFactory(first_name="Hélène", last_name="Vasseur"))
    assigned = exam(w, due_in=10)
    exam_assign(exam_id=assigned.pk, actor=w.coord, reader=reader)
    login(client, w.coord)
    html = text(client.get(QUEUE, {"state": "OPEN"}))
    row = html.split(f'data-exam="{overdue.pk}"')[1].split("</tr>")[0]
    assert 'class="due late"' in row and "dépassée de 2 jours" in row
    assert "capacités des lecteurs éligibles atteintes" in row
    row = html.split(f'data-exam="{soon.pk}"')[1].split("</tr>")[0]
    assert 'class="due soon"' in row and "dans 3 jours" in row
    row = html.split(f'data-exam="{assigned.pk}"')[1].split("</tr>")[0]
    assert "Hélène Vasseur" in row and "Attribué" in row and 'value="release"' in row


def test_filters_practice_deadline_wait_state_and_open(client, w):
    a = exam(w, due_in=-1)
    b = exam(w, practice=w.allier, due_in=4, queue_wait_code="NO_CAPACITY")
    c = exam(w, practice=w.allier, due_in=12)
    d = exam(w, due_in=8, state=ExamState.IN_READING)
    login(client, w.coord)

    def shown(**params):
        return set(rows(text(client.get(QUEUE, params))))

    pid = {x: x.participant.programme_id for x in (a, b, c, d)}
    assert shown(practice=w.allier.pk) == {pid[b], pid[c]}
    assert shown(site=w.site_a.pk) == {pid[a]}
    assert shown(deadline="overdue") == {pid[a]}
    assert shown(deadline="soon") == {pid[b]}
    assert shown(wait="NO_CAPACITY") == {pid[b]}
    assert shown(state="IN_READING") == {pid[d]}
    assert shown(state="OPEN") == {pid[a], pid[b], pid[c], pid[d]}
    assert shown(due_before=(w.today + dt.timedelta(days=5)).isoformat()) == {pid[a], pid[b]}


def test_bad_filter_values_show_a_french_notice_not_an_error(client, w):
    e = exam(w)
    login(client, w.coord)
    response = client.get(QUEUE, {"mammogram_from": "pas une date", "practice": "999999", "page": "abc"})
    assert response.status_code == 200
    html = text(response)
    assert "Certains filtres sont invalides et ont été ignorés" in html
    assert rows(html) == [e.participant.programme_id]  # the invalid filters are ignored, page 1 shown


def test_pagination_is_50_per_page_and_keeps_the_filters(client, w):
    bulk_exams(w, 60, prefix="T")
    bulk_exams(w, 5, practice=w.allier, prefix="A")
    login(client, w.coord)
    first = text(client.get(QUEUE, {"practice": w.tilleuls.pk}))
    assert len(rows(first)) == 50 and "60 examens affichés" in first
    links = re.findall(r'href="(\?[^"]*page=2[^"]*)"', first)
    assert links and all(f"practice={w.tilleuls.pk}" in link for link in links)
    second = text(client.get(QUEUE + links[0].replace("&amp;", "&")))
    assert len(rows(second)) == 10
    assert all(p.startswith("T-") for p in rows(first) + rows(second))


# ------------------------------------------------------------------------------------------ heat map, counts


def cell(html: str, day: dt.date) -> str:
    match = re.search(rf'data-day="{day.isoformat()}"[^>]*>.*?<b>(\d+)</b>', html, re.S)
    assert match, f"no heat map cell for {day}"
    return match.group(1)


def test_heat_map_counts_exams_per_due_day_and_links_to_exactly_them(client, w):
    for _ in range(3):
        exam(w, due_in=0)
    tomorrow = exam(w, due_in=1)
    exam(w, due_in=-3)
    exam(w, due_in=-1)
    exam(w, due_in=60)  # beyond the 5 weeks
    exam(w, due_in=1, state=ExamState.ASSIGNED)  # not queued: not in the default selection
    login(client, w.coord)
    html = text(client.get(QUEUE))
    assert cell(html, w.today) == "3"
    assert cell(html, w.today + dt.timedelta(days=1)) == "1"
    assert cell(html, w.today + dt.timedelta(days=2)) == "0"
    assert re.search(r'data-testid="heat-overdue"><span class="day">hors délai</span><b>2</b>', html)
    # The busiest day has the strongest colour; a third of it, the second lightest.
    assert re.search(rf'class="heat heat-4 today" href="[^"]*" data-day="{w.today.isoformat()}"', html)
    assert re.search(rf'class="heat heat-2" href="[^"]*" data-day="{w.today + dt.timedelta(days=1)}"', html)
    assert re.search(rf'class="heat heat-0" href="[^"]*" data-day="{w.today + dt.timedelta(days=2)}"', html)
    monday = w.today - dt.timedelta(days=w.today.weekday())
    assert re.findall(r'data-day="([\d-]+)"', html)[0] == max(monday, w.today).isoformat()
    assert (
        len(re.findall(r'<span class="day">', html.split('data-testid="heatmap"')[1].split("</table>")[0]))
        == 36
    )
    # The cell links to its day only, keeping the other filters.
    link = re.search(rf'href="\?([^"]*due_on={w.today + dt.timedelta(days=1)}[^"]*)"', html).group(1)
    assert rows(text(client.get(QUEUE + "?" + link.replace("&amp;", "&")))) == [
        tomorrow.participant.programme_id
    ]
    # With state "all unread", the assigned exam counts too.
    assert cell(text(client.get(QUEUE, {"state": "OPEN"})), w.today + dt.timedelta(days=1)) == "2"
    # A practice filter narrows the map.
    assert cell(text(client.get(QUEUE, {"practice": w.allier.pk})), w.today) == "0"


def test_counts_by_state_and_reason_for_waiting(client, w):
    exam(w, queue_wait_code="NO_CAPACITY")
    exam(w, queue_wait_code="NO_CAPACITY")
    exam(w, queue_wait_code="ALL_EXCLUDED", urgent=True)
    exam(w, state=ExamState.ASSIGNED)
    exam(w, state=ExamState.DEFERRED, due_in=-4)
    login(client, w.coord)
    html = text(client.get(QUEUE))
    assert '<b data-state="QUEUED">3</b>' in html
    assert '<b data-state="ASSIGNED">1</b>' in html
    assert '<b data-state="DEFERRED">1</b>' in html
    assert '<b data-wait="NO_CAPACITY">2</b>' in html and '<b data-wait="ALL_EXCLUDED">1</b>' in html
    assert re.search(r'data-testid="count-urgent"><b>1</b>', html)
    assert re.search(r'data-testid="count-overdue"><b>1</b>', html)


# ------------------------------------------------------------------------------------ actions on the page


def post(client, data, url=QUEUE):
    return client.post(url, {"next": QUEUE + "?practice=", **data}, follow=True)


def test_pin_moves_the_exam_to_the_top_and_is_audited(client, w):
    first, last = exam(w, due_in=1), exam(w, due_in=14)
    login(client, w.coord)
    response = post(client, {"exam": last.pk, "action": "pin"})
    assert response.redirect_chain[-1][0] == QUEUE + "?practice="
    assert rows(text(response)) == [last.participant.programme_id, first.participant.programme_id]
    assert "épinglé urgent" in " ".join(messages_of(response))
    assert AuditEvent.objects.filter(action=AuditEvent.Action.QUEUE_CHANGE, exam=last).exists()
    post(client, {"exam": last.pk, "action": "unpin"})
    last.refresh_from_db()
    assert last.urgent is False


def test_assign_to_a_chosen_reader_then_release_with_a_reason(client, w):
    reader = reader_at(w.site_b, user=UserFactory(first_name="Hélène", last_name="Vasseur"))
    e = exam(w)
    login(client, w.coord)
    response = post(client, {"exam": e.pk, "action": "assign", "reader": reader.pk})
    assert "attribué à Dr Hélène Vasseur" in " ".join(messages_of(response))
    assignment = Assignment.objects.get(exam=e, state=Assignment.State.ACTIVE)
    assert assignment.reader == reader and assignment.way == Assignment.Way.COORDINATOR
    assert assignment.assigned_by == w.coord
    e.refresh_from_db()
    assert e.state == ExamState.ASSIGNED
    assert AuditEvent.objects.filter(
        action="QUEUE_CHANGE", exam=e, object_ref__startswith="attribué à"
    ).exists()

    response = post(client, {"exam": e.pk, "action": "release", "reason": ""})
    assert "Indiquez le motif" in " ".join(messages_of(response))
    assert Assignment.objects.filter(exam=e, state=Assignment.State.ACTIVE).exists()

    response = post(client, {"exam": e.pk, "action": "release", "reason": "Lecteur en congé"})
    assert "rendu à la file L2" in " ".join(messages_of(response))
    assignment.refresh_from_db()
    e.refresh_from_db()
    assert assignment.state == Assignment.State.RELEASED and assignment.release_reason == "Lecteur en congé"
    assert e.state == ExamState.QUEUED
    assert AuditEvent.objects.filter(
        action="QUEUE_CHANGE", exam=e, object_ref__contains="Lecteur en congé"
    ).exists()


def test_assigning_to_the_exams_own_l1_radiologist_is_refused_with_the_french_reason(client, w):
    reader_at(w.site_a, user=w.l1)  # the L1 radiologist is also a second reader
    e = exam(w)
    login(client, w.coord)
    response = post(client, {"exam": e.pk, "action": "assign", "reader": w.l1.pk})
    assert response.status_code == 200
    assert f"{w.l1} ne peut pas lire cet examen : radiologue L1 de l'examen (R-COI-1)." in messages_of(
        response
    )
    assert "R-COI-1" in text(response)
    assert not Assignment.objects.filter(exam=e).exists()
    e.refresh_from_db()
    assert e.state == ExamState.QUEUED


def test_engine_choice_from_the_page_and_when_nobody_is_eligible(client, w):
    e = exam(w)
    login(client, w.coord)
    response = post(client, {"exam": e.pk, "action": "assign", "reader": ""})
    assert "Aucun lecteur éligible" in " ".join(messages_of(response))
    assert "aucun second lecteur enregistré" in " ".join(messages_of(response))
    reader = reader_at(w.site_b)
    post(client, {"exam": e.pk, "action": "assign", "reader": ""})
    assert Assignment.objects.get(exam=e).reader == reader
    response = post(client, {"exam": e.pk, "action": "assign", "reader": reader.pk})
    assert "n'est pas en file L2 (Attribué)" in " ".join(messages_of(response))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"exam": "abc", "action": "pin"}, "Action inconnue ou examen non précisé."),
        ({"exam": "1", "action": "delete"}, "Action inconnue ou examen non précisé."),
        ({"exam": "999999", "action": "pin"}, "Examen introuvable"),
        ({"action": "assign", "reader": "999999"}, "Second lecteur introuvable."),
        ({"action": "assign", "reader": "zz"}, "Second lecteur introuvable."),
        ({"action": "release", "reason": "test"}, "n'a pas d'attribution en cours"),
    ],
)
def test_bad_input_gives_a_french_message_never_an_error(client, w, data, message):
    e = exam(w)
    data = {"exam": e.pk, **data}
    login(client, w.coord)
    response = client.post(QUEUE, {**data, "next": "https://evil.example/"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == QUEUE  # never sent to another site
    assert message in " ".join(messages_of(response))


def test_assign_now_runs_the_queue_task_and_says_so(client, w):
    reader_at(w.site_b)
    e = exam(w)
    login(client, w.coord)
    assert client.get(reverse("coordination:assign_now")).status_code == 405
    response = client.post(reverse("coordination:assign_now"), follow=True)
    assert "Attribution lancée" in " ".join(messages_of(response))
    e.refresh_from_db()
    assert e.state == ExamState.ASSIGNED  # the task ran (eager in tests)
    assert AuditEvent.objects.filter(action="QUEUE_CHANGE", object_ref="attribuer maintenant").exists()


def test_batch_form_posts_the_selected_exam_ids_and_a_name(client, w):
    e = exam(w)
    login(client, w.coord)
    html = text(client.get(QUEUE))
    assert f'action="{reverse("coordination:batch_new")}"' in html and 'id="batch-form"' in html
    assert f'<input type="checkbox" name="exam" value="{e.pk}" form="batch-form"' in html
    assert 'name="name"' in html and "Créer un lot avec la sélection" in html


def test_exam_held_in_a_batch_is_marked(client, w):
    held, free = exam(w, due_in=1), exam(w, due_in=2)
    batch = Batch.objects.create(name="Lot test", created_by=w.coord)
    BatchExam.objects.create(batch=batch, exam=held)
    login(client, w.coord)
    html = text(client.get(QUEUE))
    assert '<span class="badge">lot</span>' in html.split(f'data-exam="{held.pk}"')[1].split("</tr>")[0]
    assert '<span class="badge">lot</span>' not in html.split(f'data-exam="{free.pk}"')[1].split("</tr>")[0]


def test_in_batch_filter_lists_exactly_the_held_exams(client, w):
    held, free = exam(w, due_in=1), exam(w, due_in=2)
    batch = Batch.objects.create(name="Lot test", created_by=w.coord)
    BatchExam.objects.create(batch=batch, exam=held)
    login(client, w.coord)
    assert rows(text(client.get(QUEUE, {"in_batch": "true"}))) == [held.participant.programme_id]
    assert rows(text(client.get(QUEUE, {"in_batch": "false"}))) == [free.participant.programme_id]


# ------------------------------------------------------------------------------------------ decision page


def test_decision_page_explains_the_engine_choice_and_every_exclusion(client, w):
    reader_at(w.site_a, user=w.l1)
    chosen = reader_at(w.site_b, user=UserFactory(first_name="Hélène", last_name="Vasseur"))
    away = reader_at(w.site_b, user=UserFactory(first_name="Marc", last_name="Absent"))
    ReaderAbsence.objects.create(
        reader=away.reader_profile, starts_on=w.today, ends_on=w.today + dt.timedelta(days=3)
    )
    reader_at(w.site_b, user=UserFactory(first_name="Luc", last_name="Inactif"), active=False)
    e = exam(w)
    assert queue_assign(exam_ids=[e.pk]).assigned == 1
    login(client, w.coord)
    response = client.get(reverse("coordination:exam_assignment", args=[e.pk]))
    assert response.status_code == 200
    html = text(response)
    assignment = Assignment.objects.get(exam=e)
    assert assignment.reader == chosen
    assert assignment.why.split(" ")[0] in html and "charge pondérée la plus faible" in html
    for code in ("COI_L1", "ABSENT", "INACTIVE"):
        assert EXCLUSIONS[code].replace("'", "&#x27;") in html
    excluded = html.split('data-testid="decision-excluded"')[1].split("</table>")[0]
    assert "Premier" in excluded and "Absent" in excluded and "Inactif" in excluded
    chosen_table = html.split('data-testid="decision-chosen"')[1].split("</table>")[0]
    assert "Charge de la semaine" in chosen_table and "Coefficient d'allure" in chosen_table
    # Status history and who could read it now.
    history = html.split('data-testid="status-history"')[1].split("</ol>")[0]
    assert "En file L2 → " in history and "Attribué" in history
    now = html.split('data-testid="eligibility"')[1].split("</table>")[0]
    assert re.search(rf'data-reader="{chosen.pk}">.*?Oui', now, re.S)
    assert re.search(rf'data-reader="{w.l1.pk}" class="excluded">.*?radiologue L1', now, re.S)
    assert AuditEvent.objects.filter(action="DASHBOARD_VIEW", exam=e).exists()


def test_decision_page_unknown_exam_is_a_404_and_actions_work_there(client, w):
    login(client, w.coord)
    assert client.get(reverse("coordination:exam_assignment", args=[999999])).status_code == 404
    e = exam(w)
    url = reverse("coordination:exam_assignment", args=[e.pk])
    response = client.post(url, {"exam": e.pk, "action": "pin", "next": url}, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "★ épinglé en tête de file" in text(response)
    assert "aucun second lecteur enregistré" not in text(response)


# ------------------------------------------------------------------------------------------- readers page


def test_readers_page_shows_loads_capacities_absences_pace_and_session(client, w):
    hel = reader_at(
        w.site_b, user=UserFactory(first_name="Hélène", last_name="Vasseur"),
        daily_capacity=40, weekly_capacity=150, workdays="135", yearly_target=2000,
    )  # fmt: skip
    away = reader_at(w.site_a, user=UserFactory(first_name="Marc", last_name="Absent"))
    ReaderAbsence.objects.create(reader=away.reader_profile, starts_on=w.today - dt.timedelta(days=1),
                                 ends_on=w.today + dt.timedelta(days=2), reason="congrès")  # fmt: skip
    later = w.today + dt.timedelta(days=20)
    ReaderAbsence.objects.create(
        reader=hel.reader_profile, starts_on=later, ends_on=later + dt.timedelta(days=4)
    )
    monday = w.today - dt.timedelta(days=w.today.weekday())
    ReaderLoad.objects.create(reader=hel, period="D", starts_on=w.today, assigned=7, capacity=40)
    ReaderLoad.objects.create(reader=hel, period="W", starts_on=monday, assigned=31, capacity=150)
    for e in bulk_exams(w, 3, prefix="R"):
        Assignment.objects.create(exam=e, reader=hel, l1_radiologist=w.l1)
    for e in bulk_exams(w, 4, prefix="L"):
        L2Reading.objects.create(exam=e, reader=hel, l1_radiologist=w.l1, site=w.site_b, verdict="NORMAL",
                                 acr_right=1, acr_left=1)  # fmt: skip
    ReadingSession.objects.create(reader=hel, size=50, last_activity_at=timezone.now())
    login(client, w.coord)
    response = client.get(reverse("coordination:readers"))
    html = text(response)
    row = html.split(f'<tr data-reader="{hel.pk}"')[1].split("</tr>")[0]
    assert re.search(r'data-col="day">7 / 40<', row) and re.search(r'data-col="week">31 / 150<', row)
    assert re.search(r'data-col="open">3<', row) and re.search(r'data-col="read-week">4<', row)
    assert "4 / 2000" in row and "objectif propre" in row
    assert "lun. mer. ven." in row
    assert f"absent du {later:%d/%m/%Y}" in row
    assert "session de 50" in row
    expected = round(2000 * ((w.today - w.today.replace(month=1, day=1)).days + 1)
                     / (dt.date(w.today.year + 1, 1, 1) - w.today.replace(month=1, day=1)).days)  # fmt: skip
    assert f"{expected} attendues à date" in row
    row = html.split(f'<tr data-reader="{away.pk}"')[1].split("</tr>")[0]
    assert f"absent jusqu'au {(w.today + dt.timedelta(days=2)):%d/%m/%Y}" in row and "congrès" in row
    assert "tous les jours" in row and "1 500" not in row and "/ 1500" in row
    assert AuditEvent.objects.filter(action="DASHBOARD_VIEW", object_ref="lecteurs L2").exists()


def test_readers_page_costs_a_fixed_number_of_queries(client, w, django_assert_max_num_queries):
    for i in range(12):
        reader_at(w.site_a if i % 2 else w.site_b, daily_capacity=50 + i)
    login(client, w.coord)
    client.get(reverse("coordination:readers"))  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("coordination:readers")).status_code == 200
    for _ in range(8):
        reader_at(w.site_b)
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("coordination:readers"))
    assert len(more) == len(few) <= 20


# ------------------------------------------------------------------------------------------------ alerts


def test_alerts_grouped_by_kind_newest_first_and_acknowledged(client, w):
    e1, e2 = exam(w, due_in=-1), exam(w, due_in=-2)
    old = Alert.objects.create(
        kind=Alert.Kind.OVERDUE, key=f"OVERDUE:{e1.pk}", exam=e1, message="Examen 1 : délai dépassé."
    )
    Alert.objects.filter(pk=old.pk).update(raised_at=timezone.now() - dt.timedelta(days=1))
    new = Alert.objects.create(
        kind=Alert.Kind.OVERDUE, key=f"OVERDUE:{e2.pk}", exam=e2, message="Examen 2 : délai dépassé."
    )
    behind = Alert.objects.create(
        kind=Alert.Kind.READER_BEHIND, key="RB:1", reader=w.l1, message="Lecteur en retard."
    )
    Alert.objects.create(
        kind=Alert.Kind.NO_READER, key="NR:1", message="Résolue.", resolved_at=timezone.now()
    )
    login(client, w.coord)
    html = text(client.get(reverse("coordination:alerts")))
    assert re.findall(r'<tr data-alert="(\d+)"', html) == [str(new.pk), str(old.pk), str(behind.pk)]
    assert "Délai de 15 jours dépassé <b>2</b>" in html and "Résolue." not in html
    assert re.search(r'data-testid="nav-alerts">Alertes \(3\)', html)
    only = text(client.get(reverse("coordination:alerts"), {"kind": "READER_BEHIND"}))
    assert re.findall(r'<tr data-alert="(\d+)"', only) == [str(behind.pk)]

    url = reverse("coordination:alert_acknowledge", args=[new.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"next": reverse("coordination:alerts") + "?kind=OVERDUE"}, follow=True)
    assert response.redirect_chain[-1][0].endswith("?kind=OVERDUE")
    assert "Alerte marquée comme vue." in messages_of(response)
    new.refresh_from_db()
    assert new.acknowledged_by == w.coord and new.acknowledged_at is not None and new.resolved_at is None
    assert "vue par Dr Nadia Coordo" in text(response) and "Alertes (2)" in text(response)
    first_seen = new.acknowledged_at
    client.post(url)
    new.refresh_from_db()
    assert new.acknowledged_at == first_seen  # idempotent
    response = client.post(reverse("coordination:alert_acknowledge", args=[999999]), follow=True)
    assert "Alerte introuvable." in messages_of(response)
    assert (
        AuditEvent.objects.filter(
            action="QUEUE_CHANGE", object_ref__startswith=f"alerte {new.pk} vue"
        ).count()
        == 1
    )


# ------------------------------------------------------------------------------------------ access, cost


URLS = [
    ("get", QUEUE),
    ("post", reverse("coordination:assign_now")),
    ("get", reverse("coordination:readers")),
    ("get", reverse("coordination:alerts")),
    ("post", reverse("coordination:alert_acknowledge", args=[1])),
]


@pytest.mark.parametrize("method, url", URLS)
def test_only_coordinators_get_in(client, w, method, url):
    e = exam(w)
    pages = [*URLS, ("get", reverse("coordination:exam_assignment", args=[e.pk]))]
    reader = reader_at(w.site_b)
    for who in (reader, w.staff, w.l1):
        login(client, who)
        for m, u in pages if url == QUEUE else [(method, url)]:
            assert getattr(client, m)(u).status_code == 403, (who, u)
    client.logout()
    response = getattr(client, method)(url)
    assert response.status_code == 302 and "/connexion/" in response["Location"]
    assert not Exam.objects.filter(urgent=True).exists()


def test_queue_page_cost_does_not_grow_with_the_queue(client, w):
    readers = [reader_at(w.site_b) for _ in range(4)]
    bulk_exams(w, 60, prefix="Q")
    for e in Exam.objects.filter(state=ExamState.QUEUED)[:20]:
        exam_assign(exam_id=e.pk, actor=w.coord, reader=readers[e.pk % 4])
    login(client, w.coord)
    client.get(QUEUE)
    with CaptureQueriesContext(connection) as small:
        assert client.get(QUEUE, {"state": "OPEN"}).status_code == 200
    bulk_exams(w, 400, prefix="M", practice=w.allier)
    with CaptureQueriesContext(connection) as big:
        response = client.get(QUEUE, {"state": "OPEN"})
    assert len(rows(text(response))) == 50
    assert len(big) == len(small)


def test_queue_page_query_budget(client, w, django_assert_max_num_queries):
    readers = [reader_at(w.site_b) for _ in range(3)]
    bulk_exams(w, 120, prefix="Q")
    for e in Exam.objects.filter(state=ExamState.QUEUED)[:30]:
        exam_assign(exam_id=e.pk, actor=w.coord, reader=readers[e.pk % 3])
    login(client, w.coord)
    with django_assert_max_num_queries(20):
        response = client.get(QUEUE, {"state": "OPEN", "practice": w.tilleuls.pk})
    assert len(rows(text(response))) == 50
