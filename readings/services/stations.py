"""Declared reading stations (spec §9): enrolment of a browser and the server's verdict on the display.

`station_evaluate` is the single judge of "diagnostic or not": the browser only reports what it measured (full
screen, devicePixelRatio, screen and viewing-area size, WebGL2 textures, the pattern answer checked by the
server); the declared station, its calibration and QA dates come from the database.
"""

import datetime as dt
import hashlib
import math
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format, get_format
from django.utils.translation import gettext as _

from readings.models import ReadingStation
from screening.models import AuditEvent, User
from screening.services.audit import audit_record
from screening.services.errors import ServiceError

CORNERS = ("tl", "tr", "bl", "br")
PATTERN_ANSWERS = ("ok", "wrong_corner", "skipped", "not_done")
# Not (yet) a choice of AuditEvent.Action: the column is free text, the admin shows the code as is.
AUDIT_STATION_ENROL = AuditEvent.Action.STATION_ENROL
SCREEN_TOLERANCE_PX = 1  # CSS px × devicePixelRatio is rounded by the browser
DPR_TOLERANCE = 0.01


def _decimal(value: float) -> str:
    """3.1 → « 3,1 » in French (the active language's separator), 5.0 → « 5 »."""
    return f"{value:g}".replace(".", get_format("DECIMAL_SEPARATOR"))


def station_token_hash(token: str) -> str:
    # The token is 256 random bits: a plain SHA-256 is enough (no guessing, no rainbow table).
    return hashlib.sha256(token.encode()).hexdigest()


def station_for_token(*, token: str | None) -> ReadingStation | None:
    if not token or len(token) > 200:
        return None
    return ReadingStation.objects.select_related("site").filter(token_hash=station_token_hash(token)).first()


def station_enrol(
    *, station_id: int, actor: User, ip_address: str | None = None
) -> tuple[ReadingStation, str]:
    """Give the station a new browser token (the previous browser, if any, is no longer this station).

    Returns the station and the raw token, to be set once in the browser's cookie; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        station = ReadingStation.objects.select_for_update().filter(pk=station_id).first()
        if station is None:
            raise ServiceError("station_unknown", _("Poste de lecture inconnu."))
        if not station.active:
            raise ServiceError(
                "station_inactive", _("Ce poste de lecture est désactivé : réactivez-le d'abord.")
            )
        station.token_hash = station_token_hash(token)
        station.enrolled_at = timezone.now()
        station.enrolled_by = actor
        station.save(update_fields=["token_hash", "enrolled_at", "enrolled_by"])
        audit_record(
            actor=actor,
            action=AUDIT_STATION_ENROL,
            object_ref=f"poste de lecture enrôlé : {station.name} (n° {station.pk})",
            ip_address=ip_address,
        )
    return station, token


# ------------------------------------------------------------------------------------------------ evaluation


def _number(value, default: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def client_report_clean(report) -> dict | None:
    """Keep only the known fields of the browser's report, coerced to their types (never trust the shape)."""
    if not isinstance(report, dict):
        return None
    pattern = report.get("pattern")
    return {
        "pattern": pattern if pattern in PATTERN_ANSWERS else "not_done",
        "fullscreen": report.get("fullscreen") is True,
        "zoom_scale": round(_number(report.get("zoom_scale"), 1.0), 3),
        "dpr": round(_number(report.get("dpr")), 3),
        "screen_width": int(_number(report.get("screen_width"))),
        "screen_height": int(_number(report.get("screen_height"))),
        "area_mpx": round(_number(report.get("area_mpx")), 2),
        "webgl2": report.get("webgl2") is True,
        "norm16": report.get("norm16") is True,
        "viewer": str(report.get("viewer") or "")[:20],
    }


