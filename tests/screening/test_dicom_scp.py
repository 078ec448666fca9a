"""DICOM network intake: the C-STORE/C-ECHO SCP driven by Debian's dcmtk (echoscu, storescu)."""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from pydicom import dcmread
from pydicom.uid import JPEG2000Lossless
from pynetdicom import build_context

from screening.dicom.synth import make_exam_files, make_mammogram, write_mammogram
from screening.dicom_net.contexts import prefer_requestor_order, scp_contexts
from screening.dicom_net.nodes import dicom_node_match
from screening.dicom_net.scp import scp_start
from screening.dicom_net.status import ascii_comment
from screening.models import DicomInstance, DicomNode, IngestFile
from tests.factories import PracticeFactory, draft_exam, l1_of, staff_of

pytestmark = pytest.mark.django_db(transaction=True)
CI = os.environ.get("CI", "").lower() == "true"
DCMTK = shutil.which("storescu") and shutil.which("echoscu")
needs_dcmtk = pytest.mark.skipif(
    not DCMTK and not CI, reason="SKIPPED: dcmtk (storescu, echoscu) missing: apt-get install dcmtk"
)
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


# --- helpers (also used by test_orthanc_forward) ------------------------------------------------


def sender_exam(practice, *, accession: str):
    """A draft exam the images will match by AccessionNumber."""
    return draft_exam(
        practice=practice, staff=staff_of(practice), l1=l1_of(practice), accession_number=accession
    )


def exam_images(exam, directory: Path, *, compress: bool = False, **overrides) -> list[Path]:
    p = exam.participant
    return make_exam_files(
        directory,
        patient_id=p.programme_id,
        patient_name=f"{p.last_name}^{p.first_name}",
        birth_date=p.birth_date.strftime("%Y%m%d"),
        study_date=exam.mammogram_date.strftime("%Y%m%d"),
        accession_number=exam.accession_number,
        seed=exam.pk,
        compress=compress,
        **overrides,
    )


def dataset_bytes(data: bytes) -> bytes:
    """A Part 10 file without its preamble and file meta (what travels in a C-STORE)."""
    assert data[128:132] == b"DICM" and data[132:136] == b"\x02\x00\x00\x00"  # (0002,0000) first
    group_length = int.from_bytes(data[140:144], "little")
    return data[144 + group_length :]


def stored_bytes(instance: DicomInstance) -> bytes:
    with default_storage.open(instance.file, "rb") as fh:
        return fh.read()


