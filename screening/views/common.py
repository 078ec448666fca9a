"""Shared view helpers: role gates and the client address for the audit log."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from screening.selectors import user_roles


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def role_required(check):
    """Allow the view only to users for whom `check(roles)` holds."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not check(user_roles(request.user)):
                raise PermissionDenied("Accès réservé.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


practice_required = role_required(lambda r: r.is_practice_user)
reader_required = role_required(lambda r: r.is_reader)
coordinator_required = role_required(lambda r: r.is_coordinator)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roles = user_roles(request.user)
    if roles.is_coordinator:
        return redirect("coordination:dashboard")
    if roles.is_reader:
        return redirect("readings:worklist")
    if roles.is_practice_user:
        return redirect("practice:exam_list")
    if roles.is_admin:
        return redirect(reverse("admin:index"))
    raise PermissionDenied("Aucun rôle n'est attribué à ce compte.")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
