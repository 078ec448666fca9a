"""The first reader's form (fiche d'interprétation L1)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

ACR_CHOICES = [
    (0, _("ACR 0 — bilan nécessaire (provisoire)")),
    (1, _("ACR 1 — normal")),
    (2, _("ACR 2 — bénin")),
    (3, _("ACR 3 — probablement bénin")),
    (4, _("ACR 4 — suspect")),
    (5, _("ACR 5 — évocateur de cancer")),
]


class Side(models.TextChoices):
    RIGHT = "D", _("Sein droit")
    LEFT = "G", _("Sein gauche")


class Density(models.TextChoices):
    A = "A", _("A — graisseux")
    B = "B", _("B — fibroglandulaire épars")
    C = "C", _("C — dense hétérogène")
    D = "D", _("D — extrêmement dense")


class LesionType(models.TextChoices):
    A = "A", _("A — opacité spiculée")
    B = "B", _("B — opacité non spiculée")
    C = "C", _("C — microcalcifications")
    D = "D", _("D — opacité + microcalcifications")
    E = "E", _("E — distorsion architecturale")
    F = "F", _("F — asymétrie focale")
    G = "G", _("G — autre")


class Quadrant(models.TextChoices):
    QSE = "QSE", _("Quadrant supéro-externe")
    QSI = "QSI", _("Quadrant supéro-interne")
    QIE = "QIE", _("Quadrant inféro-externe")
    QII = "QII", _("Quadrant inféro-interne")
    USUP = "USUP", _("Union des quadrants supérieurs")
    UINF = "UINF", _("Union des quadrants inférieurs")
    UEXT = "UEXT", _("Union des quadrants externes")
    UINT = "UINT", _("Union des quadrants internes")
    RA = "RA", _("Rétro-aréolaire")
    PA = "PA", _("Prolongement axillaire")


class ClinicalExam(models.TextChoices):
    NORMAL = "N", _("Normal")
    ABNORMAL = "A", _("Anormal")
    REFUSED = "R", _("Refusé")
    NOT_DONE = "X", _("Non fait")


class BdiComponent(models.TextChoices):
    PRO = "PRO", _("Profil strict")
    AGR = "AGR", _("Agrandissements")
    ECH = "ECH", _("Échographie")
    CYT = "CYT", _("Cytoponction")


class Conduct(models.TextChoices):
    NONE = "", _("Dépistage à 2 ans")
    S06 = "S06", _("Surveillance à 6 mois")
    S12 = "S12", _("Surveillance à 12 mois")
    PCY = "PCY", _("Cytoponction")
    PMI = "PMI", _("Microbiopsie")
    PMA = "PMA", _("Macrobiopsie")
    IRM = "IRM", _("IRM")
    AUT = "AUT", _("Autre")


class L1Form(models.Model):
    """The L1 fiche: history, clinical exam, density, ACR per breast, immediate work-up (BDI), conduct."""

    exam = models.OneToOneField("screening.Exam", on_delete=models.CASCADE, related_name="l1_form")
    # History
    first_participation = models.BooleanField(_("première participation"), default=False)
    hormone_therapy = models.BooleanField(_("traitement hormonal substitutif"), default=False)
    breast_cancer_history = models.BooleanField(_("antécédent personnel de cancer du sein"), default=False)
    implants = models.BooleanField(_("prothèses mammaires"), default=False)
    benign_surgery = models.BooleanField(_("chirurgie mammaire bénigne"), default=False)
    family_history = models.BooleanField(_("antécédents familiaux"), default=False)
    high_risk = models.BooleanField(_("haut risque déclaré"), default=False)
    # Clinical breast exam (R-DATA-1: always recorded)
    clinical_exam = models.CharField(
        _("examen clinique des seins"), max_length=1, choices=ClinicalExam.choices
    )
    clinical_findings = models.TextField(_("anomalies cliniques"), blank=True)
    # Technique
    density = models.CharField(_("densité mammaire"), max_length=1, choices=Density.choices)
    # Initial (pre-BDI) assessment
    acr_initial_right = models.PositiveSmallIntegerField(_("ACR initial sein droit"), choices=ACR_CHOICES)
    acr_initial_left = models.PositiveSmallIntegerField(_("ACR initial sein gauche"), choices=ACR_CHOICES)
    # Immediate work-up (BDI)
    bdi_done = models.BooleanField(_("bilan de diagnostic immédiat réalisé"), default=False)
    bdi_components = models.JSONField(_("composantes du BDI"), default=list, blank=True)
    bdi_refused_by_woman = models.BooleanField(_("BDI refusé par la femme"), default=False)
    # Final assessment, after any BDI
    acr_final_right = models.PositiveSmallIntegerField(_("ACR final sein droit"), choices=ACR_CHOICES)
    acr_final_left = models.PositiveSmallIntegerField(_("ACR final sein gauche"), choices=ACR_CHOICES)
    conduct = models.CharField(_("conduite à tenir"), max_length=4, choices=Conduct.choices, blank=True)
    comment = models.TextField(_("commentaire"), blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(_("signée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("fiche L1")
        verbose_name_plural = _("fiches L1")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(acr_final_right__lte=5, acr_final_left__lte=5),
                name="l1_acr_final_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Fiche L1 de l'examen {self.exam_id}"

    @property
    def final_acrs(self) -> tuple[int, int]:
        return (self.acr_final_right, self.acr_final_left)


class L1Lesion(models.Model):
    """A lesion described by the first reader, before (INITIAL) or after (BDI) the immediate work-up."""

    class Phase(models.TextChoices):
        INITIAL = "INITIAL", _("Avant bilan")
        BDI = "BDI", _("Après bilan immédiat")

    l1_form = models.ForeignKey(L1Form, on_delete=models.CASCADE, related_name="lesions")
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.INITIAL)
    side = models.CharField(_("sein"), max_length=1, choices=Side.choices)
    lesion_type = models.CharField(_("type de lésion"), max_length=1, choices=LesionType.choices)
    quadrant = models.CharField(_("localisation"), max_length=4, choices=Quadrant.choices, blank=True)
    clock = models.PositiveSmallIntegerField(_("rayon horaire"), null=True, blank=True)

    class Meta:
        verbose_name = _("lésion L1")
        verbose_name_plural = _("lésions L1")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(clock__isnull=True) | models.Q(clock__gte=1, clock__lte=12),
                name="l1_lesion_clock_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_side_display()} {self.get_lesion_type_display()}"
