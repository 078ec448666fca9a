"""The indicators page, its exports (the page's numbers), the yearly PDF sheet and access, on the fixed 2024
centre of indicators_world."""

import csv
import io
import json
import re

import pypdfium2
import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from screening.models import AuditEvent
from tests.factories import PASSWORD, reader_at
from tests.readings.indicators_world import build_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PAGE = reverse("indicators:page")
YEAR_2024 = {"du": "2024-01-01", "au": "2024-12-31"}


@pytest.fixture
def world(db):
    return build_world()


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def page_cell(html: str, code: str, row_key, measure: str) -> str:
    """The text of one cell of the page: table data-qi=code, row data-key, td data-measure."""
    table = re.search(rf'<table class="grid ind-table" data-qi="{code}">(.*?)</table>', html, re.S).group(1)
    row = re.search(rf'<tr[^>]*data-key="{row_key}"[^>]*>(.*?)</tr>', table, re.S).group(1)
    td = re.search(rf'<td data-measure="{measure}"[^>]*>(.*?)</td>', row, re.S).group(1)
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", td)).strip()  # keeps the no-break spaces


def test_page_tables_charts_and_audit(client, world):
    login(client, world.coord)
    response = client.get(PAGE, {**YEAR_2024, "par": "practice"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "du 01/01/2024 au 31/12/2024" in html
    p1 = world.p1.pk
    assert page_cell(html, "QI-08", p1, "qi08_median") == "11,0\u00a0j n = 15"
    assert page_cell(html, "QI-08", p1, "qi08_p90") == "19,2\u00a0j n = 15 hors objectif"
    assert page_cell(html, "QI-02", "total", "qi02") == "11,1\u00a0% 4 / 36 hors objectif"
    assert page_cell(html, "QI-12", p1, "qi12_golive") == "01/01/2023"
    assert 'class="out"' in html and "objectif &lt; 2 %" in html
    # Chart.js from the vendored copy, never a CDN; the data in a JSON script tag.
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert "/static/vendor/chartjs/chart.umd.min.js" in scripts
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))]
    charts = json.loads(
        re.search(r'<script id="indicator-charts" type="application/json">(.*?)</script>', html, re.S).group(
            1
        )
    )
    assert charts["rates"]["labels"][0] == "01/2024" and charts["rates"]["series"][0]["data"][0] == 25.0
    assert charts["rates"]["targets"][0]["value"] == 2.0
    demat = {s["label"]: s["data"] for s in charts["dematerialisation"]["series"]}
    assert demat["Cabinet de l'Allier"] == [0.0, 0.0, 100.0, 100.0]  # by quarter: films until July
    assert charts["readers"]["labels"] == ["Dr Xavier Lecteur", "Dr Yvonne Relectrice"]
    assert charts["readers"]["series"][0]["data"] == [19, 17] and charts["readers"]["targets"] == [
        1500.0,
        2000.0,
    ]
    event = AuditEvent.objects.get(actor=world.coord, action=AuditEvent.Action.DASHBOARD_VIEW)
    assert event.object_ref == "indicateurs 01/01/2024-31/12/2024 par=practice support=- cabinet=-"


def test_presets_and_errors(client, world):
    login(client, world.coord)
    year = timezone.localdate().year
    html = client.get(PAGE, {"periode": "annee-precedente"}).content.decode()
    assert f"du 01/01/{year - 1} au 31/12/{year - 1}" in html
    html = client.get(PAGE).content.decode()  # default: this year
    assert f"du 01/01/{year} au 31/12/{year}" in html
    bad = client.get(PAGE, {"du": "2024-12-31", "au": "2024-01-01"})
    assert bad.status_code == 200
    assert "La date de début doit précéder la date de fin." in bad.content.decode()
    assert bad.context["table"] is None
    assert (
        client.get(PAGE, {**YEAR_2024, "par": "weekday"}).context["table"] is None
    )  # unknown choice: form error


