"""The reading workstation's flow in Debian's Chromium: a keyboard-only batch on an AZERTY layout, the
lock-out and held keys (F8 a), the lossless gate (F8 b), undo within / after the window (F8 d), skip and
defer (F4, F5), and the station check (§9).

Key events are dispatched as an AZERTY keyboard sends them (e.g. `key '"'` with `code 'Digit3'`). The flow runs
on the preview stand-in (`?visionneuse=apercu`): these tests are about the flow, not the cornerstone viewer.
"""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from readings.models import Alert, L2Reading
from screening.models import ExamState
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    UserFactory,
    l1_of,
    reader_at,
    staff_of,
    submitted_exam,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WS = "/lecture/poste/?visionneuse=apercu"
# AZERTY: the key each physical key sends without Shift.
AZERTY = {"a": "KeyQ", "z": "KeyW", "q": "KeyA", "m": "Semicolon", "w": "KeyZ"}
AZERTY_DIGITS = {"0": "à", "1": "&", "2": "é", "3": '"', "4": "'", "5": "("}


def build(n: int, username: str = "dr.poste"):
    practice = PracticeFactory(town="Moulins")
    staff, l1 = staff_of(practice), l1_of(practice)
    reader = reader_at(SiteFactory(), user=UserFactory(username=username))
    exams = [submitted_exam(practice=practice, staff=staff, l1=l1, days_ago=30 - i) for i in range(n)]
    for exam in exams:
        exam.refresh_from_db()
        assert exam.state == ExamState.ASSIGNED, exam.state
    return reader, exams


def key(page, name: str, *, code: str | None = None, repeat: bool = False, ctrl: bool = False) -> None:
    """Dispatch keydown as an AZERTY keyboard would, on the focused element."""
    if code is None:
        if name in AZERTY:
            code = AZERTY[name]
        elif len(name) == 1 and name.isalpha():
            code = "Key" + name.upper()
        else:
            code = {" ": "Space"}.get(name, name)
    page.evaluate(
        """([key, code, repeat, ctrl]) => {
          const target = document.activeElement || document.body;
          target.dispatchEvent(new KeyboardEvent('keydown', {key, code, repeat, ctrlKey: ctrl, bubbles: true, cancelable: true}));
        }""",
        [name, code, repeat, ctrl],
    )


def digit(page, value: str) -> None:
    key(page, AZERTY_DIGITS[value], code=f"Digit{value}")


def pass_station(page) -> str:
    """Find the corner with the faint 5 % square in a screenshot of the pattern, and click it."""
    overlay = page.get_by_test_id("station")
    expect(overlay).to_be_visible()
    canvas = page.get_by_test_id("station-pattern")
    shot = Image.open(io.BytesIO(canvas.screenshot())).convert("L")
    w, h = shot.size
    centres = {"tl": (120, 120), "tr": (w - 120, 120), "bl": (120, h - 120), "br": (w - 120, h - 120)}
    levels = {corner: shot.getpixel(xy) for corner, xy in centres.items()}
    corner = max(levels, key=levels.get)
    assert sorted(levels.values())[:3] == [0, 0, 0] and 8 <= levels[corner] <= 18, levels
    page.locator(f"[data-corner={corner}]").click()
    expect(overlay).to_be_hidden()
    return corner


def open_ws(page, login, reader, path: str = WS) -> None:
    login(page, reader.username)
    page.goto(path)
    pass_station(page)


def on_case(page, exam, *, settle: bool = True) -> None:
    """Wait until this exam is the open case and, if `settle`, until its lock-out is over."""
    expect(page.get_by_test_id("programme-id")).to_have_text(f"N° {exam.participant.programme_id}")
    if settle:
        page.wait_for_function(
            "() => { const s = window.L2Workstation; return s.current && s.lockStarted && performance.now() > s.lockUntil + 20; }"
        )


