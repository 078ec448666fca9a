"""The film pages (/coordination/films/): register, book, key in row by row, return; practice users refused,
readers limited to their own lightbox sessions. Never a 500 on bad input."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from readings.models import FilmRecord, L2Reading, LightboxSession
from readings.services.films import film_result_key_in, lightbox_session_book, lightbox_session_create
from screening.models import AuditEvent, Exam, ExamState, Participant
from tests.factories import SiteFactory, reader_at
from tests.readings.test_films import make_world, register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    return make_world()


def register_post(world, **overrides) -> dict:
    today = timezone.localdate()
    data = {
        "practice": world.practice.pk,
        "received_on": today.isoformat(),
        "film_count": 4,
        "equipment": "ANA",
        "programme_id": "03-2026-FILM01",
        "last_name": "Lefèvre",
        "first_name": "Martine",
        "birth_date": "1958-07-21",
        "mammogram_date": (today - dt.timedelta(days=5)).isoformat(),
        "l1_radiologist": world.l1.pk,
        "clinical_exam": "N",
        "density": "B",
        "acr_initial_right": 1,
        "acr_initial_left": 1,
        "acr_final_right": 1,
        "acr_final_left": 2,
        "conduct": "",
    }
    data.update(overrides)
    return data


def session_with(world, exam, reader=None) -> LightboxSession:
    session = lightbox_session_create(
        site=world.site,
        reader=reader or world.reader,
        scheduled_on=timezone.localdate(),
        actor=world.secretary,
    )
    lightbox_session_book(session_id=session.pk, exam_ids=[exam.pk], actor=world.secretary)
    return session


def test_practice_users_cannot_see_the_film_pages(client, world):
    exam = register(world)
    session = session_with(world, exam)
    urls = [
        reverse("films:home"),
        reverse("films:register"),
        reverse("films:sessions"),
        reverse("films:session", args=[session.pk]),
        reverse("films:returns"),
    ]
    for user in (world.staff, world.l1):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 403, url
        response = client.post(
            reverse("films:key_in", args=[session.pk, exam.pk]), {f"e{exam.pk}-verdict": "NORMAL"}
        )
        assert response.status_code == 403
    exam.refresh_from_db()
    assert exam.state == ExamState.ASSIGNED
    client.logout()
    assert client.get(urls[0]).status_code == 302  # to the login page


def test_the_secretariat_registers_films_from_the_paper_form(client, world):
    client.force_login(world.secretary)
    page = client.get(reverse("films:register"))
    assert page.status_code == 200 and "Enregistrer des films reçus" in page.content.decode()
    response = client.post(reverse("films:register"), register_post(world), follow=True)
    exam = Exam.objects.get(participant__programme_id="03-2026-FILM01")
    assert (exam.medium, exam.state, exam.equipment) == ("FILM", ExamState.QUEUED, "ANA")
    assert exam.l1_form.acr_final_left == 2
    assert FilmRecord.objects.get(exam=exam).film_count == 4
    assert "Films enregistrés : examen 03-2026-FILM01" in response.content.decode()
    # The practices' L1 rules apply: a final ACR 0 without a refused BDI is refused, nothing is stored.
    bad = client.post(
        reverse("films:register"), register_post(world, programme_id="03-2026-FILM02", acr_final_right=0)
    )
    assert bad.status_code == 200
    assert "l&#x27;ACR 0 est provisoire" in bad.content.decode()
    assert not Participant.objects.filter(programme_id="03-2026-FILM02").exists()


def test_booking_from_the_list_then_keying_in_row_by_row(client, world):
    first, second = register(world), register(world)
    session = lightbox_session_create(
        site=world.site, reader=world.reader, scheduled_on=timezone.localdate(), actor=world.secretary
    )
    client.force_login(world.secretary)
    home = client.get(reverse("films:home")).content.decode()
    assert first.participant.programme_id in home and second.participant.programme_id in home
    response = client.post(reverse("films:home"), {"session": session.pk, "exam": [first.pk, second.pk]})
    assert response.status_code == 302 and response.url == reverse("films:session", args=[session.pk])
    page = client.get(response.url).content.decode()
    assert "2 résultats à saisir" in page
    assert page.count("autofocus") == 3  # the first row's three verdict buttons only
    # An incomplete anomaly: a French message on the row, nothing recorded.
    bad = client.post(
        reverse("films:key_in", args=[session.pk, first.pk]),
        {f"e{first.pk}-verdict": "ANOMALY", f"e{first.pk}-finding_D_type": "A"},
    )
    assert bad.status_code == 400
    assert "type, localisation et ACR sont requis" in bad.content.decode()
    assert not L2Reading.objects.exists()
    done = client.post(
        reverse("films:key_in", args=[session.pk, first.pk]),
        {f"e{first.pk}-verdict": "NORMAL", f"e{first.pk}-acr_right": "1", f"e{first.pk}-acr_left": "2"},
    )
    assert done.status_code == 302 and done.url == reverse("films:session", args=[session.pk])
    reading = L2Reading.objects.get(exam=first)
    assert (reading.reader, reading.keyed_by, reading.medium, reading.acr_left) == (
        world.reader,
        world.secretary,
        "FILM",
        2,
    )
    first.refresh_from_db()
    assert first.state == ExamState.L2_NEGATIVE
    assert AuditEvent.objects.filter(
        exam=first, actor=world.secretary, object_ref="résultat sur films saisi"
    ).exists()
    page = client.get(done.url).content.decode()
    assert "1 résultat à saisir" in page and f"saisi par {world.secretary}" in page
    focused = [tag for tag in re.findall(r"<input[^>]*>", page) if "autofocus" in tag]
    assert focused and all(f'name="e{second.pk}-verdict"' in tag for tag in focused)  # the next row


def test_a_reader_sees_and_keys_in_only_their_own_sessions(client, world):
    other_reader = reader_at(SiteFactory())
    mine, theirs = register(world), register(world)
    my_session = session_with(world, mine)
    their_session = lightbox_session_create(
        site=world.site, reader=other_reader, scheduled_on=timezone.localdate(), actor=world.secretary
    )
    lightbox_session_book(session_id=their_session.pk, exam_ids=[theirs.pk], actor=world.secretary)
    client.force_login(world.reader)
    assert client.get(reverse("films:home")).url == reverse("films:sessions")
    listing = client.get(reverse("films:sessions")).content.decode()
    assert f'data-testid="session-{my_session.pk}"' in listing
    assert f'data-testid="session-{their_session.pk}"' not in listing
    assert client.get(reverse("films:session", args=[their_session.pk])).status_code == 404
    assert (
        client.post(
            reverse("films:key_in", args=[their_session.pk, theirs.pk]), {f"e{theirs.pk}-verdict": "NORMAL"}
        ).status_code
        == 404
    )
    page = client.get(reverse("films:session", args=[my_session.pk])).content.decode()
    assert mine.participant.programme_id in page
    assert mine.participant.last_name.upper() not in page  # the woman's name stays with the secretariat
    for url in (reverse("films:register"), reverse("films:returns")):
        assert client.get(url).status_code == 403
    client.post(reverse("films:key_in", args=[my_session.pk, mine.pk]), {f"e{mine.pk}-verdict": "NORMAL"})
    reading = L2Reading.objects.get(exam=mine)
    assert (reading.reader, reading.keyed_by) == (world.reader, None)
    theirs.refresh_from_db()
    assert theirs.state == ExamState.ASSIGNED


def test_films_to_return_page_records_the_return(client, world):
    exam = register(world)
    session_with(world, exam)
    film_result_key_in(exam_id=exam.pk, reader=world.reader, keyed_by=world.secretary, verdict="NORMAL")
    client.force_login(world.secretary)
    page = client.get(reverse("films:returns")).content.decode()
    assert f'data-testid="return-{exam.pk}"' in page
    empty = client.post(reverse("films:return", args=[exam.pk]), {"returned_to": ""}, follow=True)
    assert "Indiquez à qui les films sont rendus" in empty.content.decode()
    assert FilmRecord.objects.get(exam=exam).returned_at is None
    response = client.post(
        reverse("films:return", args=[exam.pk]), {"returned_to": "Cabinet Vichy"}, follow=True
    )
    record = FilmRecord.objects.get(exam=exam)
    assert record.returned_to == "Cabinet Vichy" and record.returned_at is not None
    assert f'data-testid="return-{exam.pk}"' not in response.content.decode()
    assert "Films de l&#x27;examen" in response.content.decode()
