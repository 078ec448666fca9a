"""JSON endpoints of the reading workstation (session auth, CSRF header on writes): the case, the original
DICOM of each view (lossless, as stored), the verdict, deferral and the reader's key map. Thin callers."""

import json
import uuid

from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from readings.api_stations import station_status_for_request
from readings.selectors_case import case_for_reader
from readings.services.l2_reading import CtiInput, FindingInput, l2_reading_submit
from readings.services.verdicts import l2_readings_finalize_due
from readings.services.workstation import exam_defer, keymap_for, keymap_update
from screening.models import AuditEvent, DicomInstance, Exam
from screening.selectors import instance_for_user
from screening.services.audit import audit_record, image_view_record
from screening.services.errors import ServiceError
from screening.views.common import client_ip, reader_required


def _error(status: int, code: str, detail: str, field: str = "") -> JsonResponse:
    body = {"code": code, "detail": detail, **({"field": field} if field else {})}
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError("bad_json", "Requête illisible (JSON attendu).") from exc
    if not isinstance(data, dict):
        raise ServiceError("bad_json", "Requête illisible (objet JSON attendu).")
    return data


@reader_required
@require_GET
def case(request: HttpRequest, exam_id: int) -> JsonResponse:
    l2_readings_finalize_due(reader=request.user)
    payload = case_for_reader(reader=request.user, exam_id=exam_id)
    prefetch = request.GET.get("prefetch") == "1"
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.EXAM_VIEW if prefetch else AuditEvent.Action.READING_OPEN,
        exam=Exam.objects.get(pk=exam_id),  # access already checked by case_for_reader
        object_ref="poste de lecture : " + ("préchargement" if prefetch else "cas ouvert"),
        ip_address=client_ip(request),
    )
    return JsonResponse(payload, json_dumps_params={"ensure_ascii": False})


@reader_required
@require_GET
@cache_control(private=True, max_age=86400, immutable=True)  # a SOP Instance UID never changes content
def dicom(request: HttpRequest, sop_uid: str) -> FileResponse:
    instance_id = DicomInstance.objects.filter(sop_uid=sop_uid).values_list("pk", flat=True).first()
    if instance_id is None:
        raise Http404("Image introuvable.")
    instance = instance_for_user(user=request.user, instance_id=instance_id)
    store = storages["originals"]
    if not store.exists(instance.file):
        raise Http404("Fichier original indisponible.")
    image_view_record(actor=request.user, instance=instance, what="original", ip_address=client_ip(request))
    response = FileResponse(store.open(instance.file, "rb"), content_type="application/dicom")
    response["Content-Length"] = str(instance.size_bytes)
    response["X-L2-SHA256"] = instance.sha256
    return response


@reader_required
@require_POST
def verdict(request: HttpRequest, exam_id: int) -> JsonResponse:
    try:
        data = _body(request)
        findings = [FindingInput(**_pick(f, FindingInput)) for f in data.get("findings") or []]
        cti_items = [CtiInput(**_pick(c, CtiInput)) for c in data.get("cti_items") or []]
        client = data.get("client_uuid")
        reading = l2_reading_submit(
            exam_id=exam_id,
            reader=request.user,
            verdict=str(data.get("verdict", "")),
            acr_right=int(data.get("acr_right") or 1),
            acr_left=int(data.get("acr_left") or 1),
            findings=findings,
            cti_items=cti_items,
            comment=str(data.get("comment", ""))[:2000],
            proposed_exams=str(data.get("proposed_exams", ""))[:300],
            reading_seconds=int(data["reading_seconds"]) if data.get("reading_seconds") else None,
            client_uuid=uuid.UUID(client) if client else None,
            timings=data.get("timings") if isinstance(data.get("timings"), dict) else {},
            station_status=station_status_for_request(request),
        )
    except ServiceError as error:
        # §9: refused because of the display, not the content: the client keeps the case (F8 e).
        status = 409 if error.code == "station_not_diagnostic" else 400
        return _error(status, error.code, error.message, error.field or "")
    except (TypeError, ValueError) as exc:
        return _error(400, "bad_verdict", f"Verdict illisible : {exc}")
    return JsonResponse(
        {
            "reading_id": reading.pk,
            "status": reading.status,
            "final_at": reading.final_at.isoformat() if reading.final_at else None,
            "withdraw_url": f"/lecture/verdict/{reading.pk}/annuler/",
        },
        status=201,
    )


def _pick(item: dict, cls) -> dict:
    if not isinstance(item, dict):
        raise ValueError("objet attendu")
    allowed = set(cls.__dataclass_fields__)
    return {k: v for k, v in item.items() if k in allowed}


@reader_required
@require_POST
def defer(request: HttpRequest, exam_id: int) -> JsonResponse:
    try:
        data = _body(request)
        exam = exam_defer(
            exam_id=exam_id,
            reader=request.user,
            reason_code=str(data.get("reason", "")),
            text=str(data.get("text", "")),
        )
    except ServiceError as error:
        return _error(400, error.code, error.message, error.field or "")
    return JsonResponse({"state": exam.state, "reason": exam.state_reason})


@reader_required
@require_http_methods(["GET", "PUT"])
def preferences(request: HttpRequest) -> HttpResponse:
    if request.method == "PUT":
        try:
            data = _body(request)
            keymap_update(
                user=request.user,
                keymap=data.get("keymap") or {},
                two_step_normal=bool(data.get("two_step_normal")),
                lockout_ms=int(data.get("lockout_ms") or 1000),
            )
        except ServiceError as error:
            return _error(400, error.code, error.message)
        except (TypeError, ValueError):
            return _error(400, "bad_preferences", "Préférences illisibles.")
    return JsonResponse(keymap_for(user=request.user))
