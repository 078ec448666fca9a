"""Practice API tokens: hash-only storage, the service identity, expiry, revocation, the command, the admin."""

import datetime as dt
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from screening.models import PracticeApiToken, PracticeMembership, PracticeRole, User
from screening.services.errors import ServiceError
from screening.services.tokens import api_token_authenticate, api_token_issue, api_token_revoke
from tests.factories import PASSWORD, PracticeFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_issue_stores_only_the_hash_and_creates_the_service_user():
    practice = PracticeFactory(code="CAB-VICHY")
    token, raw = api_token_issue(practice=practice, name="RIS Xplore")
    assert raw.startswith("l2p_") and len(raw) > 40
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.key_prefix == raw[:8]
    stored = [str(getattr(token, f.attname)) for f in PracticeApiToken._meta.fields]
    assert not any(raw in value for value in stored)
    service = User.objects.get(username="api-CAB-VICHY")
    assert not service.has_usable_password()
    assert set(PracticeMembership.objects.filter(user=service).values_list("practice_id", "role")) == {
        (practice.pk, PracticeRole.STAFF)
    }
    second, raw2 = api_token_issue(practice=practice, name="PACS")
    assert raw2 != raw and User.objects.filter(username__startswith="api-").count() == 1


def test_authenticate_honours_revocation_and_expiry():
    practice = PracticeFactory()
    token, raw = api_token_issue(practice=practice, name="RIS")
    assert api_token_authenticate(raw=raw) == token
    with pytest.raises(ServiceError) as unknown:
        api_token_authenticate(raw=raw + "x")
    assert unknown.value.code == "token_invalid"

    expiring, raw_expiring = api_token_issue(
        practice=practice, name="court", expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    PracticeApiToken.objects.filter(pk=expiring.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(ServiceError) as expired:
        api_token_authenticate(raw=raw_expiring)
    assert expired.value.code == "token_expired"

    api_token_revoke(token=token, actor=None)
    first_revocation = PracticeApiToken.objects.get(pk=token.pk).revoked_at
    api_token_revoke(token=token, actor=None)
    assert PracticeApiToken.objects.get(pk=token.pk).revoked_at == first_revocation
    with pytest.raises(ServiceError) as revoked:
        api_token_authenticate(raw=raw)
    assert revoked.value.code == "token_revoked"


def test_last_used_is_written_at_most_once_a_minute():
    token, raw = api_token_issue(practice=PracticeFactory(), name="RIS")
    api_token_authenticate(raw=raw)
    first = PracticeApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    api_token_authenticate(raw=raw)
    assert PracticeApiToken.objects.get(pk=token.pk).last_used_at == first
    PracticeApiToken.objects.filter(pk=token.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    api_token_authenticate(raw=raw)
    assert PracticeApiToken.objects.get(pk=token.pk).last_used_at > first - dt.timedelta(minutes=1)


@pytest.mark.parametrize("keyword", ["Bearer", "Token"])
def test_http_401_with_codes_for_missing_revoked_expired_tokens(client, keyword):
    practice = PracticeFactory()
    token, raw = api_token_issue(practice=practice, name="RIS")
    url = reverse("api_v1:exams")
    assert client.get(url, HTTP_AUTHORIZATION=f"{keyword} {raw}").status_code == 200

    missing = client.get(url)
    assert missing.status_code == 401 and missing.json()["code"] == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get(url, HTTP_AUTHORIZATION=f"{keyword} l2p_nope").json()["code"] == "token_invalid"

    PracticeApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    expired = client.get(url, HTTP_AUTHORIZATION=f"{keyword} {raw}")
    assert (expired.status_code, expired.json()["code"]) == (401, "token_expired")
    api_token_revoke(token=token, actor=None)
    revoked = client.get(reverse("dicomweb:studies"), HTTP_AUTHORIZATION=f"{keyword} {raw}")
    assert (revoked.status_code, revoked.json()["code"]) == (401, "token_revoked")


def test_command_prints_the_token_once_and_it_works():
    practice = PracticeFactory(code="CAB-MOULINS")
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_api_token", "--practice", "CAB-MOULINS", "--name", "RIS", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert (out.getvalue() + err.getvalue()).count(raw) == 1
    assert "ne sera plus jamais affiché" in err.getvalue()
    assert api_token_authenticate(raw=raw).practice == practice
    assert PracticeApiToken.objects.get().key_hash == hashlib.sha256(raw.encode()).hexdigest()
    with pytest.raises(CommandError, match="Cabinet inconnu"):
        call_command("issue_api_token", "--practice", "NOPE", stdout=io.StringIO(), stderr=io.StringIO())


def test_command_with_expiry():
    PracticeFactory(code="CAB-EXP")
    out = io.StringIO()
    call_command(
        "issue_api_token", "--practice", "CAB-EXP", "--expires-days", "30", stdout=out, stderr=io.StringIO()
    )
    token = api_token_authenticate(raw=out.getvalue().strip())
    assert dt.timedelta(days=29) < token.expires_at - timezone.now() <= dt.timedelta(days=30)


def test_admin_shows_the_hash_read_only_and_revokes(client):
    token, raw = api_token_issue(practice=PracticeFactory(), name="RIS")
    admin = UserFactory(is_staff=True, is_superuser=True)
    assert client.login(username=admin.username, password=PASSWORD)
    page = client.get(reverse("admin:screening_practiceapitoken_change", args=[token.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert token.key_hash in content and raw not in content
    assert client.get(reverse("admin:screening_practiceapitoken_add")).status_code == 403
    response = client.post(
        reverse("admin:screening_practiceapitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    assert PracticeApiToken.objects.get(pk=token.pk).revoked_at is not None
