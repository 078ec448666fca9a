"""Coordinator batch pages: build (filters or chosen exams) with a preview, then assign, reassign, split, merge,
recall — each previewed without touching the database, then confirmed. Never a 500 on bad input."""

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from readings.models import Assignment, Batch, BatchExam, ReaderLoad
from readings.services.batches import batch_assign, batch_create
from readings.services.l2_reading import l2_reading_open, l2_reading_submit
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

pytestmark = pytest.mark.django_db(transaction=True)


class World:
    def __init__(self):
        self.practice, self.other_practice = PracticeFactory(name="Cabinet des Tilleuls"), PracticeFactory()
        self.staff = staff_of(self.practice)
        self.l1 = l1_of(self.practice)
        self.other_l1 = l1_of(self.other_practice)
        self.site = SiteFactory()
        self.reader = reader_at(self.site, user=UserFactory(first_name="Hélène", last_name="Vasseur"))
        self.coord = coordinator()

    def queued(self, n: int, *, practice=None, l1=None, due_in: int = 5) -> list[Exam]:
        """Exams straight in the L2 queue (rows only: the batch pages never need images)."""
        today = timezone.localdate()
        exams = []
        for i in range(n):
            exams.append(
                Exam.objects.create(
                    participant=ParticipantFactory(),
                    practice=practice or self.practice,
                    l1_radiologist=l1 or self.l1,
                    mammogram_date=today - dt.timedelta(days=3),
                    due_at=today + dt.timedelta(days=due_in + i),
                    state=ExamState.QUEUED,
                    created_by=self.staff,
                )
            )
        return exams

    def batch(self, exams: list[Exam], name: str = "Lot test") -> Batch:
        return batch_create(name=name, exam_ids=[e.pk for e in exams], actor=self.coord).batch


@pytest.fixture
def world():
    return World()


@pytest.fixture
def coord_client(client, world):
    assert client.login(username=world.coord.username, password=PASSWORD)
    return client


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def action_url(batch: Batch, action: str) -> str:
    return reverse("coordination:batch_action", args=[batch.pk, action])


def detail_url(batch: Batch) -> str:
    return reverse("coordination:batch", args=[batch.pk])


def db_snapshot() -> tuple:
    """Everything a batch action may change, to prove that a preview changes nothing."""
    return (
        sorted(Batch.objects.values_list("pk", "state", "reader_id", "name")),
        sorted(BatchExam.objects.values_list("batch_id", "exam_id", "active")),
        sorted(Assignment.objects.values_list("exam_id", "reader_id", "state")),
        sorted(Exam.objects.values_list("pk", "state")),
        sorted(ReaderLoad.objects.values_list("reader_id", "period", "assigned")),
    )


# ---------------------------------------------------------------------------------------------- build


def test_build_from_filters_shows_a_preview_then_confirm_creates_the_batch(coord_client, world):
    mine = world.queued(3)
    others = world.queued(2, practice=world.other_practice, l1=world.other_l1)
    url = reverse("coordination:batch_new") + f"?practice={world.practice.pk}"

    listing = page_text(coord_client.get(url))
    assert "3 examens correspondent aux filtres" in listing
    for exam in mine:
        assert exam.participant.programme_id in listing
    for exam in others:
        assert exam.participant.programme_id not in listing

    before = db_snapshot()
    preview = coord_client.post(url, {"name": "Tilleuls mars", "origine": "filtres"})
    text = page_text(preview)
    assert preview.status_code == 200
    assert "3 examens seront mis dans le lot" in text and "0 écarté" in text
    assert db_snapshot() == before and not Batch.objects.exists()

    # The confirm form carries the previewed exams; post exactly what the page offers.
    posted = re.findall(r'name="exam" value="(\d+)"', preview.content.decode())
    assert sorted(map(int, posted)) == sorted(e.pk for e in mine)
    done = coord_client.post(
        url, {"name": "Tilleuls mars", "origine": "filtres", "exam": posted, "confirm": "1"}
    )
    batch = Batch.objects.get()
    assert done.status_code == 302 and done["Location"] == detail_url(batch)
    assert batch.name == "Tilleuls mars" and batch.state == Batch.State.HELD
    assert batch.filters == {"practice": str(world.practice.pk)}
    assert sorted(batch.items.filter(active=True).values_list("exam_id", flat=True)) == sorted(
        e.pk for e in mine
    )

    detail = coord_client.get(detail_url(batch))
    text = page_text(detail)
    assert "Lot « Tilleuls mars » créé : 3 examen(s)." in text
    assert "0 / 3 lus" in text and "Cabinet : Cabinet des Tilleuls" in text
    assert AuditEvent.objects.filter(
        actor=world.coord, action=AuditEvent.Action.DASHBOARD_VIEW, object_ref=f"lot {batch.pk}"
    ).exists()


