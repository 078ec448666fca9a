"""Job visibility: every received file with its status and reason — the practice's own, or all for the centre."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from screening.models import AuditEvent, IngestFile
from screening.selectors import ingest_files_for_user
from screening.services.audit import audit_record

from .common import client_ip, role_required


@role_required(lambda r: r.is_practice_user or r.is_coordinator)
def reception_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("etat", "")
    state = state if state in IngestFile.State.values else ""
    source = request.GET.get("source", "")
    source = source if source in IngestFile.Source.values else ""
    files = ingest_files_for_user(user=request.user, state=state, source=source)
    page = Paginator(files, 50).get_page(request.GET.get("page"))
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXAM_VIEW, object_ref="fichiers reçus",
        ip_address=client_ip(request),
    )  # fmt: skip
    return render(
        request,
        "screening/receptions.html",
        {"page": page, "state": state, "source": source, "states": IngestFile.State.choices,
         "sources": IngestFile.Source.choices},
    )  # fmt: skip
