"""Data, keyboard and page helpers of the reading-session acceptance test (test_workstation_session.py).

Images: small (600 × 480) 12-bit-in-16 MONOCHROME2 mammograms with a synthetic breast, ImagerPixelSpacing and
two header window presets, uploaded through the real intake (tests.factories.upload) so classification and
renditions are the app's own. Keys: AZERTY events as the spec's acceptance tests want them (§10.5), and real
Tab / Enter presses where the browser's own behaviour (focus, form submission) is what is tested. Page: waits on
the workstation's own signals (`window.L2Workstation`, the viewer's `losslessReady()`, its performance marks).
"""

import io
import json
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from readings.models import Assignment, ReaderProfile
from screening.dicom.synth import make_mammogram, mammogram_pixels
from screening.models import ExamState
from screening.services.exams import exam_submit
from tests.factories import (
    ParticipantFactory,
    PracticeFactory,
    SiteFactory,
    UserFactory,
    draft_exam,
    l1_negative,
    l1_of,
    reader_at,
    staff_of,
    upload,
)

ROWS, COLS, SPACING_MM = 600, 480, 0.4  # a 24 × 19 cm detector at 0.4 mm: small enough for SwiftShader
SLOTS = ("RCC", "LCC", "RMLO", "LMLO")
PRESETS = ("NORMAL", "CONTRASTE")
N_EXAMS = 20
WITH_PRIOR = (2, 9, 15)  # positions (in reading order) of the exams whose woman had an exam 2 years before
L1_ACR2_RIGHT = 4  # position of the exam whose L1 gave ACR 2 on the right breast (Normal keeps it, F6)
CELLS = "#ws-viewer .l2v-cell:not([hidden])"  # the viewer's shown cells (one per hung view)


def write_view(path: Path, exam, slot: str, seed: int) -> Path:
    laterality, view = slot[0], slot[1:]
    pixels = mammogram_pixels(laterality=laterality, view=view, rows=ROWS, columns=COLS, seed=seed)
    p = exam.participant
    ds = make_mammogram(
        patient_id=p.programme_id, patient_name=f"{p.last_name}^{p.first_name}",
        birth_date=p.birth_date.strftime("%Y%m%d"), study_date=exam.mammogram_date.strftime("%Y%m%d"),
        accession_number=f"ACC{exam.pk}", laterality=laterality, view=view, pixels=pixels,
        compress=False, seed=seed,
    )  # fmt: skip
    ds.ImagerPixelSpacing = ds.PixelSpacing = [SPACING_MM, SPACING_MM]
    centre, width = float(ds.WindowCenter), float(ds.WindowWidth)
    # Two header presets so that V has somewhere to go (§4: each WC/WW pair, named from its explanation).
    ds.WindowCenter, ds.WindowWidth = (
        [round(centre), round(centre + width / 8)],
        [round(width), round(width / 2)],
    )
    ds.WindowCenterWidthExplanation = list(PRESETS)
    ds.save_as(path, enforce_file_format=True)
    return path


