"""The quality indicators of domain spec §6 (QI-01..QI-13): each definition as SQL over ExamOutcome.

One indicator = a few measures; a measure is either a ratio (COUNT … FILTER (WHERE num AND den) ÷
COUNT … FILTER (WHERE den)), a count, or the median / P90 of a delay (percentile_cont over whole days or
hours, see selectors_indicators_sql). Every condition below is written once, with its exact meaning, and
reused by the measures, so the page, the exports and the yearly sheet count the same rows. "Screened" (the default
denominator) = the ExamOutcome rows whose mammogram date lies in the period (one row per exam that left
intake), after the medium / practice filters.

Targets are the FR targets of §6 (EU ones marked), overridable by `settings.L2_INDICATOR_TARGETS`
({measure key: (operator, value)}), since §0 makes every official number a setting.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Func, Q
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.utils.translation import gettext_lazy as _

from readings.selectors_indicators_exprs import DaysSince, days_after_mammogram, hours_between, whole_hours
from screening.models.outcomes import GlobalResult

POSITIVE_RESULTS = (GlobalResult.POS_L1, GlobalResult.POS_L2)
NEG_LETTER_DAYS = days_after_mammogram("result_sent_at")


def _conditions() -> dict[str, Q | None]:
    """Named WHERE fragments (None = every row)."""
    read = Q(l2_read_at__isnull=False)
    woman_delay = hours_between("woman_letter_at", "doctor_letter_at")
    return {
        # Every exam of the period (the "screened" of §6).
        "screened": None,
        "first_round": Q(first_round=True),
        "later_round": Q(first_round=False),
        # QI-01: the L1 radiologist classed a breast ACR 0/3/4/5 before any immediate work-up (BDI).
        "l1_pos_initial": Q(l1_positive_initial=True),
        # Read at L2: the exam has a deciding second reading.
        "read": read,
        # QI-05: exams the L1 radiologist sent as negative (final ACR 1-2) and L2 read.
        "l1_neg_read": read & Q(l1_positive_final=False),
        # L2 positive: the deciding L2 reading classed a breast 0/3/4/5 (a CTI alone is not positive).
        "l2_pos": Q(l2_positive=True),
        # CTI: the exam had a CTI verdict, counted once whatever the rounds: a CTI later retaken and re-read
        # still counts (its row then shows the CTI letter or the retake).
        "cti": Q(l2_cti=True) | Q(cti_letter_at__isnull=False) | Q(retake_received_at__isnull=False),
        # QI-03: the woman was recalled for a work-up after the double reading.
        "recalled_after_l2": read & Q(recalled=True),
        "recalled": Q(recalled=True),
        # A positive exam, at L1 or L2 (R-FU-1: each is followed to diagnosis).
        "positive": Q(global_result__in=POSITIVE_RESULTS) | Q(recalled=True),
        # Diagnosis known: cancer is True or False (None = not known yet).
        "outcome_known": Q(cancer__isnull=False),
        "cancer": Q(cancer=True),
        # Screen-detected cancer: a cancer of this exam, not an interval cancer found after a negative screen.
        "screen_cancer": Q(cancer=True, interval_cancer=False),
        "in_situ_known": Q(cancer_in_situ__isnull=False),
        "in_situ": Q(cancer_in_situ=True),
        "invasive_sized": Q(cancer_in_situ=False, cancer_size_mm__isnull=False),
        "small": Q(cancer_size_mm__lte=10),
        "invasive_node_known": Q(cancer_in_situ=False, cancer_node_negative__isnull=False),
        "node_negative": Q(cancer_node_negative=True),
        # QI-08: a negative result whose letters went out.
        "neg_letter": Q(global_result=GlobalResult.NEG, result_sent_at__isnull=False),
        # QI-09: submitted by the practice; read after submission; result letter after the L2 reading.
        "submitted": Q(submitted_at__isnull=False),
        "submitted_read": Q(submitted_at__isnull=False, l2_read_at__isnull=False),
        "read_letter": Q(l2_read_at__isnull=False, result_sent_at__isnull=False),
        # Backlog: submitted, sent to L2 (not positive at L1), not read yet, no result, not closed.
        "backlog": Q(
            submitted_at__isnull=False,
            l2_read_at__isnull=True,
            l1_positive_final=False,
            result_sent_at__isnull=True,
            closed_at__isnull=True,
        ),
        # QI-10: both letters of a positive sent; the woman's 24 to 48 hours after the doctor's (R-LET-1).
        "both_letters": Q(doctor_letter_at__isnull=False, woman_letter_at__isnull=False),
        "woman_24_48": Q(GreaterThanOrEqual(woman_delay, 24)) & Q(LessThanOrEqual(woman_delay, 48)),
        "bdd_received": Q(bdd_received_at__isnull=False),
        "lost": Q(lost_at__isnull=False),
        # QI-12: received dematerialised (DICOM, read on a console) rather than as films.
        "console": Q(medium="CONSOLE"),
    }


CONDITIONS = _conditions()


def distributions(*, today) -> dict[str, tuple[Func, tuple[str, ...]]]:
    """Delays whose median / P90 are shown, as integers (days, whole hours): (value expression, conditions of
    the rows measured). Their percentiles are PostgreSQL's percentile_cont over these values."""
    return {
        # QI-08: mammogram → negative letter, calendar days.
        "neg_letter_days": (NEG_LETTER_DAYS, ("neg_letter",)),
        # QI-09: mammogram → submission (days); submission → L2 reading; L2 reading → result letter (whole hours).
        "submit_days": (days_after_mammogram("submitted_at"), ("submitted",)),
        "read_hours": (whole_hours("l2_read_at", "submitted_at"), ("submitted_read",)),
        "letter_hours": (whole_hours("result_sent_at", "l2_read_at"), ("read_letter",)),
        # QI-09: age of the backlog (days since submission) on `today`.
        "backlog_days": (DaysSince("submitted_at", day=today), ("backlog",)),
    }


