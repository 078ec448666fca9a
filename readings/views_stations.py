"""Enrolment of a declared reading station (spec §9): opened by a coordinator or an administrator on the
station's own browser, it gives that browser the station's token in a long-lived HttpOnly cookie."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from readings.api_stations import station_cookie_set
from readings.models import ReadingStation
from readings.services.stations import station_enrol, station_for_token
from screening.services.errors import ServiceError
from screening.views.common import client_ip, role_required

station_manager_required = role_required(lambda r: r.is_coordinator or r.is_admin)


@station_manager_required
def enrol(request: HttpRequest, station_id: int) -> HttpResponse:
    station = get_object_or_404(ReadingStation.objects.select_related("site", "enrolled_by"), pk=station_id)
    current = station_for_token(token=request.COOKIES.get(settings.L2_STATION_COOKIE))
    context = {"station": station, "current": current, "enrolled": False}
    if request.method != "POST":
        return render(request, "readings/station_enrol.html", context)
    try:
        station, token = station_enrol(
            station_id=station.pk, actor=request.user, ip_address=client_ip(request)
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return render(request, "readings/station_enrol.html", context, status=409)
    context.update(station=station, current=station, enrolled=True)
    response = render(request, "readings/station_enrol.html", context)
    station_cookie_set(response, request, token)
    return response