def exam_with_views(org, *, participant=None, days_ago: int, l1_data=None):
    """A console exam with its 4 small views uploaded through the intake, then submitted (tasks eager)."""
    exam = draft_exam(
        practice=org.practice, staff=org.staff, l1=org.l1, participant=participant, days_ago=days_ago,
        l1_data=l1_data,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for slot in SLOTS:
            upload(exam, write_view(Path(tmp) / f"{slot}.dcm", exam, slot, seed=exam.pk), org.staff)
    exam_submit(exam_id=exam.pk, actor=org.staff)
    exam.refresh_from_db()
    return exam


def session_world(username: str = "dr.seance") -> SimpleNamespace:
    """20 exams waiting in the L2 queue (three with an exam of the same woman two years before) and a
    reader with nothing yet; the earlier exams are another reader's, never this one's."""
    practice = PracticeFactory(name="Cabinet des Tilleuls", town="Vichy")
    org = SimpleNamespace(practice=practice, staff=staff_of(practice), l1=l1_of(practice))
    org.other = reader_at(SiteFactory(), user=UserFactory(username="dr.autre"))
    days = [60 - i for i in range(N_EXAMS)]  # distinct mammogram dates: reading order = list order
    participants = [ParticipantFactory() for _ in range(N_EXAMS)]
    org.priors = {}
    for i in WITH_PRIOR:
        prior = exam_with_views(org, participant=participants[i], days_ago=days[i] + 730)
        assert prior.state == ExamState.ASSIGNED, prior.state  # given to the only reader, dr.autre
        assert Assignment.objects.get(exam=prior).reader == org.other
        org.priors[i] = prior
    # dr.autre stops reading: the current exams wait in the queue for a session.
    ReaderProfile.objects.filter(user=org.other).update(active=False)
    org.exams = []
    for i in range(N_EXAMS):
        l1_data = l1_negative(acr_initial_right=2, acr_final_right=2) if i == L1_ACR2_RIGHT else None
        exam = exam_with_views(org, participant=participants[i], days_ago=days[i], l1_data=l1_data)
        assert exam.state == ExamState.QUEUED, exam.state
        assert list(exam.priors.all()) == ([org.priors[i]] if i in org.priors else [])
        org.exams.append(exam)
    org.reader = reader_at(
        SiteFactory(), user=UserFactory(username=username, first_name="Inès", last_name="Lamarque")
    )
    return org


# ------------------------------------------------------------------------------------------------ keyboard

# AZERTY key events: the flow tests' helpers (`key` = keydown with the AZERTY `key` and the physical `code`).
from tests.browser.test_workstation_flow import digit, key  # noqa: E402, F401


def tab_to(page, selector: str, *, limit: int = 60) -> int:
    """Press the real Tab key until the element matching `selector` has the focus; returns the presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return presses
    raise AssertionError(f"{selector} never got the focus in {limit} Tab presses")


def station_corner(page) -> str:
    """The corner of the station pattern holding the faint 5 % square, read from a screenshot."""
    canvas = page.get_by_test_id("station-pattern")
    shot = Image.open(io.BytesIO(canvas.screenshot())).convert("L")
    w, h = shot.size
    centres = {"tl": (120, 120), "tr": (w - 120, 120), "bl": (120, h - 120), "br": (w - 120, h - 120)}
    levels = {corner: shot.getpixel(xy) for corner, xy in centres.items()}
    corner = max(levels, key=levels.get)
    assert sorted(levels.values())[:3] == [0, 0, 0] and 8 <= levels[corner] <= 18, levels
    return corner


def pass_station_by_keyboard(page) -> int:
    """Tab to the corner button of the faint square and press Enter; returns how many Tabs it took."""
    overlay = page.get_by_test_id("station")
    expect(overlay).to_be_visible()
    corner = station_corner(page)
    presses = tab_to(page, f"#ws-station [data-corner={corner}]")
    page.keyboard.press("Enter")
    expect(overlay).to_be_hidden()
    return presses


# ---------------------------------------------------------------------------------------------------- page


def open_case(page, exam) -> None:
    """Wait until this exam is the open case, painted, lossless, and its lock-out is over."""
    expect(page.get_by_test_id("programme-id")).to_have_text(f"N° {exam.participant.programme_id}")
    page.wait_for_function(
        """(id) => {
          const s = window.L2Workstation, seen = (n) => performance.getEntriesByName(n).some((e) => e.detail?.exam_id === id);
          return s.current?.id === id && seen('l2:first-paint') && seen('l2:lossless') && s.viewer.losslessReady()
            && s.lockStarted && performance.now() > s.lockUntil + 20;
        }""",
        arg=exam.pk,
    )


def lossless(page) -> None:
    """Verdict keys wait for decision-grade pixels of every shown view (F8 b): so does the reader."""
    page.wait_for_function("() => window.L2Workstation.viewer.losslessReady()")


def press_and_paint(page, name: str, **kwargs) -> None:
    """A viewer key, then the next `l2:painted` mark (the viewer drew the result)."""
    before = page.evaluate("() => performance.getEntriesByName('l2:painted').length")
    key(page, name, **kwargs)
    page.wait_for_function("(n) => performance.getEntriesByName('l2:painted').length > n", arg=before)


def expect_slots(page, slots: list[str], stage: int) -> None:
    """The viewer shows stage `stage` with these views in this order ("RCCp": a prior's)."""
    expect(page.locator("#ws-viewer")).to_have_attribute("data-stage", str(stage))
    page.wait_for_function(
        "([sel, want]) => JSON.stringify([...document.querySelectorAll(sel)].map((c) => c.dataset.slot)) === want",
        arg=[CELLS, json.dumps(slots, separators=(",", ":"))],
    )


def overlays(page):
    """The text overlay of each shown view (laterality, date, ACTUELLE/ANTÉRIEURE, preset, INV, 1:1)."""
    return page.locator(f"{CELLS} .l2v-overlay")


def lit(page, slot: str) -> float:
    """Share of the cell's pixels showing the breast (not black)."""
    png = page.locator(f"{CELLS}[data-slot='{slot}']").screenshot()
    return float((np.asarray(Image.open(io.BytesIO(png)).convert("L")) > 30).mean())


def presets(page) -> list[str]:
    """The window preset line of each shown view's overlay (after the current/prior line)."""
    texts = overlays(page).all_inner_texts()
    return [t.split("ACTUELLE")[-1].strip().splitlines()[0] if "ACTUELLE" in t else "" for t in texts]
