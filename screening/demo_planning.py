"""Demo data for the assignment engine: home sites, reader calendars and capacities, rules, a held batch,
an urgent pin and the coordinator's alerts — all through the real models and services."""

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from readings.models import (
    AssignmentRules,
    DeclaredConflict,
    LightboxSession,
    ReaderAbsence,
    ReaderProfile,
    SiteShare,
)
from readings.services.assignment import exam_pin_urgent
from readings.services.batches import batch_create
from readings.services.films import lightbox_session_book, lightbox_session_create
from readings.services.housekeeping import alerts_refresh
from screening.demo_people import Organisation
from screening.models import Exam, ExamState
from screening.services.errors import ServiceError

# The practices' area → the reading site of that area (used by cross-site routing when it is switched on).
HOME_SITES = {
    "VICHY-CEL": "ALLIER-VICHY", "CUSSET-GRV": "ALLIER-VICHY", "BELLERIVE-RIV": "ALLIER-VICHY",
    "GANNAT-RAD": "ALLIER-VICHY", "LAPALISSE-RAD": "ALLIER-VICHY", "MOULINS-AF": "ALLIER-MOULINS",
    "YZEURE-SEN": "ALLIER-MOULINS", "SPS-SIOULE": "ALLIER-MOULINS", "MONTLU-PARC": "ALLIER-MONTLUCON",
    "COMMENTRY-RAD": "ALLIER-MONTLUCON",
}  # fmt: skip
SITE_SHARES = {"ALLIER-VICHY": 40, "ALLIER-MOULINS": 35, "ALLIER-MONTLUCON": 25}


def home_sites_set(org: Organisation) -> None:
    for code, site_code in HOME_SITES.items():
        practice = org.practices[code]
        practice.home_site = org.sites[site_code]
        practice.save(update_fields=["home_site"])


def planning_demo(org: Organisation, today: dt.date, log: Callable[[str], None]) -> None:
    """After the exams are loaded: calendars, capacities, rules, a batch and alerts as a centre would have."""
    # The coordinator edits rules, calendars and capacities in the admin through the "Coordination" group.
    group = Group.objects.filter(name="Coordination").first()
    if group is not None:
        org.coordinator.groups.add(group)
    AssignmentRules.objects.create(
        created_by=org.coordinator, note="Règles initiales (valeurs du cahier des charges)"
    )
    for code, pct in SITE_SHARES.items():
        SiteShare.objects.create(site=org.sites[code], weekly_share_pct=pct)
    profiles = {p.user.username: p for p in ReaderProfile.objects.select_related("user")}
    settings = {
        "dr.roux": {"workdays": "124", "load_share": 0.6},  # part time: Monday, Tuesday, Thursday
        "dr.moreau": {"daily_capacity": 60, "weekly_capacity": 240},
        "dr.chevalier": {"yearly_target": 2000},  # retired less than 2 years ago (R-READ-1)
    }
    for username, fields in settings.items():
        if username in profiles:
            ReaderProfile.objects.filter(pk=profiles[username].pk).update(**fields)
    if "dr.chevalier" in profiles:
        ReaderAbsence.objects.create(
            reader=profiles["dr.chevalier"], starts_on=today + dt.timedelta(days=7),
            ends_on=today + dt.timedelta(days=11), reason="Congrès de sénologie",
        )  # fmt: skip
    if "dr.lefebvre" in profiles:
        DeclaredConflict.objects.create(
            reader=profiles["dr.lefebvre"], practice=org.practices["BELLERIVE-RIV"], reason="Ancien associé"
        )
    queued = list(Exam.objects.filter(state=ExamState.QUEUED).order_by("due_at", "pk"))
    if queued:
        exam_pin_urgent(exam_id=queued[0].pk, actor=org.coordinator, urgent=True)
    if len(queued) > 1:
        outcome = batch_create(
            name="Lot du vendredi — Montluçon", exam_ids=[e.pk for e in queued[1:]], actor=org.coordinator
        )
        log(f"Lot de démonstration : {len(outcome.added)} examen(s) en préparation.")
    alerts_refresh(today=today, within_days=3)


def lightbox_book(org: Organisation, exam: Exam) -> None:
    """A film exam into today's lightbox session of the first reader the rules allow (a refused booking leaves
    nothing)."""
    today, coordinator = timezone.localdate(), org.coordinator
    for profile in ReaderProfile.objects.select_related("user", "site").order_by("pk"):
        reader = profile.user
        try:
            with transaction.atomic():
                session = LightboxSession.objects.filter(reader=reader, scheduled_on=today).first()
                session = session or lightbox_session_create(site=profile.site, reader=reader,
                                                             scheduled_on=today, actor=coordinator)  # fmt: skip
                lightbox_session_book(session_id=session.pk, exam_ids=[exam.pk], actor=coordinator)
            return
        except ServiceError:
            continue  # R-COI-1/2, absent or inactive: the next reader
    raise RuntimeError(f"{exam} : aucun lecteur pour la séance de négatoscope")
