"""Coordinator alerts: a coordinator marks an open alert as seen ("Vu").

Alerts are raised and resolved by the periodic housekeeping (readings.services.housekeeping); seeing one
does not resolve it: it stays listed until the situation it describes no longer holds.
"""

from django.db import transaction
from django.utils import timezone

from readings.models import Alert
from screening.models import AuditEvent, User
from screening.services.audit import audit_record
from screening.services.errors import ServiceError


def alert_acknowledge(*, alert_id: int, actor: User) -> Alert:
    """Record who saw the alert and when. Idempotent: the first acknowledgement is kept."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise ServiceError("alert_not_found", "Alerte introuvable.")
        if alert.acknowledged_at is not None:
            return alert
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit_record(
            actor=actor,
            action=AuditEvent.Action.QUEUE_CHANGE,
            exam=alert.exam,
            object_ref=f"alerte {alert.pk} vue : {alert.get_kind_display()}",
        )
    return alert