def test_build_from_posted_exam_ids_skips_exams_with_their_reason(coord_client, world):
    held, free = world.queued(1), world.queued(2)
    world.batch(held, "Déjà là")
    draft = free[1]
    Exam.objects.filter(pk=draft.pk).update(state=ExamState.DRAFT)
    url = reverse("coordination:batch_new")
    ids = [held[0].pk, free[0].pk, draft.pk, 987654]

    text = page_text(coord_client.post(url, {"name": "Sélection", "exam": ids}))
    assert "1 examen sera mis dans le lot" in text and "3 écartés" in text
    skipped = text[text.index('data-testid="skipped"') :]
    assert held[0].participant.programme_id in skipped and "déjà dans un lot" in skipped
    assert draft.participant.programme_id in skipped and "n'est pas en file L2 (Brouillon)" in skipped
    assert "examen n° 987654" in skipped and "examen introuvable" in skipped
    assert Batch.objects.count() == 1  # only the earlier one

    coord_client.post(url, {"name": "Sélection", "exam": [free[0].pk], "confirm": "1"})
    batch = Batch.objects.get(name="Sélection")
    assert list(batch.items.values_list("exam_id", flat=True)) == [free[0].pk]
    assert "sélection" in batch.filters


def test_a_batch_holds_at_most_500_exams(coord_client, world):
    url = reverse("coordination:batch_new")
    text = page_text(coord_client.post(url, {"name": "Trop", "exam": list(range(1, 502))}, follow=True))
    assert "Un lot compte au plus 500 examens : 501 ont été choisis" in text

    today = timezone.localdate()
    participants = Participant.objects.bulk_create(
        [
            Participant(
                programme_id=f"03-BULK-{i:04d}", last_name="X", first_name="Y", birth_date=dt.date(1960, 1, 1)
            )
            for i in range(501)
        ]
    )
    Exam.objects.bulk_create(
        [
            Exam(participant=p, practice=world.practice, l1_radiologist=world.l1, mammogram_date=today,
                 due_at=today + dt.timedelta(days=10), state=ExamState.QUEUED, created_by=world.staff)
            for p in participants
        ]
    )  # fmt: skip
    response = coord_client.post(url, {"name": "Trop", "origine": "filtres"})
    text = page_text(response)
    assert response.status_code == 200
    assert "Un lot compte au plus 500 examens : 501 correspondent aux filtres" in text
    assert not Batch.objects.exists()


def test_build_refuses_an_empty_name_and_no_exams(coord_client, world):
    exams = world.queued(1)
    url = reverse("coordination:batch_new")
    text = page_text(coord_client.post(url, {"name": "  ", "exam": [exams[0].pk]}))
    assert "Donnez un nom au lot." in text
    text = page_text(coord_client.post(url, {"name": "Vide"}))
    assert "Aucun examen à mettre dans le lot" in text
    assert not Batch.objects.exists()


# ---------------------------------------------------------------------------------------------- assign