def click_view(page, slot: str, fx: float = 0.5, fy: float = 0.4) -> None:
    """Click the displayed image of a slot at a fraction of its displayed box."""
    box = page.get_by_test_id(f"viewport-{slot}").locator("img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def test_keyboard_only_batch_of_ten_on_azerty(page, login, shots_dir):
    reader, exams = build(10)
    open_ws(page, login, reader)
    expect(page.get_by_test_id("banner-station")).to_contain_text("AFFICHAGE NON DIAGNOSTIQUE")
    for index, exam in enumerate(exams[:8]):
        on_case(page, exam)
        expect(page.get_by_test_id("progress")).to_have_text(f"Cas {index + 1}")
        key(page, "n")
        if index == 0:  # F8 e: a non-modal hint, the verdict is recorded all the same
            expect(page.get_by_test_id("status-hint")).to_have_text("· décision en moins de 5 s")
    # Anomaly on CC + MLO of the right breast: A (KeyQ on AZERTY), click, type C, ACR 3 by '"' / Digit3.
    on_case(page, exams[8])
    key(page, "a")
    click_view(page, "RCC", 0.6, 0.3)
    card = page.get_by_test_id("finding-card")
    expect(card).to_have_count(1)
    key(page, "c")
    digit(page, "3")
    click_view(page, "RMLO", 0.6, 0.3)
    expect(card).to_have_count(1)  # the counterpart joins the same finding
    expect(page.get_by_test_id("marker")).to_have_count(2)
    key(page, "ArrowRight")
    key(page, "ArrowLeft")
    key(page, "Enter")  # closes the card
    expect(card).not_to_have_class(re.compile(r"\bopen\b"))
    page.screenshot(path=str(shots_dir / "workstation-anomaly.png"))
    key(page, "Enter")  # commits
    # CTI: T, Space ticks RCC × positionnement, → Space ticks flou, Enter commits.
    on_case(page, exams[9])
    key(page, "t")
    key(page, " ")
    key(page, "ArrowRight")
    key(page, " ")
    key(page, "Enter")
    expect(page.get_by_test_id("end")).to_be_visible()
    page.wait_for_function("() => window.L2Workstation.outbox.pending === 0")
    expect(page.get_by_test_id("status-text")).to_contain_text(
        f"Cas {exams[9].participant.programme_id} — CTI (RCC)"
    )
    page.screenshot(path=str(shots_dir / "workstation-end.png"))

    readings = {r.exam_id: r for r in L2Reading.objects.filter(reader=reader)}
    assert len(readings) == 10
    for exam in exams[:8]:
        r = readings[exam.pk]
        assert (r.verdict, r.acr_right, r.acr_left) == ("NORMAL", 1, 1)
        assert r.timings["first_paint_ms"] is not None and r.timings["commit_ms"] >= 1000
        assert r.timings["station"]["pattern"] == "ok" and r.timings["viewer"] == "apercu"
    anomaly = readings[exams[8].pk]
    assert anomaly.verdict == "ANOMALY" and anomaly.acr_right == 3
    finding = anomaly.findings.get()
    assert (finding.side, finding.lesion_type, finding.acr) == ("D", "C", 3)
    assert finding.quadrant in {"QSE", "QSI", "QIE", "QII"} and 1 <= finding.clock <= 12
    sops = {m["sop_uid"] for m in finding.marks}
    assert sops == {exams[8].instances.get(slot="RCC").sop_uid, exams[8].instances.get(slot="RMLO").sop_uid}
    cti = readings[exams[9].pk]
    assert cti.verdict == "CTI"
    assert sorted((i.side, i.view, i.reason, i.action) for i in cti.cti_items.all()) == [
        ("D", "CC", "FLO", "REF"),
        ("D", "CC", "POS", "REF"),
    ]


def test_lockout_drops_early_keys_and_held_keys_never_decide(page, login):
    reader, exams = build(2, "dr.verrou")
    open_ws(page, login, reader)
    on_case(page, exams[0], settle=False)
    early = page.evaluate(
        """async () => {
          const s = window.L2Workstation;
          while (!s.lockStarted) await new Promise(r => setTimeout(r, 5));
          const lockout = JSON.parse(document.getElementById('ws-prefs').textContent).lockout_ms;
          const paint = s.lockUntil - lockout;  // the first paint
          while (performance.now() < paint + 200) await new Promise(r => setTimeout(r, 2));
          const t = performance.now() - paint;
          document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'n', code: 'KeyN', bubbles: true}));
          // The key counts as "early" only if it really came inside the lock-out (a loaded CI box can be late).
          return {t, lockout, inLock: performance.now() < s.lockUntil, last: s.last, current: s.current.id};
        }"""
    )
    assert early["inLock"] and 200 <= early["t"] < early["lockout"], early
    assert early["last"] is None and early["current"] == exams[0].pk
    page.wait_for_timeout(1100)
    key(page, "n", repeat=True)  # a held key after the lock-out: still nothing
    key(page, "Enter", repeat=True)
    assert page.evaluate("() => window.L2Workstation.last") is None
    # Lossless gate: the verdict keys wait for decision-grade pixels.
    page.evaluate("() => { window.L2Workstation.viewer.losslessReady = () => false; }")
    key(page, "n")
    expect(page.get_by_test_id("status-text")).to_have_text("APERÇU — attendre les images sans perte")
    page.evaluate("() => { window.L2Workstation.viewer.losslessReady = () => true; }")
    key(page, "n")
    on_case(page, exams[1], settle=False)
    page.wait_for_function("() => window.L2Workstation.outbox.pending === 0")
    assert L2Reading.objects.get(exam=exams[0]).verdict == "NORMAL"
    assert not L2Reading.objects.filter(exam=exams[1]).exists()


def test_undo_within_the_window_reopens_and_after_it_is_refused(page, login, settings):
    settings.L2_UNDO_WINDOW_SECONDS = 3
    reader, exams = build(2, "dr.annule")
    open_ws(page, login, reader)
    on_case(page, exams[0])
    key(page, "n")
    on_case(page, exams[1], settle=False)
    expect(page.get_by_test_id("status-countdown")).to_have_text(re.compile(r"^[1-4] s$"))
    expect(page.get_by_test_id("status-text")).to_have_text(
        f"Cas {exams[0].participant.programme_id} — NORMAL (D1/G1) — annuler : Ctrl+Z"
    )
    key(page, "z", ctrl=True)  # KeyW on AZERTY
    on_case(page, exams[0])  # reopened with its draft
    expect(page.get_by_test_id("status-text")).to_contain_text("Verdict annulé, cas rouvert")
    assert L2Reading.objects.get(exam=exams[0]).status == L2Reading.Status.WITHDRAWN
    key(page, "n")
    on_case(page, exams[1], settle=False)
    expect(page.get_by_test_id("status-countdown")).to_have_text("définitif", timeout=6000)
    page.wait_for_timeout(300)
    key(page, "z", ctrl=True)
    expect(page.get_by_test_id("status-text")).to_have_text("Délai d’annulation dépassé")
    expect(page.get_by_test_id("programme-id")).to_have_text(f"N° {exams[1].participant.programme_id}")
    live = L2Reading.objects.exclude(status=L2Reading.Status.WITHDRAWN).get(exam=exams[0])
    assert live.verdict == "NORMAL"


def test_skip_returns_last_and_defer_reaches_the_coordinator(page, login):
    reader, exams = build(3, "dr.passe")
    open_ws(page, login, reader)
    on_case(page, exams[0])
    key(page, "s")
    on_case(page, exams[1])
    key(page, "d")
    dialog = page.get_by_test_id("defer-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("defer-confirm").click()  # no reason yet: refused in the dialog
    expect(dialog).to_contain_text("Choisissez un motif.")
    page.get_by_label("Images défectueuses ou inutilisables").check()
    page.get_by_test_id("defer-confirm").click()
    on_case(page, exams[2])
    expect(page.get_by_test_id("status-text")).to_contain_text("Cas mis de côté pour la coordination")
    key(page, "n")
    on_case(page, exams[0])  # the skipped case comes back after the last one
    key(page, "n")
    expect(page.get_by_test_id("end")).to_be_visible()
    page.wait_for_function("() => window.L2Workstation.outbox.pending === 0")
    exams[1].refresh_from_db()
    assert exams[1].state == ExamState.DEFERRED
    alert = Alert.objects.get(kind=Alert.Kind.DEFERRED, exam=exams[1])
    assert "images défectueuses" in alert.message
    assert set(L2Reading.objects.filter(reader=reader).values_list("exam_id", flat=True)) == {
        exams[0].pk,
        exams[2].pk,
    }


# ---------------------------------------------------------------------------------- with the real viewer.js


@pytest.fixture
def gl_page(gl_browser, server):
    context = gl_browser.new_context(
        base_url=server.url, locale="fr-FR", viewport={"width": 1600, "height": 1000}
    )
    context.set_default_timeout(30_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}"


def test_with_the_cornerstone_viewer_normal_waits_for_lossless_and_records_timings(gl_page, login):
    page = gl_page
    reader, exams = build(2, "dr.pixels")
    open_ws(page, login, reader, "/lecture/poste/")
    expect(page.locator("#ws")).to_have_attribute("data-viewer", "cornerstone")
    on_case(page, exams[0], settle=False)
    page.wait_for_function("() => window.L2Workstation.viewer.losslessReady()", timeout=60_000)
    page.wait_for_function("() => performance.now() > window.L2Workstation.lockUntil + 20")
    key(page, "2", code="Digit2")  # CC pair (AZERTY: 'é')
    key(page, " ")
    key(page, "n")  # verdict keys wait while the new stage is not lossless yet
    if not page.evaluate("() => window.L2Workstation.viewer.losslessReady()"):
        assert page.evaluate("() => window.L2Workstation.last") is None
        expect(page.get_by_test_id("status-text")).to_have_text("APERÇU — attendre les images sans perte")
        waited = page.evaluate(
            """async () => { const t0 = performance.now();
              while (!window.L2Workstation.viewer.losslessReady()) await new Promise(r => setTimeout(r, 20));
              return performance.now() - t0; }"""
        )
        print(f"lossless again after the stage change: {waited:.0f} ms")
        key(page, "n")
    on_case(page, exams[1], settle=False)
    page.wait_for_function("() => window.L2Workstation.outbox.pending === 0")
    timings = L2Reading.objects.get(exam=exams[0]).timings
    assert timings["viewer"] == "cornerstone"
    assert 0 <= timings["first_paint_ms"] <= timings["lossless_ms"] <= timings["commit_ms"]
    assert len(timings["stage_dwell_ms"]) >= 2
