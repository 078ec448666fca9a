"""A fixed centre for the indicator tests: 40 ExamOutcome rows of 2024 with known facts (hand-computed
expectations live in the tests).

Two practices: the Tilleuls (P1, radiologist R1a, console since 2023) and the Allier (P2, R1b, films until
its go-live on 01/07/2024). Two second readers: X at Vichy (target 1,500), Y at Moulins (own target 2,000).
Times are Europe/Paris; no row's timeline crosses a daylight-saving change (31/03, 27/10/2024).

Row legend (id: what; s = days mammogram → submission at 09:00, rh = hours submission → L2 reading,
n = days mammogram → negative letter at 17:00, w = hours doctor's letter → woman's letter):
 1-14  P1 negatives read by X            15  P1 ACR 0 before BDI, negative BDI, negative at L2 (X)
 16    P1 positive at L1 (cancer, 8 mm, N0)   17  P1 positive at L2 (X), w=30, BDD, cancer in situ
 18    P1 positive at L2 (Y), w=50, lost, outcome unknown      19  P1 CTI (X)      20  P1 backlog
 21-32 P2 negatives read by Y (21-26 films)  33  P2 positive at L2 (Y, film), w=24, BDD, benign
 34    P2 CTI, retaken, final reading negative (X, film)       35  P2 positive at L1 (film, 15 mm, N+)
 36    P2 ACR 0 before BDI, negative at L2 (Y, film)   37  P2 negative (Y), interval cancer 20 mm
 38    P2 positive at L2 (X), w=36, BDD, cancer 10 mm N0        39  P2 negative (Y)   40  P2 backlog
First round: 1, 2, 15, 38, 39.
"""

import datetime as dt
import zoneinfo
from types import SimpleNamespace

from screening.models import Exam
from screening.models.outcomes import ExamOutcome
from tests.factories import (
    ParticipantFactory,
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    l1_of,
    reader_at,
    staff_of,
)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TODAY = dt.date(2025, 1, 10)
YEAR = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))

NEG = "NEG"
# id: (practice, month, day, first round, kind, s, rh, n, reader); kinds: NEG, I (ACR 0 before a negative BDI,
# then negative), POS1, POS2, CTI, RETAKE, BACKLOG, INTERVAL.
ROWS = {
    1: ("P1", 1, 10, True, NEG, 1, 2, 5, "X"),
    2: ("P1", 2, 10, True, NEG, 1, 4, 6, "X"),
    3: ("P1", 3, 10, False, NEG, 2, 6, 7, "X"),
    4: ("P1", 4, 10, False, NEG, 1, 2, 8, "X"),
    5: ("P1", 5, 10, False, NEG, 1, 2, 9, "X"),
    6: ("P1", 6, 10, False, NEG, 3, 10, 10, "X"),
    7: ("P1", 7, 10, False, NEG, 1, 2, 11, "X"),
    8: ("P1", 8, 10, False, NEG, 1, 2, 12, "X"),
    9: ("P1", 9, 10, False, NEG, 1, 2, 13, "X"),
    10: ("P1", 11, 10, False, NEG, 1, 2, 14, "X"),
    11: ("P1", 12, 2, False, NEG, 1, 2, 16, "X"),
    12: ("P1", 1, 20, False, NEG, 6, 2, 18, "X"),
    13: ("P1", 2, 20, False, NEG, 1, 2, 20, "X"),
    14: ("P1", 5, 20, False, NEG, 1, 2, 25, "X"),
    15: ("P1", 6, 20, True, "I", 1, 2, 9, "X"),
    16: ("P1", 7, 20, False, "POS1", 0, None, None, None),
    17: ("P1", 8, 20, False, "POS2", 1, 2, None, "X"),
    18: ("P1", 9, 20, False, "POS2", 1, 2, None, "Y"),
    19: ("P1", 11, 20, False, "CTI", 1, 2, None, "X"),
    20: ("P1", 12, 10, False, "BACKLOG", 1, None, None, None),
    21: ("P2", 1, 15, False, NEG, 2, 20, 10, "Y"),
    22: ("P2", 2, 15, False, NEG, 2, 20, 12, "Y"),
    23: ("P2", 3, 5, False, NEG, 2, 20, 14, "Y"),
    24: ("P2", 4, 15, False, NEG, 2, 20, 15, "Y"),
    25: ("P2", 5, 15, False, NEG, 2, 20, 16, "Y"),
    26: ("P2", 6, 5, False, NEG, 2, 20, 17, "Y"),
    27: ("P2", 7, 15, False, NEG, 1, 20, 8, "Y"),
    28: ("P2", 8, 15, False, NEG, 1, 20, 9, "Y"),
    29: ("P2", 9, 5, False, NEG, 1, 20, 10, "Y"),
    30: ("P2", 11, 15, False, NEG, 1, 20, 11, "Y"),
    31: ("P2", 12, 5, False, NEG, 1, 20, 12, "Y"),
    32: ("P2", 12, 12, False, NEG, 1, 20, 13, "Y"),
    33: ("P2", 1, 25, False, "POS2", 2, 20, None, "Y"),
    34: ("P2", 2, 25, False, "RETAKE", 2, None, 20, "X"),
    35: ("P2", 4, 25, False, "POS1", 0, None, None, None),
    36: ("P2", 5, 25, False, "I", 2, 20, 18, "Y"),
    37: ("P2", 7, 25, False, "INTERVAL", 1, 20, 10, "Y"),
    38: ("P2", 8, 25, True, "POS2", 1, 20, None, "X"),
    39: ("P2", 9, 25, True, NEG, 1, 20, 7, "Y"),
    40: ("P2", 12, 20, False, "BACKLOG", 2, None, None, None),
}
WOMAN_DELAY_H = {17: 30, 18: 50, 33: 24, 38: 36}
# Cancers: (in situ, size mm, node negative); interval = found after a negative screen.
CANCERS = {16: (False, 8, True), 17: (True, None, None), 35: (False, 15, False), 38: (False, 10, True)}
P2_GO_LIVE = dt.date(2024, 7, 1)


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS)


