from screening.models import AuditEvent, Exam, User


def audit_record(
    *, actor: User, action: str, exam: Exam | None = None, object_ref: str = "", ip_address: str | None = None
) -> AuditEvent:
    """Append one access-log row (who, what, when). Called for every view of patient data or images."""
    return AuditEvent.objects.create(
        actor=actor, action=action, exam=exam, object_ref=object_ref[:200], ip_address=ip_address
    )
