"""REST API of the intake domain (DRF). Browser uploads use it with the session; errors carry stable codes."""

from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from screening.models import AuditEvent, IngestFile
from screening.selectors import exam_for_practice_user, ingest_files_for_exam, user_roles
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.exams import VIEW_LABEL, missing_views
from screening.services.ingest import ingest_file_receive


class IngestFileSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")
    slot = serializers.CharField(source="instance.slot", default="")

    class Meta:
        model = IngestFile
        fields = [
            "id",
            "original_name",
            "size_bytes",
            "state",
            "state_label",
            "reason_code",
            "reason",
            "slot",
        ]


def _exam_for(request: Request, exam_id: int):
    if not user_roles(request.user).is_practice_user:
        raise ServiceError("forbidden", "Accès réservé aux cabinets.")
    return exam_for_practice_user(user=request.user, exam_id=exam_id)


@api_view(["GET", "POST"])
@parser_classes([MultiPartParser])
def exam_files(request: Request, exam_id: int) -> Response:
    exam = _exam_for(request, exam_id)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            raise ServiceError("file_missing", "Aucun fichier reçu.")
        record = ingest_file_receive(
            practice=exam.practice, exam=exam, upload=upload, original_name=upload.name, actor=request.user
        )
        audit_record(
            actor=request.user,
            action=AuditEvent.Action.FILE_UPLOAD,
            exam=exam,
            object_ref=record.original_name,
        )
        record.refresh_from_db()
        return Response(IngestFileSerializer(record).data, status=status.HTTP_201_CREATED)
    exam.refresh_from_db()
    missing = missing_views(exam)
    return Response(
        {
            "exam": {"id": exam.pk, "state": exam.state, "state_label": exam.get_state_display()},
            "missing_views": [VIEW_LABEL[m] for m in missing],
            "files": IngestFileSerializer(ingest_files_for_exam(exam=exam), many=True).data,
        }
    )
