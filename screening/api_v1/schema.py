"""OpenAPI (drf-spectacular): the public API is /api/v1/ only; the practice token is an HTTP bearer scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


def only_public_api(endpoints, **kwargs):
    """Preprocessing hook: keep the documented API, not the browser's internal endpoints."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


class PracticeTokenScheme(OpenApiAuthenticationExtension):
    target_class = "screening.api_auth.PracticeTokenAuthentication"
    name = "jetonCabinet"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Jeton du cabinet (`manage.py issue_api_token --practice CODE`), "
            "envoyé en `Authorization: Bearer <jeton>`.",
        }
