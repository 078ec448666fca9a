"""The Celery app. Tasks only trigger work: the services hold the logic (ADR 0002)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "screening.settings")

app = Celery("screening")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
