"""Viewer tools in Debian's Chromium with WebGL (SwiftShader): measure (§4 `M`) and double-click solo (§8).

Images are generated with known ImagerPixelSpacing (or none), go through the real intake and case API, and the
viewer is driven through its dev harness page like tests/browser/test_workstation_hanging.py. Clicks are aimed
at stored-pixel positions through the cell's placement, honouring the view's flips.
"""

import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from screening.dicom.synth import make_mammogram
from screening.services.exams import exam_submit
from tests.factories import (
    draft_exam,
    upload,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HARNESS = "/static/js/workstation/dev/viewer-harness.html"
TIMEOUT_MS = 60_000
ROWS, COLS = 800, 640
TARGET = {"RCC": ("P", "L"), "LCC": ("A", "R"), "RMLO": ("P", "F"), "LMLO": ("A", "F")}
OPPOSITE = {"A": "P", "P": "A", "R": "L", "L": "R", "H": "F", "F": "H"}
# 3-4-5: 300 columns and 400 rows apart = 500 stored pixels = 50.0 mm at 0.1 mm.
A, B = (100.0, 150.0), (400.0, 550.0)
LOSSLESS = re.compile(r".*/lecture/(dicom|wado)/.*")


def pixels(wall_right: bool) -> np.ndarray:
    """Air, and tissue on the chest-wall side (columns increase towards the row letter: P = wall)."""
    a = np.full((ROWS, COLS), 50, np.uint16)
    depth = int(COLS * 0.8)
    a[ROWS // 10 : ROWS - ROWS // 10, COLS - depth :] = 1500
    if not wall_right:
        a = a[:, ::-1].copy()
    a[ROWS // 2 - 20 : ROWS // 2 + 20, ::16] = 2600  # some structure
    return a


def exam_with(org, views: dict):
    """{slot: {orientation, spacing (None = no spacing attribute at all), factor (0018,1114)}} → submitted."""
    exam = draft_exam(practice=org.practice, staff=org.staff, l1=org.l1)
    p = exam.participant
    with tempfile.TemporaryDirectory() as tmp:
        for slot, options in views.items():
            orientation = options.get("orientation", TARGET[slot])
            ds = make_mammogram(
                patient_id=p.programme_id, patient_name=f"{p.last_name}^{p.first_name}",
                birth_date=p.birth_date.strftime("%Y%m%d"), study_date=exam.mammogram_date.strftime("%Y%m%d"),
                accession_number=f"ACC{exam.pk}", laterality=slot[0], view=slot[1:],
                pixels=pixels(orientation[0] == "P"), compress=False, seed=exam.pk,
            )  # fmt: skip
            ds.PatientOrientation = list(orientation)
            ds.WindowCenter, ds.WindowWidth = 2048, 4096
            spacing = options.get("spacing", 0.1)
            if spacing is None:
                del ds.ImagerPixelSpacing, ds.PixelSpacing
            else:
                ds.ImagerPixelSpacing = ds.PixelSpacing = [spacing, spacing]
            if options.get("factor"):
                ds.EstimatedRadiographicMagnificationFactor = options["factor"]
            path = Path(tmp) / f"{slot}.dcm"
            ds.save_as(path, enforce_file_format=True)
            upload(exam, path, org.staff)
    exam_submit(exam_id=exam.pk, actor=org.staff)
    exam.refresh_from_db()
    return exam


@pytest.fixture(autouse=True)
def _viewer_focused(viewer_page):
    # The workstation's viewer element is focusable (tabindex -1); the harness's is made so here, for Esc.
    viewer_page.evaluate("() => { const r = document.getElementById('viewer'); r.tabIndex = -1; r.focus(); }")


def open_exam(page, exam_id: int) -> None:
    page.evaluate("(id) => window.openExam(id)", exam_id)
    page.wait_for_function("() => window.viewer.losslessReady()")
    page.wait_for_timeout(150)


def cell(page, slot: str):
    return page.locator(f".l2v-cell[data-slot='{slot}']:not([hidden])")


def point_of(page, slot: str, stored: tuple[float, float]) -> tuple[float, float]:
    """Page coordinates of a stored pixel position of the view in `slot` (its flips applied)."""
    pl = page.evaluate(
        """(slot) => {
          const c = window.viewer._viewer.visibleCells().find((c) => c.root.dataset.slot === slot);
          const p = c.placement();
          return {...p, columns: c.entry.view.columns, rows: c.entry.view.rows};
        }""",
        slot,
    )
    u, v = stored[0] / pl["columns"], stored[1] / pl["rows"]
    if pl["flipH"]:
        u = 1 - u
    if pl["flipV"]:
        v = 1 - v
    box = cell(page, slot).bounding_box()
    return box["x"] + pl["left"] + u * pl["width"], box["y"] + pl["top"] + v * pl["height"]


def labels(page, slot: str) -> list[list[str]]:
    """The finished measurements' label lines on a cell."""
    return page.evaluate(
        """(slot) => [...document.querySelectorAll(
             `.l2v-cell[data-slot='${slot}'] .l2v-measure:not(.l2v-measure-pending) .l2v-measure-label`)]
             .map((t) => [...t.querySelectorAll('tspan')].map((s) => s.textContent))""",
        slot,
    )


def measure(page, slot: str, a=A, b=B) -> None:
    assert page.evaluate("() => window.viewer.action('measure')") is True
    page.mouse.click(*point_of(page, slot, a))
    page.mouse.click(*point_of(page, slot, b))


def last_item(page) -> dict:
    return page.evaluate("() => window.viewer._viewer.measure.items.at(-1)")


# ------------------------------------------------------------------------------------------------ measure


def test_measure_in_mm_on_plain_and_flipped_views(viewer_page, org):
    """500 stored px at 0.1 mm = "50,0 mm (détecteur)", also on a horizontally flipped view (the same stored
    points, clicked at their mirrored screen places); with (0018,1114) = 1.1 also "≈ 45,5 mm au sein"."""
    exam = exam_with(org, {
        "RCC": {}, "LCC": {"orientation": (OPPOSITE[TARGET["LCC"][0]], TARGET["LCC"][1])},
        "RMLO": {"factor": 1.1}, "LMLO": {},
    })  # fmt: skip
    open_exam(viewer_page, exam.pk)
    flips = viewer_page.evaluate(
        "() => Object.fromEntries(window.viewer._viewer.visibleCells().map((c) => [c.entry.slot, c.placement().flipH]))"
    )
    assert flips == {"RCC": False, "LCC": True, "RMLO": False, "LMLO": False}

    measure(viewer_page, "RCC")
    item = last_item(viewer_page)
    assert np.allclose(item["a"], A, atol=1.5) and np.allclose(item["b"], B, atol=1.5), item
    assert labels(viewer_page, "RCC") == [["50,0 mm (détecteur)"]]

    measure(viewer_page, "LCC")
    item = last_item(viewer_page)
    assert np.allclose(item["a"], A, atol=1.5) and np.allclose(item["b"], B, atol=1.5), item
    assert labels(viewer_page, "LCC") == [["50,0 mm (détecteur)"]]
    # drawn where it was clicked: the line starts at the mirrored screen place of A
    x1 = float(cell(viewer_page, "LCC").locator(".l2v-measure line").get_attribute("x1"))
    box = cell(viewer_page, "LCC").bounding_box()
    assert abs(box["x"] + x1 - point_of(viewer_page, "LCC", A)[0]) < 1
    assert x1 > box["width"] / 2  # A (column 100 of 640) is on the right half once mirrored

    measure(viewer_page, "RMLO")
    assert labels(viewer_page, "RMLO") == [["50,0 mm (détecteur)", "≈ 45,5 mm au sein"]]

    # the lines follow zoom and pan (stored coordinates): after a zoom the label stays, the line moved
    # (x1: the zoom is centred on the pointer, last at B of RMLO, where B of RCC is too)
    before = float(cell(viewer_page, "RCC").locator(".l2v-measure line").get_attribute("x1"))
    viewer_page.evaluate("() => window.viewer.action('zoom_in')")
    after = float(cell(viewer_page, "RCC").locator(".l2v-measure line").get_attribute("x1"))
    assert abs(after - before) > 5
    assert labels(viewer_page, "RCC") == [["50,0 mm (détecteur)"]]

    # O hides the measurements with the marks, O again shows them
    viewer_page.evaluate("() => window.viewer.action('overlays')")
    assert viewer_page.locator(".l2v-measure").count() == 0
    viewer_page.evaluate("() => window.viewer.action('overlays')")
    assert viewer_page.locator(".l2v-measure").count() == 3

    # a stage change keeps them (per image); a new case clears them
    viewer_page.evaluate("() => window.viewer.stage(3)")
    assert labels(viewer_page, "LCC") == [["50,0 mm (détecteur)"]]
    open_exam(viewer_page, exam.pk)
    assert viewer_page.locator(".l2v-measure").count() == 0
    assert viewer_page.evaluate("() => window.viewer._viewer.measure.items.length") == 0


def test_measure_mode_clicks_do_not_pan_and_esc_cancels(viewer_page, org):
    exam = exam_with(org, {slot: {} for slot in TARGET})
    open_exam(viewer_page, exam.pk)
    state = "() => window.viewer._viewer.state.t"
    t0 = viewer_page.evaluate(state)
    assert viewer_page.evaluate("() => window.viewer.action('measure')") is True
    assert "l2v-measuring" in viewer_page.get_attribute("#viewer", "class")
    # press on A, drag to B, release: first point set, no pan; the live label follows the pointer
    xa, ya = point_of(viewer_page, "RCC", A)
    xb, yb = point_of(viewer_page, "RCC", B)
    viewer_page.mouse.move(xa, ya)
    viewer_page.mouse.down()
    for step in range(1, 11):
        viewer_page.mouse.move(xa + (xb - xa) * step / 10, ya + (yb - ya) * step / 10)
    viewer_page.mouse.up()
    assert viewer_page.evaluate(state) == t0
    assert cell(viewer_page, "RCC").locator(".l2v-measure-pending").count() == 1
    live = cell(viewer_page, "RCC").locator(".l2v-measure-pending tspan").all_text_contents()
    assert live and live[0].endswith("mm (détecteur)")

    # Esc drops the measurement in progress and leaves measure mode: a drag pans again
    viewer_page.keyboard.press("Escape")
    assert viewer_page.locator(".l2v-measure").count() == 0
    assert "l2v-measuring" not in viewer_page.get_attribute("#viewer", "class")
    viewer_page.mouse.move(xa, ya)
    viewer_page.mouse.down()
    for step in range(1, 11):
        viewer_page.mouse.move(xa + 3 * step, ya)
    viewer_page.mouse.up()
    assert viewer_page.evaluate(state) != t0
    assert viewer_page.evaluate("() => window.viewer._viewer.measure.items.length") == 0
    # Esc with nothing to cancel is left to the page (the report panel's mode)
    assert viewer_page.evaluate("() => window.viewer.action('cancel')") is False

    # a new M starts again: M, one point, M again, then two points → one measurement from the new points
    assert viewer_page.evaluate("() => window.viewer.action('measure')") is True
    viewer_page.mouse.click(*point_of(viewer_page, "RCC", (300, 300)))
    measure(viewer_page, "RCC")
    item = last_item(viewer_page)
    assert np.allclose(item["a"], A, atol=1.5), item
    assert labels(viewer_page, "RCC") == [["50,0 mm (détecteur)"]]


def test_measure_without_spacing_in_pixels(viewer_page, org):
    exam = exam_with(org, {slot: {"spacing": None} for slot in TARGET})
    case = viewer_page.evaluate("(id) => window.fetchCase(id)", exam.pk)
    assert case["views"]["RCC"]["spacing_mm"] is None
    open_exam(viewer_page, exam.pk)
    measure(viewer_page, "RCC")
    assert labels(viewer_page, "RCC") == [["500 px"]]


def test_measure_is_off_under_the_preview(viewer_page, org):
    """G3: while "APERÇU" shows, M does nothing; once lossless, it works."""
    exam = exam_with(org, {slot: {} for slot in TARGET})
    # slow the lossless pixels (WADO-RS frames or original DICOM) so that the preview is seen
    viewer_page.route(LOSSLESS, lambda route: (viewer_page.wait_for_timeout(1500), route.continue_()))
    viewer_page.evaluate("(id) => { window.opening = window.openExam(id); }", exam.pk)
    viewer_page.wait_for_function("() => performance.getEntriesByName('l2:first-paint').length === 1")
    assert viewer_page.evaluate("() => window.viewer.losslessReady()") is False
    assert viewer_page.evaluate("() => window.viewer.action('measure')") is False
    viewer_page.wait_for_function("() => window.viewer.losslessReady()")
    viewer_page.unroute(LOSSLESS)
    viewer_page.wait_for_timeout(150)
    measure(viewer_page, "LMLO")
    assert labels(viewer_page, "LMLO") == [["50,0 mm (détecteur)"]]


# ------------------------------------------------------------------------------------------------ solo

CAMERAS = """() => window.viewer._viewer.visibleCells().map((c) => {
  const cam = c.viewport.getCamera();
  return {slot: c.entry.slot, scale: cam.parallelScale, focal: cam.focalPoint, position: cam.position,
          flipH: !!cam.flipHorizontal, flipV: !!cam.flipVertical, voi: c.viewport.getProperties().voiRange,
          height: c.size().height};
})"""


def same_cameras(a: list[dict], b: list[dict]) -> bool:
    if [c["slot"] for c in a] != [c["slot"] for c in b]:
        return False
    for x, y in zip(a, b, strict=True):
        if (x["flipH"], x["flipV"], x["voi"]) != (y["flipH"], y["flipV"], y["voi"]):
            return False
        if not np.allclose([x["scale"], *x["focal"], *x["position"]], [y["scale"], *y["focal"], *y["position"]],
                           rtol=1e-6, atol=1e-6):  # fmt: skip
            return False
    return True


def test_double_click_shows_the_view_alone_and_back(viewer_page, org):
    exam = exam_with(org, {slot: {} for slot in TARGET})
    open_exam(viewer_page, exam.pk)
    # a zoomed and panned 4-up, so that "restored" means more than the default hanging
    x, y = point_of(viewer_page, "RCC", (400, 400))
    viewer_page.mouse.move(x, y)
    viewer_page.mouse.wheel(0, -100)
    viewer_page.mouse.down()
    for step in range(1, 6):
        viewer_page.mouse.move(x - 4 * step, y + 3 * step)
    viewer_page.mouse.up()
    viewer_page.wait_for_timeout(100)
    four_up = viewer_page.evaluate(CAMERAS)
    state = viewer_page.evaluate("() => window.viewer._viewer.state")
    assert state["zoom"] > 1 and state["t"] != [0, 0]

    viewer_page.mouse.dblclick(*point_of(viewer_page, "LCC", (320, 400)))
    viewer_page.wait_for_timeout(100)
    solo = viewer_page.evaluate(CAMERAS)
    assert [c["slot"] for c in solo] == ["LCC"]
    root = viewer_page.locator("#viewer").bounding_box()
    box = cell(viewer_page, "LCC").bounding_box()
    assert abs(box["width"] - root["width"]) < 2 and abs(box["height"] - root["height"]) < 2
    lcc_before = next(c for c in four_up if c["slot"] == "LCC")
    # bigger on screen: fewer mm per CSS pixel (parallelScale = half the visible height in mm)
    assert solo[0]["scale"] / solo[0]["height"] < 0.8 * lcc_before["scale"] / lcc_before["height"]
    assert solo[0]["voi"] == lcc_before["voi"]  # same VOI

    viewer_page.mouse.dblclick(*point_of(viewer_page, "LCC", (320, 400)))
    viewer_page.wait_for_timeout(100)
    back = viewer_page.evaluate(CAMERAS)
    assert same_cameras(four_up, back), (four_up, back)
    assert viewer_page.evaluate("() => window.viewer._viewer.state") == state

    # in measure mode a double-click is two clicks on one spot: no solo view and no zero-length line
    assert viewer_page.evaluate("() => window.viewer.action('measure')") is True
    viewer_page.mouse.dblclick(*point_of(viewer_page, "RMLO", (320, 400)))
    assert len(viewer_page.evaluate(CAMERAS)) == 4
    assert viewer_page.evaluate("() => window.viewer._viewer.measure.items.length") == 0
    viewer_page.keyboard.press("Escape")
    assert viewer_page.evaluate("() => window.viewer._viewer.measure.active") is False

    # Esc also returns; a stage change drops the solo view
    viewer_page.mouse.dblclick(*point_of(viewer_page, "RMLO", (320, 400)))
    assert [c["slot"] for c in viewer_page.evaluate(CAMERAS)] == ["RMLO"]
    viewer_page.keyboard.press("Escape")
    assert same_cameras(four_up, viewer_page.evaluate(CAMERAS))
    viewer_page.mouse.dblclick(*point_of(viewer_page, "RMLO", (320, 400)))
    viewer_page.evaluate("() => window.viewer.stage(3)")
    assert [c["slot"] for c in viewer_page.evaluate(CAMERAS)] == ["RCC", "LCC"]
    assert viewer_page.evaluate("() => window.viewer._viewer.solo.active") is False
    assert "l2v-solo" not in viewer_page.get_attribute("#viewer", "class")
