"""Steps 2–5 of the path with a real Celery worker over Redis, on PostgreSQL.

The worker runs in this process (celery.contrib.testing) on a queue of its own, so no stray message from
another run is consumed; every task goes through Redis, and the worker's own DB connection sees only
what the callers committed.
"""

import tempfile
import time
import uuid
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from readings.models import Assignment, Discordance
from readings.services.l2_reading import FindingInput, l2_reading_submit
from screening.celery import app
from screening.models import DicomInstance, ExamState, IngestFile
from screening.services.exams import exam_submit
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    draft_exam,
    exam_files,
    l1_of,
    reader_at,
    staff_of,
    upload,
)

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_worker():
    """A real worker over Redis consuming this run's own light and pixel queues.

    The app reads Django settings under the CELERY_ namespace, so the namespaced keys are overridden;
    the queues are this run's own, so no stray message from another run is consumed.
    """
    queue = f"l2-test-{uuid.uuid4().hex[:8]}"
    pixels = f"{queue}-pixels"
    keys = ("CELERY_TASK_ALWAYS_EAGER", "CELERY_TASK_DEFAULT_QUEUE", "CELERY_TASK_ROUTES")
    previous = {key: app.conf[key] for key in keys}
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.CELERY_TASK_DEFAULT_QUEUE = queue
    app.conf.CELERY_TASK_ROUTES = {"screening.tasks.ingest_file_process": {"queue": pixels}}
    app.amqp.flush_routes()  # the router caches the routes
    app.amqp.router = app.amqp.Router()
    assert app.conf.task_default_queue == queue and not app.conf.task_always_eager
    try:
        with start_worker(
            app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            queues=[queue, pixels],
            shutdown_timeout=30,
        ):
            yield {"queue": queue, "pixels": pixels}
    finally:
        for key, value in previous.items():
            app.conf[key] = value
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()


def wait_for(predicate, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def test_upload_validate_queue_assign_read_outcome_through_a_real_worker(real_worker):
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    reader_at(SiteFactory(), user=l1)  # the L1 is also a reader: the worker must never pick them
    reader = reader_at(SiteFactory())
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    with tempfile.TemporaryDirectory() as tmp:
        records = [upload(exam, path, staff) for path in exam_files(exam, Path(tmp), compress=True)]
        # Processing happens in the worker, not in this process.
        wait_for(lambda: IngestFile.objects.filter(exam=exam, state=IngestFile.State.ACCEPTED).count() == 4)
    assert {r.state for r in IngestFile.objects.filter(pk__in=[r.pk for r in records])} == {"ACCEPTED"}
    assert DicomInstance.objects.filter(exam=exam, is_default_for_slot=True).count() == 4

    exam_submit(exam_id=exam.pk, actor=staff)
    wait_for(lambda: Assignment.objects.filter(exam=exam, state="ACTIVE").exists())
    exam.refresh_from_db()
    assert exam.state == ExamState.ASSIGNED
    assignment = Assignment.objects.get(exam=exam)
    assert assignment.reader == reader and assignment.reader != l1

    l2_reading_submit(
        exam_id=exam.pk,
        reader=reader,
        verdict="ANOMALY",
        findings=[FindingInput(side="D", lesion_type="A", quadrant="QSE", acr=4)],
    )
    exam.refresh_from_db()
    assert exam.state == ExamState.L2_POSITIVE
    assert Discordance.objects.filter(exam=exam, kind="L2_POSITIVE").exists()
    assert list(exam.status_events.values_list("to_state", flat=True)) == [
        "DRAFT",
        "SUBMITTED",
        "QUEUED",
        "ASSIGNED",
        "IN_READING",
        "L2_POSITIVE",
    ]


def test_reconciler_redrives_a_file_whose_message_was_lost(real_worker, settings):
    from screening.tasks import reconcile_stuck_exams

    settings.INGEST_STUCK_MINUTES = 0
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    with tempfile.TemporaryDirectory() as tmp:
        path = exam_files(exam, Path(tmp), views=("RCC",))[0]
        from unittest import mock

        with mock.patch("screening.tasks.ingest_file_process.delay"):  # the message is "lost"
            record = upload(exam, path, staff)
        assert IngestFile.objects.get(pk=record.pk).state == IngestFile.State.RECEIVED
        reconcile_stuck_exams.delay()
        wait_for(lambda: IngestFile.objects.get(pk=record.pk).state == IngestFile.State.ACCEPTED)


def test_pixel_work_and_light_work_are_routed_to_separate_queues():
    from django.conf import settings

    app.amqp.flush_routes()
    router = app.amqp.Router()
    heavy = router.route({}, "screening.tasks.ingest_file_process")["queue"].name
    light = router.route({}, "readings.tasks.assign_exam")["queue"].name
    assert heavy == settings.CELERY_PIXEL_QUEUE
    assert light == settings.CELERY_TASK_DEFAULT_QUEUE != heavy