def test_assign_preview_changes_nothing_then_confirm_assigns_and_refuses_the_readers_own_l1_exams(
    coord_client, world
):
    reader_at(world.site, user=world.other_l1)  # an L1 radiologist who is also a second reader
    theirs = world.queued(1, practice=world.other_practice, l1=world.other_l1)
    others = world.queued(3)
    batch = world.batch([*theirs, *others])

    before = db_snapshot()
    response = coord_client.post(action_url(batch, "assign"), {"reader": world.other_l1.pk})
    text = page_text(response)
    assert response.status_code == 200
    assert f"3 examens seront attribués à {world.other_l1}" in text
    refused = text[text.index('data-testid="preview-refused"') :]
    assert "1 examen refusé, rendu à la file générale" in refused
    assert theirs[0].participant.programme_id in refused
    assert "radiologue L1 de l'examen (R-COI-1)" in refused
    assert "après confirmation : 117 aujourd'hui, 497 cette semaine" in text
    assert db_snapshot() == before

    done = coord_client.post(
        action_url(batch, "assign"), {"reader": world.other_l1.pk, "confirm": "1"}, follow=True
    )
    assert f"Lot attribué à {world.other_l1} : 3 examen(s) attribué(s), 1 rendu(s) à la file." in page_text(
        done
    )
    batch.refresh_from_db()
    assert batch.state == Batch.State.ASSIGNED and batch.reader == world.other_l1
    assigned = Assignment.objects.filter(state=Assignment.State.ACTIVE)
    assert sorted(assigned.values_list("exam_id", flat=True)) == sorted(e.pk for e in others)
    assert {(a.way, a.batch_id, a.reader_id) for a in assigned} == {
        (Assignment.Way.BATCH, batch.pk, world.other_l1.pk)
    }
    theirs[0].refresh_from_db()
    assert theirs[0].state == ExamState.QUEUED
    assert not BatchExam.objects.filter(exam=theirs[0], active=True).exists()


def test_assign_respects_the_readers_daily_capacity(coord_client, world):
    small = reader_at(world.site, daily_capacity=2)
    exams = world.queued(4)
    batch = world.batch(exams)

    text = page_text(coord_client.post(action_url(batch, "assign"), {"reader": small.pk}))
    assert f"2 examens seront attribués à {small}" in text
    assert text.count("capacité du jour atteinte") == 2
    assert "après confirmation : 0 aujourd'hui" in text
    assert not Assignment.objects.exists()

    coord_client.post(action_url(batch, "assign"), {"reader": small.pk, "confirm": "1"})
    # The two nearest deadlines are read first.
    assert sorted(Assignment.objects.values_list("exam_id", flat=True)) == [exams[0].pk, exams[1].pk]
    assert set(Exam.objects.filter(pk__in=[exams[2].pk, exams[3].pk]).values_list("state", flat=True)) == {
        ExamState.QUEUED
    }
    assert ReaderLoad.objects.get(reader=small, period="D").assigned == 2


def test_detail_offers_readers_with_their_capacity_left_today(coord_client, world):
    reader_at(world.site, user=UserFactory(first_name="Marc", last_name="Petitlot"), daily_capacity=7)
    batch = world.batch(world.queued(1))
    text = page_text(coord_client.get(detail_url(batch)))
    assert re.search(r"Marc Petitlot \(Site de lecture \d+\) — reste 7/7 aujourd'hui", text)


# ---------------------------------------------------------------------------------------------- split, merge, reassign, recall


def test_split_moves_the_latest_deadlines_into_a_new_held_batch(coord_client, world):
    exams = world.queued(4)
    batch = world.batch(exams, "Gros lot")
    batch_assign(batch_id=batch.pk, reader=world.reader, actor=world.coord)

    before = db_snapshot()
    text = page_text(coord_client.post(action_url(batch, "split"), {"count": "1"}))
    assert "1 examen sera détaché vers le nouveau lot « Gros lot (partie 2) »" in text
    assert exams[3].participant.programme_id in text[text.index('data-testid="preview-moving"') :]
    assert db_snapshot() == before

    coord_client.post(action_url(batch, "split"), {"count": "1", "confirm": "1"})
    new = Batch.objects.get(name="Gros lot (partie 2)")
    assert new.state == Batch.State.HELD
    assert list(new.items.filter(active=True).values_list("exam_id", flat=True)) == [exams[3].pk]
    assert sorted(batch.items.filter(active=True).values_list("exam_id", flat=True)) == [
        e.pk for e in exams[:3]
    ]
    exams[3].refresh_from_db()
    assert exams[3].state == ExamState.QUEUED  # its assignment ended; it waits in the new batch


