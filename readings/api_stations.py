"""Station check endpoints of the workstation (spec §9). Thin callers of readings/services/stations.py.

- POST api/poste/mire/: the server draws the corner of the faint 5 % square (kept in the session), so that
  "pattern answered right" is the server's finding, not the browser's claim.
- POST api/poste/controle/: the browser's measurements (at session start, and again whenever full screen,
  zoom or size change); the evaluation is kept in the session and applied to each verdict.
"""

import json
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from readings.services.stations import (
    CORNERS,
    client_report_clean,
    station_evaluate,
    station_refusal_detail,
    station_texts,
    station_verdicts_allowed,
)
from screening.views.common import reader_required

SESSION_CHALLENGE = "l2_station_corner"
SESSION_REPORT = "l2_station_report"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the most Chromium keeps a cookie; each check renews it


def station_cookie_set(response: HttpResponse, request: HttpRequest, token: str) -> None:
    response.set_cookie(
        settings.L2_STATION_COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        secure=request.is_secure(),
        samesite="Lax",
    )


def station_status_for_request(request: HttpRequest) -> dict:
    """The display status of this browser now: its station cookie and the last report of this session."""
    return station_evaluate(
        token=request.COOKIES.get(settings.L2_STATION_COOKIE),
        client_report=request.session.get(SESSION_REPORT),
    )


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


@reader_required
@require_POST
def pattern(request: HttpRequest) -> JsonResponse:
    corner = CORNERS[secrets.randbelow(len(CORNERS))]
    request.session[SESSION_CHALLENGE] = corner
    return _json({"corner": corner})


@reader_required
@require_POST
def check(request: HttpRequest) -> JsonResponse:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("report"), dict):
        return _json({"code": "bad_report", "detail": "Contrôle du poste illisible (JSON attendu)."}, 400)
    report = dict(data["report"])
    if "answer" in data:  # the reader clicked a corner (or skipped): checked once against the drawn corner
        drawn = request.session.pop(SESSION_CHALLENGE, None)
        answer = data.get("answer")
        if drawn is None or answer not in CORNERS:
            report["pattern"] = "skipped" if answer == "skip" else "not_done"
        else:
            report["pattern"] = "ok" if answer == drawn else "wrong_corner"
    else:  # a re-check during the session keeps the pattern result of the session start
        report["pattern"] = (request.session.get(SESSION_REPORT) or {}).get("pattern", "not_done")
    request.session[SESSION_REPORT] = client_report_clean(report)  # only the known fields, typed
    status = station_status_for_request(request)
    allowed = station_verdicts_allowed(status=status)
    response = _json(
        {
            **status,
            **station_texts(status=status),
            "verdicts_allowed": allowed,
            "verdicts_required": settings.L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION,
            "verdicts_detail": "" if allowed else station_refusal_detail(status=status),
        }
    )
    token = request.COOKIES.get(settings.L2_STATION_COOKIE)
    if status["station"] is not None and token:
        station_cookie_set(response, request, token)  # sliding expiry while the station is in use
    return response