def dcmtk(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def scp():
    server = scp_start(port=0, ae_title="L2PLATFORM")
    yield server
    server.shutdown(grace=5)


@pytest.fixture
def practice():
    practice = PracticeFactory()
    DicomNode.objects.create(practice=practice, ae_title="MODALITY1", description="Mammographe salle 1")
    return practice


def storescu(port: int, *files: Path | str, aet: str = "MODALITY1", options: tuple[str, ...] = ()):
    return dcmtk(
        "storescu",
        "-v",
        *options,
        "-aet",
        aet,
        "-aec",
        "L2PLATFORM",
        "127.0.0.1",
        str(port),
        *map(str, files),
    )


# --- C-ECHO and association checks ---------------------------------------------------------------


@needs_dcmtk
def test_echo_answers_registered_callers_and_rejects_the_others(scp, practice):
    DicomNode.objects.create(practice=practice, ae_title="PACS_BOUND", host="10.20.30.40")
    DicomNode.objects.create(practice=practice, ae_title="OLD_MODALITY", active=False)

    ok = dcmtk("echoscu", "-v", "-aet", "MODALITY1", "127.0.0.1", str(scp.port))
    assert ok.returncode == 0, ok.stderr + ok.stdout

    for intruder in ("INTRUDER", "PACS_BOUND", "OLD_MODALITY", "modality1"):
        refused = dcmtk("echoscu", "-v", "-aet", intruder, "127.0.0.1", str(scp.port))
        assert refused.returncode != 0, intruder
        assert "Calling AE Title Not Recognized" in refused.stdout + refused.stderr, intruder


def test_node_matching_uses_the_address_when_the_node_has_one(practice):
    other = PracticeFactory()
    bound = DicomNode.objects.create(practice=other, ae_title="MODALITY1", host="192.168.1.20")
    assert dicom_node_match(ae_title="MODALITY1", address="192.168.1.20") == bound
    assert dicom_node_match(ae_title="MODALITY1", address="::ffff:192.168.1.20") == bound
    assert dicom_node_match(ae_title=" MODALITY1 ", address="10.0.0.1").practice == practice
    practice.active = False
    practice.save(update_fields=["active"])
    assert dicom_node_match(ae_title="MODALITY1", address="10.0.0.1") is None
    assert dicom_node_match(ae_title="", address="192.168.1.20") is None


# --- C-STORE -----------------------------------------------------------------------------------------


@needs_dcmtk
def test_storescu_sends_an_exam_stored_as_received_and_matched(scp, practice, tmp_path):
    exam = sender_exam(practice, accession="RIS-SCP-1")
    files = exam_images(exam, tmp_path)
    started = time.monotonic()
    result = storescu(scp.port, *files)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout + result.stderr

    rows = list(IngestFile.objects.filter(practice=practice).order_by("pk"))
    assert [r.state for r in rows] == [IngestFile.State.ACCEPTED] * 4, [(r.state, r.reason) for r in rows]
    assert {r.source for r in rows} == {IngestFile.Source.CSTORE}
    assert {r.sender for r in rows} == {"MODALITY1"}
    assert {r.exam_id for r in rows} == {exam.pk}
    assert set(DicomInstance.objects.filter(exam=exam).values_list("slot", flat=True)) == {
        "RCC",
        "LCC",
        "RMLO",
        "LMLO",
    }
    for path in files:
        sop_uid = dcmread(path, stop_before_pixels=True).SOPInstanceUID
        instance = DicomInstance.objects.get(sop_uid=sop_uid)
        data = stored_bytes(instance)
        assert hashlib.sha256(data).hexdigest() == instance.sha256
        # dcmtk sends the dataset as encoded in the file: stored byte for byte after our file meta.
        assert dataset_bytes(data) == dataset_bytes(path.read_bytes())
    print(f"\n4 uncompressed views (4 x 8.8 MB) stored and processed over C-STORE in {elapsed:.1f} s")


@needs_dcmtk
def test_jpeg2000_folder_is_kept_compressed_as_sent(scp, practice, tmp_path):
    exam = sender_exam(practice, accession="RIS-SCP-J2K")
    folder = tmp_path / "export"
    files = exam_images(exam, folder / "study", compress=True)
    result = storescu(scp.port, folder, options=("+sd", "+r", "-xv"))
    assert result.returncode == 0, result.stdout + result.stderr

    rows = IngestFile.objects.filter(practice=practice, source=IngestFile.Source.CSTORE)
    assert sorted(rows.values_list("state", flat=True)) == [IngestFile.State.ACCEPTED] * 4
    for path in files:
        sent = dcmread(path)
        instance = DicomInstance.objects.get(sop_uid=sent.SOPInstanceUID)
        assert instance.exam_id == exam.pk
        assert instance.transfer_syntax_uid == JPEG2000Lossless
        kept = dcmread(default_storage.path(instance.file))
        assert kept.file_meta.TransferSyntaxUID == JPEG2000Lossless
        assert kept.PixelData == sent.PixelData  # the encapsulated codestream, untouched
        assert dataset_bytes(stored_bytes(instance)) == dataset_bytes(path.read_bytes())


@needs_dcmtk
def test_a_ct_image_is_refused_with_a_failure_status_and_a_reason(scp, practice, tmp_path):
    ds = make_mammogram(
        patient_id="CT1",
        patient_name="DUPONT^Anne",
        birth_date="19600101",
        study_date="20260105",
        accession_number="CT-1",
        modality="CT",
        compress=False,
        pixels=[[0, 1] * 32] * 64,
    )
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    path = tmp_path / "ct.dcm"
    ds.save_as(path, enforce_file_format=True)

    result = storescu(scp.port, path, options=("-d",))  # debug: dumps the C-STORE response
    output = result.stdout + result.stderr
    assert "0xc000" in output.lower(), output
    assert "seule la mammographie" in output, output  # the ErrorComment, accents folded

    row = IngestFile.objects.get(practice=practice)
    assert (row.state, row.reason_code, row.source) == (
        IngestFile.State.REFUSED,
        "wrong_modality",
        IngestFile.Source.CSTORE,
    )
    assert not DicomInstance.objects.exists()


@needs_dcmtk
def test_a_resent_image_is_a_harmless_duplicate_and_a_different_one_is_quarantined(scp, practice, tmp_path):
    exam = sender_exam(practice, accession="RIS-SCP-DUP")
    (first,) = exam_images(exam, tmp_path / "a", views=("RCC",))
    header = dcmread(first, stop_before_pixels=True)
    clash = exam_images(
        exam,
        tmp_path / "b",
        views=("RCC",),
        study_uid=header.StudyInstanceUID,
        series_uid=header.SeriesInstanceUID,
        sop_uid=header.SOPInstanceUID,
        bits_stored=10,  # other pixels, same UIDs
    )[0]

    assert storescu(scp.port, first).returncode == 0
    again = storescu(scp.port, first)
    assert again.returncode == 0 and "Success" in again.stdout + again.stderr
    conflict = storescu(scp.port, clash)
    assert "DataSetDoesNotMatchSOPClass" in conflict.stdout + conflict.stderr  # 0xA900

    states = list(IngestFile.objects.order_by("pk").values_list("state", flat=True))
    assert states == [IngestFile.State.ACCEPTED, IngestFile.State.DUPLICATE, IngestFile.State.QUARANTINED]
    assert DicomInstance.objects.get().sha256 == IngestFile.objects.order_by("pk").first().sha256


@needs_dcmtk
def test_an_unknown_caller_cannot_store(scp, practice, tmp_path):
    path = write_mammogram(
        tmp_path / "x.dcm",
        patient_id="X",
        patient_name="X^Y",
        birth_date="19600101",
        study_date="20260105",
        accession_number="X",
        compress=False,
        pixels=[[1, 2] * 32] * 64,
    )
    result = storescu(scp.port, path, aet="INTRUDER")
    assert result.returncode != 0
    assert "Calling AE Title Not Recognized" in result.stdout + result.stderr
    assert not IngestFile.objects.exists()


# --- pieces ----------------------------------------------------------------------------------------


def test_error_comments_are_short_ascii_french():
    assert ascii_comment("Modalité CT : seule la mammographie (MG) est lue.") == (
        "Modalite CT : seule la mammographie (MG) est lue."
    )
    long = ascii_comment("Film numérisé (capture secondaire) : la lecture de films scannés est interdite.")
    assert len(long) <= 64 and long.isascii()


def test_the_senders_lossless_preference_is_followed_never_a_lossy_one():
    supported = [c for c in scp_contexts() if c.abstract_syntax == "1.2.840.10008.5.1.4.1.1.1.2"]
    requested = [
        build_context(
            "1.2.840.10008.5.1.4.1.1.1.2",
            ["1.2.840.10008.1.2.4.50", JPEG2000Lossless, "1.2.840.10008.1.2.1"],
        )
    ]
    prefer_requestor_order(supported, requested)
    assert supported[0].transfer_syntax[:3] == [
        JPEG2000Lossless,
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.4.50",
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_dicom_scp_serves_until_sigterm(tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "CELERY_BROKER_URL": ""}
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    proc = subprocess.Popen(
        [sys.executable, str(manage), "run_dicom_scp", "--port", str(port), "--ae-title", "L2PLATFORM"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.1)
        else:
            pytest.fail("run_dicom_scp did not listen")
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "L2PLATFORM à l'écoute" in output and "Serveur DICOM arrêté" in output


@needs_dcmtk
def test_shutdown_lets_a_running_transfer_finish(practice, tmp_path):
    exam = sender_exam(practice, accession="RIS-SCP-STOP")
    files = exam_images(exam, tmp_path)
    server = scp_start(port=0, ae_title="L2PLATFORM")
    try:
        sender = subprocess.Popen(
            ["storescu", "-aet", "MODALITY1", "127.0.0.1", str(server.port), *map(str, files)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not IngestFile.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        server.shutdown(grace=60)  # returns once the association is released
    output, _ = sender.communicate(timeout=30)
    assert sender.returncode == 0, output
    assert list(IngestFile.objects.values_list("state", flat=True)) == [IngestFile.State.ACCEPTED] * 4
    refused = dcmtk("echoscu", "-aet", "MODALITY1", "127.0.0.1", str(server.port))
    assert refused.returncode != 0  # no longer listening


@needs_dcmtk
def test_internal_failures_never_accept_silently(scp, practice, tmp_path, monkeypatch):
    import screening.dicom_net.scp as scp_module

    path = write_mammogram(
        tmp_path / "x.dcm",
        patient_id="X",
        patient_name="X^Y",
        birth_date="19600101",
        study_date="20260105",
        accession_number="X",
        compress=False,
        pixels=[[1, 2] * 32] * 64,
    )

    def broken(**kwargs):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(scp_module, "ingest_file_receive", broken)
    stored = storescu(scp.port, path)
    assert "OutOfResources" in stored.stdout + stored.stderr  # 0xA700: the sender may retry later

    def database_down(**kwargs):
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(scp_module, "caller_for", database_down)
    echo = dcmtk("echoscu", "-v", "-aet", "MODALITY1", "127.0.0.1", str(scp.port))
    assert echo.returncode != 0
    assert "Rejected Transient" in echo.stdout + echo.stderr
