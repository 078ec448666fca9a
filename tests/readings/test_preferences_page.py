"""The reader's key map page `/lecture/preferences/` (§8, F6, F8 a): rendered in French, saved through
keymap_update, refusals shown with the service's French message, never another user's preferences."""

import html
import json
import re

import pytest

from readings.forms_preferences import ACTION_GROUPS, key_from_text
from readings.models import ReaderPreference
from readings.services.workstation import DEFAULT_KEYMAP, keymap_for, keymap_update
from screening.services.errors import ServiceError
from tests.factories import PASSWORD, SiteFactory, coordinator, reader_at

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

URL = "/lecture/preferences/"


@pytest.fixture
def reader(client):
    user = reader_at(SiteFactory())
    client.login(username=user.username, password=PASSWORD)
    return user


def form_data(user, **changes) -> dict:
    """What the page posts when nothing is touched (each key as shown), with `changes` on top."""
    prefs = keymap_for(user=user)
    data = {f"key_{a}": k for a, k in prefs["keymap"].items()}
    data["lockout_s"] = str(prefs["lockout_ms"] / 1000)
    if prefs["two_step_normal"]:
        data["two_step_normal"] = "on"
    data.update(changes)
    return data


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def test_page_lists_every_action_in_french_with_its_key_and_default(client, reader):
    keymap_update(user=reader, keymap={"skip": "k"}, two_step_normal=False, lockout_ms=1000)
    response = client.get(URL)
    assert response.status_code == 200
    page = text_of(response)
    assert "Mes touches et préférences de lecture" in page
    for group in ("Décision", "Navigation", "Outils"):
        assert f'<th scope="colgroup" colspan="4">{group}</th>' in page
    for label in ("Normal (et cas suivant)", "Passer le cas", "Étape suivante", "Loupe", "Zoom arrière"):
        assert label in page
    # Every action has a row; the groups cover the whole key map, once each.
    grouped = [a for _, actions in ACTION_GROUPS for a in actions]
    assert sorted(grouped) == sorted(DEFAULT_KEYMAP)
    for action in DEFAULT_KEYMAP:
        assert f'data-testid="key-row-{action}"' in page
    skip_row = re.search(r'<tr data-action="skip".*?</tr>', page, re.S).group(0)
    assert 'data-binding="k"' in skip_row and 'data-default="s"' in skip_row and 'class="changed"' in skip_row
    assert 'value="K"' in skip_row  # the text fallback shows the key's name
    space_row = re.search(r'<tr data-action="next_stage".*?</tr>', page, re.S).group(0)
    assert ">Espace</kbd>" in space_row and "disabled" in space_row  # nothing to reset
    assert 'name="lockout_s"' in page and 'value="1"' in page and 'min="0.5"' in page and 'max="3"' in page
    assert "« N » affiche le verdict Normal, « Entrée » le valide" in page
    assert 'href="/lecture/poste/"' in page and "keymap-editor.js" in page
    rules = json.loads(re.search(r'id="keymap-rules" type="application/json">(.*?)</script>', page, re.S)[1])
    assert rules["top_row"]['"'] == "Digit3" and "Backspace" in rules["browser"]


def test_post_saves_keys_and_options_through_the_service(client, reader):
    data = form_data(reader, key_normal="w", key_stage_4up="&", key_next_stage="Espace", lockout_s="1,5")
    data["two_step_normal"] = "on"
    response = client.post(URL, data)
    assert response.status_code == 302 and response["Location"] == URL
    prefs = ReaderPreference.objects.get(user=reader)
    # Only real overrides are stored; the AZERTY "&" is the Digit1 key, which is the default.
    assert prefs.keymap == {"normal": "w"}
    assert prefs.two_step_normal is True and prefs.lockout_ms == 1500
    page = text_of(client.get(URL))
    assert "Vos touches et préférences de lecture sont enregistrées." in page
    assert 'data-testid="key-normal">W</kbd>' in page


def test_text_fallback_reads_names_digits_and_numpad():
    assert key_from_text(" ") == " " and key_from_text("espace") == " " and key_from_text("Entrée") == "Enter"
    assert (
        key_from_text("3") == "Digit3"
        and key_from_text("Pavé 7") == "Numpad7"
        and key_from_text("←") == "ArrowLeft"
    )
    assert key_from_text(" N ") == "n" and key_from_text("é") == "Digit2" and key_from_text("") is None
    assert key_from_text("F5") == "F5"  # passed on for the service to refuse


def test_duplicate_key_is_refused_with_the_french_message(client, reader):
    keymap_update(user=reader, keymap={"skip": "k"}, two_step_normal=False, lockout_ms=1200)
    response = client.post(URL, form_data(reader, key_normal="a"))
    assert response.status_code == 200
    page = text_of(response)
    assert "La touche « A » sert déjà à « Anomalie (marquage) »" in page
    assert "choisissez-en une autre pour « Normal (et cas suivant) »" in page
    normal_row = re.search(r'<tr data-action="normal".*?</tr>', page, re.S).group(0)
    assert 'data-role="server-error"' in normal_row  # shown beside the row concerned
    prefs = ReaderPreference.objects.get(user=reader)
    assert prefs.keymap == {"skip": "k"} and prefs.lockout_ms == 1200  # nothing saved


