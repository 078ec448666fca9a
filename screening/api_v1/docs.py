"""The API documentation page: Swagger UI served locally (drf-spectacular-sidecar), else a plain table.

Never a CDN: the platform runs without outside network access.
"""

from django.apps import apps
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularSwaggerView

METHODS = ("get", "post", "put", "patch", "delete")
swagger_view = SpectacularSwaggerView.as_view(url_name="api_schema")


def sidecar_installed() -> bool:
    return apps.is_installed("drf_spectacular_sidecar")


def api_docs(request: HttpRequest) -> HttpResponse:
    if sidecar_installed():
        return swagger_view(request)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    rows = [
        {"method": method.upper(), "path": path, "summary": operation.get("summary", "")}
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    return render(request, "api/docs.html", {"info": schema["info"], "rows": rows})
