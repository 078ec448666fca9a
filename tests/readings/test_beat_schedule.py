"""Beat runs from the database (django-celery-beat): the default schedule is installed as editable rows."""

import pytest
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from screening.celery import app

# The scheduler closes stale database connections itself: run outside the per-test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def test_database_scheduler_installs_the_assignment_and_reconciler_tasks():
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    DatabaseScheduler(app=app, lazy=False)
    tasks = dict(PeriodicTask.objects.values_list("name", "task"))
    assert tasks["assign-queued-exams"] == "readings.tasks.assign_queued_exams"
    assert tasks["assignment-housekeeping"] == "readings.tasks.assignment_housekeeping"
    assert tasks["reconcile-stuck-exams"] == "screening.tasks.reconcile_stuck_exams"
    assert PeriodicTask.objects.get(name="assignment-housekeeping").interval.every == 300
    # Issue 6: the outcome timers, and their task modules are known to the worker (not only tasks.py).
    assert tasks["letters-generate-due"] == "screening.tasks_letters.letters_generate_due_task"
    assert tasks["retake-timers"] == "readings.tasks_retakes.retake_timers"
    assert tasks["follow-up-timers"] == "screening.tasks_followup.follow_up_timers"
    app.loader.import_default_modules()
    for name in ("letters_generate_due_task", "retake_timers", "follow_up_timers", "retake_assign"):
        assert any(task.endswith(name) for task in app.tasks), name
