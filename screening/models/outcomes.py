"""The outcome of each exam as a reporting row (domain spec §3 GlobalResult, §6 indicators).

Written only by the outcome services, in the same transaction as the event it reflects, so the quality
indicators are plain SQL aggregations over `Exam ⋈ ExamOutcome` (one row per exam, indexed), never a replay
of the history.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class GlobalResult(models.TextChoices):
    PENDING = "PENDING", _("En cours")
    NEG = "NEG", _("Négatif")
    POS_L1 = "POS_L1", _("Positif en première lecture")
    POS_L2 = "POS_L2", _("Positif en seconde lecture")
    CTI = "CTI", _("Clichés techniquement insuffisants")


class ClosedReason(models.TextChoices):
    NEGATIVE = "NEGATIVE", _("Négatif")
    FALSE_POSITIVE = "FALSE_POSITIVE", _("Faux positif")
    CANCER = "CANCER", _("Cancer")
    BENIGN = "BENIGN", _("Bénin")
    SURVEILLANCE_DONE = "SURVEILLANCE_DONE", _("Surveillance terminée")
    CTI_REFUSED = "CTI_REFUSED", _("Reprise refusée")
    CTI_OVERDUE = "CTI_OVERDUE", _("Reprise hors délai")


class ExamOutcome(models.Model):
    """One row per exam that left intake: the facts the indicators count, with their dates."""

    exam = models.OneToOneField(
        "screening.Exam", primary_key=True, on_delete=models.CASCADE, related_name="outcome"
    )
    # Copies of the exam's fixed facts, so each indicator is one scan of this table (2 M rows: benchmark).
    mammogram_date = models.DateField()
    practice = models.ForeignKey("screening.Practice", on_delete=models.PROTECT, related_name="+")
    l1_radiologist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    medium = models.CharField(max_length=10)
    first_round = models.BooleanField(default=False)
    policy_version = models.CharField(_("politique appliquée"), max_length=40)
    global_result = models.CharField(
        _("résultat global"), max_length=8, choices=GlobalResult.choices, default=GlobalResult.PENDING
    )
    # L1 side (QI-01): ACR 0/3/4/5 before the BDI, and positive after it (R-SCOPE-2).
    l1_positive_initial = models.BooleanField(default=False)
    l1_positive_final = models.BooleanField(default=False)
    # L2 side: the deciding (final, latest round) second reading.
    l2_read_at = models.DateTimeField(null=True, blank=True)
    l2_reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    l2_site = models.ForeignKey(
        "screening.ReadingSite", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    l2_positive = models.BooleanField(default=False)
    l2_cti = models.BooleanField(default=False)
    l2_rounds = models.PositiveSmallIntegerField(default=0)
    discordant = models.BooleanField(default=False)
    resolved_by = models.CharField(_("résolu par"), max_length=20, blank=True)  # ARBITRATION, CONSENSUS…
    recalled = models.BooleanField(_("rappelée pour bilan"), default=False)
    # Letters and follow-up dates (QI-08, QI-10).
    submitted_at = models.DateTimeField(null=True, blank=True)
    result_sent_at = models.DateTimeField(_("résultat envoyé le"), null=True, blank=True)
    doctor_letter_at = models.DateTimeField(null=True, blank=True)
    woman_letter_at = models.DateTimeField(null=True, blank=True)
    cti_letter_at = models.DateTimeField(null=True, blank=True)
    retake_received_at = models.DateTimeField(null=True, blank=True)
    bdd_received_at = models.DateTimeField(null=True, blank=True)
    lost_at = models.DateTimeField(_("perdue de vue le"), null=True, blank=True)  # the flag stays
    # Diagnosis (QI-06, QI-07, QI-13): None = not known yet.
    cancer = models.BooleanField(null=True, blank=True)
    cancer_in_situ = models.BooleanField(null=True, blank=True)
    cancer_size_mm = models.PositiveSmallIntegerField(null=True, blank=True)
    cancer_node_negative = models.BooleanField(null=True, blank=True)
    interval_cancer = models.BooleanField(default=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=20, choices=ClosedReason.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("résultat d'examen")
        verbose_name_plural = _("résultats d'examens")
        indexes = [
            models.Index(fields=["mammogram_date"]),
            models.Index(fields=["practice", "mammogram_date"]),
            models.Index(fields=["l1_radiologist", "mammogram_date"]),
            models.Index(fields=["l2_reader", "l2_read_at"]),
            models.Index(
                fields=["l2_read_at"], name="examoutcome_l2_read_at"
            ),  # QI-11 volumes by reading date
            models.Index(fields=["l2_site", "l2_read_at"]),
            models.Index(fields=["global_result"]),
        ]

    def __str__(self) -> str:
        return f"{self.exam_id}: {self.global_result}"
