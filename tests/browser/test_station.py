"""Declared reading station in Chromium (spec §9, §10 test 9): an enrolled station passing the pattern reads
without banner; a wrong corner or a zoom change shows "AFFICHAGE NON DIAGNOSTIQUE" and, with the centre setting,
turns the verdict keys off until the display is restored.

Headless Chromium's SwiftShader has WebGL2 but no EXT_texture_norm16: an init script emulates a GPU that has
it, for the station's throw-away probe context only (the viewer's own context is left as it is).
"""

import datetime as dt
import io

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from readings.models import L2Reading, ReadingStation
from readings.services.stations import station_enrol
from tests.browser.test_workstation_flow import build, key, on_case, pass_station
from tests.factories import SiteFactory, coordinator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NORM16_GPU = """
const original = WebGL2RenderingContext.prototype.getExtension;
WebGL2RenderingContext.prototype.getExtension = function (name) {
  if (name === "EXT_texture_norm16" && this.canvas?.dataset?.probe === "station") return original.call(this, name) || {};
  return original.call(this, name);
};
"""
DIAGNOSTIC = "() => window.L2Workstation.station && window.L2Workstation.station.diagnostic"


@pytest.fixture
def station_settings(settings):
    settings.L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION = True
    settings.L2_STATION_MIN_AREA_MPX = 0.5  # the test window is 1600 × 1000
    return settings


def enrolled_station(page, server) -> ReadingStation:
    """A station declared as the test browser's screen, enrolled; its cookie given to the page."""
    today = timezone.localdate()
    station = ReadingStation.objects.create(
        name="Moulins — poste 2",
        site=SiteFactory(),
        monitor_model="EIZO RadiForce GX560",
        screen_width=1600,
        screen_height=1000,
        device_pixel_ratio=1,
        calibrated_on=today - dt.timedelta(days=10),
        qa_on=today - dt.timedelta(days=1),
    )
    station, token = station_enrol(station_id=station.pk, actor=coordinator())
    page.context.add_cookies([{"name": "l2_station", "value": token, "url": server.url, "httpOnly": True}])
    return station


def faint_corner(page) -> str:
    """The corner holding the faint 5 % square, read from a screenshot of the pattern (as the reader sees it)."""
    page.wait_for_function("() => document.querySelector('[data-testid=station-pattern]').width > 0")
    shot = Image.open(io.BytesIO(page.get_by_test_id("station-pattern").screenshot())).convert("L")
    w, h = shot.size
    centres = {"tl": (120, 120), "tr": (w - 120, 120), "bl": (120, h - 120), "br": (w - 120, h - 120)}
    levels = {corner: shot.getpixel(xy) for corner, xy in centres.items()}
    corner = max(levels, key=levels.get)
    assert sorted(levels.values())[:3] == [0, 0, 0] and 8 <= levels[corner] <= 18, levels
    return corner


def set_dpr(page, dpr: float) -> None:
    """Emulate a browser zoom: devicePixelRatio changes and the window gets a resize event."""
    page.evaluate(
        """(dpr) => {
          Object.defineProperty(window, 'devicePixelRatio', {get: () => dpr, configurable: true});
          window.dispatchEvent(new Event('resize'));
        }""",
        dpr,
    )


@pytest.fixture
def gl_page(gl_browser, server):
    context = gl_browser.new_context(
        base_url=server.url, locale="fr-FR", viewport={"width": 1600, "height": 1000}
    )
    context.set_default_timeout(30_000)
    context.add_init_script(NORM16_GPU)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}"


def test_enrolled_station_is_diagnostic_until_the_zoom_changes(gl_page, login, server, station_settings):
    page = gl_page
    reader, exams = build(2, "dr.station")
    login(page, reader.username)
    station = enrolled_station(page, server)
    page.goto("/lecture/poste/")
    pass_station(page)
    expect(page.locator("#ws")).to_have_attribute("data-viewer", "cornerstone")
    page.wait_for_function(DIAGNOSTIC)
    expect(page.get_by_test_id("banner-station")).to_have_count(0)
    expect(page.get_by_test_id("status-text")).to_have_text(
        f"Affichage diagnostique — poste « {station.name} »"
    )
    on_case(page, exams[0], settle=False)
    page.wait_for_function("() => window.L2Workstation.viewer.losslessReady()", timeout=60_000)
    page.wait_for_function("() => performance.now() > window.L2Workstation.lockUntil + 20")
    key(page, "n")
    on_case(page, exams[1])
    page.wait_for_function("() => window.L2Workstation.outbox.pending === 0")
    first = L2Reading.objects.get(exam=exams[0])
    assert first.station_diagnostic is True and first.station_status["station"]["name"] == station.name

    # Browser zoom 110 %: banner with the reason, verdict keys and buttons off, nothing recorded.
    set_dpr(page, 1.1)
    banner = page.get_by_test_id("banner-station")
    expect(banner).to_contain_text("AFFICHAGE NON DIAGNOSTIQUE — poste « Moulins — poste 2 »")
    expect(banner).to_contain_text("devicePixelRatio 1.1 au lieu de 1")
    expect(page.get_by_test_id("verdict-normal")).to_be_disabled()
    page.wait_for_function("() => window.L2Workstation.viewer.losslessReady()", timeout=60_000)
    key(page, "n")
    expect(page.get_by_test_id("status-text")).to_contain_text("Le centre exige un poste de lecture déclaré")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.L2Workstation.current.id") == exams[1].pk
    assert not L2Reading.objects.filter(exam=exams[1]).exists()

    # Back to 100 %: restored, the verdict goes through.
    set_dpr(page, 1)
    expect(banner).to_have_count(0)
    expect(page.get_by_test_id("verdict-normal")).to_be_enabled()
    key(page, "n")
    page.wait_for_function("() => window.L2Workstation.outbox.pending === 0 && window.L2Workstation.last")
    assert L2Reading.objects.get(exam=exams[1]).station_diagnostic is True


def test_wrong_pattern_corner_shows_the_banner_and_n_records_nothing(
    page, login, server, station_settings, shots_dir
):
    reader, exams = build(1, "dr.mauvaiscoin")
    login(page, reader.username)
    station = enrolled_station(page, server)
    page.goto("/lecture/poste/?visionneuse=apercu")
    overlay = page.get_by_test_id("station")
    expect(overlay).to_be_visible()
    wrong = next(c for c in ("tl", "tr", "bl", "br") if c != faint_corner(page))
    page.locator(f"[data-corner={wrong}]").click()
    expect(overlay).to_be_hidden()
    banner = page.get_by_test_id("banner-station")
    expect(banner).to_contain_text(f"AFFICHAGE NON DIAGNOSTIQUE — poste « {station.name} »")
    expect(banner).to_contain_text("mire non reconnue (mauvais coin)")
    on_case(page, exams[0])
    expect(page.get_by_test_id("verdict-normal")).to_be_disabled()
    key(page, "n")
    expect(page.get_by_test_id("status-text")).to_contain_text("mire non reconnue (mauvais coin)")
    page.screenshot(path=str(shots_dir / "station-not-diagnostic.png"))
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.L2Workstation.last") is None
    assert not L2Reading.objects.filter(exam=exams[0]).exists()
    # Deferring stays possible: it is not a verdict.
    key(page, "d")
    expect(page.get_by_test_id("defer-dialog")).to_be_visible()
