"""The quality indicators page in a real browser: from the dashboard, the vendored Chart.js draws the three
charts from the page's JSON, a breakdown is chosen through the form (no JavaScript needed for it)."""

import re

import pytest
from playwright.sync_api import expect

from tests.readings.indicators_world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_reads_the_indicators_and_their_charts(page, login, shots_dir):
    world = build_world()
    login(page, world.coord.username)
    page.goto("/coordination/")
    page.get_by_test_id("link-indicators").click()
    expect(page.get_by_role("heading", name=re.compile("Indicateurs de qualité"))).to_be_visible()
    page.fill("#id_du", "2024-01-01")
    page.fill("#id_au", "2024-12-31")
    page.select_option("#id_par", "practice")
    with page.expect_navigation():
        page.get_by_role("button", name="Afficher").click()
    expect(page.get_by_test_id("period")).to_have_text("du 01/01/2024 au 31/12/2024")
    qi08 = page.locator('table[data-qi="QI-08"]')
    expect(qi08.locator(f'tr[data-key="{world.p1.pk}"] td[data-measure="qi08_p90"]')).to_contain_text("19,2")
    expect(qi08.locator("td.out").first).to_contain_text("hors objectif")
    # Chart.js (vendored) drew the three charts on their canvases.
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 3")
    drawn = page.evaluate(
        """() => ['chart-rates', 'chart-readers', 'chart-demat'].map(id => {
               const chart = Chart.getChart(id);
               return [id, chart.config.type, chart.data.datasets.length, chart.canvas.width > 100];
           })"""
    )
    assert drawn == [
        ["chart-rates", "line", 4, True],
        ["chart-readers", "bar", 2, True],
        ["chart-demat", "line", 2, True],
    ]
    assert page.evaluate("() => Chart.version") == "4.6.1"
    page.screenshot(path=str(shots_dir / "indicators-page.png"), full_page=False)
    page.locator("#QI-08").scroll_into_view_if_needed()
    page.screenshot(path=str(shots_dir / "indicators-tables.png"), full_page=False)
