"""Celery task of the letters (§7): a thin periodic caller of the service (ADR 0002).

Not a `tasks.py` module: the worker loads it through CELERY_IMPORTS (see the beat entry in settings).
"""

from celery import shared_task

from screening.services.letters import letters_generate_due


@shared_task
def letters_generate_due_task() -> int:
    """Render every planned letter whose date has passed (idempotent, row-locked; safe to overlap)."""
    return letters_generate_due()
