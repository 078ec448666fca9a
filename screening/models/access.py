"""How practices' software and modalities authenticate: API tokens and registered DICOM nodes."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PracticeApiToken(models.Model):
    """A per-practice API token (REST and DICOMweb). Only its SHA-256 is stored; revocable in the admin."""

    practice = models.ForeignKey("screening.Practice", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("nom"), max_length=100)
    key_prefix = models.CharField(_("début de la clé"), max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)

    class Meta:
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")

    def __str__(self) -> str:
        return f"{self.practice.code} — {self.name} ({self.key_prefix}…)"


class DicomNode(models.Model):
    """A practice's modality or PACS allowed to send by DICOM C-STORE, by calling AE title (and address)."""

    practice = models.ForeignKey("screening.Practice", on_delete=models.CASCADE, related_name="dicom_nodes")
    ae_title = models.CharField(_("AE title appelant"), max_length=16)
    host = models.GenericIPAddressField(_("adresse IP (facultative)"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    active = models.BooleanField(_("actif"), default=True)

    class Meta:
        verbose_name = _("nœud DICOM")
        verbose_name_plural = _("nœuds DICOM")
        constraints = [models.UniqueConstraint(fields=["ae_title", "host"], name="uniq_dicom_node_ae_host")]

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host or '*'} → {self.practice.code}"
