"""Quality indicators pages (issue 6): the coordinators' dashboard with its charts and exports, the yearly
confidential sheet per radiologist (PDF) and a radiologist's own page. Thin: parse, call, render, audit."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from readings.forms_indicators import PRESETS, IndicatorFilterForm
from readings.indicators_export import indicators_csv, indicators_xlsx
from readings.selectors_indicators import IndicatorTable, indicators_compute
from readings.selectors_indicators_charts import indicators_charts
from readings.selectors_indicators_defs import BREAKDOWNS, BY_CODE, FAMILIES
from readings.selectors_indicators_feedback import (
    feedback_radiologists,
    indicators_feedback,
    indicators_feedback_pdf,
)
from screening.models import AuditEvent
from screening.selectors import user_roles
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.views.common import client_ip, coordinator_required

FIRST_YEAR = 2000
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _audit(request: HttpRequest, ref: str) -> None:
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.DASHBOARD_VIEW,
        object_ref=ref,
        ip_address=client_ip(request),
    )


def _ref(what: str, params: dict) -> str:
    return (
        f"{what} {params['start']:%d/%m/%Y}-{params['end']:%d/%m/%Y} par={params['group_by'] or '-'} "
        f"support={params['medium'] or '-'} cabinet={params['practice_id'] or '-'}"
    )


def _families(table: IndicatorTable) -> list[tuple[str, list]]:
    return [
        (label, [i for i in table.indicators if i.spec.family == key])
        for key, label in FAMILIES.items()
        if any(i.spec.family == key for i in table.indicators)
    ]


def _years() -> list[int]:
    this_year = timezone.localdate().year
    return list(range(this_year, max(FIRST_YEAR, this_year - 10) - 1, -1))


@coordinator_required
def indicators_page(request: HttpRequest) -> HttpResponse:
    form = IndicatorFilterForm(request.GET)
    table = charts = None
    if form.is_valid():
        params = form.params()
        try:
            table = indicators_compute(user=request.user, **params)
            charts = indicators_charts(table=table)
        except ServiceError as error:
            form.add_error(None, error.message)
            table = None
        else:
            _audit(request, _ref("indicateurs", params))
            form = form.normalised()
    return render(
        request,
        "readings/indicators/page.html",
        {
            "form": form,
            "table": table,
            "families": _families(table) if table else [],
            "group_label": BREAKDOWNS[table.group_by][1] if table and table.group_by else "",
            "charts": charts,
            "presets": PRESETS,
            "query": request.GET.urlencode(),
            "radiologists": feedback_radiologists(),
            "years": _years(),
        },
    )


@coordinator_required
def indicators_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in CONTENT_TYPES:
        raise Http404("Format inconnu.")
    form = IndicatorFilterForm(request.GET)
    back = f"{reverse('indicators:page')}?{request.GET.urlencode()}"
    if not form.is_valid():
        messages.error(request, _("Filtres invalides : corrigez-les avant d'exporter."))
        return redirect(back)
    code = request.GET.get("qi") or None
    if code is not None and code not in BY_CODE:
        messages.error(request, _("Indicateur inconnu."))
        return redirect(back)
    params = form.params()
    try:
        table = indicators_compute(user=request.user, codes=[code] if code else None, **params)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(back)
    _audit(request, _ref(f"export {fmt} {code or 'tous'}", params))
    content = indicators_csv(table) if fmt == "csv" else indicators_xlsx(table)
    name = (
        f"indicateurs_{params['start']:%Y-%m-%d}_{params['end']:%Y-%m-%d}{'_' + code if code else ''}.{fmt}"
    )
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _is_radiologist(user) -> bool:
    roles = user_roles(user)
    return roles.is_reader or bool(roles.l1_practice_ids)


def _year(value: int | str | None) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise Http404("Année invalide.") from None
    if not FIRST_YEAR <= year <= timezone.localdate().year:
        raise Http404("Année invalide.")
    return year


@coordinator_required
def feedback_pick(request: HttpRequest) -> HttpResponse:
    """The page's sheet form (works without JavaScript): on to the PDF of the chosen radiologist and year."""
    try:
        radiologist_id = int(request.GET.get("radiologue", ""))
    except ValueError:
        messages.error(request, _("Choisissez un radiologue."))
        return redirect("indicators:page")
    return redirect(
        "indicators:feedback_pdf", radiologist_id=radiologist_id, year=_year(request.GET.get("annee"))
    )


@login_required
def feedback_pdf(request: HttpRequest, radiologist_id: int, year: int) -> HttpResponse:
    """The coordinator downloads anyone's sheet; a radiologist only their own (others: 404, nothing told)."""
    if not (
        request.user.is_coordinator or (request.user.pk == radiologist_id and _is_radiologist(request.user))
    ):
        raise Http404("Fiche introuvable.")
    year = _year(year)
    pdf = indicators_feedback_pdf(radiologist_id=radiologist_id, year=year)
    _audit(request, f"fiche indicateurs {radiologist_id} {year}")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="fiche_indicateurs_{year}_{radiologist_id}.pdf"'
    return response


@login_required
def my_indicators(request: HttpRequest) -> HttpResponse:
    """A radiologist's own yearly figures beside the département's, and their PDF sheet."""
    if not _is_radiologist(request.user):
        raise PermissionDenied("Accès réservé aux radiologues.")
    year = _year(request.GET.get("annee") or timezone.localdate().year - 1)
    sheet = indicators_feedback(radiologist_id=request.user.pk, year=year)
    _audit(request, f"mes indicateurs {year}")
    return render(request, "readings/indicators/mine.html", {"sheet": sheet, "years": _years(), "year": year})
