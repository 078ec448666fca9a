"""The synthetic centre of `manage.py benchmark_indicators`: ten years of exams and their ExamOutcome rows,
filled by INSERT … SELECT generate_series in PostgreSQL (2 M rows in minutes), in a scratch database only.

Distributions (seeded): 20 practices of unequal size, 3 L1 radiologists each (60), the first 25 of them also
second readers on 3 sites (never their own exams, R-COI-1); films 25 % in the first year falling to ~5 %
(practices going live over the years, two never); L1 ACR 0/3/4/5 before BDI ~8 %, positive after BDI ~3 %
(not read at L2, R-SCOPE-2); at L2 1.5 % positive, 0.8 % CTI; cancers ~7 ‰ (mostly L1 positives, ~5 % of
L2 positives, a few interval cancers); delays: submission after ~1.5 days, reading within hours to days,
negative letters within hours of the reading; recent exams still in the backlog.
"""

import datetime as dt
import random

from django.db import connection
from django.db.models import DateTimeField
from django.utils import timezone

from readings.models import ReaderProfile
from screening.models import (
    CentreRole,
    Exam,
    Participant,
    Practice,
    PracticeMembership,
    PracticeRole,
    ReadingCentre,
    ReadingSite,
    User,
)
from screening.models.outcomes import ExamOutcome

PRACTICES, L1_PER_PRACTICE, READERS, SITES = 20, 3, 25, 3
YEARS_DAYS = 3652


def _insert_select(model, exprs: dict[str, str], from_sql: str, params: tuple = ()) -> int:
    """INSERT INTO model's table SELECT … with every NOT NULL column given: `exprs` (SQL by column), else the
    field's default, else NULL; robust to fields added later (they take their default)."""
    columns, values, select_params = [], [], []
    for f in model._meta.concrete_fields:
        columns.append(f'"{f.column}"')
        if f.column in exprs:
            values.append(exprs[f.column])
        elif isinstance(f, DateTimeField) and (f.auto_now or f.auto_now_add):
            values.append("now()")
        elif f.has_default() or (f.empty_strings_allowed and not f.null):
            values.append("%s")
            select_params.append(f.get_db_prep_save(f.get_default(), connection))
        elif f.null:
            values.append("NULL")
        else:
            raise ValueError(f"benchmark: no value for {model.__name__}.{f.column}")
    sql = f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) SELECT {", ".join(values)} {from_sql}'
    with connection.cursor() as cursor:
        cursor.execute(sql, (*select_params, *params))
        return cursor.rowcount


