"""Reading workstation benchmark, Django-side data loader (see bench/workstation.py).

Run as a subprocess by bench/workstation.py in the benchmark's environment, on the throwaway database only:
    python bench/ws_data.py load --cases N --workdir DIR [--uncompressed]   → JSON on stdout
    python bench/ws_data.py withdraw --reader USERNAME                      → JSON on stdout
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import MB  # noqa: E402

PASSWORD = "bench-password-l2"
READER = "dr.bench"


# --- Django-side helper (subprocess, benchmark database only) ------------------------------------


def _gen(job: tuple) -> tuple[str, int]:
    from screening.dicom.synth import write_mammogram

    path, kwargs = job
    with common._stdout_to_devnull():  # openjpeg prints "tile number …"
        write_mammogram(path, **kwargs)
    return path, os.path.getsize(path)


def helper_load(cases: int, workdir: Path, compress: bool) -> dict:
    import datetime as dt
    from concurrent.futures import ProcessPoolExecutor

    from pydicom.uid import generate_uid

    today = dt.date.today()
    women = []
    jobs = []
    for i in range(cases):
        who = {
            "programme_id": f"03-2099-{i + 1:06d}",
            "last_name": f"BANC{i + 1:03d}",
            "first_name": "Lise",
            "birth_date": dt.date(1960 + i % 12, 1 + i % 12, 1 + i % 27),
        }
        dates = {"P": today - dt.timedelta(days=2 + i + 730), "C": today - dt.timedelta(days=2 + i)}
        women.append((who, dates))
        for kind in ("P", "C"):
            study_uid = generate_uid()
            for slot in ("RCC", "LCC", "RMLO", "LMLO"):
                kwargs = {
                    "patient_id": who["programme_id"],
                    "patient_name": f"{who['last_name']}^{who['first_name']}",
                    "birth_date": who["birth_date"].strftime("%Y%m%d"),
                    "study_date": dates[kind].strftime("%Y%m%d"),
                    "accession_number": f"WSB{i + 1:03d}{kind}",
                    "study_uid": study_uid,
                    "laterality": slot[0],
                    "view": slot[1:],
                    "detector": "hologic",
                    "compress": compress,
                    "seed": 2 * i + (kind == "C"),
                }
                jobs.append((str(workdir / f"w{i:03d}{kind}_{slot}.dcm"), kwargs))
    # The pool forks before Django opens any connection; files are written while earlier ones are ingested.
    pool = ProcessPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1))
    results = pool.map(_gen, jobs)

    import django

    django.setup()
    from django.core.files import File

    from readings.models import ReaderProfile
    from readings.selectors_case import case_view
    from readings.services.l2_reading import l2_reading_open, l2_reading_submit
    from screening.models import (
        Exam,
        ExamState,
        Participant,
        Practice,
        PracticeMembership,
        PracticeRole,
        ReadingCentre,
        ReadingSite,
        User,
    )
    from screening.services.exams import exam_create, exam_submit
    from screening.services.ingest import ingest_file_receive

    centre = ReadingCentre.objects.create(code="BENCH", name="Centre de benchmark")
    site = ReadingSite.objects.create(
        centre=centre, code="BENCHSITE", name="Site de benchmark", town="Moulins"
    )
    practice = Practice.objects.create(
        centre=centre,
        code="BENCHCAB",
        name="Cabinet de benchmark",
        town="Vichy",
        dematerialised_on=dt.date(2024, 1, 1),
    )

    def user(username: str, last: str) -> User:
        u = User(username=username, first_name="Claire", last_name=last, title="Dr")
        u.set_password(PASSWORD)
        u.save()
        return u

    staff, l1, reader = (
        user("staff.bench", "Secrétariat"),
        user("dr.l1bench", "Premier"),
        user(READER, "Second"),
    )
    PracticeMembership.objects.create(user=staff, practice=practice, role=PracticeRole.STAFF)
    PracticeMembership.objects.create(user=l1, practice=practice, role=PracticeRole.L1_RADIOLOGIST)
    ReaderProfile.objects.create(user=reader, site=site)
    form = {
        "clinical_exam": "N", "density": "B", "acr_initial_right": 1, "acr_initial_left": 1,
        "acr_final_right": 1, "acr_final_left": 1, "conduct": "",
    }  # fmt: skip

    sizes = []
    out_cases = []
    started = time.perf_counter()
    for i, (who, dates) in enumerate(women):
        participant = Participant.objects.create(**who)
        exams = {}
        for kind in ("P", "C"):
            exam = exam_create(
                actor=staff, practice=practice, participant=participant, l1_radiologist=l1,
                mammogram_date=dates[kind], l1=form, accession_number=f"WSB{i + 1:03d}{kind}",
            )  # fmt: skip
            for _ in range(4):
                path, size = next(results)
                sizes.append(size)
                with open(path, "rb") as fh:
                    ingest_file_receive(
                        practice=practice, exam=exam, upload=File(fh, name=Path(path).name),
                        original_name=Path(path).name, actor=staff,
                    )  # fmt: skip
                os.unlink(path)
            exam_submit(exam_id=exam.pk, actor=staff)
            exam.refresh_from_db()
            if exam.state != ExamState.ASSIGNED:
                raise SystemExit(f"exam {exam.pk} ({kind}) is {exam.state}, not ASSIGNED")
            if kind == "P":  # the prior is read and closed, like the demo's priors
                l2_reading_open(exam_id=exam.pk, reader=reader)
                l2_reading_submit(
                    exam_id=exam.pk, reader=reader, verdict="NORMAL", acr_right=1, acr_left=1,
                    reading_seconds=45, undo_seconds=0,
                )  # fmt: skip
            exams[kind] = exam
        current, prior = exams["C"], exams["P"]
        if not current.priors.filter(pk=prior.pk).exists():
            raise SystemExit(f"exam {current.pk}: prior {prior.pk} not linked")

        def urls(exam: Exam) -> tuple[list[str], list[str | None]]:
            """What the viewer loads per view: the WADO-RS HTJ2K frame if built, else the original; previews."""
            views = {
                v.slot: v
                for v in exam.instances.filter(is_default_for_slot=True)
                .select_related("series__study")
                .prefetch_related("renditions")
            }
            ordered = [views[s] for s in ("RCC", "LCC", "RMLO", "LMLO")]
            loads, previews = [], []
            for v in ordered:
                view = case_view(v)
                loads.append(view["wado"]["frames_url"] if view["wado"] else view["url"])
                previews.append(view["preview_url"])
            return loads, previews

        cur_urls, cur_previews = urls(current)
        prior_urls, _ = urls(prior)
        out_cases.append(
            {
                "exam_id": current.pk,
                "prior_id": prior.pk,
                "urls": cur_urls,
                "previews": cur_previews,
                "prior_urls": prior_urls,
            }  # fmt: skip
        )
        print(f"   case {i + 1}/{len(women)}: exam {current.pk} (prior {prior.pk}) "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
    pool.shutdown()
    rows, columns = 4096, 3328
    return {
        "reader": READER,
        "cases": out_cases,
        "images": len(sizes),
        "file_mb_mean": sum(sizes) / len(sizes) / MB,
        "rows": rows,
        "columns": columns,
    }


def helper_withdraw(username: str) -> dict:
    import django

    django.setup()
    from readings.models import L2Reading
    from readings.services.verdicts import l2_reading_withdraw
    from screening.models import User

    reader = User.objects.get(username=username)
    ids = list(
        L2Reading.objects.filter(reader=reader, status=L2Reading.Status.PROVISIONAL).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        l2_reading_withdraw(reading_id=pk, reader=reader)
    return {"withdrawn": len(ids)}


def helper_main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["load", "withdraw"])
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--uncompressed", action="store_true")
    parser.add_argument("--reader", default=READER)
    args = parser.parse_args(argv)
    if "/l2bench_" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("refusing to run: DATABASE_URL is not a benchmark database (…/l2bench_<pid>)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "screening.settings")
    if args.action == "load":
        result = helper_load(args.cases, args.workdir, not args.uncompressed)
    else:
        result = helper_withdraw(args.reader)
    print(json.dumps(result))


if __name__ == "__main__":
    helper_main(sys.argv[1:])
