"""Job visibility: a practice follows its own received files, the centre follows all of them."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from screening.services.ingest import ingest_file_receive
from tests.factories import PASSWORD, PracticeFactory, coordinator, staff_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_practice_sees_its_own_refusals_and_the_centre_sees_every_practice(client):
    mine, theirs = PracticeFactory(name="Cabinet Mien"), PracticeFactory(name="Cabinet Autre")
    staff = staff_of(mine)
    for practice, name in ((mine, "mine.dcm"), (theirs, "theirs.dcm")):
        ingest_file_receive(
            practice=practice, upload=ContentFile(b"not a dicom file", name=name), original_name=name, actor=None,
            source="CSTORE", sender="MODALITY1",
        )  # fmt: skip
    assert client.login(username=staff.username, password=PASSWORD)
    page = client.get(reverse("receptions")).content.decode()
    assert "mine.dcm" in page and "theirs.dcm" not in page
    assert "n&#x27;est pas un fichier DICOM" in page or "n'est pas un fichier DICOM" in page
    client.logout()
    assert client.login(username=coordinator().username, password=PASSWORD)
    page = client.get(reverse("receptions") + "?etat=REFUSED").content.decode()
    assert "mine.dcm" in page and "theirs.dcm" in page and "Cabinet Autre" in page