@pytest.mark.parametrize(
    ("typed", "needle"),
    [
        (".", "« . » demande Maj ou AltGr sur un clavier AZERTY"),
        ("+", "« + » demande Maj ou AltGr sur un clavier AZERTY"),
        ("#", "« # » demande Maj ou AltGr sur un clavier AZERTY"),
        ("F5", "« F5 » est réservée au navigateur"),
        ("Backspace", "« Backspace » est réservée au navigateur"),
        ("Ctrl+W", "est réservée au navigateur"),
        ("Alt+ArrowLeft", "est réservée au navigateur"),
        ("Bonjour", "Touche non reconnue pour « Normal (et cas suivant) »"),
    ],
)
def test_shift_browser_and_unknown_keys_are_refused(client, reader, typed, needle):
    response = client.post(URL, form_data(reader, key_normal=typed))
    assert response.status_code == 200 and needle in text_of(response)
    assert not ReaderPreference.objects.filter(user=reader).exists()


def test_numpad_digit_conflicts_with_the_digit_key_it_also_triggers(client, reader):
    response = client.post(URL, form_data(reader, key_normal="Pavé 1"))
    assert "sert déjà à « Quatre incidences »" in text_of(response)
    with pytest.raises(ServiceError) as refused:
        keymap_update(user=reader, keymap={"invert": "Digit6"}, two_step_normal=False, lockout_ms=1000)
    assert refused.value.code == "keymap_duplicate" and refused.value.field == "invert"  # "-" on AZERTY


@pytest.mark.parametrize(("seconds", "saved_ms"), [("0.5", 500), ("3", 3000), ("2,25", 2250)])
def test_lockout_within_bounds_is_saved_in_milliseconds(client, reader, seconds, saved_ms):
    assert client.post(URL, form_data(reader, lockout_s=seconds)).status_code == 302
    assert ReaderPreference.objects.get(user=reader).lockout_ms == saved_ms


@pytest.mark.parametrize("seconds", ["0.4", "0,499", "3.001", "10", "-1", "abc", ""])
def test_lockout_out_of_bounds_or_unreadable_is_refused(client, reader, seconds):
    response = client.post(URL, form_data(reader, lockout_s=seconds))
    assert response.status_code == 200
    page = text_of(response)
    assert 'data-testid="lockout-error"' in page and "secondes" in page
    assert not ReaderPreference.objects.filter(user=reader).exists()


@pytest.mark.parametrize("lockout_ms", [499, 3001, 0, True])
def test_service_enforces_the_spec_lockout_bounds(lockout_ms):
    user = reader_at(SiteFactory())
    with pytest.raises(ServiceError) as refused:
        keymap_update(user=user, keymap={}, two_step_normal=False, lockout_ms=lockout_ms)
    assert refused.value.code == "lockout_range" and "0,5 à 3 secondes" in refused.value.message


def test_reset_one_row_and_all_rows(client, reader):
    keymap_update(user=reader, keymap={"normal": "w", "skip": "k"}, two_step_normal=True, lockout_ms=2000)
    response = client.post(URL, {**form_data(reader), "reset": "normal"})
    assert response.status_code == 302
    prefs = ReaderPreference.objects.get(user=reader)
    assert prefs.keymap == {"skip": "k"} and prefs.two_step_normal and prefs.lockout_ms == 2000
    assert "Touche de « Normal (et cas suivant) » rétablie par défaut" in text_of(client.get(URL))
    client.post(URL, {**form_data(reader, key_defer="j"), "reset": "toutes"})
    prefs.refresh_from_db()
    assert prefs.keymap == {} and prefs.two_step_normal and prefs.lockout_ms == 2000  # options kept


def test_another_readers_preferences_are_untouched(client, reader):
    other = reader_at(SiteFactory())
    keymap_update(user=other, keymap={"normal": "b"}, two_step_normal=True, lockout_ms=2500)
    assert ">B</kbd>" not in text_of(client.get(URL))  # the page shows my keys, not theirs
    client.post(URL, form_data(reader, key_normal="x", lockout_s="0.8"))
    theirs = ReaderPreference.objects.get(user=other)
    assert (theirs.keymap, theirs.two_step_normal, theirs.lockout_ms) == ({"normal": "b"}, True, 2500)
    assert ReaderPreference.objects.get(user=reader).keymap == {"normal": "x"}


def test_anonymous_is_sent_to_login_and_non_readers_are_refused(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/connexion/" in response["Location"]
    assert client.post(URL, {"lockout_s": "1"}).status_code == 302
    boss = coordinator()
    client.login(username=boss.username, password=PASSWORD)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"lockout_s": "1"}).status_code == 403
    assert not ReaderPreference.objects.exists()


def test_links_from_the_workstation_and_the_worklist(client, reader):
    assert 'href="/lecture/preferences/"' in client.get("/lecture/poste/").content.decode()
    assert 'href="/lecture/preferences/"' in client.get("/lecture/").content.decode()
