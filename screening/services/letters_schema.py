"""The breast schema of the positive letters (issue 6: "the L2 findings and the breast schema"): both breasts
as the doctor faces the woman (right breast on the left of the page), each finding a numbered dot at its clock
position, drawn as inline SVG that WeasyPrint renders in the PDF."""

import math

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# Quadrant → clock position when the reader gave no clock (the doctor faces the woman: outer right is 9 h).
QUADRANT_CLOCK = {
    "D": {
        "QSE": 10.5,
        "QSI": 1.5,
        "QIE": 7.5,
        "QII": 4.5,
        "USUP": 12,
        "UINF": 6,
        "UEXT": 9,
        "UINT": 3,
        "PA": 10,
    },
    "G": {
        "QSE": 1.5,
        "QSI": 10.5,
        "QIE": 4.5,
        "QII": 7.5,
        "USUP": 12,
        "UINF": 6,
        "UEXT": 3,
        "UINT": 9,
        "PA": 2,
    },
}
CENTRES = {"D": (70, 70), "G": (200, 70)}
RADIUS = 50


def _position(side: str, quadrant: str, clock: int | None) -> tuple[float, float]:
    cx, cy = CENTRES[side]
    if quadrant == "RA" and not clock:
        return cx, cy
    hour = clock or QUADRANT_CLOCK[side].get(quadrant, 12)
    reach = RADIUS * (1.15 if quadrant == "PA" else 0.62)
    angle = math.radians(hour * 30)
    return cx + reach * math.sin(angle), cy - reach * math.cos(angle)


def breast_schema_svg(findings: list[dict]) -> SafeString:
    """findings: [{side: "D"|"G", quadrant, clock}] → an SVG with a numbered dot per finding."""
    dots = []
    for number, f in enumerate(findings, start=1):
        x, y = _position(f["side"], f["quadrant"], f.get("clock"))
        dots.append((f"{x:.1f}", f"{y:.1f}", f"{x:.1f}", f"{y + 3.5:.1f}", number))
    marks = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="7" fill="#b00020"/><text x="{}" y="{}" font-size="9" text-anchor="middle" '
        'fill="#fff">{}</text>',
        dots,
    )
    breasts = "".join(
        f'<circle cx="{cx}" cy="{cy}" r="{RADIUS}" fill="none" stroke="#333" stroke-width="1.2"/>'
        f'<circle cx="{cx}" cy="{cy}" r="3" fill="#333"/>'
        f'<line x1="{cx - RADIUS}" y1="{cy}" x2="{cx + RADIUS}" y2="{cy}" stroke="#999" stroke-dasharray="2 2"/>'
        f'<line x1="{cx}" y1="{cy - RADIUS}" x2="{cx}" y2="{cy + RADIUS}" stroke="#999" stroke-dasharray="2 2"/>'
        for cx, cy in CENTRES.values()
    )
    labels = (
        '<text x="70" y="138" font-size="10" text-anchor="middle">Sein droit</text>'
        '<text x="200" y="138" font-size="10" text-anchor="middle">Sein gauche</text>'
    )
    return format_html(
        '<svg class="schema" xmlns="http://www.w3.org/2000/svg" width="270" height="145" viewBox="0 0 270 145" '
        'role="img" aria-label="Schéma des seins">{}{}{}</svg>',
        mark_safe(breasts),  # noqa: S308 — built above from constants only
        mark_safe(labels),  # noqa: S308 — constants
        marks,
    )
