"""Shared plumbing of the DICOMweb views: token authentication, JSON errors, Accept negotiation."""

import json
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.http import parse_header_parameters
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from screening.api_auth import authenticate_header_value
from screening.services.errors import ServiceError

DICOM_JSON = "application/dicom+json"


def error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(
        {"code": code, "detail": detail}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def unauthorized(code: str, detail: str) -> JsonResponse:
    response = error(401, code, detail)
    response["WWW-Authenticate"] = 'Bearer realm="dicomweb"'
    return response


def dicom_json(payload, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(payload, ensure_ascii=False), status=status, content_type=f"{DICOM_JSON}; charset=utf-8"
    )


def endpoint(**handlers: Callable) -> Callable:
    """A DICOMweb view: one handler per HTTP method, token required, refusals as `{"code", "detail"}`."""

    @csrf_exempt
    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        handler = handlers.get(request.method)
        if handler is None:
            response = error(405, "method_not_allowed", f"Méthode {request.method} non prise en charge ici.")
            response["Allow"] = ", ".join(handlers)
            return response
        try:
            auth = authenticate_header_value(get_authorization_header(request))
        except AuthenticationFailed as exc:
            return unauthorized(str(exc.detail["code"]), str(exc.detail["detail"]))
        if auth is None:
            return unauthorized(
                "not_authenticated",
                "Authentification requise : « Authorization: Bearer <jeton du cabinet> ».",
            )
        request.user, request.api_token = auth
        try:
            return handler(request, *args, **kwargs)
        except ServiceError as refusal:
            return error(400, refusal.code, refusal.message)
        except Http404 as exc:
            return error(404, "not_found", str(exc) or "Introuvable.")

    return view


def accepted_media(request: HttpRequest) -> list[tuple[str, dict[str, str]]]:
    """The Accept header as (media type, parameters); `*/*` when absent."""
    header = request.META.get("HTTP_ACCEPT", "").strip() or "*/*"
    ranges = []
    for item in header.split(","):
        if item.strip():
            media, params = parse_header_parameters(item.strip())
            ranges.append((media.lower(), {k.lower(): v for k, v in params.items()}))
    return ranges


def accepts(request: HttpRequest, media: str) -> bool:
    main = media.split("/")[0]
    return any(m in ("*/*", f"{main}/*", media) for m, _ in accepted_media(request))
