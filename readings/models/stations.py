"""Declared reading stations (spec §9): a monitor + browser an administrator has enrolled for diagnostic reading.

The browser proves it is the station with a long-lived HttpOnly cookie holding a random token; only the token's
SHA-256 is stored, so a database dump cannot impersonate a station.
"""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReadingStation(models.Model):
    name = models.CharField(_("nom du poste"), max_length=80, unique=True)
    site = models.ForeignKey(
        "screening.ReadingSite",
        on_delete=models.PROTECT,
        related_name="stations",
        verbose_name=_("site de lecture"),
    )
    monitor_model = models.CharField(_("modèle d'écran"), max_length=120)
    screen_width = models.PositiveIntegerField(
        _("largeur d'écran (pixels physiques)"), validators=[MinValueValidator(640)]
    )
    screen_height = models.PositiveIntegerField(
        _("hauteur d'écran (pixels physiques)"), validators=[MinValueValidator(480)]
    )
    device_pixel_ratio = models.DecimalField(
        _("devicePixelRatio du navigateur"),
        max_digits=4,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0.5), MaxValueValidator(4)],
        help_text=_("1 pour un écran médical usuel ; le facteur d'échelle du système d'exploitation sinon."),
    )
    calibrated_on = models.DateField(_("étalonnage GSDF le"), null=True, blank=True)
    calibration_validity_days = models.PositiveIntegerField(
        _("validité de l'étalonnage (jours)"), default=365, validators=[MinValueValidator(1)]
    )
    qa_on = models.DateField(_("dernier contrôle qualité le"), null=True, blank=True)
    qa_validity_days = models.PositiveIntegerField(
        _("validité du contrôle qualité (jours)"), default=365, validators=[MinValueValidator(1)]
    )
    active = models.BooleanField(_("actif"), default=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    enrolled_at = models.DateTimeField(_("navigateur enrôlé le"), null=True, blank=True, editable=False)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("enrôlé par"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("poste de lecture déclaré")
        verbose_name_plural = _("postes de lecture déclarés")
        ordering = ["site__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})"

    @property
    def calibration_due(self) -> dt.date | None:
        if self.calibrated_on is None:
            return None
        return self.calibrated_on + dt.timedelta(days=self.calibration_validity_days)

    @property
    def qa_due(self) -> dt.date | None:
        if self.qa_on is None:
            return None
        return self.qa_on + dt.timedelta(days=self.qa_validity_days)
