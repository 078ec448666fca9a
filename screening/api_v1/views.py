"""REST API v1 views: thin; every read is scoped to the caller's practice(s), every write goes to a service.

Authentication: practice token (`Authorization: Bearer <token>`) or the session of a practice user.
Errors: `{"code", "detail"}` (plus `errors` per field for invalid input), never a 500 for a refusal.
"""

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from screening.api_auth import PracticeTokenAuthentication, api_practice_ids, api_token
from screening.api_errors import exception_handler as base_exception_handler
from screening.models import AuditEvent, Exam, ExamState, IngestFile, Practice, PracticeRole, User
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.exams import exam_create, exam_submit, participant_get_or_create
from screening.services.ingest import UPLOAD_STATES, ingest_file_receive

from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
from .serializers import (
    ExamCreateSerializer,
    ExamDetailSerializer,
    ExamSummarySerializer,
    FileResultSerializer,
    FilesUploadSerializer,
    IngestFileSerializer,
)

OPEN_FOR_UPLOAD = UPLOAD_STATES  # retake states included (R-CTI-4)


def v1_exception_handler(exc, context):
    """Every error body carries a stable `code` and a French `detail`."""
    response = base_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "Données invalides : voir « errors » pour chaque champ.",
            "errors": exc.detail,
        }
    elif not (isinstance(response.data, dict) and "code" in response.data):
        codes = exc.get_codes() if isinstance(exc, APIException) else None
        code = codes if isinstance(codes, str) else "not_found" if isinstance(exc, Http404) else "error"
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"code": code, "detail": detail}
    return response