def test_merge_folds_another_open_batch_into_this_one(coord_client, world):
    first, second = world.queued(2), world.queued(3)
    batch, other = world.batch(first, "Premier"), world.batch(second, "Second")

    before = db_snapshot()
    text = page_text(coord_client.post(action_url(batch, "merge"), {"other": other.pk}))
    assert "3 examens rejoindront ce lot" in text
    assert db_snapshot() == before

    coord_client.post(action_url(batch, "merge"), {"other": other.pk, "confirm": "1"})
    other.refresh_from_db()
    assert other.state == Batch.State.CLOSED
    assert sorted(batch.items.filter(active=True).values_list("exam_id", flat=True)) == sorted(
        e.pk for e in [*first, *second]
    )
    assert not other.items.filter(active=True).exists()


def test_reassign_moves_unread_exams_to_another_reader(coord_client, world):
    exams = world.queued(3)
    batch = world.batch(exams)
    batch_assign(batch_id=batch.pk, reader=world.reader, actor=world.coord)
    l2_reading_open(exam_id=exams[0].pk, reader=world.reader)  # being read: stays with the first reader
    second = reader_at(world.site, user=UserFactory(first_name="Paul", last_name="Relais"))

    before = db_snapshot()
    text = page_text(coord_client.post(action_url(batch, "reassign"), {"reader": second.pk}))
    assert f"2 examens seront attribués à {second}" in text
    assert "1 examen en cours de lecture reste à son lecteur." in text
    assert db_snapshot() == before

    coord_client.post(action_url(batch, "reassign"), {"reader": second.pk, "confirm": "1"})
    active = dict(
        Assignment.objects.filter(state=Assignment.State.ACTIVE).values_list("exam_id", "reader_id")
    )
    assert active == {exams[0].pk: world.reader.pk, exams[1].pk: second.pk, exams[2].pk: second.pk}
    released = Assignment.objects.filter(state=Assignment.State.RELEASED)
    assert {(a.exam_id, a.reader_id, a.release_code) for a in released} == {
        (exams[1].pk, world.reader.pk, "BATCH"),
        (exams[2].pk, world.reader.pk, "BATCH"),
    }
    batch.refresh_from_db()
    assert batch.reader == second


def test_recall_sends_unread_exams_back_to_the_queue_and_ends_the_batch(coord_client, world):
    exams = world.queued(3)
    batch = world.batch(exams, "À rappeler")
    batch_assign(batch_id=batch.pk, reader=world.reader, actor=world.coord)

    before = db_snapshot()
    text = page_text(coord_client.post(action_url(batch, "recall"), {}))
    assert "3 examens retourneront dans la file générale" in text
    assert db_snapshot() == before

    done = page_text(coord_client.post(action_url(batch, "recall"), {"confirm": "1"}, follow=True))
    assert "Lot « À rappeler » rappelé : 3 examen(s) rendu(s) à la file." in done
    assert "plus aucune action possible" in done
    batch.refresh_from_db()
    assert batch.state == Batch.State.RECALLED
    assert set(Exam.objects.values_list("state", flat=True)) == {ExamState.QUEUED}
    assert not BatchExam.objects.filter(active=True).exists()
    assert not Assignment.objects.filter(state=Assignment.State.ACTIVE).exists()


# ---------------------------------------------------------------------------------------------- list


