"""Double-reading policies (domain spec §5): versioned switches; an exam keeps the policy it was submitted under."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReadingPolicy(models.Model):
    """One version of the centre's double-reading policy. Never edited once used: a change is a new version."""

    class Scope(models.TextChoices):
        L1_NEGATIVE_ONLY = "L1_NEGATIVE_ONLY", _("L1 négatives seulement")
        ALL = "ALL", _("Toutes les mammographies")

    class Blinding(models.TextChoices):
        OPEN = "OPEN", _("Ouverte (fiche L1 visible)")
        BLIND = "BLIND", _("En aveugle")
        BLIND_THEN_REVEAL = "BLIND_THEN_REVEAL", _("En aveugle puis dévoilée")

    class RecallRule(models.TextChoices):
        EITHER_POSITIVE = "EITHER_POSITIVE", _("Rappel si une lecture est positive")
        BOTH_POSITIVE = "BOTH_POSITIVE", _("Rappel si les deux lectures sont positives")
        RESOLUTION_DECIDES = "RESOLUTION_DECIDES", _("La résolution décide")

    class Resolution(models.TextChoices):
        NONE = "NONE", _("Aucune")
        ARBITRATION = "ARBITRATION", _("Arbitrage par un troisième lecteur")
        CONSENSUS_MEETING = "CONSENSUS_MEETING", _("Réunion de consensus")
        CONSULT_THEN_PANEL = "CONSULT_THEN_PANEL", _("Concertation puis comité")

    class ConsensusTrigger(models.TextChoices):
        READER_REQUEST = "READER_REQUEST", _("À la demande du lecteur")
        DISCORDANT = "DISCORDANT", _("Lectures discordantes")
        ANY_POSITIVE = "ANY_POSITIVE", _("Toute lecture positive")

    class CtiConsensus(models.TextChoices):
        OFF = "OFF", _("Non")
        OPTIONAL = "OPTIONAL", _("Facultatif")
        REQUIRED = "REQUIRED", _("Obligatoire")

    class TieBreak(models.TextChoices):
        POSITIVE_WINS = "POSITIVE_WINS", _("Le positif l'emporte")
        COORDINATOR = "COORDINATOR", _("Le médecin coordinateur tranche")

    version = models.CharField(_("version"), max_length=40, unique=True)
    name = models.CharField(_("nom"), max_length=120)
    scope = models.CharField(_("périmètre"), max_length=20, choices=Scope.choices)
    blinding = models.CharField(_("lecture"), max_length=20, choices=Blinding.choices)
    recall_rule = models.CharField(_("règle de rappel"), max_length=20, choices=RecallRule.choices)
    resolution = models.CharField(_("résolution des discordances"), max_length=20, choices=Resolution.choices)
    consensus_trigger = models.CharField(
        _("déclenchement du consensus"), max_length=20, choices=ConsensusTrigger.choices
    )
    cti_consensus = models.CharField(_("consensus pour les CTI"), max_length=10, choices=CtiConsensus.choices)
    concordant_positive_review = models.BooleanField(_("revue des rappels concordants"), default=False)
    consensus_tie_break = models.CharField(
        _("sans accord"), max_length=16, choices=TieBreak.choices, default=TieBreak.POSITIVE_WINS
    )
    # Exams submitted from this moment on take this policy (the latest one whose start has passed).
    active_from = models.DateTimeField(_("s'applique aux examens transmis à partir du"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("politique de double lecture")
        verbose_name_plural = _("politiques de double lecture")
        ordering = ["-active_from"]

    def __str__(self) -> str:
        return f"{self.name} ({self.version})"
