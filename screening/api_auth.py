"""DRF authentication by practice API token: `Authorization: Bearer <token>` (or `Token <token>`).

On success request.auth is the PracticeApiToken and request.user the practice's service user
(`api-<CODE>`): views scope every read to `request.auth.practice` (see `api_practice_ids`), and the service
user is the actor of audit rows and writes. Failures answer 401 with `{"code", "detail"}`.
"""

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.request import Request

from screening.models import PracticeApiToken, User
from screening.selectors import user_roles
from screening.services.errors import ServiceError
from screening.services.tokens import api_service_user, api_token_authenticate

KEYWORDS = (b"bearer", b"token")


def token_failed(code: str, detail: str) -> AuthenticationFailed:
    return AuthenticationFailed({"code": code, "detail": detail})


def authenticate_header_value(header: bytes) -> tuple[User, PracticeApiToken] | None:
    """Parse an Authorization header value; None when it is not a token scheme."""
    parts = header.split()
    if not parts or parts[0].lower() not in KEYWORDS:
        return None
    if len(parts) != 2:
        raise token_failed("token_invalid", "En-tête Authorization mal formé : « Bearer <jeton> » attendu.")
    try:
        raw = parts[1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise token_failed("token_invalid", "Jeton d'API illisible.") from exc
    try:
        token = api_token_authenticate(raw=raw)
    except ServiceError as error:
        raise token_failed(error.code, error.message) from error
    return api_service_user(practice=token.practice), token


class PracticeTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        return authenticate_header_value(get_authorization_header(request))

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="l2-platform"'


def api_token(request: Request) -> PracticeApiToken | None:
    return request.auth if isinstance(request.auth, PracticeApiToken) else None


def api_practice_ids(request: Request) -> frozenset[int]:
    """The practices the caller acts for: the token's practice, or the session user's practices."""
    token = api_token(request)
    if token is not None:
        return frozenset({token.practice_id})
    ids = user_roles(request.user).practice_ids
    if not ids:
        raise PermissionDenied({"code": "forbidden", "detail": "Accès réservé aux cabinets de radiologie."})
    return ids
