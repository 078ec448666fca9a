"""Double-reading policies (domain spec §5): the presets, the version in force, the one an exam was submitted under."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from screening.models import Exam, ReadingPolicy, User

from .errors import ServiceError

P = ReadingPolicy
EPOCH = dt.datetime(2006, 9, 29, tzinfo=dt.UTC)  # the arrêté: France is the default from the start

# §5 presets, by version code. "FR-2006" is the default every exam carried before policies were versioned.
PRESETS: dict[str, dict] = {
    "FR-2006": dict(
        name="France (cahier des charges 2006)",
        scope=P.Scope.L1_NEGATIVE_ONLY,
        blinding=P.Blinding.OPEN,
        recall_rule=P.RecallRule.EITHER_POSITIVE,
        resolution=P.Resolution.NONE,
        consensus_trigger=P.ConsensusTrigger.READER_REQUEST,
        cti_consensus=P.CtiConsensus.OPTIONAL,
    ),
    "UK": dict(
        name="Royaume-Uni (arbitrage)",
        scope=P.Scope.ALL,
        blinding=P.Blinding.BLIND,
        recall_rule=P.RecallRule.RESOLUTION_DECIDES,
        resolution=P.Resolution.ARBITRATION,
        consensus_trigger=P.ConsensusTrigger.DISCORDANT,
        cti_consensus=P.CtiConsensus.OFF,
    ),
    "NO-DE": dict(
        name="Norvège, Allemagne (réunion de consensus)",
        scope=P.Scope.ALL,
        blinding=P.Blinding.BLIND,
        recall_rule=P.RecallRule.RESOLUTION_DECIDES,
        resolution=P.Resolution.CONSENSUS_MEETING,
        consensus_trigger=P.ConsensusTrigger.ANY_POSITIVE,
        cti_consensus=P.CtiConsensus.OFF,
    ),
    "BLIND-REVEAL": dict(
        name="Aveugle puis dévoilée (arbitrage)",
        scope=P.Scope.ALL,
        blinding=P.Blinding.BLIND_THEN_REVEAL,
        recall_rule=P.RecallRule.RESOLUTION_DECIDES,
        resolution=P.Resolution.ARBITRATION,
        consensus_trigger=P.ConsensusTrigger.DISCORDANT,
        cti_consensus=P.CtiConsensus.OFF,
    ),
}
DEFAULT_VERSION = "FR-2006"


def policy_default_ensure() -> ReadingPolicy:
    """The France policy in force since 2006: created on first use, so a fresh database always has one."""
    policy, _ = ReadingPolicy.objects.get_or_create(
        version=DEFAULT_VERSION, defaults={**PRESETS[DEFAULT_VERSION], "active_from": EPOCH}
    )
    return policy


def policy_current(*, at: dt.datetime | None = None) -> ReadingPolicy:
    """The policy for an exam submitted at `at`: the latest version whose start has passed."""
    at = at or timezone.now()
    policy_default_ensure()
    return ReadingPolicy.objects.filter(active_from__lte=at).order_by("-active_from", "-pk").first()


def policy_for_exam(*, exam: Exam) -> ReadingPolicy:
    """The policy the exam was submitted under (Exam.policy_version); unknown codes fall back to France."""
    policy = ReadingPolicy.objects.filter(version=exam.policy_version).first()
    return policy or policy_default_ensure()


def policy_create(
    *,
    version: str,
    actor: User | None,
    active_from: dt.datetime | None = None,
    preset: str | None = None,
    **switches: str | bool,
) -> ReadingPolicy:
    """A new policy version (from a preset, switches overriding). Applies only to exams submitted after it."""
    if ReadingPolicy.objects.filter(version=version).exists():
        raise ServiceError(
            "policy_version_exists", f"La version « {version} » existe déjà : choisissez un autre code."
        )
    if preset is not None and preset not in PRESETS:
        raise ServiceError("policy_preset_unknown", f"Préréglage inconnu : « {preset} ».")
    fields = {**(PRESETS[preset] if preset else PRESETS[DEFAULT_VERSION]), **switches}
    now = timezone.now()
    active_from = active_from or now
    if active_from < now - dt.timedelta(minutes=1):
        raise ServiceError(
            "policy_retroactive",
            "Une politique ne s'applique qu'aux examens transmis après sa création : date de début passée refusée.",
        )
    with transaction.atomic():
        policy = ReadingPolicy(version=version, active_from=active_from, created_by=actor, **fields)
        policy.full_clean()
        policy.save()
    return policy


def policy_describe(policy: ReadingPolicy) -> str:
    """One French line for the coordinator: which rules applied to an exam."""
    parts = [
        policy.get_scope_display(),
        policy.get_blinding_display(),
        policy.get_recall_rule_display(),
        policy.get_resolution_display(),
        f"CTI : consensus {policy.get_cti_consensus_display().lower()}",
    ]
    return f"{policy.name} — " + " ; ".join(parts)


def l1_blinded_for(*, exam: Exam, reader: User) -> bool:
    """§5 blinding: BLIND hides the L1 ACR, lesions, BDI and conduct from the second reader; BLIND_THEN_REVEAL
    shows them once the reader has given an opinion on this exam (they may then change it within the window)."""
    policy = policy_for_exam(exam=exam)
    if policy.blinding == P.Blinding.OPEN:
        return False
    if policy.blinding == P.Blinding.BLIND:
        return True
    from readings.models import L2Reading  # screening services load before readings' models

    return not L2Reading.objects.filter(exam=exam, reader=reader).exists()
