"""Film exams pages (/coordination/films/): register the films, book lightbox sessions, key in results, return
the films. Thin callers of readings/services/films.py. The secretariat sees the centre's; a reader only their own
sessions; practice users are refused (403)."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from readings.forms_films import (
    BookingForm,
    FilmRegisterForm,
    FilmResultForm,
    FilmReturnForm,
    LightboxSessionForm,
)
from readings.models import LightboxSession
from readings.selectors_films import (
    film_exams_to_book,
    films_kept_for_reading,
    films_returned_recently,
    films_to_return,
    lightbox_session_for,
    lightbox_sessions_for,
    session_rows,
)
from readings.services import films as services
from screening.models import AuditEvent, Exam
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.views.common import client_ip, coordinator_required, role_required

secretariat_or_reader = role_required(lambda r: r.is_coordinator or r.is_reader)


def _audit(request: HttpRequest, ref: str, exam: Exam | None = None, action: str = "") -> None:
    audit_record(
        actor=request.user,
        action=action or AuditEvent.Action.DASHBOARD_VIEW,
        exam=exam,
        object_ref=ref,
        ip_address=client_ip(request),
    )


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return _("Formulaire invalide.")


# ------------------------------------------------------------------------------------ register and book


@secretariat_or_reader
def home(request: HttpRequest) -> HttpResponse:
    """Film exams to book into a lightbox session (checkboxes + session), for the secretariat."""
    if not request.user.is_coordinator:
        return redirect("films:sessions")
    sessions = list(lightbox_sessions_for(user=request.user, upcoming_only=True))
    form = BookingForm(request.POST or None, sessions=sessions)
    if request.method == "POST":
        if form.is_valid():
            session_id = form.cleaned_data["session"]
            try:
                booked = services.lightbox_session_book(
                    session_id=session_id, exam_ids=form.cleaned_data["exam"], actor=request.user
                )
            except ServiceError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request, _("%(n)d examen(s) programmé(s) dans la séance.") % {"n": len(booked)}
                )
                return redirect("films:session", session_id=session_id)
        else:
            messages.error(request, _first_error(form))
    _audit(request, "films à programmer")
    selected = {int(v) for v in request.POST.getlist("exam") if v.isdigit()}  # kept ticked after a refusal
    return render(
        request,
        "readings/films/home.html",
        {
            "exams": film_exams_to_book(),
            "form": form,
            "sessions": sessions,
            "selected": selected,
            "to_return": films_to_return().count(),
            "kept": films_kept_for_reading(),
            "session_max": services.lightbox_session_max(),
            "today": timezone.localdate(),
        },
    )


def _received_at(day: dt.date) -> dt.datetime:
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


@coordinator_required
def register(request: HttpRequest) -> HttpResponse:
    """The films arrived: the woman, the exam and the L1 form keyed from paper, then submission."""
    form = FilmRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            exam = services.film_exam_register(
                actor=request.user,
                practice=data["practice"],
                participant={
                    "programme_id": data["programme_id"].strip(),
                    "last_name": data["last_name"].strip(),
                    "first_name": data["first_name"].strip(),
                    "birth_date": data["birth_date"],
                },
                l1_radiologist=data["l1_radiologist"],
                mammogram_date=data["mammogram_date"],
                l1=form.l1_data(),
                lesions=form.lesions(),
                equipment=data["equipment"],
                film_count=data["film_count"],
                accession_number=data["accession_number"],
                received_at=_received_at(data["received_on"]),
            )
        except ServiceError as error:
            field = {"received_at": "received_on"}.get(error.field or "", error.field)
            form.add_error(field if field in form.fields else None, error.message)
        else:
            exam.refresh_from_db()
            messages.success(
                request,
                _("Films enregistrés : examen %(id)s du %(date)s — %(state)s.")
                % {
                    "id": exam.participant.programme_id,
                    "date": exam.mammogram_date.strftime("%d/%m/%Y"),
                    "state": exam.get_state_display(),
                },
            )
            return redirect("films:register")
    return render(request, "readings/films/register.html", {"form": form})


# ------------------------------------------------------------------------------------------- sessions


@secretariat_or_reader
def sessions(request: HttpRequest) -> HttpResponse:
    form = LightboxSessionForm(request.POST or None) if request.user.is_coordinator else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            session = services.lightbox_session_create(actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Séance créée."))
            return redirect("films:session", session_id=session.pk)
    _audit(request, "séances de négatoscope")
    return render(
        request,
        "readings/films/sessions.html",
        {
            "sessions": lightbox_sessions_for(user=request.user)[:200],
            "form": form,
            "session_max": services.lightbox_session_max(),
            "today": timezone.localdate(),
        },
    )


def _result_form(exam: Exam, data=None) -> FilmResultForm:
    l1 = getattr(exam, "l1_form", None)
    # As on the browser (F6): a normal verdict takes the L1 ACR per breast when it is 1 or 2.
    initial = {
        "acr_right": l1.acr_final_right if l1 and l1.acr_final_right in (1, 2) else 1,
        "acr_left": l1.acr_final_left if l1 and l1.acr_final_left in (1, 2) else 1,
    }
    return FilmResultForm(data, prefix=f"e{exam.pk}", initial=initial)


def _session_page(request: HttpRequest, session: LightboxSession, bound: FilmResultForm | None = None,
                  bound_exam_id: int | None = None, status: int = 200) -> HttpResponse:  # fmt: skip
    rows = session_rows(session=session)
    focus_done = False
    for row in rows:
        row.form = None
        if row.open:
            row.form = bound if row.exam.pk == bound_exam_id and bound is not None else _result_form(row.exam)
            if not focus_done:  # keyboard: the first row to key in takes the focus
                row.form.fields["verdict"].widget.attrs["autofocus"] = True
                focus_done = True
    _audit(request, f"séance négatoscope {session.pk}")
    return render(
        request,
        "readings/films/session_detail.html",
        {
            "session": session,
            "rows": rows,
            "left": sum(1 for r in rows if r.open),
            "secretariat": request.user.is_coordinator,
            "session_max": services.lightbox_session_max(),
        },
        status=status,
    )


@secretariat_or_reader
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    return _session_page(request, lightbox_session_for(user=request.user, session_id=session_id))


@secretariat_or_reader
@require_POST
def key_in(request: HttpRequest, session_id: int, exam_id: int) -> HttpResponse:
    """One row of the session: the result read on the films, for the session's reader."""
    session = lightbox_session_for(user=request.user, session_id=session_id)
    exam = session.exams.select_related("l1_form", "participant").filter(pk=exam_id).first()
    if exam is None:
        messages.error(request, _("Cet examen n'est pas programmé dans cette séance."))
        return redirect("films:session", session_id=session.pk)
    form = _result_form(exam, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            reading = services.film_result_key_in(
                exam_id=exam.pk,
                reader=session.reader,
                keyed_by=request.user,
                verdict=data["verdict"],
                acr_right=data.get("acr_right") or 1,
                acr_left=data.get("acr_left") or 1,
                findings=form.findings(),
                cti_items=form.cti_items(),
                comment=data["comment"],
                proposed_exams=data["proposed_exams"],
                client_uuid=data.get("client_uuid"),
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        except forms.ValidationError as error:  # from findings(): an incomplete anomaly row
            form.add_error(None, error.messages[0])
        else:
            _audit(request, "résultat sur films saisi", exam=exam, action=AuditEvent.Action.EXAM_VIEW)
            messages.success(
                request,
                _("Examen %(id)s : %(verdict)s enregistré.")
                % {"id": exam.participant.programme_id, "verdict": reading.get_verdict_display()},
            )
            # No #fragment: browsers skip autofocus on a page opened at one; the next row to key in takes it.
            return redirect("films:session", session_id=session.pk)
    return _session_page(request, session, bound=form, bound_exam_id=exam.pk, status=400)


@coordinator_required
@require_POST
def unbook(request: HttpRequest, session_id: int, exam_id: int) -> HttpResponse:
    try:
        services.lightbox_session_unbook(session_id=session_id, exam_id=exam_id, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Examen retiré de la séance : il est de nouveau à programmer."))
    return redirect("films:session", session_id=session_id)


# ---------------------------------------------------------------------------------------------- returns


@coordinator_required
def returns(request: HttpRequest) -> HttpResponse:
    _audit(request, "films à rendre")
    return render(
        request,
        "readings/films/returns.html",
        {
            "records": films_to_return(),
            "kept": films_kept_for_reading(),
            "returned": films_returned_recently(),
            "form": FilmReturnForm(),
        },
    )


@coordinator_required
@require_POST
def film_return(request: HttpRequest, exam_id: int) -> HttpResponse:
    form = FilmReturnForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez à qui les films sont rendus (cabinet, patiente)."))
        return redirect("films:returns")
    try:
        record = services.film_return_record(
            exam_id=exam_id, actor=request.user, returned_to=form.cleaned_data["returned_to"]
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Films de l'examen %(id)s rendus à %(to)s.")
            % {"id": record.exam.participant.programme_id, "to": record.returned_to},
        )
    return redirect("films:returns")
