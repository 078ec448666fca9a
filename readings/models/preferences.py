"""A reader's workstation preferences (spec §8): key map, two-step normal, decision lock-out."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReaderPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reading_prefs"
    )
    # action → KeyboardEvent.key (letters, any case) or KeyboardEvent.code (Digit*/Numpad*); only overrides.
    keymap = models.JSONField(_("raccourcis clavier"), default=dict, blank=True)
    two_step_normal = models.BooleanField(_("normal en deux temps (N puis Entrée)"), default=False)
    lockout_ms = models.PositiveIntegerField(
        _("touches de décision inactives après affichage (ms)"), default=1000
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("préférences de lecture")
        verbose_name_plural = _("préférences de lecture")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lockout_ms__gte=500, lockout_ms__lte=3000),
                name="reader_pref_lockout_range",
            )
        ]

    def __str__(self) -> str:
        return f"Préférences de {self.user}"
