from screening.models import AuditEvent, Exam, User


def audit_record(
    *, actor: User, action: str, exam: Exam | None = None, object_ref: str = "", ip_address: str | None = None
) -> AuditEvent:
    """Append one access-log row (who, what, when). Called for every view of patient data or images."""
    return AuditEvent.objects.create(
        actor=actor, action=action, exam=exam, object_ref=object_ref[:200], ip_address=ip_address
    )


def image_view_record(*, actor: User, instance, what: str, ip_address: str | None = None) -> AuditEvent:
    """The audit row of one image served (original, frame, rendition): who saw which view of which exam."""
    return audit_record(
        actor=actor,
        action=AuditEvent.Action.IMAGE_VIEW,
        exam=instance.exam,
        object_ref=f"{what} {instance.slot or instance.view} {instance.sop_uid}",
        ip_address=ip_address,
    )
