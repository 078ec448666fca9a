"""The reading workstation page (issue 5): the page shell; the case, images and verdicts go through
readings/api_workstation.py and the modules in static/js/workstation/."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from readings.selectors import exam_for_reader, reader_next_exam_id, reader_session
from readings.services.verdicts import l2_readings_finalize_due
from readings.services.workstation import keymap_for, keymap_key_label
from screening.models import AuditEvent
from screening.services.audit import audit_record
from screening.views.common import client_ip, reader_required


@reader_required
def workstation(request: HttpRequest) -> HttpResponse:
    l2_readings_finalize_due(reader=request.user)
    wanted = request.GET.get("examen", "")
    first = exam_for_reader(reader=request.user, exam_id=int(wanted)).pk if wanted.isdigit() else None
    first = first or reader_next_exam_id(reader=request.user)
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.DASHBOARD_VIEW,
        object_ref="poste de lecture",
        ip_address=client_ip(request),
    )
    prefs = keymap_for(user=request.user)
    return render(
        request,
        "readings/workstation.html",
        {
            "first_exam_id": first,
            "session": reader_session(reader=request.user),
            "prefs": prefs,
            # The reader's own keys on the buttons, not the defaults (the key map is editable).
            "keys": {action: keymap_key_label(key) for action, key in prefs["keymap"].items()},
        },
    )