def _organisation(seed: int, today: dt.date) -> dict:
    rng = random.Random(seed)
    centre = ReadingCentre.objects.create(code="BENCH", name="CRCDC banc d'essai")
    sites = [
        ReadingSite.objects.create(centre=centre, code=f"S{i}", name=name, town=name)
        for i, name in enumerate(("Vichy", "Moulins", "Montluçon"))
    ]
    start = today - dt.timedelta(days=YEARS_DAYS)
    # 14 practices dematerialised before the period, 4 going live during it, 2 never (films only).
    golive = [start - dt.timedelta(days=rng.randint(30, 900)) for _ in range(14)]
    golive += [start + dt.timedelta(days=d) for d in (200, 700, 1500, 2600)] + [None, None]
    practices = [
        Practice.objects.create(
            centre=centre, code=f"B{i:02d}", name=f"Cabinet {i + 1:02d}", town=f"Ville {i + 1}",
            dematerialised_on=golive[i], home_site=sites[i % SITES],
        )
        for i in range(PRACTICES)
    ]  # fmt: skip
    # Volume weights: the going-live practices carry ~20 % of exams, the film-only ones ~5 %.
    weights = [5.0] * 14 + [5.0] * 4 + [2.5] * 2
    total = sum(weights)
    cumulative, acc = [], 0.0
    for w in weights[:-1]:
        acc += w / total
        cumulative.append(round(acc, 6))
    staff = User.objects.create(username="bench-staff", password="!", first_name="Bench", last_name="Staff")
    coordinator = User.objects.create(
        username="bench-coord",
        password="!",
        first_name="Nadia",
        last_name="Coordo",
        centre_role=CentreRole.COORDINATOR,
    )
    l1 = []
    for i in range(PRACTICES * L1_PER_PRACTICE):
        user = User.objects.create(
            username=f"bench-l1-{i}", password="!", title="Dr", first_name="R", last_name=f"L1-{i:02d}"
        )
        PracticeMembership.objects.create(
            user=user, practice=practices[i // L1_PER_PRACTICE], role=PracticeRole.L1_RADIOLOGIST
        )
        l1.append(user)
    readers = l1[:READERS]
    for i, user in enumerate(readers):
        ReaderProfile.objects.create(user=user, site=sites[i % SITES], yearly_target=2000 if i == 0 else None)
    with connection.cursor() as cursor:
        cursor.execute("CREATE UNLOGGED TABLE bench_practice (idx int PRIMARY KEY, id bigint, golive date)")
        cursor.executemany(
            "INSERT INTO bench_practice VALUES (%s, %s, %s)",
            [(i, p.pk, p.dematerialised_on) for i, p in enumerate(practices)],
        )
        cursor.execute("CREATE UNLOGGED TABLE bench_l1 (idx int PRIMARY KEY, id bigint)")
        cursor.executemany("INSERT INTO bench_l1 VALUES (%s, %s)", [(i, u.pk) for i, u in enumerate(l1)])
        cursor.execute("CREATE UNLOGGED TABLE bench_reader (idx int PRIMARY KEY, id bigint, site_id bigint)")
        cursor.executemany(
            "INSERT INTO bench_reader VALUES (%s, %s, %s)",
            [(i, u.pk, sites[i % SITES].pk) for i, u in enumerate(readers)],
        )
    return {"start": start, "cumulative": cumulative, "staff": staff, "coordinator": coordinator}


# Per-exam facts, from uniform draws (u_*) of the staging table; "now" is the fill's timestamp.
FACTS_SQL = """
CREATE UNLOGGED TABLE bench_f AS
WITH a AS (
  SELECT bp.id AS practice_id, l1.id AS l1_id, rd.id AS reader_id, rd.site_id,
         CASE WHEN bp.golive IS NOT NULL AND e.d >= bp.golive THEN 'CONSOLE' ELSE 'FILM' END AS medium,
         e.u_l1 < CASE WHEN e.first_round THEN 0.11 ELSE 0.075 END AS l1_pos_i,
         e.u_l1 < CASE WHEN e.first_round THEN 0.11 ELSE 0.075 END AND e.u_l1f < 0.38 AS l1_pos_f,
         LEAST(
           (e.d + floor(-ln(1 - e.u_lag) * 1.5)::int)::timestamp AT TIME ZONE 'Europe/Paris'
             + interval '8 hours' + e.u_d1 * interval '10 hours',
           %(now)s::timestamptz - interval '1 hour') AS submitted_at,
         e.*
  FROM bench_e e
  JOIN bench_practice bp ON bp.idx = e.pr
  JOIN bench_l1 l1 ON l1.idx = e.pr * {l1_per} + e.l1_off
  JOIN bench_reader rd ON rd.idx = CASE WHEN e.r_idx = e.pr * {l1_per} + e.l1_off
                                        THEN (e.r_idx + 1) %% {readers} ELSE e.r_idx END
), b AS (
  SELECT a.*,
         CASE WHEN NOT a.l1_pos_f
                   AND a.submitted_at + (2 + -ln(1 - a.u_read) * 36) * interval '1 hour' < %(now)s::timestamptz
              THEN a.submitted_at + (2 + -ln(1 - a.u_read) * 36) * interval '1 hour' END AS read_at
  FROM a
), c AS (
  SELECT b.*,
         b.read_at IS NOT NULL AND b.u_l2 < 0.015 AS l2_pos,
         b.read_at IS NOT NULL AND b.u_l2 >= 0.015 AND b.u_l2 < 0.023 AS cti,
         b.read_at + (1 + -ln(1 - b.u_letter) * 20) * interval '1 hour' AS letter_at,
         b.read_at + (4 + b.u_d1 * 26) * interval '1 hour' AS doctor_at
  FROM b
), d AS (
  SELECT c.*,
         c.doctor_at + (20 + c.u_d2 * 34) * interval '1 hour' AS woman_at,
         (c.l1_pos_f AND c.u_cancer < 0.2) OR (c.l2_pos AND c.u_cancer < 0.05) AS has_cancer,
         (NOT c.l1_pos_f AND NOT c.l2_pos AND c.read_at IS NOT NULL AND c.u_cancer < 0.001) AS interval_c,
         (c.l1_pos_f OR c.l2_pos) AND c.u_known < 0.9 AND c.d < %(today)s::date - 90 AS known
  FROM c
)
SELECT d.*,
       CASE WHEN d.l1_pos_f THEN 'POS_L1' WHEN d.l2_pos THEN 'POS_L2' WHEN d.cti THEN 'CTI'
            WHEN d.read_at IS NOT NULL THEN 'NEG' ELSE 'PENDING' END AS global_result,
       CASE WHEN NOT d.l2_pos AND NOT d.cti AND d.letter_at < %(now)s::timestamptz THEN d.letter_at
            WHEN d.l2_pos AND d.woman_at < %(now)s::timestamptz THEN d.woman_at END AS result_sent_at,
       CASE WHEN d.l2_pos AND d.u_fu < 0.85 AND d.read_at + interval '30 days' < %(now)s::timestamptz
            THEN d.read_at + (10 + d.u_d2 * 50) * interval '1 day' END AS bdd_at,
       CASE WHEN (d.l1_pos_f OR d.l2_pos) AND d.u_fu >= 0.93 AND d.d + 365 < %(today)s::date
            THEN (d.d + 365)::timestamp AT TIME ZONE 'Europe/Paris' END AS lost_at
FROM d
"""


def fill(*, exams: int, seed: int) -> dict:
    """The organisation (ORM), then participants, exams and outcomes (SQL). Returns what the timing needs."""
    today = timezone.localdate()
    now = timezone.now()
    org = _organisation(seed, today)
    half = (exams + 1) // 2
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers: consistent by construction
        cursor.execute("SELECT setseed(%s)", [((seed % 1000) / 1000.0)])
        cursor.execute(
            """CREATE UNLOGGED TABLE bench_p AS
               SELECT g AS p, floor(random() * (%s - 760))::int AS off, random() AS u_pr, random() < 0.3 AS first_time
               FROM generate_series(1, %s) g""",
            [YEARS_DAYS, half],
        )
        cursor.execute(
            f"""CREATE UNLOGGED TABLE bench_e AS
               SELECT row_number() OVER (ORDER BY d, p, k) AS id, x.* FROM (
                 SELECT bp.p, k, LEAST(%(today)s::date, GREATEST(%(start)s::date,
                          %(start)s::date + bp.off + k * 730 + floor(random() * 61 - 30)::int)) AS d,
                        width_bucket(bp.u_pr, %(cum)s::float8[]) AS pr, (k = 0 AND bp.first_time) AS first_round,
                        floor(random() * {L1_PER_PRACTICE})::int AS l1_off, floor(random() * {READERS})::int AS r_idx,
                        random() AS u_l1, random() AS u_l1f, random() AS u_lag, random() AS u_read, random() AS u_l2,
                        random() AS u_letter, random() AS u_d1, random() AS u_d2, random() AS u_fu,
                        random() AS u_cancer, random() AS u_known, random() AS u_sz, random() AS u_node, random() AS u_situ
                 FROM bench_p bp CROSS JOIN generate_series(0, 1) k) x""",
            {"today": today, "start": org["start"], "cum": org["cumulative"]},
        )
        cursor.execute("DELETE FROM bench_e WHERE id > %s", [exams])
        cursor.execute(
            FACTS_SQL.format(l1_per=L1_PER_PRACTICE, readers=READERS), {"now": now, "today": today}
        )
    _insert_participants(half)
    _insert_exams(org["staff"].pk)
    _insert_outcomes()
    with connection.cursor() as cursor:
        for table in ("screening_participant", "screening_exam"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("DROP TABLE bench_p, bench_e, bench_f, bench_practice, bench_l1, bench_reader")
    return {"coordinator": org["coordinator"], "start": org["start"], "today": today}


def _insert_participants(count: int) -> None:
    _insert_select(
        Participant,
        {
            "id": "g",
            "programme_id": "'B-' || g",
            "last_name": "'BENCH' || g",
            "first_name": "'Anne'",
            "birth_date": "date '1950-01-01' + (g %% 9000)",
        },
        "FROM generate_series(1, %s) g",
        (count,),
    )


def _insert_exams(staff_id: int) -> None:
    _insert_select(
        Exam,
        {
            "id": "f.id",
            "participant_id": "f.p",
            "practice_id": "f.practice_id",
            "l1_radiologist_id": "f.l1_id",
            "mammogram_date": "f.d",
            "medium": "f.medium",
            "equipment": "CASE WHEN f.medium = 'FILM' THEN 'ANA' ELSE 'DR' END",
            "screening_round": "CASE WHEN f.first_round THEN 'FIRST' ELSE 'SUBSEQUENT' END",
            "due_at": "f.d + 15",
            "state": """CASE WHEN f.global_result = 'NEG' AND f.result_sent_at IS NOT NULL THEN 'CLOSED'
                        WHEN f.lost_at IS NOT NULL THEN 'LOST_TO_FOLLOW_UP'
                        WHEN f.l1_pos_f THEN 'HISTOLOGY_PENDING'
                        WHEN f.read_at IS NULL THEN 'QUEUED'
                        WHEN f.l2_pos THEN CASE WHEN f.bdd_at IS NOT NULL THEN 'BDD_RECEIVED' ELSE 'BDD_PENDING' END
                        WHEN f.cti THEN 'RETAKE_PENDING' ELSE 'L2_NEGATIVE' END""",
            "created_by_id": str(int(staff_id)),
            "created_at": "f.submitted_at",
            "submitted_at": "f.submitted_at",
            "state_changed_at": "coalesce(f.result_sent_at, f.read_at, f.submitted_at)",
        },
        "FROM bench_f f ORDER BY f.id",
    )


def _insert_outcomes() -> None:
    _insert_select(
        ExamOutcome,
        {
            "exam_id": "f.id",
            "mammogram_date": "f.d",
            "practice_id": "f.practice_id",
            "l1_radiologist_id": "f.l1_id",
            "medium": "f.medium",
            "first_round": "f.first_round",
            "policy_version": "'FR-2006'",
            "global_result": "f.global_result",
            "l1_positive_initial": "f.l1_pos_i",
            "l1_positive_final": "f.l1_pos_f",
            "l2_read_at": "f.read_at",
            "l2_reader_id": "CASE WHEN f.read_at IS NOT NULL THEN f.reader_id END",
            "l2_site_id": "CASE WHEN f.read_at IS NOT NULL THEN f.site_id END",
            "l2_positive": "f.l2_pos",
            "l2_cti": "f.cti",
            "l2_rounds": "CASE WHEN f.read_at IS NOT NULL THEN 1 ELSE 0 END",
            "recalled": "f.l2_pos",
            "submitted_at": "f.submitted_at",
            "result_sent_at": "f.result_sent_at",
            "doctor_letter_at": "CASE WHEN f.l2_pos AND f.doctor_at < now() THEN f.doctor_at END",
            "woman_letter_at": "CASE WHEN f.l2_pos AND f.woman_at < now() THEN f.woman_at END",
            "cti_letter_at": "CASE WHEN f.cti AND f.letter_at < now() THEN f.letter_at END",
            "bdd_received_at": "f.bdd_at",
            "lost_at": "f.lost_at",
            "cancer": "CASE WHEN f.has_cancer OR f.interval_c THEN true WHEN f.known THEN false END",
            "cancer_in_situ": "CASE WHEN f.has_cancer OR f.interval_c THEN f.u_situ < 0.15 END",
            "cancer_size_mm": """CASE WHEN (f.has_cancer OR f.interval_c) AND f.u_situ >= 0.15
                                 THEN LEAST(80, 3 + floor(-ln(1 - f.u_sz) * 12))::int END""",
            "cancer_node_negative": "CASE WHEN (f.has_cancer OR f.interval_c) AND f.u_situ >= 0.15 THEN f.u_node < 0.72 END",
            "interval_cancer": "f.interval_c",
            "closed_at": "CASE WHEN f.global_result = 'NEG' THEN f.result_sent_at END",
            "closed_reason": "CASE WHEN f.global_result = 'NEG' AND f.result_sent_at IS NOT NULL THEN 'NEGATIVE' ELSE '' END",
        },
        "FROM bench_f f ORDER BY f.id",
    )