def test_csv_and_xlsx_are_the_page(client, world):
    login(client, world.coord)
    params = {**YEAR_2024, "par": "practice"}
    html = client.get(PAGE, params).content.decode()
    response = client.get(reverse("indicators:export", args=["csv"]), {**params, "qi": "QI-08"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="indicateurs_2024-01-01_2024-12-31_QI-08.csv"' in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0] == ["Période du 01/01/2024 au 31/12/2024"]
    assert lines[1][:5] == ["Indicateur", "Intitulé", "Groupe", "Mesure", "Valeur"]
    records = {(r[2], r[3]): r for r in lines[2:]}
    tilleuls = records[("Cabinet des Tilleuls (Vichy)", "90e centile")]
    assert tilleuls[4:] == ["19,2", "j", "", "15", "≤ 15 j", "oui"]
    assert records[("Total (département)", "≤ 15 jours")][4:8] == ["74,2", "%", "23", "31"]
    # Every numeric cell of the CSV is the page's figure.
    keys = {"Médiane": "qi08_median", "90e centile": "qi08_p90", "≤ 15 jours": "qi08_within"}
    rows = {"Cabinet des Tilleuls (Vichy)": world.p1.pk, "Cabinet de l'Allier (Moulins)": world.p2.pk}
    rows["Total (département)"] = "total"
    for (group, measure), record in records.items():
        shown = page_cell(html, "QI-08", rows[group], keys[measure])
        assert shown.startswith(f"{record[4]}\u00a0{record[5]}"), (group, measure, shown, record)
    # XLSX: a sheet per indicator, the same lines, numbers as numbers.
    xlsx = client.get(reverse("indicators:export", args=["xlsx"]), params)
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == [f"QI-{n:02d}" for n in range(1, 14)]
    sheet = [list(r) for r in book["QI-08"].iter_rows(min_row=3, values_only=True)]
    assert len(sheet) == len(records)
    for line in sheet:
        record = records[(line[2], line[3])]
        assert line[4] == float(record[4].replace(",", ".")) and line[5] == record[5]
        assert (line[6], line[7]) == tuple(int(v) if v else None for v in record[6:8])
    qi11 = {(r[2], r[3]): r for r in book["QI-11"].iter_rows(min_row=3, values_only=True)}
    assert qi11[("Total (département)", "Lectures L2")][4] == 36
    assert AuditEvent.objects.filter(object_ref__startswith="export csv QI-08").count() == 1


def test_access(client, world):
    login(client, world.staff)
    assert client.get(PAGE).status_code == 403
    assert client.get(reverse("indicators:export", args=["csv"])).status_code == 403
    login(client, world.r1a)
    assert client.get(PAGE).status_code == 403
    assert client.get(reverse("indicators:feedback_pdf", args=[world.r1b.pk, 2024])).status_code == 404
    login(client, world.coord)
    assert client.get(reverse("indicators:export", args=["pdf"]), YEAR_2024).status_code == 404
    dashboard = client.get(reverse("coordination:dashboard")).content.decode()
    assert f'href="{PAGE}"' in dashboard


def pdf_text(content: bytes) -> tuple[int, str]:
    pdf = pypdfium2.PdfDocument(content)
    try:
        return len(pdf), "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def test_yearly_sheet_pdf(client, world):
    login(client, world.coord)
    response = client.get(reverse("indicators:feedback_pick"), {"radiologue": world.x.pk, "annee": 2024})
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages, text = pdf_text(response.content)
    assert pages == 1
    assert "Xavier Lecteur" in text and "Indicateurs de qualité 2024" in text
    # X, second reader: QI-02 10,5 % (2/19) against the département's 11,1 % (4/36); QI-11 19 a year.
    assert "10,5" in text and "(2/19)" in text and "11,1" in text and "(4/36)" in text
    assert "Première lecture" not in text  # X reads only at L2
    # The L1 radiologist downloads their own sheet: QI-01 10,0 % (2/20) against 10,0 % (4/40).
    login(client, world.r1a)
    own = client.get(reverse("indicators:feedback_pdf", args=[world.r1a.pk, 2024]))
    assert own.status_code == 200
    _pages, text = pdf_text(own.content)
    assert "Alice Premier" in text and "(2/20)" in text and "(4/40)" in text and "Seconde lecture" not in text
    mine = client.get(reverse("indicators:mine"), {"annee": 2024})
    assert mine.status_code == 200 and "(2/18)" in mine.content.decode()  # QI-05 own: 2 of 18
    # L1 and L2 both (R1b becomes a second reader with no reading yet): both parts, still one page.
    reader_at(world.site_a, user=world.r1b)
    login(client, world.coord)
    both = client.get(reverse("indicators:feedback_pdf", args=[world.r1b.pk, 2024]))
    pages, text = pdf_text(both.content)
    assert pages == 1 and "Première lecture (L1)" in text and "Seconde lecture (L2)" in text
    assert "(2/18)" in text and "(4/36)" in text  # QI-05 own; QI-02 centre
    refs = set(AuditEvent.objects.values_list("object_ref", flat=True))
    assert {
        f"fiche indicateurs {world.x.pk} 2024",
        f"fiche indicateurs {world.r1a.pk} 2024",
        "mes indicateurs 2024",
    } <= refs
