"""WADO-RS for the reading workstation (PS3.18 §10.4; spec reading-workstation §0): the instance's metadata and
its single frame in HTJ2K lossless RPCL, with the reader's session, scoped like every image (the reader's own
assignments and their priors) and audited. The practices' token-authenticated DICOMweb is screening/dicomweb."""

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, JsonResponse, StreamingHttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from screening.models import DicomInstance, Rendition
from screening.selectors import instance_for_user
from screening.services.audit import image_view_record
from screening.services.renditions import HTJ2K_LOSSLESS_RPCL
from screening.views.common import client_ip, reader_required

BOUNDARY = "l2-frame-7c1d9f3b52e84a06b0f9e6d2a4c8b153"
CHUNK = 1024 * 1024


def _instance(request: HttpRequest, study_uid: str, series_uid: str, sop_uid: str) -> DicomInstance:
    instance_id = (
        DicomInstance.objects.filter(sop_uid=sop_uid, series__series_uid=series_uid)
        .filter(series__study__study_uid=study_uid)
        .values_list("pk", flat=True)
        .first()
    )
    if instance_id is None:
        raise Http404("Image introuvable.")
    return instance_for_user(user=request.user, instance_id=instance_id)


def _htj2k(instance: DicomInstance) -> Rendition:
    rendition = instance.renditions.filter(kind=Rendition.Kind.HTJ2K).first()
    if rendition is None:
        raise Http404("Trame sans perte indisponible : l'original reste servi.")
    return rendition


@reader_required
@require_GET
@cache_control(private=True, max_age=86400, immutable=True)
def metadata(request: HttpRequest, study_uid: str, series_uid: str, sop_uid: str) -> JsonResponse:
    instance = _instance(request, study_uid, series_uid, sop_uid)
    response = JsonResponse([_htj2k(instance).metadata], safe=False)
    response["Content-Type"] = "application/dicom+json"
    return response


@reader_required
@require_GET
@cache_control(private=True, max_age=86400, immutable=True)  # a SOP Instance UID never changes content
def frames(request: HttpRequest, study_uid: str, series_uid: str, sop_uid: str, frame_list: str):
    if frame_list.strip() != "1":
        return JsonResponse(
            {"code": "frame_out_of_range", "detail": "Cette image n'a qu'une trame (1)."}, status=404
        )
    instance = _instance(request, study_uid, series_uid, sop_uid)
    rendition = _htj2k(instance)
    if not default_storage.exists(rendition.file):
        raise Http404("Trame sans perte indisponible.")
    image_view_record(
        actor=request.user, instance=instance, what="trame HTJ2K", ip_address=client_ip(request)
    )
    part_type = f"application/octet-stream; transfer-syntax={HTJ2K_LOSSLESS_RPCL}"
    head = f"--{BOUNDARY}\r\nContent-Type: {part_type}\r\nContent-Location: {request.path}\r\n\r\n".encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def body():
        yield head
        with default_storage.open(rendition.file, "rb") as fh:  # streamed: never the whole frame in memory
            while chunk := fh.read(CHUNK):
                yield chunk
        yield tail

    response = StreamingHttpResponse(
        body(),
        content_type=(
            f'multipart/related; type="application/octet-stream"; '
            f"transfer-syntax={HTJ2K_LOSSLESS_RPCL}; boundary={BOUNDARY}"
        ),
    )
    size = rendition.size_bytes or default_storage.size(rendition.file)
    response["Content-Length"] = str(len(head) + size + len(tail))
    response["X-L2-Pixel-SHA256"] = rendition.pixel_sha256
    return response
