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
    pseudonym = models.CharField(_("pseudonyme vu des cabinets"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("second lecteur")
        verbose_name_plural = _("seconds lecteurs")

    def __str__(self) -> str:
        return f"{self.user} — {self.site}"


class Assignment(models.Model):
    """An exam given to one second reader. At most one active assignment per exam (DB-enforced)."""

    class State(models.TextChoices):
        ACTIVE = "ACTIVE", _("En cours")
        COMPLETED = "COMPLETED", _("Lu")
        RELEASED = "RELEASED", _("Rendu à la file")

    exam = models.ForeignKey("screening.Exam", on_delete=models.CASCADE, related_name="assignments")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    # Copied from the exam so that R-COI-1 is a check constraint on this row.
    l1_radiologist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    assigned_at = models.DateTimeField(auto_now_add=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    why = models.TextField(_("motif de l'attribution"), blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

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
        indexes = [models.Index(fields=["reader", "state"])]

    def __str__(self) -> str:
        return f"{self.exam_id} → {self.reader} ({self.state})"
