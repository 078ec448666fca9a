"""Renditions served only through this audited, scoped view (never as public media)."""

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.cache import cache_control

from screening.models import AuditEvent, Rendition
from screening.selectors import instance_for_user
from screening.services.audit import audit_record

from .common import client_ip

KINDS = {
    "affichage": Rendition.Kind.DISPLAY,
    "vignette": Rendition.Kind.THUMBNAIL,
    "apercu": Rendition.Kind.PREVIEW,
}
CONTENT_TYPES = {".png": "image/png", ".webp": "image/webp"}


@login_required
@cache_control(private=True, max_age=3600)
def rendition(request: HttpRequest, instance_id: int, kind: str) -> FileResponse:
    instance = instance_for_user(user=request.user, instance_id=instance_id)
    item = instance.renditions.filter(kind=KINDS.get(kind, "")).first()
    if item is None or not default_storage.exists(item.file):
        raise Http404("Rendu indisponible.")
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.IMAGE_VIEW,
        exam=instance.exam,
        object_ref=f"{instance.slot or instance.view} {kind}",
        ip_address=client_ip(request),
    )
    content_type = CONTENT_TYPES.get(item.file[item.file.rfind(".") :], "application/octet-stream")
    return FileResponse(default_storage.open(item.file, "rb"), content_type=content_type)
