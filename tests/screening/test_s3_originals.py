"""Originals on S3-compatible object storage (django-storages), against a real S3 API server on loopback
(moto's server: HTTP, signatures, buckets), through the whole intake and the WADO-RS read path."""

import hashlib
import socket
import tempfile
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from screening.models import DicomInstance, IngestFile
from tests.factories import PracticeFactory, draft_exam, exam_files, l1_of, staff_of, upload

pytestmark = pytest.mark.django_db(transaction=True)
BUCKET = "l2-originals-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3_originals(settings):
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"aws_access_key_id": "l2test", "aws_secret_access_key": "l2test-secret"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-3", **credentials)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    settings.STORAGES = {
        **settings.STORAGES,
        "originals": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET, "endpoint_url": endpoint, "region_name": "eu-west-3",
                "access_key": credentials["aws_access_key_id"], "secret_key": credentials["aws_secret_access_key"],
                "file_overwrite": False, "default_acl": None,
            },
        },
    }  # fmt: skip
    from django.core.files.storage import storages

    storages._storages = {}
    try:
        yield client
    finally:
        storages._storages = {}
        server.stop()


def test_originals_go_to_the_bucket_content_addressed_and_verified(s3_originals):
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    with tempfile.TemporaryDirectory() as tmp:
        path = exam_files(exam, Path(tmp), views=("RCC",), compress=True)[0]
        sent = path.read_bytes()
        record = upload(exam, path, staff)
    record.refresh_from_db()
    assert record.state == IngestFile.State.ACCEPTED, record.reason
    instance = DicomInstance.objects.get()
    digest = hashlib.sha256(sent).hexdigest()
    assert instance.file == f"originals/{digest[:2]}/{digest}.dcm"
    stored = s3_originals.get_object(Bucket=BUCKET, Key=instance.file)["Body"].read()
    assert stored == sent
    from django.core.files.storage import default_storage

    assert not default_storage.exists(instance.file)  # not on the local disk
    assert instance.renditions.count() == 4  # renditions stay derived, in the default storage
