"""Letters (domain spec §7): versioned templates the coordinator edits, and every letter produced, as a PDF."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LetterKind(models.TextChoices):
    NEG_F = "NEG-F", _("Résultat négatif — femme")
    NEG_M = "NEG-M", _("Résultat négatif — médecin")
    POS_M = "POS-M", _("Anomalie en seconde lecture — médecin")
    POS_F = "POS-F", _("Examens complémentaires — femme")
    POS_R = "POS-R", _("Anomalie en seconde lecture — radiologue L1")
    CTI_F = "CTI-F", _("Clichés à refaire — femme")
    CTI_R = "CTI-R", _("Clichés à refaire — cabinet")
    REM_CTI = "REM-CTI", _("Relance reprise")
    REM_FU = "REM-FU", _("Relance suivi (bilan, histologie)")


class RecipientKind(models.TextChoices):
    WOMAN = "WOMAN", _("La femme")
    GP = "GP", _("Médecin traitant")
    GYN = "GYN", _("Gynécologue")
    L1 = "L1", _("Radiologue premier lecteur")
    PRACTICE = "PRACTICE", _("Cabinet de radiologie")


class ParticipantDoctor(models.Model):
    """A doctor the woman named (GP, gynaecologist): results go to them too."""

    class Kind(models.TextChoices):
        GP = "GP", _("Médecin traitant")
        GYN = "GYN", _("Gynécologue")

    participant = models.ForeignKey("screening.Participant", on_delete=models.CASCADE, related_name="doctors")
    kind = models.CharField(_("type"), max_length=3, choices=Kind.choices)
    name = models.CharField(_("nom"), max_length=200)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    town = models.CharField(_("commune"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("médecin de la participante")
        verbose_name_plural = _("médecins de la participante")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} : {self.name}"


class LetterTemplate(models.Model):
    """One version of a letter's text (a Django template rendered to HTML, then PDF). Edits add a version."""

    kind = models.CharField(_("courrier"), max_length=8, choices=LetterKind.choices)
    version = models.PositiveIntegerField(_("version"))
    subject = models.CharField(_("objet"), max_length=200)
    body = models.TextField(_("texte"))
    active = models.BooleanField(_("en service"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("modèle de courrier")
        verbose_name_plural = _("modèles de courrier")
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="uniq_letter_template_version"),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(active=True), name="one_active_letter_template"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}"


class PrintBatch(models.Model):
    """Letters printed together for the post: one merged PDF, kept."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    pdf = models.FileField(upload_to="letters/batches/%Y/%m/", blank=True)
    letter_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("lot d'impression")
        verbose_name_plural = _("lots d'impression")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Lot {self.pk} ({self.letter_count})"


class Letter(models.Model):
    """One letter to one recipient about one exam; the PDF is archived with the exam once generated."""

    class Status(models.TextChoices):
        PLANNED = "PLANNED", _("Programmé")  # not before `not_before` (the woman's letter after the doctor's)
        READY = "READY", _("Prêt à imprimer")
        SENT = "SENT", _("Envoyé")
        CANCELLED = "CANCELLED", _("Annulé")

    exam = models.ForeignKey("screening.Exam", on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField(_("courrier"), max_length=8, choices=LetterKind.choices)
    template = models.ForeignKey(
        LetterTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="letters"
    )
    recipient_kind = models.CharField(_("destinataire"), max_length=10, choices=RecipientKind.choices)
    recipient_name = models.CharField(_("nom du destinataire"), max_length=200)
    recipient_address = models.TextField(_("adresse"), blank=True)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    not_before = models.DateTimeField(_("pas avant le"))
    due_at = models.DateField(_("à envoyer au plus tard le"), null=True, blank=True)
    pdf = models.FileField(upload_to="letters/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    print_batch = models.ForeignKey(
        PrintBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="letters"
    )
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Idempotency: the same event never plans the same letter twice (e.g. "CTI-R:round2", "REM-FU:90").
    event_key = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("courrier")
        verbose_name_plural = _("courriers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["exam", "event_key", "recipient_kind", "recipient_name"], name="uniq_letter_per_event"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "not_before"]),
            models.Index(fields=["exam", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_name} ({self.exam_id})"
