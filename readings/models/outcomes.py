"""What follows a verdict on the reading side: retakes (R-CTI-3..5), consensus / arbitration (§5), and the
lightbox sessions of film exams (§4 film exams)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .reading import L2Reading


class Retake(models.Model):
    """The retake asked by a CTI verdict (R-CTI-3..5): letters, reminder, overdue, receipt or written refusal."""

    class Refusal(models.TextChoices):
        NONE = "", _("—")
        L1 = "L1", _("Refus du radiologue L1")
        WOMAN = "WOMAN", _("Refus de la femme")

    exam = models.ForeignKey("screening.Exam", on_delete=models.PROTECT, related_name="retakes")
    reading = models.OneToOneField(
        L2Reading, on_delete=models.PROTECT, related_name="retake", verbose_name=_("lecture CTI")
    )
    requested_at = models.DateTimeField(_("courriers CTI envoyés le"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("relance envoyée le"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("hors délai le"), null=True, blank=True)
    received_at = models.DateTimeField(_("reprise reçue le"), null=True, blank=True)
    refusal = models.CharField(_("refus"), max_length=6, choices=Refusal.choices, blank=True)
    refusal_statement = models.FileField(_("refus écrit"), upload_to="retakes/refusals/%Y/", blank=True)
    refusal_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refused_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reprise de clichés")
        verbose_name_plural = _("reprises de clichés")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Reprise {self.exam_id}"


class Consensus(models.Model):
    """A consensus of L2 readers, an arbitration or a meeting decision on one exam (§5, R-ORG-1, R-CTI-2)."""

    class Trigger(models.TextChoices):
        READER = "READER", _("Demande du lecteur")
        CTI = "CTI", _("Confirmation d'un CTI")
        POLICY = "POLICY", _("Politique de double lecture")

    class Kind(models.TextChoices):
        CONSENSUS = "CONSENSUS", _("Consensus de lecteurs L2")
        ARBITRATION = "ARBITRATION", _("Arbitrage par un troisième lecteur")
        MEETING = "MEETING", _("Réunion de consensus")

    class State(models.TextChoices):
        OPEN = "OPEN", _("En attente")
        DECIDED = "DECIDED", _("Décidé")

    class Outcome(models.TextChoices):
        NEGATIVE = "NEGATIVE", _("Négatif")
        POSITIVE = "POSITIVE", _("Positif (rappel)")
        CTI = "CTI", _("Clichés à refaire")
        NO_CTI = "NO_CTI", _("CTI non confirmé")

    exam = models.ForeignKey("screening.Exam", on_delete=models.PROTECT, related_name="consensuses")
    trigger = models.CharField(_("origine"), max_length=8, choices=Trigger.choices)
    kind = models.CharField(_("forme"), max_length=12, choices=Kind.choices)
    state = models.CharField(_("état"), max_length=8, choices=State.choices, default=State.OPEN)
    reading = models.ForeignKey(
        L2Reading, null=True, blank=True, on_delete=models.PROTECT, related_name="consensuses"
    )
    participants = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    outcome = models.CharField(_("décision"), max_length=8, choices=Outcome.choices, blank=True)
    tie_break = models.BooleanField(_("décision sans accord"), default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(_("remarque"), blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("consensus / arbitrage")
        verbose_name_plural = _("consensus / arbitrages")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["exam"], condition=models.Q(state="OPEN"), name="one_open_consensus_per_exam"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.exam_id}"


class LightboxSession(models.Model):
    """A film-reading session at a lightbox (négatoscope): ASSIGNED film exams are booked into one."""

    site = models.ForeignKey("screening.ReadingSite", on_delete=models.PROTECT, related_name="+")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scheduled_on = models.DateField(_("date de la séance"))
    exams = models.ManyToManyField("screening.Exam", blank=True, related_name="lightbox_sessions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("séance de lecture sur films")
        verbose_name_plural = _("séances de lecture sur films")
        ordering = ["-scheduled_on"]

    def __str__(self) -> str:
        return f"Négatoscope {self.site} {self.scheduled_on}"


class FilmRecord(models.Model):
    """Where an exam's films are: received at the centre, returned to the practice or the woman."""

    exam = models.OneToOneField("screening.Exam", on_delete=models.PROTECT, related_name="film_record")
    received_at = models.DateTimeField(_("films reçus le"))
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    film_count = models.PositiveSmallIntegerField(_("nombre de films"), default=4)
    returned_at = models.DateTimeField(_("films rendus le"), null=True, blank=True)
    returned_to = models.CharField(_("rendus à"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("films")
        verbose_name_plural = _("films")

    def __str__(self) -> str:
        return f"Films {self.exam_id}"