# --- Measures and indicators ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    op: str  # "<", "<=", ">", ">="
    value: float
    source: str = "FR"  # "FR" (§6 FR target), "EU", "R-READ-1", "R-TIME-2"…

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return {
            "<": value < self.value,
            "<=": value <= self.value,
            ">": value > self.value,
            ">=": value >= self.value,
        }[self.op]

    def text(self, unit: str) -> str:
        op = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}[self.op]
        number = f"{self.value:,.1f}".rstrip("0").rstrip(".").replace(",", "\u202f").replace(".", ",")
        suffix = f" {unit}" if unit not in ("", "n") else ""
        return f"{op} {number}{suffix}" + ("" if self.source == "FR" else f" ({self.source})")


# FR targets of §6 (EU / rule-based ones marked); keys are measure keys.
DEFAULT_TARGETS: dict[str, Target] = {
    "qi01": Target("<", 10.0),
    "qi01_later": Target("<", 7.0),
    "qi02": Target("<", 2.0),
    "qi03": Target("<", 3.0),
    "qi03_first": Target("<", 7.0, "EU"),
    "qi03_later": Target("<", 5.0, "EU"),
    "qi04": Target("<=", 1.0),
    "qi08_median": Target("<=", 15.0),
    "qi08_p90": Target("<=", 15.0),
    "qi08_within": Target(">=", 95.0, "EU"),
    "qi09_submit_median": Target("<=", 5.0, "R-TIME-2"),
    "qi11_projected": Target(">=", 1500.0, "R-READ-1"),
    "qi11_l1_projected": Target(">=", 500.0, "R-READ-1"),
    "qi13_small": Target(">=", 25.0, "EU"),
    "qi13_n0": Target(">", 70.0, "EU"),
}


def targets() -> dict[str, Target]:
    overrides = getattr(settings, "L2_INDICATOR_TARGETS", {}) or {}
    merged = dict(DEFAULT_TARGETS)
    for key, (op, value, *source) in overrides.items():
        merged[key] = Target(op, float(value), *(source or ["FR"]))
    return merged


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: str  # "%", "‰", "j", "h", "n", "/an"
    kind: str  # "ratio" | "count" | "percentile" | "within" | "projected" | "date"
    num: tuple[str, ...] = ()  # conditions of the numerator (ANDed with the denominator's)
    den: tuple[str, ...] = ()  # conditions of the denominator
    dist: str = ""  # a distribution of distributions() (percentile kind)
    fraction_index: int = 0  # 0 = median, 1 = P90
    limit: int | None = None  # "within" kind: the share of the delays ≤ limit
    scale: float = 100.0
    # Breakdowns whose rows take their denominator from the total row (shares of the département).
    den_from_total_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    family: str
    title: str
    definition: str
    by: tuple[str, ...]  # §6 breakdowns: R1 PR T R2 RS M
    measures: tuple[Measure, ...] = field(default_factory=tuple)
    base: str = "mammogram"  # "mammogram" (cohort by mammogram date) or "read" (QI-11: by L2 reading date)


def _ratio(key, label, num, den=(), unit="%", scale=100.0, **kw) -> Measure:
    return Measure(key, label, unit, "ratio", tuple(num), tuple(den), scale=scale, **kw)


def _pct(key, label, dist, index, unit) -> Measure:
    return Measure(key, label, unit, "percentile", dist=dist, fraction_index=index)


