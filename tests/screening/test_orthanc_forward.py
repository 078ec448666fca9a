"""A practice's PACS (Debian's Orthanc) forwarding a study to the platform's C-STORE SCP.

Needs /usr/sbin/Orthanc (apt-get install orthanc): skipped loudly without it, a failure under CI=true.
Orthanc runs as our own process with its own configuration, on free loopback ports, never as the
system service.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from pydicom import dcmread
from pydicom.uid import JPEG2000Lossless

from screening.dicom_net.scp import scp_start
from screening.models import DicomInstance, DicomNode, IngestFile
from tests.factories import PracticeFactory
from tests.screening.test_dicom_scp import exam_images, sender_exam

pytestmark = [pytest.mark.django_db(transaction=True)]
CI = os.environ.get("CI", "").lower() == "true"
ORTHANC = shutil.which("Orthanc") or next(
    (p for p in ("/usr/sbin/Orthanc", "/usr/bin/Orthanc") if os.access(p, os.X_OK)), None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Orthanc:
    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log

    def call(self, method: str, path: str, body: bytes | dict | list | None = None, *, timeout: float = 120):
        data, headers = body, {}
        if isinstance(body, dict | list):
            data, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
        elif body is not None:
            headers = {"Content-Type": "application/dicom"}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")


@pytest.fixture
def scp():
    server = scp_start(port=0, ae_title="L2PLATFORM")
    yield server
    server.shutdown(grace=5)


@pytest.fixture
def orthanc(tmp_path, scp):
    if ORTHANC is None:
        if CI:
            pytest.fail("CI=true: the Orthanc binary is missing (apt-get install orthanc)")
        pytest.skip("SKIPPED (orthanc): /usr/sbin/Orthanc missing: apt-get install orthanc")
    home = tmp_path / "orthanc"
    (home / "storage").mkdir(parents=True)
    http_port, dicom_port = _free_port(), _free_port()
    config = {
        "Name": "PACS du cabinet (test)",
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": "ORTHANCPACS",
        "StorageDirectory": str(home / "storage"),
        "IndexDirectory": str(home / "storage"),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomScuTimeout": 120,
        "DicomModalities": {"l2": ["L2PLATFORM", "127.0.0.1", scp.port]},
        "Plugins": [],
    }
    (home / "orthanc.json").write_text(json.dumps(config), encoding="utf-8")
    log = home / "orthanc.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([ORTHANC, str(home / "orthanc.json")], stdout=out, stderr=subprocess.STDOUT)
    server = Orthanc(f"http://127.0.0.1:{http_port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                server.call("GET", "/system", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("Orthanc did not start:\n" + log.read_text(errors="replace")[-4000:])
                time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_orthanc_forwards_a_study_to_the_platform(orthanc, tmp_path):
    practice = PracticeFactory()
    DicomNode.objects.create(practice=practice, ae_title="ORTHANCPACS", description="PACS du cabinet")
    exam = sender_exam(practice, accession="RIS-PACS-1")
    files = exam_images(exam, tmp_path / "modality", compress=True)

    assert orthanc.call("POST", "/modalities/l2/echo", {}) == {}  # C-ECHO from Orthanc
    ids = [orthanc.call("POST", "/instances", path.read_bytes())["ID"] for path in files]
    started = time.monotonic()
    orthanc.call("POST", "/modalities/l2/store", {"Resources": ids, "Synchronous": True})
    elapsed = time.monotonic() - started

    rows = IngestFile.objects.filter(practice=practice)
    assert sorted(rows.values_list("state", flat=True)) == [IngestFile.State.ACCEPTED] * 4, list(
        rows.values_list("state", "reason")
    )
    assert set(rows.values_list("source", "sender")) == {(IngestFile.Source.CSTORE, "ORTHANCPACS")}
    assert set(rows.values_list("exam_id", flat=True)) == {exam.pk}
    for path in files:
        sent = dcmread(path)
        instance = DicomInstance.objects.get(sop_uid=sent.SOPInstanceUID)
        assert instance.transfer_syntax_uid == JPEG2000Lossless  # forwarded compressed, kept as such
        assert dcmread(default_storage.path(instance.file)).PixelData == sent.PixelData
    print(f"\nOrthanc → platform: 4 JPEG 2000 views forwarded and processed in {elapsed:.1f} s")

    DicomNode.objects.filter(ae_title="ORTHANCPACS").update(active=False)
    with pytest.raises(urllib.error.HTTPError):
        orthanc.call("POST", "/modalities/l2/echo", {})  # association rejected: Orthanc reports an error
