"""Celery task of the follow-up of positives: a thin caller of the timers service (ADR 0002).

Not under the `tasks` name autodiscovery looks for: the worker loads it through CELERY_IMPORTS (see settings)."""

from celery import shared_task

from screening.services.followup_timers import follow_up_timers_run


@shared_task
def follow_up_timers() -> dict:
    """Reminders when no news arrives, lost to follow-up at 12 months (R-FU-2, R-FU-3). Idempotent."""
    return follow_up_timers_run()
