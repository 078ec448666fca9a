"""The key map editor in Debian's Chromium (§8): capture a new key for Normal with an AZERTY event, see refused
keys explained at once, save, then check on the workstation that the new key records Normal and the old one no
longer does."""

import pytest
from playwright.sync_api import expect

from readings.models import L2Reading, ReaderPreference
from tests.browser.test_workstation_flow import WS, build, key, on_case, pass_station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PREFS = "/lecture/preferences/"


def test_capture_a_new_normal_key_on_azerty_and_use_it_on_the_workstation(page, login, shots_dir):
    reader, exams = build(2, "dr.touches")
    login(page, reader.username)
    page.goto("/lecture/")
    with page.expect_navigation():
        page.get_by_test_id("open-preferences").click()  # from the worklist
    expect(page.get_by_role("heading", name="Mes touches et préférences de lecture")).to_be_visible()
    normal = page.get_by_test_id("key-normal")
    status = page.get_by_test_id("capture-status")
    expect(normal).to_have_text("N")
    expect(page.locator("#id_key_normal")).to_be_hidden()  # JavaScript: capture instead of the text field

    # Esc cancels a capture and keeps the key.
    page.get_by_test_id("capture-normal").click()
    expect(normal).to_have_text("Appuyez sur une touche…")
    expect(status).to_contain_text("Appuyez sur la nouvelle touche pour « Normal (et cas suivant) »")
    key(page, "Escape")
    expect(normal).to_have_text("N")
    expect(status).to_have_text("Modification annulée.")
    expect(page.get_by_test_id("capture-normal")).to_be_focused()

    page.get_by_test_id("capture-normal").click()
    row = page.get_by_test_id("key-row-normal")
    error = row.locator("[data-role=error]")
    # Refused at once, before saving: a key needing Shift on AZERTY, a browser key, a key already used
    # (the AZERTY "a" is KeyQ; '"' is the Digit3 key, bound by its code to the MLO stage).
    page.evaluate(
        """() => document.activeElement.dispatchEvent(new KeyboardEvent('keydown',
             {key: '.', code: 'Comma', shiftKey: true, bubbles: true, cancelable: true}))"""
    )
    expect(error).to_have_text(
        "« . » demande Maj ou AltGr sur un clavier AZERTY : choisissez une autre touche."
    )
    key(page, "Backspace")
    expect(error).to_contain_text("Retour arrière est réservée au navigateur")
    key(page, "ArrowLeft")
    expect(error).to_contain_text("« ← » sert déjà à « Étape précédente »")
    page.evaluate(
        """() => document.activeElement.dispatchEvent(new KeyboardEvent('keydown',
             {key: 'ArrowLeft', code: 'ArrowLeft', altKey: true, bubbles: true, cancelable: true}))"""
    )
    expect(error).to_contain_text("réservées au navigateur")
    key(page, "a")
    expect(error).to_have_text(
        "La touche « A » sert déjà à « Anomalie (marquage) » : choisissez-en une autre, ou changez d’abord "
        "cette action."
    )
    key(page, '"', code="Digit3")
    expect(error).to_contain_text("« 3 » sert déjà à « MLO droite et gauche »")
    expect(normal).to_have_text("Appuyez sur une touche…")  # still waiting for an acceptable key

    # The AZERTY "w" (physical KeyZ) is free: captured and shown at once.
    key(page, "w")
    expect(normal).to_have_text("W")
    expect(error).to_be_hidden()
    expect(row).to_have_class("changed")
    expect(status).to_have_text(
        "« Normal (et cas suivant) » : nouvelle touche W. Enregistrez pour l’appliquer."
    )
    assert page.locator("#id_key_normal").input_value() == "w"
    assert not ReaderPreference.objects.filter(user=reader).exists()  # nothing saved yet
    page.locator("#id_lockout_s").fill("0.5")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    expect(page.locator(".messages")).to_contain_text(
        "Vos touches et préférences de lecture sont enregistrées."
    )
    expect(page.get_by_test_id("key-normal")).to_have_text("W")
    page.screenshot(path=str(shots_dir / "keymap-editor.png"), full_page=True)
    prefs = ReaderPreference.objects.get(user=reader)
    assert (prefs.keymap, prefs.lockout_ms, prefs.two_step_normal) == ({"normal": "w"}, 500, False)

    # On the workstation: the old key no longer records Normal, the new one does.
    page.goto(WS)
    pass_station(page)
    on_case(page, exams[0])
    key(page, "n")
    page.wait_for_timeout(400)
    assert page.evaluate("() => window.L2Workstation.last") is None
    expect(page.get_by_test_id("programme-id")).to_have_text(f"N° {exams[0].participant.programme_id}")
    assert not L2Reading.objects.filter(reader=reader).exists()
    key(page, "w")
    on_case(page, exams[1], settle=False)
    page.wait_for_function("() => window.L2Workstation.outbox.pending === 0")
    reading = L2Reading.objects.get(reader=reader)
    assert (reading.exam_id, reading.verdict) == (exams[0].pk, "NORMAL")
