"""L2 readings (immutable once final), their findings and CTI items, and discordances."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from screening.models.l1 import LesionType, Quadrant, Side

L2_ACR_CHOICES = [(1, "1"), (2, "2"), (0, "0"), (3, "3"), (4, "4"), (5, "5")]


class L2Reading(models.Model):
    class Verdict(models.TextChoices):
        NORMAL = "NORMAL", _("Normal")
        ANOMALY = "ANOMALY", _("Anomalie")
        CTI = "CTI", _("Clichés techniquement insuffisants")

    class Status(models.TextChoices):
        # F8 d: a verdict is provisional during the undo window, then final; a withdrawn one is kept.
        PROVISIONAL = "PROVISIONAL", _("Provisoire (annulable)")
        FINAL = "FINAL", _("Définitive")
        WITHDRAWN = "WITHDRAWN", _("Annulée par le lecteur")

    class Purpose(models.TextChoices):
        L2 = "L2", _("Seconde lecture")
        ARBITRATION = "ARBITRATION", _("Arbitrage (troisième lecture)")
        CTI_CONFIRMATION = "CTI_CONFIRM", _("Confirmation d'un CTI")

    exam = models.ForeignKey("screening.Exam", on_delete=models.PROTECT, related_name="l2_readings")
    purpose = models.CharField(_("objet"), max_length=12, choices=Purpose.choices, default=Purpose.L2)
    # §5 BLIND_THEN_REVEAL: the opinion given before the L1 form was shown, kept when the reader changes it.
    opinion_blind = models.JSONField(_("avis en aveugle"), default=dict, blank=True)
    revealed_at = models.DateTimeField(_("fiche L1 dévoilée le"), null=True, blank=True)
    # Film exams: the secretariat may key in the result for the named reader (§4 film exams).
    medium = models.CharField(_("support lu"), max_length=10, default="CONSOLE")
    keyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("saisi par"),
    )
    assignment = models.ForeignKey(
        "readings.Assignment", null=True, blank=True, on_delete=models.PROTECT, related_name="readings"
    )
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="l2_readings")
    l1_radiologist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey("screening.ReadingSite", on_delete=models.PROTECT, related_name="+")
    reading_round = models.PositiveSmallIntegerField(default=1)
    verdict = models.CharField(_("verdict"), max_length=8, choices=Verdict.choices)
    acr_right = models.PositiveSmallIntegerField(_("ACR sein droit"), choices=L2_ACR_CHOICES)
    acr_left = models.PositiveSmallIntegerField(_("ACR sein gauche"), choices=L2_ACR_CHOICES)
    proposed_exams = models.CharField(_("examens proposés"), max_length=300, blank=True)
    comment = models.TextField(_("commentaire pour le L1"), blank=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    correction_reason = models.TextField(blank=True)
    reading_seconds = models.PositiveIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    client_uuid = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(_("statut"), max_length=12, choices=Status.choices, default=Status.FINAL)
    final_at = models.DateTimeField(_("définitive à"), null=True, blank=True)  # server clock decides
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(_("temps de lecture (F9)"), default=dict, blank=True)
    # §9: the station status the server evaluated when the verdict arrived; None = not recorded (older rows).
    station_diagnostic = models.BooleanField(_("poste diagnostique"), null=True, blank=True)
    station_status = models.JSONField(_("état du poste de lecture"), default=dict, blank=True)

    class Meta:
        verbose_name = _("seconde lecture")
        verbose_name_plural = _("secondes lectures")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reader=models.F("l1_radiologist")), name="l2_reading_reader_not_l1"
            ),
            models.CheckConstraint(
                condition=models.Q(acr_right__lte=5, acr_left__lte=5), name="l2_reading_acr_range"
            ),
            # One live verdict per assignment: a double key press can never record two.
            models.UniqueConstraint(
                fields=["assignment"],
                condition=~models.Q(status="WITHDRAWN") & models.Q(assignment__isnull=False),
                name="one_live_reading_per_assignment",
            ),
        ]
        indexes = [
            models.Index(fields=["exam", "submitted_at"]),
            models.Index(fields=["status", "final_at"]),
        ]

    def __str__(self) -> str:
        return f"L2 {self.exam_id} {self.verdict}"

    @property
    def is_positive(self) -> bool:
        return self.verdict == self.Verdict.ANOMALY


class FindingDepth(models.TextChoices):
    ANTERIOR = "ANT", _("antérieur")
    MIDDLE = "MOY", _("moyen")
    POSTERIOR = "POST", _("postérieur")


class L2Finding(models.Model):
    """One anomaly marked by the second reader on one breast."""

    reading = models.ForeignKey(L2Reading, on_delete=models.PROTECT, related_name="findings")
    side = models.CharField(_("sein"), max_length=1, choices=Side.choices)
    lesion_type = models.CharField(_("type"), max_length=1, choices=LesionType.choices)
    quadrant = models.CharField(_("localisation"), max_length=4, choices=Quadrant.choices)
    clock = models.PositiveSmallIntegerField(_("rayon horaire"), null=True, blank=True)
    # Thirds of the nipple → chest-wall distance, from the marks (spec §7).
    depth = models.CharField(_("profondeur"), max_length=4, choices=FindingDepth.choices, blank=True)
    acr = models.PositiveSmallIntegerField(_("ACR"), choices=[(0, "0"), (3, "3"), (4, "4"), (5, "5")])
    size_mm = models.PositiveSmallIntegerField(_("taille (mm)"), null=True, blank=True)
    marks = models.JSONField(default=list, blank=True)  # [{sop_uid, x, y}] in stored-pixel coordinates
    comment = models.CharField(_("commentaire"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("anomalie L2")
        verbose_name_plural = _("anomalies L2")

    def __str__(self) -> str:
        return f"{self.side} {self.lesion_type} ACR {self.acr}"


class CtiItem(models.Model):
    """One technically insufficient view: breast, view, reason, action (R-CTI-1)."""

    class Reason(models.TextChoices):
        POS = "POS", _("Positionnement / glande incomplètement dégagée")
        CMP = "CMP", _("Compression")
        FLO = "FLO", _("Flou cinétique")
        EXP = "EXP", _("Exposition")
        ART = "ART", _("Artéfact")
        MIS = "MIS", _("Incidence manquante")
        IMP = "IMP", _("Impression (film)")
        TRF = "TRF", _("Transmission")

    class Action(models.TextChoices):
        REF = "REF", _("Refaire l'incidence")
        REI = "REI", _("Réimprimer")
        REN = "REN", _("Renvoyer l'image")

    class View(models.TextChoices):
        CC = "CC", _("Face (CC)")
        MLO = "MLO", _("Oblique externe (MLO)")

    reading = models.ForeignKey(L2Reading, on_delete=models.PROTECT, related_name="cti_items")
    side = models.CharField(_("sein"), max_length=1, choices=Side.choices)
    view = models.CharField(_("incidence"), max_length=4, choices=View.choices)
    reason = models.CharField(_("motif"), max_length=3, choices=Reason.choices)
    action = models.CharField(_("action"), max_length=3, choices=Action.choices, default=Action.REF)
    instructions = models.CharField(_("consignes"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("cliché insuffisant")
        verbose_name_plural = _("clichés insuffisants")

    def __str__(self) -> str:
        return f"{self.side} {self.view} {self.reason}"


class Discordance(models.Model):
    """An exam whose L2 outcome differs from the L1 one: L1 negative / L2 positive, or a CTI."""

    class Kind(models.TextChoices):
        L2_POSITIVE = "L2_POSITIVE", _("L1 négative / L2 positive")
        CTI = "CTI", _("Clichés techniquement insuffisants")

    class Status(models.TextChoices):
        OPEN = "OPEN", _("À suivre")
        CLOSED = "CLOSED", _("Close")

    exam = models.ForeignKey("screening.Exam", on_delete=models.PROTECT, related_name="discordances")
    reading = models.OneToOneField(L2Reading, on_delete=models.PROTECT, related_name="discordance")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    l1_summary = models.CharField(max_length=200)
    l2_summary = models.CharField(max_length=300)
    opened_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("discordance")
        verbose_name_plural = _("discordances")
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"{self.exam_id} {self.kind}"
