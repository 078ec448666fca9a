"""The breast schema of the positive letters: each finding where the doctor expects it (facing the woman)."""

import re

import pypdfium2
import pytest

from screening.services.letters import letter_preview
from screening.services.letters_schema import CENTRES, breast_schema_svg


def dots(svg: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="7"', svg)]


def test_outer_quadrants_face_outwards_and_the_clock_wins_over_the_quadrant():
    (right_qse,) = dots(breast_schema_svg([{"side": "D", "quadrant": "QSE", "clock": None}]))
    (left_qse,) = dots(breast_schema_svg([{"side": "G", "quadrant": "QSE", "clock": None}]))
    (cxr, cyr), (cxl, cyl) = CENTRES["D"], CENTRES["G"]
    assert (
        right_qse[0] < cxr and right_qse[1] < cyr
    )  # upper outer of the right breast: up and to the page's left
    assert (
        left_qse[0] > cxl and left_qse[1] < cyl
    )  # upper outer of the left breast: up and to the page's right
    (six,) = dots(breast_schema_svg([{"side": "G", "quadrant": "QSE", "clock": 6}]))
    assert abs(six[0] - cxl) < 0.5 and six[1] > cyl  # 6 h: straight below the nipple
    assert "<script" not in breast_schema_svg([{"side": "D", "quadrant": "RA", "clock": None}])


@pytest.mark.django_db
def test_the_l1_letter_carries_the_schema_with_both_breasts_named():
    pdf = pypdfium2.PdfDocument(letter_preview(kind="POS-R"))
    text = pdf[0].get_textpage().get_text_range()
    assert "Sein droit" in text and "Sein gauche" in text
    pdf.close()
