"""Serializers of the REST API v1: input validated here (French messages), business rules in the services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from screening.forms import L1_FIELDS
from screening.models import Exam, ExamState, IngestFile, L1Form, L1Lesion
from screening.models.l1 import BdiComponent
from screening.selectors import HIDDEN_REASON_STATES
from screening.services.exams import VIEW_LABEL, missing_views

OPEN_FOR_IMAGES = (ExamState.DRAFT, ExamState.SUBMITTED, ExamState.INCOMPLETE)


class ParticipantInSerializer(serializers.Serializer):
    programme_id = serializers.CharField(max_length=30, help_text="Numéro de dépistage de la participante.")
    last_name = serializers.CharField(max_length=100)
    first_name = serializers.CharField(max_length=100)
    birth_date = serializers.DateField()


class L1InSerializer(serializers.ModelSerializer):
    """The L1 fiche: history, clinical exam, density, initial and final ACR per breast, BDI, conduct."""

    bdi_components = serializers.ListField(
        child=serializers.ChoiceField(choices=BdiComponent.choices), required=False, default=list
    )

    class Meta:
        model = L1Form
        fields = L1_FIELDS

    def validate(self, data):
        if data.get("bdi_components") and not data.get("bdi_done"):
            raise serializers.ValidationError(
                {"bdi_done": "Des composantes du BDI sont indiquées : indiquez aussi « bdi_done »."}
            )
        return data


class LesionInSerializer(serializers.ModelSerializer):
    class Meta:
        model = L1Lesion
        fields = ["phase", "side", "lesion_type", "quadrant", "clock"]
        extra_kwargs = {
            "clock": {
                "min_value": 1,
                "max_value": 12,
                "error_messages": {
                    "min_value": "Rayon horaire entre 1 et 12.",
                    "max_value": "Rayon horaire entre 1 et 12.",
                },
            }
        }


class ExamCreateSerializer(serializers.Serializer):
    practice = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text="Code du cabinet : inutile avec un jeton (c'est son cabinet), "
        "obligatoire en session pour un utilisateur de plusieurs cabinets.",
    )
    participant = ParticipantInSerializer()
    mammogram_date = serializers.DateField()
    accession_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    medium = serializers.ChoiceField(choices=Exam.Medium.choices, default=Exam.Medium.CONSOLE)
    equipment = serializers.ChoiceField(choices=Exam.Equipment.choices, default=Exam.Equipment.DR)
    l1_radiologist = serializers.CharField(
        max_length=150, help_text="Radiologue premier lecteur du cabinet : numéro RPPS ou identifiant."
    )
    l1 = L1InSerializer()
    lesions = LesionInSerializer(many=True, required=False, default=list)


class IngestFileSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(allow_null=True, read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    slot = serializers.SerializerMethodField()

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
            "sop_uid",
            "slot",
            "received_at",
            "processed_at",
        ]

    def get_slot(self, record) -> str:
        return record.instance.slot if record.instance_id else ""


class FileResultSerializer(serializers.Serializer):
    """One file of an upload: its record, or a refusal before any record (empty, too large…)."""

    id = serializers.IntegerField(allow_null=True)
    original_name = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    reason_code = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    slot = serializers.CharField(allow_blank=True)


class FilesUploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(), help_text="Un ou plusieurs fichiers DICOM (champ « files » répété)."
    )


class MissingViewSerializer(serializers.Serializer):
    slot = serializers.CharField()
    label = serializers.CharField()


class ExamSummarySerializer(serializers.ModelSerializer):
    programme_id = serializers.CharField(source="participant.programme_id", read_only=True)
    practice = serializers.CharField(source="practice.code", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Exam
        fields = [
            "id",
            "practice",
            "programme_id",
            "mammogram_date",
            "accession_number",
            "medium",
            "state",
            "state_label",
            "state_changed_at",
            "due_at",
            "submitted_at",
        ]


class ExamDetailSerializer(ExamSummarySerializer):
    state_reason = serializers.SerializerMethodField()
    missing_views = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()

    class Meta(ExamSummarySerializer.Meta):
        fields = [*ExamSummarySerializer.Meta.fields, "state_reason", "missing_views", "files"]

    def get_state_reason(self, exam) -> str:
        return "" if exam.state in HIDDEN_REASON_STATES else exam.state_reason  # readers stay anonymous

    @extend_schema_field(MissingViewSerializer(many=True))
    def get_missing_views(self, exam):
        if exam.medium != Exam.Medium.CONSOLE or exam.state not in OPEN_FOR_IMAGES:
            return []
        return [{"slot": slot, "label": VIEW_LABEL[slot]} for slot in missing_views(exam)]

    @extend_schema_field(IngestFileSerializer(many=True))
    def get_files(self, exam):
        files = exam.ingest_files.select_related("instance").order_by("received_at", "pk")
        return IngestFileSerializer(files, many=True).data
