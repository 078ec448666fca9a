"""Per-practice API tokens (REST v1 and DICOMweb): issue, revoke, authenticate.

A token is `l2p_` + secrets.token_urlsafe(32). Only its SHA-256 is stored, with its first 8 characters
to recognise it in the admin; the raw token is shown once, at issue. Each practice has one service user
(`api-<CODE>`, unusable password, STAFF member of the practice only) that acts for its tokens: it is the
actor of the audit rows, of the exams created and of the files received through the API.
"""

import datetime as dt
import hashlib
import logging
import secrets

from django.db import transaction
from django.utils import timezone

from screening.models import Practice, PracticeApiToken, PracticeMembership, PracticeRole, User

from .errors import ServiceError

log = logging.getLogger(__name__)
TOKEN_PREFIX = "l2p_"
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def api_service_user(*, practice: Practice) -> User:
    """The practice's service identity: no password, STAFF of this practice only."""
    username = f"api-{practice.code}"[:150]
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, first_name="API", last_name=practice.name[:150])
        user.set_unusable_password()
        user.save()
    PracticeMembership.objects.get_or_create(user=user, practice=practice, role=PracticeRole.STAFF)
    return user


@transaction.atomic
def api_token_issue(
    *,
    practice: Practice,
    name: str,
    created_by: User | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[PracticeApiToken, str]:
    """Create a token; returns (token row, raw token). The raw token is never stored nor shown again."""
    name = name.strip()
    if not name:
        raise ServiceError("token_name_missing", "Donnez un nom au jeton (logiciel ou poste qui l'utilise).")
    if expires_at is not None and expires_at <= timezone.now():
        raise ServiceError("token_expiry_past", "La date d'expiration est déjà passée.")
    if not practice.active:
        raise ServiceError("practice_inactive", "Ce cabinet n'est pas actif.")
    api_service_user(practice=practice)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PracticeApiToken.objects.create(
        practice=practice,
        name=name[:100],
        key_prefix=raw[:8],
        key_hash=token_hash(raw),
        created_by=created_by,
        expires_at=expires_at,
    )
    log.info("API token %s issued for practice %s", token.pk, practice.code)
    return token, raw


def api_token_revoke(*, token: PracticeApiToken, actor: User | None) -> PracticeApiToken:
    """Revoke at once; revoking twice keeps the first date."""
    updated = PracticeApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    if updated:
        log.info("API token %s of practice %s revoked by %s", token.pk, token.practice_id, actor)
    return token


def api_token_authenticate(*, raw: str) -> PracticeApiToken:
    """The live token for this raw value, or ServiceError token_invalid / token_revoked / token_expired."""
    raw = (raw or "").strip()
    token = None
    if raw.startswith(TOKEN_PREFIX) and len(raw) < 200:
        token = PracticeApiToken.objects.select_related("practice").filter(key_hash=token_hash(raw)).first()
    if token is None:
        raise ServiceError("token_invalid", "Jeton d'API inconnu.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise ServiceError("token_revoked", "Ce jeton d'API a été révoqué.")
    if token.expires_at is not None and token.expires_at <= now:
        raise ServiceError("token_expired", "Ce jeton d'API a expiré.")
    if not token.practice.active:
        raise ServiceError("practice_inactive", "Ce cabinet n'est pas actif.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        PracticeApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
