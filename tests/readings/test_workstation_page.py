"""The workstation page shell: rendered for a reader with the first exam and the key map, never for others."""

import json
import re

import pytest

from readings.services.workstation import DEFAULT_KEYMAP, keymap_update
from tests.factories import PASSWORD, PracticeFactory, SiteFactory, l1_of, reader_at, staff_of, submitted_exam

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]  # ingest runs on commit

URL = "/lecture/poste/"


@pytest.fixture
def world():
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    reader = reader_at(SiteFactory())
    first = submitted_exam(practice=practice, staff=staff, l1=l1, days_ago=9)
    second = submitted_exam(practice=practice, staff=staff, l1=l1, days_ago=8)
    return {
        "reader": reader,
        "first": first,
        "second": second,
        "staff": staff,
        "l1": l1,
        "practice": practice,
    }


def _prefs(html: str) -> dict:
    match = re.search(r'<script id="ws-prefs" type="application/json">(.*?)</script>', html, re.S)
    assert match, "key map JSON missing"
    return json.loads(match.group(1))


def test_reader_gets_the_page_with_the_first_exam_and_the_key_map(client, world):
    reader = world["reader"]
    keymap_update(user=reader, keymap={"skip": "k"}, two_step_normal=True, lockout_ms=1500)
    client.login(username=reader.username, password=PASSWORD)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-first-exam="{world["first"].pk}"' in html
    assert 'data-case-url="/lecture/api/cas/0/"' in html
    prefs = _prefs(html)
    assert prefs["keymap"] == {**DEFAULT_KEYMAP, "skip": "k"}
    assert prefs["two_step_normal"] is True and prefs["lockout_ms"] == 1500
    assert "AFFICHAGE NON DIAGNOSTIQUE" in html and "APERÇU — attendre les images sans perte" in html
    assert 'src="/static/js/workstation/app.js"' in html and 'type="module"' in html
    # ?examen= picks an exam of the reader's own.
    html = client.get(URL, {"examen": world["second"].pk}).content.decode()
    assert f'data-first-exam="{world["second"].pk}"' in html
    # The worklist links to the workstation.
    assert 'href="/lecture/poste/"' in client.get("/lecture/").content.decode()


def test_reader_with_nothing_to_read_gets_the_end_message(client):
    reader = reader_at(SiteFactory())
    client.login(username=reader.username, password=PASSWORD)
    html = client.get(URL).content.decode()
    assert 'data-first-exam=""' in html and "Aucun cas à lire." in html


def test_others_get_nothing(client, world):
    assert client.get(URL).status_code in (302, 403)  # anonymous: to the login page
    client.login(username=world["staff"].username, password=PASSWORD)
    assert client.get(URL).status_code == 403
    other = reader_at(SiteFactory())
    client.login(username=other.username, password=PASSWORD)
    assert client.get(URL, {"examen": world["first"].pk}).status_code == 404
    html = client.get(URL).content.decode()
    assert f'data-first-exam="{world["first"].pk}"' not in html
    # The L1 radiologist, even when also a reader, never gets their own exam.
    reader_at(SiteFactory(), user=world["l1"])
    client.login(username=world["l1"].username, password=PASSWORD)
    assert client.get(URL, {"examen": world["first"].pk}).status_code == 404
