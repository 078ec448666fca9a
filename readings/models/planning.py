"""Assignment rules (versioned), coordinator batches, reader sessions and coordinator alerts."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AssignmentRules(models.Model):
    """The assignment settings a coordinator edits in the admin (`cfg.*` of the domain spec).

    Append-only: saving in the admin writes a new version; the latest applies. R-COI-1 (never the L1
    radiologist) is not a setting.
    """

    exclude_same_practice = models.BooleanField(
        _("exclure les radiologues du même cabinet"), default=False,
        help_text=_("R-COI-2 : jamais un radiologue membre du cabinet qui a fait l'examen."),
    )  # fmt: skip
    cross_site = models.BooleanField(
        _("lecture croisée entre sites"), default=False,
        help_text=_("R-COI-2 : les examens d'un cabinet sont lus par un autre site que son site de rattachement."),
    )  # fmt: skip
    yearly_target = models.PositiveIntegerField(_("objectif annuel de secondes lectures"), default=1500)
    stale_after_hours = models.PositiveIntegerField(
        _("réattribuer un examen non ouvert après (heures)"), default=72
    )
    reading_lock_minutes = models.PositiveIntegerField(_("verrou de lecture (minutes)"), default=30)
    session_timeout_minutes = models.PositiveIntegerField(
        _("fin d'une session inactive après (minutes)"), default=60
    )
    alert_due_within_days = models.PositiveIntegerField(
        _("alerter quand l'échéance est à moins de (jours)"), default=3
    )
    note = models.CharField(_("motif du changement"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("règles d'attribution")
        verbose_name_plural = _("règles d'attribution")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"Règles v{self.pk} du {self.created_at:%d/%m/%Y %H:%M}"


class SiteShare(models.Model):
    """The share of the weekly L2 load a reading site should take (balance per site)."""

    site = models.OneToOneField("screening.ReadingSite", on_delete=models.CASCADE, related_name="share")
    weekly_share_pct = models.PositiveSmallIntegerField(_("part hebdomadaire visée (%)"))

    class Meta:
        verbose_name = _("part d'un site")
        verbose_name_plural = _("parts des sites")
        constraints = [
            models.CheckConstraint(condition=models.Q(weekly_share_pct__lte=100), name="site_share_pct_range")
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.weekly_share_pct} %"


class Batch(models.Model):
    """A set of exams a coordinator holds, then gives to one reader (or a lightbox session for films)."""

    class State(models.TextChoices):
        HELD = "HELD", _("En préparation")
        ASSIGNED = "ASSIGNED", _("Attribué")
        CLOSED = "CLOSED", _("Terminé")
        RECALLED = "RECALLED", _("Rappelé")

    name = models.CharField(_("nom"), max_length=120)
    state = models.CharField(_("état"), max_length=10, choices=State.choices, default=State.HELD)
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="batches"
    )
    filters = models.JSONField(_("filtres de constitution"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = models.JSONField(default=list, blank=True)  # [{at, actor, action, detail}] appended only

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.name


class BatchExam(models.Model):
    """Membership of an exam in a batch. An exam is in at most one open batch (DB-enforced)."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    exam = models.ForeignKey("screening.Exam", on_delete=models.CASCADE, related_name="batch_items")
    active = models.BooleanField(default=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exam"], condition=models.Q(active=True), name="uniq_open_batch_per_exam"
            )
        ]
        indexes = [models.Index(fields=["batch", "active"])]

    def __str__(self) -> str:
        return f"lot {self.batch_id} : examen {self.exam_id}"


class ReadingSession(models.Model):
    """A reader's session: the next N exams by priority; unread ones go back to the pool at its end."""

    class State(models.TextChoices):
        ACTIVE = "ACTIVE", _("En cours")
        ENDED = "ENDED", _("Terminée")
        EXPIRED = "EXPIRED", _("Expirée (inactivité)")

    SIZES = (20, 25, 50, 100)  # 20 first: the workstation spec's default séance (F2)

    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reading_sessions"
    )
    size = models.PositiveSmallIntegerField(_("taille demandée"))
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    started_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("session de lecture")
        verbose_name_plural = _("sessions de lecture")
        constraints = [
            models.UniqueConstraint(
                fields=["reader"], condition=models.Q(state="ACTIVE"), name="uniq_active_session_per_reader"
            ),
            models.CheckConstraint(
                condition=models.Q(size__in=(20, 25, 50, 100)), name="session_size_choice"
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.pk} de {self.reader} ({self.size})"


class Alert(models.Model):
    """Something a coordinator must look at, raised by the periodic task; resolved when it no longer holds."""

    class Kind(models.TextChoices):
        OVERDUE = "OVERDUE", _("Délai de 15 jours dépassé")
        DUE_SOON_UNREAD = "DUE_SOON", _("Échéance proche, pas encore lu")
        NO_READER = "NO_READER", _("Aucun lecteur éligible")
        STALE = "STALE", _("Attribution non ouverte, réattribuée")
        READER_BEHIND = "READER_BEHIND", _("Lecteur en retard sur l'objectif annuel")
        DEFERRED = "DEFERRED", _("Cas mis de côté par un lecteur")
        TASK_NODOC = "TASK_NODOC", _("Vérifier le contact avec le radiologue (aucun médecin)")

    kind = models.CharField(max_length=14, choices=Kind.choices)
    key = models.CharField(max_length=80)  # kind + object: at most one open alert per key
    exam = models.ForeignKey(
        "screening.Exam", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.CharField(max_length=300)
    raised_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("alerte")
        verbose_name_plural = _("alertes")
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(resolved_at__isnull=True), name="uniq_open_alert"
            )
        ]
        indexes = [models.Index(fields=["resolved_at", "kind"])]

    def __str__(self) -> str:
        return self.message
