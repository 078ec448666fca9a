"""Participants (the women) and screening exams with their append-only state history."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Participant(models.Model):
    """A woman invited to organised screening. Identity beyond name/birth date stays off the L2 screens."""

    programme_id = models.CharField(_("numéro de dépistage"), max_length=30, unique=True)
    last_name = models.CharField(_("nom"), max_length=100)
    birth_name = models.CharField(_("nom de naissance"), max_length=100, blank=True)
    first_name = models.CharField(_("prénom"), max_length=100)
    birth_date = models.DateField(_("date de naissance"))
    nir = models.CharField(_("NIR"), max_length=15, blank=True)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    town = models.CharField(_("commune"), max_length=100, blank=True)
    gp_name = models.CharField(_("médecin traitant"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("participante")
        verbose_name_plural = _("participantes")
        indexes = [models.Index(fields=["last_name", "birth_date"])]

    def __str__(self) -> str:
        return f"{self.last_name.upper()} {self.first_name} ({self.programme_id})"


class ExamState(models.TextChoices):
    DRAFT = "DRAFT", _("Brouillon")
    SUBMITTED = "SUBMITTED", _("Transmis")
    INCOMPLETE = "INCOMPLETE", _("Incomplet")
    AWAITING_PRIORS = "AWAITING_PRIORS", _("Attente antériorités")
    QUEUED = "QUEUED", _("En file L2")
    ASSIGNED = "ASSIGNED", _("Attribué")
    IN_READING = "IN_READING", _("En lecture")
    DEFERRED = "DEFERRED", _("Mis de côté")
    CONSENSUS_PENDING = "CONSENSUS_PENDING", _("Consensus en attente")
    L2_NEGATIVE = "L2_NEGATIVE", _("L2 négative")
    L2_POSITIVE = "L2_POSITIVE", _("L2 positive")
    CTI_REQUESTED = "CTI_REQUESTED", _("CTI demandés")
    RETAKE_PENDING = "RETAKE_PENDING", _("Reprise attendue")
    RETAKE_RECEIVED = "RETAKE_RECEIVED", _("Reprise reçue")
    RETAKE_OVERDUE = "RETAKE_OVERDUE", _("Reprise hors délai")
    RETAKE_REFUSED = "RETAKE_REFUSED", _("Reprise refusée")
    RESULT_SENT = "RESULT_SENT", _("Courriers envoyés")
    L1_POSITIVE = "L1_POSITIVE", _("Positif L1")
    BDD_PENDING = "BDD_PENDING", _("Bilan différé attendu")
    BDD_RECEIVED = "BDD_RECEIVED", _("Bilan différé reçu")
    SURVEILLANCE = "SURVEILLANCE", _("Surveillance")
    HISTOLOGY_PENDING = "HISTOLOGY_PENDING", _("Histologie attendue")
    HISTOLOGY_RECORDED = "HISTOLOGY_RECORDED", _("Histologie reçue")
    LOST_TO_FOLLOW_UP = "LOST_TO_FOLLOW_UP", _("Perdue de vue")
    CLOSED = "CLOSED", _("Clos")
    CANCELLED = "CANCELLED", _("Annulé")


class Exam(models.Model):
    """One screening exam (one mammogram date) of one woman at one practice."""

    class Medium(models.TextChoices):
        CONSOLE = "CONSOLE", _("Dématérialisé (console)")
        FILM = "FILM", _("Films (négatoscope)")

    class Equipment(models.TextChoices):
        DR = "DR", _("Numérique plein champ (DR)")
        CR = "CR", _("Numérique à plaques (CR)")
        ANA = "ANA", _("Analogique")

    class Round(models.TextChoices):
        FIRST = "FIRST", _("Premier dépistage")
        SUBSEQUENT = "SUBSEQUENT", _("Dépistage suivant")

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="exams")
    practice = models.ForeignKey("screening.Practice", on_delete=models.PROTECT, related_name="exams")
    l1_radiologist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="l1_exams",
        verbose_name=_("radiologue L1"),
    )
    mammogram_date = models.DateField(_("date de la mammographie"))
    accession_number = models.CharField(_("numéro d'accession"), max_length=64, blank=True)
    medium = models.CharField(_("support"), max_length=10, choices=Medium.choices, default=Medium.CONSOLE)
    equipment = models.CharField(
        _("équipement"), max_length=5, choices=Equipment.choices, default=Equipment.DR
    )
    screening_round = models.CharField(
        _("tour"), max_length=12, choices=Round.choices, default=Round.SUBSEQUENT
    )
    due_at = models.DateField(_("résultat attendu au plus tard le"))
    state = models.CharField(_("état"), max_length=24, choices=ExamState.choices, default=ExamState.DRAFT)
    state_changed_at = models.DateTimeField(_("dernier changement d'état"), auto_now_add=True)
    state_reason = models.TextField(_("motif du dernier changement"), blank=True)
    policy_version = models.CharField(_("politique de double lecture"), max_length=40, default="FR-2006")
    priors = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="later_exams")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Queue priority (assignment engine): a coordinator's pin, then the deadline, then retakes first.
    urgent = models.BooleanField(_("urgent (épinglé par la coordination)"), default=False)
    l2_round = models.PositiveSmallIntegerField(_("tour de seconde lecture"), default=1)
    # Why the exam is still waiting in the L2 queue, as of the engine's last look at it.
    queue_checked_at = models.DateTimeField(null=True, blank=True)
    queue_wait_code = models.CharField(max_length=20, blank=True)
    queue_wait_reason = models.CharField(_("en attente parce que"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("examen de dépistage")
        verbose_name_plural = _("examens de dépistage")
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["practice", "state"]),
            models.Index(fields=["participant", "mammogram_date"]),
            # The L2 queue in priority order (assignment engine and coordinator's queue page).
            models.Index(
                "state",
                models.F("urgent").desc(),
                "due_at",
                models.F("l2_round").desc(),
                "state_changed_at",
                "id",
                name="exam_l2_queue_order",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "practice", "mammogram_date"],
                condition=~models.Q(state="CANCELLED"),
                name="uniq_open_exam_per_participant_day",
            ),
        ]

    def __str__(self) -> str:
        return f"Examen {self.pk} — {self.participant.programme_id} du {self.mammogram_date:%d/%m/%Y}"


class ExamStatusEvent(models.Model):
    """Append-only state history: written only by services.exam_state.exam_transition."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="status_events")
    from_state = models.CharField(max_length=24, choices=ExamState.choices, blank=True)
    to_state = models.CharField(max_length=24, choices=ExamState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("changement d'état")
        verbose_name_plural = _("historique des états")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.exam_id}: {self.from_state or '∅'} → {self.to_state}"
