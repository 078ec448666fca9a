from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Append-only record of every view of patient data or images, and of sensitive actions."""

    class Action(models.TextChoices):
        EXAM_VIEW = "EXAM_VIEW", _("Consultation d'un examen")
        IMAGE_VIEW = "IMAGE_VIEW", _("Affichage d'une image")
        READING_OPEN = "READING_OPEN", _("Ouverture en seconde lecture")
        DASHBOARD_VIEW = "DASHBOARD_VIEW", _("Consultation du tableau de bord")
        FILE_UPLOAD = "FILE_UPLOAD", _("Envoi d'un fichier")
        QUEUE_CHANGE = "QUEUE_CHANGE", _("Modification de la file L2 (urgence, lot, attribution)")
        STATION_ENROL = "STATION_ENROL", _("Enrôlement d'un poste de lecture")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=30, choices=Action.choices)
    exam = models.ForeignKey(
        "screening.Exam", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_ref = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("trace d'accès")
        verbose_name_plural = _("traces d'accès")
        ordering = ["-at"]
        indexes = [models.Index(fields=["exam", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_ref}"