def _outcome(row_id: int, w: SimpleNamespace) -> dict:
    practice, month, day, first, kind, s, rh, n, reader = ROWS[row_id]
    d = dt.date(2024, month, day)
    medium = "FILM" if practice == "P2" and d < P2_GO_LIVE else "CONSOLE"
    submitted = at(d + dt.timedelta(days=s), 9)
    facts = {
        "mammogram_date": d, "medium": medium, "first_round": first, "policy_version": "FR-2006",
        "practice": w.p1 if practice == "P1" else w.p2, "l1_radiologist": w.r1a if practice == "P1" else w.r1b,
        "submitted_at": submitted, "l1_positive_initial": kind in ("I", "POS1"), "l1_positive_final": kind == "POS1",
        "global_result": {"POS1": "POS_L1", "POS2": "POS_L2", "CTI": "CTI", "BACKLOG": "PENDING"}.get(kind, "NEG"),
    }  # fmt: skip
    if reader:
        read_at = submitted + dt.timedelta(hours=rh) if rh is not None else at(d + dt.timedelta(days=11), 10)
        facts |= {"l2_reader": getattr(w, reader.lower()), "l2_site": w.site_a if reader == "X" else w.site_b}
        facts |= {"l2_read_at": read_at, "l2_rounds": 2 if kind == "RETAKE" else 1}
    if n is not None:
        facts |= {"result_sent_at": at(d + dt.timedelta(days=n), 17), "closed_reason": "NEGATIVE"}
    if kind == "POS2":
        doctor = facts["l2_read_at"] + dt.timedelta(hours=2)
        woman = doctor + dt.timedelta(hours=WOMAN_DELAY_H[row_id])
        facts |= {"l2_positive": True, "recalled": True, "doctor_letter_at": doctor, "woman_letter_at": woman}
        facts["result_sent_at"] = woman
    if kind == "CTI":
        facts |= {"l2_cti": True, "cti_letter_at": facts["l2_read_at"] + dt.timedelta(hours=24)}
    if kind == "RETAKE":
        facts |= {
            "cti_letter_at": at(d + dt.timedelta(days=3), 12),
            "retake_received_at": at(d + dt.timedelta(days=10), 12),
        }
    if row_id in (17, 33, 38):
        facts["bdd_received_at"] = at(d + dt.timedelta(days=30), 12)
    if row_id == 18:
        facts["lost_at"] = at(d + dt.timedelta(days=365), 0)
    if row_id == 33:
        facts["cancer"] = False
    if row_id in CANCERS:
        in_situ, size, n0 = CANCERS[row_id]
        facts |= {
            "cancer": True,
            "cancer_in_situ": in_situ,
            "cancer_size_mm": size,
            "cancer_node_negative": n0,
        }
    if kind == "INTERVAL":
        facts |= {"cancer": True, "interval_cancer": True, "cancer_in_situ": False, "cancer_size_mm": 20}
        facts["cancer_node_negative"] = True
    return facts


def build_world() -> SimpleNamespace:
    site_a, site_b = SiteFactory(name="Vichy"), SiteFactory(name="Moulins")
    p1 = PracticeFactory(name="Cabinet des Tilleuls", town="Vichy", dematerialised_on=dt.date(2023, 1, 1))
    p2 = PracticeFactory(name="Cabinet de l'Allier", town="Moulins", dematerialised_on=P2_GO_LIVE)
    w = SimpleNamespace(site_a=site_a, site_b=site_b, p1=p1, p2=p2)
    w.r1a = l1_of(p1, first_name="Alice", last_name="Premier")
    w.r1b = l1_of(p2, first_name="Bruno", last_name="Second")
    w.x = reader_at(site_a, UserFactory(first_name="Xavier", last_name="Lecteur"))
    w.y = reader_at(site_b, UserFactory(first_name="Yvonne", last_name="Relectrice"), yearly_target=2000)
    w.staff = staff_of(p1)
    w.coord = coordinator(first_name="Nadia", last_name="Coordo")
    w.exams = {}
    for row_id in ROWS:
        facts = _outcome(row_id, w)
        exam = Exam.objects.create(
            participant=ParticipantFactory(), practice=facts["practice"], l1_radiologist=facts["l1_radiologist"],
            mammogram_date=facts["mammogram_date"], medium=facts["medium"], created_by=w.staff,
            due_at=facts["mammogram_date"] + dt.timedelta(days=15), state="CLOSED",
        )  # fmt: skip
        ExamOutcome.objects.create(exam=exam, **facts)
        w.exams[row_id] = exam
    return w