def _day(value: dt.date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


def _station_failures(station: ReadingStation | None, today: dt.date) -> list[tuple[str, str]]:
    if station is None:
        return [("no_station", _("navigateur non enrôlé comme poste de lecture déclaré"))]
    if not station.active:
        return [("station_inactive", _("poste de lecture « %(name)s » désactivé") % {"name": station.name})]
    failed = []
    due = station.calibration_due
    if due is None:
        failed.append(("calibration_missing", _("date d'étalonnage GSDF non renseignée")))
    elif due < today:
        failed.append(
            ("calibration_expired", _("étalonnage GSDF périmé depuis le %(day)s") % {"day": _day(due)})
        )
    due = station.qa_due
    if due is None:
        failed.append(("qa_missing", _("date du contrôle qualité non renseignée")))
    elif due < today:
        failed.append(("qa_expired", _("contrôle qualité périmé depuis le %(day)s") % {"day": _day(due)}))
    return failed


def _client_failures(station: ReadingStation | None, report: dict | None) -> list[tuple[str, str]]:
    if report is None:
        return [("not_checked", _("contrôle du poste non effectué"))]
    failed = []
    if report["pattern"] == "wrong_corner":
        failed.append(("pattern", _("mire non reconnue (mauvais coin)")))
    elif report["pattern"] != "ok":
        failed.append(("pattern", _("contrôle de la mire non fait ou ignoré")))
    if not report["fullscreen"]:
        failed.append(("fullscreen", _("pas en plein écran")))
    if abs(report["zoom_scale"] - 1) > 0.001:
        failed.append(("zoom", _("zoom du navigateur ≠ 100 %")))
    if station is not None and station.active:
        declared = float(station.device_pixel_ratio)
        if abs(report["dpr"] - declared) > DPR_TOLERANCE:
            failed.append(
                (
                    "dpr",
                    _(
                        "zoom ou mise à l'échelle ≠ poste déclaré (devicePixelRatio %(got)s au lieu de %(want)s)"
                    )
                    % {"got": f"{report['dpr']:g}", "want": f"{declared:g}"},
                )
            )
        if (
            abs(report["screen_width"] - station.screen_width) > SCREEN_TOLERANCE_PX
            or abs(report["screen_height"] - station.screen_height) > SCREEN_TOLERANCE_PX
        ):
            failed.append(
                (
                    "screen",
                    _("définition d'écran %(got)s ≠ %(want)s déclarée")
                    % {
                        "got": f"{report['screen_width']} × {report['screen_height']}",
                        "want": f"{station.screen_width} × {station.screen_height}",
                    },
                )
            )
    minimum = float(settings.L2_STATION_MIN_AREA_MPX)
    if report["area_mpx"] < minimum:
        failed.append(
            (
                "area",
                _("zone d'affichage de %(got)s Mpx < %(want)s Mpx")
                % {"got": _decimal(report["area_mpx"]), "want": _decimal(minimum)},
            )
        )
    if not report["webgl2"]:
        failed.append(("webgl2", _("WebGL2 indisponible")))
    elif not report["norm16"]:
        failed.append(("norm16", _("textures 16 bits (EXT_texture_norm16) indisponibles")))
    if report["viewer"] != "cornerstone":
        failed.append(("viewer", _("visionneuse de secours, aperçus 8 bits")))
    return failed


def station_evaluate(*, token: str | None, client_report: dict | None, today: dt.date | None = None) -> dict:
    """Is this display diagnostic (§9)? Returns a JSON-ready dict, stored as is on each verdict:
    {diagnostic, failed: [codes], labels: [French], station: {…} | None, client: {…} | None, checked_at}."""
    today = today or timezone.localdate()
    station = station_for_token(token=token)
    report = client_report_clean(client_report)
    failed = _station_failures(station, today) + _client_failures(station, report)
    described = None
    if station is not None:
        described = {
            "id": station.pk,
            "name": station.name,
            "site": station.site.name,
            "monitor": station.monitor_model,
            "screen": f"{station.screen_width} × {station.screen_height}",
            "device_pixel_ratio": float(station.device_pixel_ratio),
            "calibration_due": station.calibration_due.isoformat() if station.calibration_due else None,
            "qa_due": station.qa_due.isoformat() if station.qa_due else None,
            "active": station.active,
        }
    return {
        "diagnostic": not failed,
        "failed": [code for code, _label in failed],
        "labels": [label for _code, label in failed],
        "station": described,
        "client": report,
        "checked_at": timezone.now().isoformat(),
    }


def station_verdicts_allowed(*, status: dict | None) -> bool:
    """F8/§9: verdicts are off on a non-diagnostic display only when the centre says so."""
    if not settings.L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION:
        return True
    return bool(status and status.get("diagnostic"))


def station_refusal_detail(*, status: dict | None) -> str:
    labels = (status or {}).get("labels") or [_("contrôle du poste non effectué")]
    return _(
        "Affichage non diagnostique — %(reasons)s. Le centre exige un poste de lecture déclaré et contrôlé "
        "pour enregistrer un verdict : rétablissez l'affichage ou mettez le cas de côté."
    ) % {"reasons": ", ".join(labels)}


def station_texts(*, status: dict) -> dict:
    """The French lines the workstation shows: the banner when not diagnostic, a status line otherwise."""
    station = status.get("station")
    where = _("poste « %(name)s »") % {"name": station["name"]} if station else _("poste non déclaré")
    if status.get("diagnostic"):
        return {"banner": "", "summary": _("Affichage diagnostique — %(where)s") % {"where": where}}
    banner = _("AFFICHAGE NON DIAGNOSTIQUE — %(where)s — %(reasons)s") % {
        "where": where,
        "reasons": ", ".join(status.get("labels") or []),
    }
    return {"banner": banner, "summary": ""}
