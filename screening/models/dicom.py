"""DICOM objects as received. Identity is the UIDs, unique from the first migration (ADR 0003)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DicomStudy(models.Model):
    study_uid = models.CharField(_("Study Instance UID"), max_length=64, unique=True)
    practice = models.ForeignKey("screening.Practice", on_delete=models.PROTECT, related_name="studies")
    exam = models.ForeignKey(
        "screening.Exam", null=True, blank=True, on_delete=models.PROTECT, related_name="studies"
    )
    patient_id = models.CharField(max_length=64, blank=True)
    patient_name = models.CharField(max_length=200, blank=True)
    patient_birth_date = models.CharField(max_length=8, blank=True)
    study_date = models.CharField(max_length=8, blank=True)
    accession_number = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("étude DICOM")
        verbose_name_plural = _("études DICOM")

    def __str__(self) -> str:
        return self.study_uid


class DicomSeries(models.Model):
    series_uid = models.CharField(_("Series Instance UID"), max_length=64, unique=True)
    study = models.ForeignKey(DicomStudy, on_delete=models.CASCADE, related_name="series")
    modality = models.CharField(max_length=16)
    series_description = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("série DICOM")
        verbose_name_plural = _("séries DICOM")

    def __str__(self) -> str:
        return self.series_uid


class DicomInstance(models.Model):
    """One stored original image. The file is never overwritten; renditions derive from it."""

    sop_uid = models.CharField(_("SOP Instance UID"), max_length=64, unique=True)
    series = models.ForeignKey(DicomSeries, on_delete=models.CASCADE, related_name="instances")
    # Null while the study waits in the practice's inbox, unmatched.
    exam = models.ForeignKey(
        "screening.Exam", null=True, blank=True, on_delete=models.PROTECT, related_name="instances"
    )
    sop_class_uid = models.CharField(max_length=64)
    transfer_syntax_uid = models.CharField(max_length=64)
    laterality = models.CharField(_("latéralité"), max_length=1, blank=True)  # R / L
    view = models.CharField(_("incidence"), max_length=8, blank=True)  # CC, MLO, ML…
    view_modifiers = models.JSONField(default=list, blank=True)
    slot = models.CharField(_("emplacement standard"), max_length=4, blank=True)  # RCC, LCC, RMLO, LMLO
    is_default_for_slot = models.BooleanField(default=False)
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    bits_stored = models.PositiveSmallIntegerField()
    photometric = models.CharField(max_length=16)
    pixel_spacing_mm = models.FloatField(null=True, blank=True)
    patient_orientation = models.CharField(max_length=16, blank=True)
    flip_horizontal = models.BooleanField(default=False)
    flip_vertical = models.BooleanField(default=False)
    flags = models.JSONField(default=list, blank=True)  # e.g. "rotation", "orientation_unknown", "lossy"
    # Breast bounding box as fractions of the stored image [x0, y0, x1, y1], for fit-to-breast (H6/H7).
    breast_box = models.JSONField(null=True, blank=True)
    lossy = models.BooleanField(default=False)
    acquisition_datetime = models.CharField(max_length=26, blank=True)
    instance_number = models.IntegerField(null=True, blank=True)
    file = models.CharField(max_length=300)  # path in default storage
    sha256 = models.CharField(max_length=64, db_index=True)
    # SHA-256 of the dataset without its file header: the same image sent by two routes has the same one.
    content_sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField()
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("image DICOM")
        verbose_name_plural = _("images DICOM")
        indexes = [models.Index(fields=["exam", "slot"])]

    def __str__(self) -> str:
        return f"{self.slot or self.view} {self.sop_uid}"


class Rendition(models.Model):
    """A derived image, rebuilt from the original at will: 8-bit previews, and the lossless HTJ2K frame the
    reading workstation decodes (same stored values as the original; `pixel_sha256` proves it)."""

    class Kind(models.TextChoices):
        DISPLAY = "DISPLAY", _("Affichage")
        THUMBNAIL = "THUMB", _("Vignette")
        PREVIEW = "PREVIEW", _("Aperçu WebP")
        HTJ2K = "HTJ2K", _("Trame HTJ2K sans perte")

    instance = models.ForeignKey(DicomInstance, on_delete=models.CASCADE, related_name="renditions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.CharField(max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    window_center = models.FloatField()
    window_width = models.FloatField()
    # HTJ2K only: SHA-256 of the stored pixel values (little-endian, as decoded) and the instance's DICOM JSON
    # header (no pixel data), served inline in the case JSON and by WADO-RS /metadata.
    pixel_sha256 = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rendu d'affichage")
        verbose_name_plural = _("rendus d'affichage")
        constraints = [models.UniqueConstraint(fields=["instance", "kind"], name="uniq_rendition_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.instance_id}"


class IngestFile(models.Model):
    """One received file, from staging to accepted / refused, with a stable code and a French reason."""

    class State(models.TextChoices):
        RECEIVED = "RECEIVED", _("Reçu, en attente de contrôle")
        ACCEPTED = "ACCEPTED", _("Accepté")
        DUPLICATE = "DUPLICATE", _("Déjà reçu (doublon sans effet)")
        IGNORED = "IGNORED", _("Conservé hors lecture")
        REFUSED = "REFUSED", _("Refusé")
        QUARANTINED = "QUARANTINE", _("En quarantaine (conflit d'identifiant)")

    class Source(models.TextChoices):
        BROWSER = "BROWSER", _("Navigateur")
        API = "API", _("API REST")
        STOW = "STOW", _("DICOMweb STOW-RS")
        CSTORE = "CSTORE", _("DICOM C-STORE")
        IMPORT = "IMPORT", _("Import de dossier")

    practice = models.ForeignKey("screening.Practice", on_delete=models.CASCADE, related_name="ingest_files")
    exam = models.ForeignKey(
        "screening.Exam", null=True, blank=True, on_delete=models.CASCADE, related_name="ingest_files"
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.BROWSER)
    sender = models.CharField(_("émetteur"), max_length=100, blank=True)  # AE title, token name
    study_uid = models.CharField(max_length=64, blank=True)
    sop_uid = models.CharField(max_length=64, blank=True, db_index=True)
    original_name = models.CharField(_("nom du fichier"), max_length=255)
    staged_path = models.CharField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64)
    content_sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    reason_code = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)
    instance = models.ForeignKey(
        DicomInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("fichier reçu")
        verbose_name_plural = _("fichiers reçus")
        ordering = ["received_at", "pk"]
        indexes = [models.Index(fields=["state", "received_at"])]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.state})"
