"""The screening centre, its reading sites, the radiology practices and the people with their roles."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReadingCentre(models.Model):
    """The CRCDC (or one of its départemental sites) that organises second reading."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("nom"), max_length=200)

    class Meta:
        verbose_name = _("centre de lecture")
        verbose_name_plural = _("centres de lecture")

    def __str__(self) -> str:
        return self.name


class ReadingSite(models.Model):
    """A town where second readers read (Vichy, Moulins, Montluçon), each with its reader pool."""

    centre = models.ForeignKey(ReadingCentre, on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    town = models.CharField(_("ville"), max_length=100)

    class Meta:
        verbose_name = _("site de lecture")
        verbose_name_plural = _("sites de lecture")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Practice(models.Model):
    """A radiology practice (cabinet) that performs screening mammograms: the tenant of its exams."""

    centre = models.ForeignKey(ReadingCentre, on_delete=models.PROTECT, related_name="practices")
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    town = models.CharField(_("ville"), max_length=100)
    dematerialised_on = models.DateField(_("dématérialisé depuis le"), null=True, blank=True)
    # The reading site of the practice's area: cross-site routing (R-COI-2 SAME_SITE) reads its exams elsewhere.
    home_site = models.ForeignKey(
        ReadingSite,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="home_practices",
        verbose_name=_("site de rattachement"),
    )
    active = models.BooleanField(_("actif"), default=True)

    class Meta:
        verbose_name = _("cabinet de radiologie")
        verbose_name_plural = _("cabinets de radiologie")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.town})"


class CentreRole(models.TextChoices):
    NONE = "NONE", _("Aucun rôle au centre")
    COORDINATOR = "COORDINATOR", _("Secrétariat / coordination")
    PHYSICIAN = "PHYSICIAN", _("Médecin coordinateur")
    ADMINISTRATOR = "ADMINISTRATOR", _("Administrateur")


class User(AbstractUser):
    """A person. Roles are additive: a radiologist can be L1 at a practice and L2 reader at a site."""

    title = models.CharField(_("civilité"), max_length=20, blank=True)
    rpps = models.CharField(_("numéro RPPS"), max_length=11, blank=True)
    centre_role = models.CharField(
        _("rôle au centre"), max_length=20, choices=CentreRole.choices, default=CentreRole.NONE
    )

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{self.title} {full}".strip() if full else self.username

    @property
    def is_coordinator(self) -> bool:
        return self.centre_role in (CentreRole.COORDINATOR, CentreRole.PHYSICIAN)

    @property
    def is_centre_admin(self) -> bool:
        return self.centre_role == CentreRole.ADMINISTRATOR or self.is_superuser


class PracticeRole(models.TextChoices):
    STAFF = "STAFF", _("Personnel du cabinet")
    L1_RADIOLOGIST = "L1", _("Radiologue premier lecteur")


class PracticeMembership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="practice_memberships")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("rôle"), max_length=10, choices=PracticeRole.choices)

    class Meta:
        verbose_name = _("rattachement à un cabinet")
        verbose_name_plural = _("rattachements aux cabinets")
        constraints = [
            models.UniqueConstraint(fields=["user", "practice", "role"], name="uniq_practice_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.practice} ({self.get_role_display()})"
