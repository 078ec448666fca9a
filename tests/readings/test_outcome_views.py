"""The coordinator's outcome pages: one exam from verdict to closed, consensus meetings, policy versions."""

import pytest
from django.urls import reverse

from readings.models import Consensus
from readings.services.assignment import exam_assign
from readings.services.l2_reading import FindingInput, l2_reading_submit
from screening.models import AuditEvent, CentreRole, ExamState, ReadingPolicy
from screening.services.policies import policy_create
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    l1_of,
    queued_exam,
    reader_at,
    staff_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup():
    practice = PracticeFactory()
    site = SiteFactory()
    people = {
        "practice": practice,
        "staff": staff_of(practice),
        "l1": l1_of(practice),
        "readers": [reader_at(site), reader_at(site), reader_at(SiteFactory())],
        "coordinator": coordinator(),
        "physician": UserFactory(centre_role=CentreRole.PHYSICIAN),
    }
    return people


def positive_exam(setup, version="FR-2006"):
    exam = queued_exam(practice=setup["practice"], staff=setup["staff"], l1=setup["l1"])
    exam.policy_version = version
    exam.save(update_fields=["policy_version"])
    reader = setup["readers"][0]
    exam_assign(exam_id=exam.pk, actor=None, reader=reader)
    finding = FindingInput(side="D", lesion_type="A", quadrant="QSE", acr=4, clock=10)
    l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="ANOMALY", findings=[finding], undo_seconds=0)
    return exam


def test_exam_follow_page_shows_policy_readings_letters_and_history(client, setup):
    exam = positive_exam(setup)
    client.force_login(setup["coordinator"])
    page = client.get(reverse("coordination:exam_follow", args=[exam.pk])).content.decode()
    assert "FR-2006" in page and "L1 négatives seulement" in page and "Ouverte (fiche L1 visible)" in page
    assert "L2 positive" in page and "Opacité spiculée" in page.replace(
        "A — opacité spiculée", "Opacité spiculée"
    )
    assert "Anomalie en seconde lecture — radiologue L1" in page  # the POS-R letter planned
    assert "Positif en seconde lecture" in page  # global result
    assert AuditEvent.objects.filter(
        exam=exam, action=AuditEvent.Action.EXAM_VIEW, actor=setup["coordinator"]
    ).exists()
    client.force_login(setup["staff"])
    assert client.get(reverse("coordination:exam_follow", args=[exam.pk])).status_code in (302, 403, 404)


def test_a_consensus_meeting_is_decided_from_the_page(client, setup):
    policy_create(version="NO-t", preset="NO-DE", actor=setup["physician"])
    exam = positive_exam(setup, version="NO-t")
    consensus = Consensus.objects.get(exam=exam)
    client.force_login(setup["coordinator"])
    listing = client.get(reverse("coordination:consensus_list")).content.decode()
    assert exam.participant.programme_id in listing and "Réunion de consensus" in listing
    url = reverse("coordination:consensus_decide", args=[consensus.pk])
    r1, r2 = setup["readers"][0], setup["readers"][1]
    one = client.post(url, {f"opinion_{r1.pk}": "NEGATIVE"})
    assert "au moins deux lecteurs" in one.content.decode()
    done = client.post(url, {f"opinion_{r1.pk}": "NEGATIVE", f"opinion_{r2.pk}": "NEGATIVE", "note": "RCP"})
    assert done.status_code == 302
    exam.refresh_from_db()
    consensus.refresh_from_db()
    assert exam.state == ExamState.L2_NEGATIVE and consensus.outcome == "NEGATIVE" and not consensus.tie_break


def test_only_the_coordinating_physician_adds_a_policy_version(client, setup):
    url = reverse("coordination:policies")
    data = {
        "version": "UK-2027",
        "name": "Essai arbitrage",
        "scope": "ALL",
        "blinding": "BLIND",
        "recall_rule": "RESOLUTION_DECIDES",
        "resolution": "ARBITRATION",
        "consensus_trigger": "DISCORDANT",
        "cti_consensus": "OFF",
        "consensus_tie_break": "POSITIVE_WINS",
        "active_from": "31/12/2099 08:00",
    }
    client.force_login(setup["coordinator"])
    assert client.post(url, data).status_code == 403
    client.force_login(setup["physician"])
    assert client.post(url, data).status_code == 302
    policy = ReadingPolicy.objects.get(version="UK-2027")
    assert (policy.blinding, policy.created_by) == ("BLIND", setup["physician"])
    page = client.get(url).content.decode()
    assert "UK-2027" in page and "FR-2006" in page
