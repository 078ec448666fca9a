"""The reading page: defaults of the verdict form and the redirect to the next case."""

import re

import pytest
from django.urls import reverse

from tests.factories import (
    PASSWORD,
    PracticeFactory,
    SiteFactory,
    l1_negative,
    l1_of,
    reader_at,
    staff_of,
    submitted_exam,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_normal_verdict_defaults_to_the_l1_acr_and_commit_opens_the_next_case(client):
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    reader = reader_at(SiteFactory())
    first = submitted_exam(
        practice=practice,
        staff=staff,
        l1=l1,
        days_ago=6,
        l1_data=l1_negative(acr_initial_left=2, acr_final_left=2),
    )
    second = submitted_exam(practice=practice, staff=staff, l1=l1, days_ago=2)
    assert client.login(username=reader.username, password=PASSWORD)
    page = client.get(reverse("readings:read", args=[first.pk])).content.decode()
    selected = re.search(r'name="acr_left"[^>]*>.*?<option value="(\d)" selected', page, re.S)
    assert selected and selected.group(1) == "2"
    response = client.post(
        reverse("readings:read", args=[first.pk]), {"verdict": "NORMAL", "acr_right": "1", "acr_left": "2"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("readings:read", args=[second.pk])
    first.refresh_from_db()
    assert first.state == "L2_NEGATIVE"
    assert first.l2_readings.get().acr_left == 2
