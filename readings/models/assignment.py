"""Second readers and the assignment of exams to them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReaderProfile(models.Model):
    """A radiologist qualified for second reading, attached to one reading site's pool."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reader_profile"
    )
    site = models.ForeignKey("screening.ReadingSite", on_delete=models.PROTECT, related_name="readers")
    l2_trained_on = models.DateField(_("formé à la seconde lecture le"), null=True, blank=True)
    qualified = models.BooleanField(_("habilité L2"), default=True)
    active = models.BooleanField(_("actif"), default=True)
    daily_capacity = models.PositiveIntegerField(_("capacité par jour"), default=120)
    weekly_capacity = models.PositiveIntegerField(_("capacité par semaine"), default=500)
    # Part-time calendar: ISO weekdays the reader reads on (1 = Monday … 7 = Sunday).
    workdays = models.CharField(_("jours de lecture"), max_length=7, default="1234567")
    load_share = models.DecimalField(
        _("part de charge"), max_digits=4, decimal_places=2, default=1,
        help_text=_("1 = part normale ; 0,5 = mi-temps ; 2 = double part."),
    )  # fmt: skip
    yearly_target = models.PositiveIntegerField(
        _("objectif annuel propre"), null=True, blank=True,
        help_text=_("Vide : l'objectif des règles (1 500). 2 000 pour un radiologue retraité depuis moins de 2 ans."),
    )  # fmt: skip
    pseudonym = models.CharField(_("pseudonyme vu des cabinets"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("second lecteur")
        verbose_name_plural = _("seconds lecteurs")
        constraints = [
            models.CheckConstraint(condition=models.Q(load_share__gt=0), name="reader_load_share_positive"),
            models.CheckConstraint(
                condition=models.Q(workdays__regex=r"^[1-7]*$"), name="reader_workdays_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.site}"


class ReaderAbsence(models.Model):
    """A period a reader does not read (leave, congress, illness): no assignment on those days."""

    reader = models.ForeignKey(ReaderProfile, on_delete=models.CASCADE, related_name="absences")
    starts_on = models.DateField(_("du"))
    ends_on = models.DateField(_("au (inclus)"))
    reason = models.CharField(_("motif"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("absence d'un lecteur")
        verbose_name_plural = _("absences des lecteurs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="absence_dates_order"
            )
        ]
        indexes = [models.Index(fields=["reader", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.reader.user} absent du {self.starts_on:%d/%m/%Y} au {self.ends_on:%d/%m/%Y}"


class DeclaredConflict(models.Model):
    """A conflict of interest a reader declared with a practice (R-COI-2 DECLARED)."""

    reader = models.ForeignKey(ReaderProfile, on_delete=models.CASCADE, related_name="declared_conflicts")
    practice = models.ForeignKey("screening.Practice", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("motif"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("conflit d'intérêts déclaré")
        verbose_name_plural = _("conflits d'intérêts déclarés")
        constraints = [models.UniqueConstraint(fields=["reader", "practice"], name="uniq_declared_conflict")]

    def __str__(self) -> str:
        return f"{self.reader.user} / {self.practice}"


class ReaderLoad(models.Model):
    """Assignments counted against a reader's capacity for one day or one ISO week.

    Written only under the reader's profile lock; the check constraint is the last guard: a bug that
    would exceed a capacity makes the whole assignment transaction fail instead.
    """

    class Period(models.TextChoices):
        DAY = "D", _("jour")
        WEEK = "W", _("semaine")

    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=1, choices=Period.choices)
    starts_on = models.DateField()
    assigned = models.PositiveIntegerField(default=0)
    capacity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reader", "period", "starts_on"], name="uniq_reader_load_period"),
            models.CheckConstraint(
                condition=models.Q(assigned__lte=models.F("capacity")), name="reader_load_within_capacity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader_id} {self.period} {self.starts_on}: {self.assigned}/{self.capacity}"


class Assignment(models.Model):
    """An exam given to one second reader. At most one active assignment per exam (DB-enforced)."""

    class State(models.TextChoices):
        ACTIVE = "ACTIVE", _("En cours")
        COMPLETED = "COMPLETED", _("Lu")
        RELEASED = "RELEASED", _("Rendu à la file")

    class Way(models.TextChoices):
        AUTO = "AUTO", _("Automatique")
        COORDINATOR = "COORDINATOR", _("Coordination")
        BATCH = "BATCH", _("Lot")
        SESSION = "SESSION", _("Session de lecture")
        LIGHTBOX = "LIGHTBOX", _("Séance de négatoscope")

    exam = models.ForeignKey("screening.Exam", on_delete=models.CASCADE, related_name="assignments")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    # Copied from the exam so that R-COI-1 is a check constraint on this row.
    l1_radiologist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    assigned_at = models.DateTimeField(auto_now_add=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    way = models.CharField(_("mode"), max_length=12, choices=Way.choices, default=Way.AUTO)
    why = models.TextField(_("motif de l'attribution"), blank=True)
    # The engine's decision: the rule that chose this reader and, per excluded reader, the rule that excluded them.
    decision = models.JSONField(default=dict, blank=True)
    batch = models.ForeignKey(
        "readings.Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="assignments"
    )
    session = models.ForeignKey(
        "readings.ReadingSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assignments",
    )
    started_at = models.DateTimeField(_("ouvert par le lecteur le"), null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    release_code = models.CharField(max_length=12, blank=True)
    release_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("attribution")
        verbose_name_plural = _("attributions")
        constraints = [
            models.UniqueConstraint(
                fields=["exam"], condition=models.Q(state="ACTIVE"), name="uniq_active_assignment_per_exam"
            ),
            models.CheckConstraint(
                condition=~models.Q(reader=models.F("l1_radiologist")), name="assignment_reader_not_l1"
            ),
        ]
        indexes = [
            models.Index(fields=["reader", "state"]),
            models.Index(fields=["reader", "assigned_at"]),
            models.Index(fields=["state", "assigned_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.exam_id} → {self.reader} ({self.state})"
