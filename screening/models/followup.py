"""After a positive: deferred work-up (BDD), histology, treatment, interval cancers, reminders (R-FU-*).

Retakes of technically insufficient images live with the readings (readings/models/outcomes.py)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .l1 import ACR_CHOICES, Side


class WorkUpExam(models.TextChoices):
    MAMMO = "MAM", _("Mammographie complémentaire")
    ULTRASOUND = "ECH", _("Échographie")
    CYTOLOGY = "CYT", _("Cytoponction")
    MICROBIOPSY = "PMI", _("Microbiopsie")
    MACROBIOPSY = "PMA", _("Macrobiopsie")
    MRI = "IRM", _("IRM")
    SURGERY = "CHI", _("Chirurgie")
    OTHER = "AUT", _("Autre")


class WorkUp(models.Model):
    """A deferred work-up form (BDD), or an ACR 3 surveillance check, entered by the practice or from paper."""

    class Origin(models.TextChoices):
        POS_L2 = "POS_L2", _("Positif en seconde lecture")
        POS_L1 = "POS_L1", _("Positif en première lecture")
        SURV = "SURV", _("Surveillance ACR 3")

    class Source(models.TextChoices):
        PRACTICE = "PRACTICE", _("Saisi par le cabinet")
        PAPER = "PAPER", _("Saisi par le secrétariat (papier)")

    class Conduct(models.TextChoices):
        SCREENING = "DEP", _("Retour au dépistage")
        SURVEILLANCE = "SURV", _("Surveillance")
        BIOPSY = "BIO", _("Prélèvement histologique")
        SURGERY = "CHI", _("Chirurgie")

    exam = models.ForeignKey("screening.Exam", on_delete=models.PROTECT, related_name="work_ups")
    origin = models.CharField(_("origine"), max_length=6, choices=Origin.choices)
    radiologist_name = models.CharField(_("radiologue"), max_length=200)
    performed_on = models.DateField(_("date du bilan"))
    exams_done = models.JSONField(_("examens réalisés"), default=list)  # WorkUpExam codes
    acr_right = models.PositiveSmallIntegerField(_("ACR final sein droit"), choices=ACR_CHOICES)
    acr_left = models.PositiveSmallIntegerField(_("ACR final sein gauche"), choices=ACR_CHOICES)
    conduct = models.CharField(_("conduite à tenir"), max_length=4, choices=Conduct.choices)
    report = models.TextField(_("compte rendu"), blank=True)
    source = models.CharField(_("saisie"), max_length=8, choices=Source.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("bilan de diagnostic différé")
        verbose_name_plural = _("bilans de diagnostic différés")
        ordering = ["performed_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(acr_right__gte=1, acr_right__lte=5, acr_left__gte=1, acr_left__lte=5),
                name="work_up_final_acr_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"BDD {self.exam_id} {self.performed_on}"


class Histology(models.Model):
    """A pathology result for one breast (R-FU-1)."""

    class Nature(models.TextChoices):
        MALIGNANT = "MALIGNANT", _("Malin")
        BENIGN = "BENIGN", _("Bénin")

    class Invasiveness(models.TextChoices):
        NONE = "", _("—")
        IN_SITU = "INSITU", _("In situ")
        INVASIVE = "INVASIVE", _("Invasif")

    exam = models.ForeignKey("screening.Exam", on_delete=models.PROTECT, related_name="histologies")
    side = models.CharField(_("sein"), max_length=1, choices=Side.choices)
    sampled_on = models.DateField(_("date du prélèvement"))
    adicap = models.CharField(_("code ADICAP"), max_length=8, blank=True)
    adicap_2 = models.CharField(_("code ADICAP (2)"), max_length=8, blank=True)
    nature = models.CharField(_("nature"), max_length=9, choices=Nature.choices)
    invasiveness = models.CharField(_("invasion"), max_length=8, choices=Invasiveness.choices, blank=True)
    size_mm = models.PositiveSmallIntegerField(_("taille (mm)"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("grade SBR"), null=True, blank=True)
    pt = models.CharField(_("pT"), max_length=6, blank=True)
    pn = models.CharField(_("pN"), max_length=6, blank=True)
    m = models.CharField(_("M"), max_length=4, blank=True)
    er = models.BooleanField(_("RE positifs"), null=True, blank=True)
    pr = models.BooleanField(_("RP positifs"), null=True, blank=True)
    her2 = models.BooleanField(_("HER2 positif"), null=True, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("histologie")
        verbose_name_plural = _("histologies")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(nature="MALIGNANT") | ~models.Q(invasiveness=""),
                name="histology_malignant_has_invasiveness",
            ),
            models.CheckConstraint(
                condition=models.Q(grade__isnull=True) | models.Q(grade__gte=1, grade__lte=3),
                name="histology_grade_1_to_3",
            ),
        ]

    def __str__(self) -> str:
        return f"Histologie {self.exam_id} {self.side} {self.nature}"


class Treatment(models.Model):
    """Treatment dates of a cancer found by screening."""

    exam = models.OneToOneField("screening.Exam", on_delete=models.PROTECT, related_name="treatment")
    surgery_on = models.DateField(_("chirurgie"), null=True, blank=True)
    radiotherapy_on = models.DateField(_("radiothérapie"), null=True, blank=True)
    chemotherapy_on = models.DateField(_("chimiothérapie"), null=True, blank=True)
    hormonotherapy_on = models.DateField(_("hormonothérapie"), null=True, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("traitement")
        verbose_name_plural = _("traitements")

    def __str__(self) -> str:
        return f"Traitement {self.exam_id}"


class IntervalCancer(models.Model):
    """A cancer diagnosed between screening rounds after a negative exam."""

    exam = models.ForeignKey("screening.Exam", on_delete=models.PROTECT, related_name="interval_cancers")
    diagnosed_on = models.DateField(_("date du diagnostic"))
    side = models.CharField(_("sein"), max_length=1, choices=Side.choices)
    invasiveness = models.CharField(
        _("invasion"), max_length=8, choices=Histology.Invasiveness.choices, blank=True
    )
    size_mm = models.PositiveSmallIntegerField(_("taille (mm)"), null=True, blank=True)
    source = models.CharField(_("source de l'information"), max_length=200, blank=True)
    note = models.TextField(_("remarque"), blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cancer de l'intervalle")
        verbose_name_plural = _("cancers de l'intervalle")

    def __str__(self) -> str:
        return f"Cancer de l'intervalle {self.exam_id}"


class FollowUpReminder(models.Model):
    """One reminder sent for a positive with no news (R-FU-2): idempotent per exam and step."""

    exam = models.ForeignKey("screening.Exam", on_delete=models.PROTECT, related_name="follow_up_reminders")
    step = models.CharField(max_length=20)  # "D90", "D180", "M12"
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("relance de suivi")
        verbose_name_plural = _("relances de suivi")
        constraints = [models.UniqueConstraint(fields=["exam", "step"], name="uniq_follow_up_reminder_step")]

    def __str__(self) -> str:
        return f"{self.exam_id} {self.step}"