FAMILIES = {
    "L1": _("Première lecture"),
    "L2": _("Seconde lecture"),
    "OUT": _("Résultats et cancers"),
    "DELAY": _("Délais et suivi"),
    "ORG": _("Organisation"),
}

INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec(
        "QI-01", "L1", _("Positifs en première lecture avant BDI"),
        _("Examens classés ACR 0, 3, 4 ou 5 par le L1 avant le bilan de diagnostic immédiat ÷ examens dépistés."),
        ("R1", "PR", "T"),
        (
            _ratio("qi01", _("Tous tours"), ("l1_pos_initial",)),
            _ratio("qi01_later", _("Tours suivants"), ("l1_pos_initial",), ("later_round",)),
        ),
    ),
    IndicatorSpec(
        "QI-02", "L2", _("Positifs en seconde lecture"),
        _("Examens positifs en L2 (ACR 0, 3, 4 ou 5 ; un CTI seul n'est pas positif) ÷ examens lus en L2 ; "
          "et ÷ examens dépistés."),
        ("R2", "RS", "R1", "PR", "T", "M"),
        (
            _ratio("qi02", _("÷ lus en L2"), ("l2_pos",), ("read",)),
            _ratio("qi02_screened", _("÷ dépistés"), ("l2_pos",)),
        ),
    ),
    IndicatorSpec(
        "QI-03", "L2", _("Femmes rappelées après la seconde lecture"),
        _("Femmes lues en L2 et rappelées pour un bilan ÷ examens dépistés (premier tour, tours suivants : "
          "références européennes)."),
        ("RS", "T"),
        (
            _ratio("qi03", _("Tous tours"), ("recalled_after_l2",)),
            _ratio("qi03_first", _("Premier tour"), ("recalled_after_l2",), ("first_round",)),
            _ratio("qi03_later", _("Tours suivants"), ("recalled_after_l2",), ("later_round",)),
        ),
    ),
    IndicatorSpec(
        "QI-04", "L2", _("Clichés techniquement insuffisants (CTI)"),
        _("Examens ayant reçu un avis CTI (compté une fois, même après reprise) ÷ examens lus en L2."),
        ("PR", "R1", "R2", "T"),
        (_ratio("qi04", _("CTI ÷ lus en L2"), ("cti",), ("read",)),),
    ),
    IndicatorSpec(
        "QI-05", "L2", _("Discordance L1 → L2"),
        _("Examens négatifs en L1 (ACR final 1-2) lus en L2 et positifs en L2 ÷ examens négatifs en L1 lus en L2."),
        ("R1", "PR"),
        (_ratio("qi05", _("Positifs L2 ÷ négatifs L1 lus"), ("l2_pos",), ("l1_neg_read",)),),
    ),
    IndicatorSpec(
        "QI-06", "OUT", _("Cancers parmi les positifs en seconde lecture"),
        _("Cancers des examens positifs en L2 (nombre) ; part des cancers dépistés (hors cancers de l'intervalle) ; "
          "par lecteur ou par site, part des cancers dépistés du département."),
        ("R2", "RS", "T"),
        (
            Measure("qi06_n", _("Cancers"), "n", "count", ("l2_pos", "cancer")),
            _ratio("qi06_share", _("Part des cancers dépistés"), ("l2_pos", "cancer"), ("screen_cancer",),
                   den_from_total_for=("reader", "site")),
        ),
    ),
    IndicatorSpec(
        "QI-07", "OUT", _("Valeur prédictive positive de la seconde lecture"),
        _("Cancers ÷ examens positifs en L2 dont l'issue est connue (cancer ou non)."),
        ("R2", "T"),
        (_ratio("qi07", _("VPP"), ("cancer",), ("l2_pos", "outcome_known")),),
    ),
    IndicatorSpec(
        "QI-08", "DELAY", _("Délai mammographie → courrier négatif"),
        _("Examens négatifs dont les courriers sont partis : jours calendaires (Europe/Paris) de la mammographie "
          "à l'envoi ; médiane, 90e centile, part ≤ 15 jours."),
        ("PR", "RS", "T", "M"),
        (
            _pct("qi08_median", _("Médiane"), "neg_letter_days", 0, "j"),
            _pct("qi08_p90", _("90e centile"), "neg_letter_days", 1, "j"),
            # The share of the same delays ≤ 15 days, counted from the delays' histogram (one pass).
            Measure("qi08_within", _("≤ 15 jours"), "%", "within", dist="neg_letter_days", limit=15),
        ),
    ),
    IndicatorSpec(
        "QI-09", "DELAY", _("Délais de transmission, de lecture et de courrier ; examens en attente"),
        _("Mammographie → transmission (jours) ; transmission → lecture L2 et lecture L2 → courrier (heures, "
          "arrondies à l'heure) : "
          "médianes et 90e centiles. En attente : transmis, non lus en L2, sans résultat, ni positifs L1 ni clos ; "
          "âge médian en jours depuis la transmission, aujourd'hui."),
        ("R1", "PR", "RS", "R2"),
        (
            _pct("qi09_submit_median", _("Mammo → transmission, médiane"), "submit_days", 0, "j"),
            _pct("qi09_submit_p90", _("Mammo → transmission, P90"), "submit_days", 1, "j"),
            _pct("qi09_read_median", _("Transmission → lecture, médiane"), "read_hours", 0, "h"),
            _pct("qi09_read_p90", _("Transmission → lecture, P90"), "read_hours", 1, "h"),
            _pct("qi09_letter_median", _("Lecture → courrier, médiane"), "letter_hours", 0, "h"),
            Measure("qi09_backlog", _("En attente"), "n", "count", ("backlog",)),
            _pct("qi09_backlog_median", _("Âge médian de l'attente"), "backlog_days", 0, "j"),
        ),
    ),
    IndicatorSpec(
        "QI-10", "DELAY", _("Courriers des positifs et suivi"),
        _("Courrier de la femme 24 à 48 h après celui du médecin ÷ positifs aux deux courriers envoyés ; "
          "bilans différés reçus ÷ femmes rappelées ; perdues de vue à 12 mois ÷ positifs (L1 ou L2)."),
        ("PR", "T"),
        (
            _ratio("qi10_woman", _("Courrier femme à 24-48 h"), ("woman_24_48",), ("both_letters",)),
            _ratio("qi10_bdd", _("BDD reçus ÷ rappelées"), ("bdd_received",), ("recalled",)),
            _ratio("qi10_lost", _("Perdues de vue ÷ positifs"), ("lost",), ("positive",)),
        ),
    ),
    IndicatorSpec(
        "QI-11", "ORG", _("Volume de seconde lecture par lecteur"),
        _("Secondes lectures décisives rendues dans la période (date de lecture), projetées sur une année "
          "(× 365,25 ÷ jours écoulés de la période) ; objectif 1 500 par an (2 000 pour un retraité depuis moins "
          "de 2 ans : objectif propre du lecteur), plus 500 lectures L1 par an (examens du lecteur comme L1, "
          "tous cabinets et supports). Par site et au total : moyenne par lecteur ayant lu dans la période."),
        ("R2", "RS"),
        (
            Measure("qi11_reads", _("Lectures L2"), "n", "count"),
            Measure("qi11_projected", _("Projection annuelle L2"), "/an", "projected"),
            Measure("qi11_l1_projected", _("Projection annuelle L1"), "/an", "projected"),
        ),
        base="read",
    ),
    IndicatorSpec(
        "QI-12", "ORG", _("Dématérialisation"),
        _("Examens reçus en DICOM (lecture sur console) ÷ tous les examens reçus ; date de mise en service du "
          "cabinet."),
        ("PR", "T"),
        (
            _ratio("qi12", _("Dématérialisés"), ("console",)),
            Measure("qi12_golive", _("Mise en service"), "", "date"),  # the practice's go-live date
        ),
    ),
    IndicatorSpec(
        "QI-13", "OUT", _("Cancers dépistés"),
        _("Cancers dépistés (hors intervalle) pour 1 000 examens dépistés ; in situ ÷ cancers dépistés au statut "
          "connu ; invasifs ≤ 10 mm ÷ invasifs de taille connue ; invasifs N0 ÷ invasifs au statut "
          "ganglionnaire connu."),
        ("T",),
        (
            _ratio("qi13_rate", _("Détection"), ("screen_cancer",), unit="‰", scale=1000.0),
            _ratio("qi13_in_situ", _("In situ"), ("in_situ",), ("screen_cancer", "in_situ_known")),
            _ratio("qi13_small", _("Invasifs ≤ 10 mm"), ("small",), ("screen_cancer", "invasive_sized")),
            _ratio("qi13_n0", _("Invasifs N0"), ("node_negative",), ("screen_cancer", "invasive_node_known")),
        ),
    ),
)  # fmt: skip

BY_CODE = {spec.code: spec for spec in INDICATORS}

# Breakdowns of the page (group_by) and the §6 letter each one answers to.
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "month": ("T", _("Mois")),
    "quarter": ("T", _("Trimestre")),
    "year": ("T", _("Année")),
    "practice": ("PR", _("Cabinet")),
    "l1": ("R1", _("Radiologue L1")),
    "reader": ("R2", _("Second lecteur")),
    "site": ("RS", _("Site de lecture")),
    "medium": ("M", _("Support (film / console)")),
}