class V1View(APIView):
    authentication_classes = [PracticeTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get_exception_handler(self):
        return v1_exception_handler


def exams_in_scope(request: Request):
    return (
        Exam.objects.filter(practice_id__in=api_practice_ids(request))
        .select_related("participant", "practice")
        .order_by("-mammogram_date", "-pk")
    )


def exam_in_scope(request: Request, exam_id: int) -> Exam:
    exam = exams_in_scope(request).filter(pk=exam_id).first()
    if exam is None:
        raise Http404("Examen introuvable.")
    return exam


def _practice_for_create(request: Request, code: str) -> Practice:
    ids = api_practice_ids(request)
    if code:
        practice = Practice.objects.filter(code=code, pk__in=ids).first()
        if practice is None:
            raise ServiceError(
                "practice_unknown", f"Cabinet « {code} » inconnu ou non autorisé.", field="practice"
            )
        return practice
    if len(ids) > 1:
        raise ServiceError(
            "practice_required",
            "Vous êtes rattaché à plusieurs cabinets : précisez « practice » (code du cabinet).",
            field="practice",
        )
    return Practice.objects.get(pk=next(iter(ids)))


def _l1_radiologist(practice: Practice, ident: str) -> User:
    candidates = User.objects.filter(
        practice_memberships__practice=practice, practice_memberships__role=PracticeRole.L1_RADIOLOGIST
    ).distinct()
    ident = ident.strip()
    found = candidates.filter(rpps=ident).first() if ident.isdigit() else None
    found = found or candidates.filter(username=ident).first()
    if found is None:
        raise ServiceError(
            "l1_unknown",
            f"Radiologue premier lecteur « {ident} » inconnu dans ce cabinet (numéro RPPS ou identifiant).",
            field="l1_radiologist",
        )
    return found


STATE_PARAM = OpenApiParameter("state", str, enum=ExamState.values, description="État de l'examen.")
ACCESSION_PARAM = OpenApiParameter("accession_number", str, description="Numéro d'accession (exact).")
PROGRAMME_PARAM = OpenApiParameter("programme_id", str, description="Numéro de dépistage (exact).")


class ExamListCreate(V1View, generics.GenericAPIView):
    parser_classes = [JSONParser]
    serializer_class = ExamSummarySerializer

    def get_queryset(self):
        exams = exams_in_scope(self.request)
        params = self.request.query_params
        state = params.get("state", "")
        if state:
            if state not in ExamState.values:
                raise ServiceError("invalid_state", f"État inconnu : « {state} ».", field="state")
            exams = exams.filter(state=state)
        if params.get("accession_number"):
            exams = exams.filter(accession_number=params["accession_number"])
        if params.get("programme_id"):
            exams = exams.filter(participant__programme_id=params["programme_id"])
        return exams

    @extend_schema(
        summary="Lister les examens du cabinet",
        parameters=[STATE_PARAM, ACCESSION_PARAM, PROGRAMME_PARAM],
        responses=ExamSummarySerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ExamSummarySerializer(page, many=True).data)

    @extend_schema(
        summary="Créer un examen avec sa fiche L1",
        request=ExamCreateSerializer,
        responses={201: ExamDetailSerializer},
    )
    def post(self, request: Request) -> Response:
        data = ExamCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        data = data.validated_data
        practice = _practice_for_create(request, data.get("practice", "").strip())
        l1_radiologist = _l1_radiologist(practice, data["l1_radiologist"])
        with transaction.atomic():
            person = data["participant"]
            participant = participant_get_or_create(
                programme_id=person["programme_id"].strip(),
                last_name=person["last_name"].strip(),
                first_name=person["first_name"].strip(),
                birth_date=person["birth_date"],
            )
            exam = exam_create(
                actor=request.user,
                practice=practice,
                participant=participant,
                l1_radiologist=l1_radiologist,
                mammogram_date=data["mammogram_date"],
                l1=dict(data["l1"]),
                lesions=[dict(lesion) for lesion in data["lesions"]],
                accession_number=data["accession_number"].strip(),
                medium=data["medium"],
                equipment=data["equipment"],
            )
        exam = exam_in_scope(request, exam.pk)
        return Response(ExamDetailSerializer(exam).data, status=status.HTTP_201_CREATED)


class ExamDetail(V1View):
    @extend_schema(
        summary="État d'un examen, incidences manquantes et fichiers", responses=ExamDetailSerializer
    )
    def get(self, request: Request, exam_id: int) -> Response:
        return Response(ExamDetailSerializer(exam_in_scope(request, exam_id)).data)


def _receive_one(request: Request, exam: Exam, upload) -> dict:
    token = api_token(request)
    try:
        record = ingest_file_receive(
            practice=exam.practice,
            exam=exam,
            upload=upload,
            original_name=upload.name or "fichier.dcm",
            actor=request.user,
            source=IngestFile.Source.API,
            sender=token.name if token else "",
        )
    except ServiceError as error:  # this file only (empty, too large…): the others go on
        return {
            "id": None,
            "original_name": upload.name or "",
            "state": IngestFile.State.REFUSED,
            "state_label": IngestFile.State.REFUSED.label,
            "reason_code": error.code,
            "reason": error.message,
            "slot": "",
        }
    audit_record(
        actor=request.user, action=AuditEvent.Action.FILE_UPLOAD, exam=exam, object_ref=record.original_name
    )
    record.refresh_from_db()
    return IngestFileSerializer(record).data


class ExamFiles(V1View):
    parser_classes = [MultiPartParser]

    @extend_schema(summary="Fichiers reçus pour un examen", responses=IngestFileSerializer(many=True))
    def get(self, request: Request, exam_id: int) -> Response:
        exam = exam_in_scope(request, exam_id)
        files = exam.ingest_files.select_related("instance").order_by("received_at", "pk")
        return Response(IngestFileSerializer(files, many=True).data)

    @extend_schema(
        summary="Envoyer des images DICOM (une ou plusieurs)",
        request={"multipart/form-data": FilesUploadSerializer},
        responses={201: FileResultSerializer(many=True)},
    )
    def post(self, request: Request, exam_id: int) -> Response:
        exam = exam_in_scope(request, exam_id)
        uploads = request.FILES.getlist("files") + request.FILES.getlist("file")
        if not uploads:
            raise ServiceError("file_missing", "Aucun fichier reçu (champ « files »).", field="files")
        if exam.state not in OPEN_FOR_UPLOAD:
            raise ServiceError(
                "exam_closed_for_upload",
                f"L'examen est « {exam.get_state_display()} » : il n'accepte plus d'images.",
            )
        results = [_receive_one(request, exam, upload) for upload in uploads]
        if all(result["id"] is None for result in results):
            return Response(
                {"code": "files_refused", "detail": "Aucun fichier n'a pu être reçu.", "files": results},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(results, status=status.HTTP_201_CREATED)


class ExamSubmit(V1View):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Transmettre l'examen en seconde lecture", request=None, responses=ExamDetailSerializer
    )
    def post(self, request: Request, exam_id: int) -> Response:
        exam = exam_in_scope(request, exam_id)
        exam_submit(exam_id=exam.pk, actor=request.user)
        return Response(ExamDetailSerializer(exam_in_scope(request, exam_id)).data)
