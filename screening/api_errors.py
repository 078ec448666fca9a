"""DRF errors: a stable `code` and a French `detail`, never a 500 for a business refusal."""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from screening.services.errors import ServiceError


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response({"code": exc.code, "detail": exc.message, "field": exc.field}, status=400)
    return drf_exception_handler(exc, context)