def test_list_shows_progress_state_counts_and_filters_by_state(coord_client, world):
    exams = world.queued(3)
    batch = world.batch(exams, "Lot suivi")
    batch_assign(batch_id=batch.pk, reader=world.reader, actor=world.coord)
    l2_reading_open(exam_id=exams[0].pk, reader=world.reader)
    l2_reading_submit(exam_id=exams[0].pk, reader=world.reader, verdict="NORMAL")
    recalled = world.batch(world.queued(1), "Lot rappelé")
    coord_client.post(action_url(recalled, "recall"), {"confirm": "1"})

    text = page_text(coord_client.get(reverse("coordination:batches")))
    row = re.search(rf'data-testid="batch-{batch.pk}">(.*?)</tr>', text, re.S).group(1)
    assert "Lot suivi" in row and "Attribué" in row and str(world.reader) in row and str(world.coord) in row
    assert "1 / 3 lus" in row
    assert re.search(r"L2 négative</span> 1", row) and re.search(r"Attribué</span> 2", row)
    assert "Lot rappelé" in text

    only_recalled = page_text(coord_client.get(reverse("coordination:batches") + "?etat=RECALLED"))
    assert "Lot rappelé" in only_recalled and "Lot suivi" not in only_recalled
    assert AuditEvent.objects.filter(object_ref="lots", action=AuditEvent.Action.DASHBOARD_VIEW).exists()


# ---------------------------------------------------------------------------------------------- refusals


def test_non_coordinators_are_refused(client, world):
    batch = world.batch(world.queued(1))
    urls = [
        reverse("coordination:batches"),
        reverse("coordination:batch_new"),
        detail_url(batch),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: to the login page
    assert client.login(username=world.reader.username, password=PASSWORD)
    for url in urls:
        assert client.get(url).status_code == 403
    before = db_snapshot()
    response = client.post(action_url(batch, "assign"), {"reader": world.reader.pk, "confirm": "1"})
    assert response.status_code == 403
    assert db_snapshot() == before


def test_bad_ids_actions_and_numbers_give_a_french_message_never_a_500(coord_client, world):
    batch = world.batch(world.queued(3))
    assert coord_client.get(reverse("coordination:batch", args=[999999])).status_code == 404
    assert coord_client.post(reverse("coordination:batch_action", args=[999999, "recall"])).status_code == 404
    assert coord_client.get(action_url(batch, "recall")).status_code == 302  # GET never acts

    def message(action, data):
        response = coord_client.post(action_url(batch, action), data, follow=True)
        assert response.status_code == 200
        return page_text(response)

    assert "Action inconnue : « détruire »." in message("détruire", {})
    assert "doit être un nombre entier" in message("split", {"count": "abc"})
    assert "Choisissez entre 1 et 2 examens à détacher." in message("split", {"count": "99"})
    assert "Ce second lecteur n'existe pas" in message("assign", {"reader": "xyz"})
    assert "Choisissez un second lecteur." in message("assign", {})
    assert "Ce lot n'existe pas ou n'est plus ouvert." in message("merge", {"other": batch.pk})
    assert "Action impossible : le lot « Lot test » est en préparation." in message(
        "reassign", {"reader": world.reader.pk}
    )
    assert batch.items.filter(active=True).count() == 3 and not Assignment.objects.exists()

    coord_client.post(action_url(batch, "recall"), {"confirm": "1"})
    assert "Action impossible" in message("split", {"count": "1", "confirm": "1"})

    url = reverse("coordination:batch_new")
    assert coord_client.get(url + "?mammogram_from=pas-une-date&practice=abc").status_code == 200
    text = page_text(coord_client.post(url, {"name": "X", "exam": ["12a"]}))
    assert "Numéro d'examen invalide : « 12a »." in text
    text = page_text(coord_client.post(url + "?due_before=31/02/2026", {"name": "X", "origine": "filtres"}))
    assert "Corrigez les filtres avant de constituer le lot." in text
    assert coord_client.get(reverse("coordination:batches") + "?page=abc&etat=NIMPORTE").status_code == 200
