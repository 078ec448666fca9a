"""The demo data set of `manage.py load_demo`, built through the real services.

Organisation rows come from screening.demo_people (no service exists for them). Every exam is created,
uploaded, submitted, assigned and read with the services the UI calls: the images are synthetic DICOM
files (screening.dicom.synth) written to a temporary folder and uploaded one by one, so validation,
storage, renditions, intake routing and reader assignment really run. Tasks must run eagerly (embedded
default) or on a worker sharing MEDIA_ROOT: the loader waits for the worker's results.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from pydicom.uid import generate_uid

from readings.models import Assignment, CtiItem, L2Reading
from readings.services.assignment import assignment_release, exam_assign
from readings.services.films import (
    film_exam_register,
    film_result_key_in,
)
from readings.services.l2_reading import CtiInput, FindingInput, l2_reading_open, l2_reading_submit
from screening import demo_people as people
from screening.demo_images import ImagePool
from screening.demo_outcomes import outcomes_demo
from screening.demo_people import BERNARD, SLOTS, ExamSpec, Identity, Organisation
from screening.demo_planning import home_sites_set, lightbox_book, planning_demo
from screening.models import AuditEvent, DicomInstance, Exam, ExamState, IngestFile, ReadingCentre
from screening.services.audit import audit_record
from screening.services.exams import exam_create, exam_submit, participant_get_or_create
from screening.services.ingest import ingest_file_receive

Log = Callable[[str], None]

# Positive L2 readings: (finding, proposed exams).
FINDINGS = (
    (FindingInput("G", "C", "QSE", 0, 2, 6, "Foyer de microcalcifications fines groupées"),
     "Agrandissements centrés et clichés localisés"),
    (FindingInput("D", "B", "QII", 0, 4, 9, "Opacité ronde à contours partiellement masqués"),
     "Échographie et clichés localisés"),
    (FindingInput("D", "E", "QSE", 4, 10, 14, "Distorsion architecturale rétro-glandulaire"),
     "Clichés localisés, échographie, microbiopsie si confirmée"),
)  # fmt: skip
CTIS = (
    [CtiInput("D", "MLO", CtiItem.Reason.POS, instructions="Muscle pectoral et sillon sous-mammaire non "
              "dégagés : refaire l'oblique externe droite.")],
    [CtiInput("G", "CC", CtiItem.Reason.FLO, instructions="Flou cinétique : refaire la face gauche."),
     CtiInput("G", "MLO", CtiItem.Reason.CMP, instructions="Compression insuffisante : refaire l'oblique gauche.")],
)  # fmt: skip
# L1-positive forms: (side, lesion type, quadrant, clock, clinical exam, clinical findings, BDI components).
L1_POSITIVES = (
    ("G", "C", "QSE", 2, "N", "", ["PRO", "AGR"]),
    ("D", "A", "QSE", 10, "N", "", ["PRO", "ECH"]),
    ("D", "B", "QII", 4, "A", "Nodule palpable du quadrant inféro-interne droit", ["ECH", "CYT"]),
)


@dataclass
class DemoLoader:
    org: Organisation
    pool: ImagePool
    workdir: Path
    rng: random.Random
    log: Log
    eager: bool
    images: int = 0
    made: Counter = field(default_factory=Counter)

    # --- small steps, each one a service call ---------------------------------------------------

    def _wait(self, check: Callable[[], bool], what: str) -> None:
        """Tasks run eagerly: the check already holds. With a real worker, poll for its result."""
        deadline = time.monotonic() + (0 if self.eager else 300)
        while not check():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} : état inattendu" if self.eager else f"{what} : délai dépassé")
            time.sleep(0.25)

    def _pick(self, name: str, templates: tuple):
        """The next template of a kind, in turn, so that the few positives and CTIs all differ."""
        self.made[name] += 1
        return templates[(self.made[name] - 1) % len(templates)]

    def _l1_form(self, spec: ExamSpec, first: bool) -> tuple[dict, list[dict]]:
        rng = self.rng
        density = rng.choices("ABCD", weights=(15, 40, 35, 10))[0]
        acr = [1 if density == "D" else rng.choices((1, 2), (75, 25))[0] for _ in range(2)]
        form = {
            "first_participation": first,
            "hormone_therapy": rng.random() < 0.08,
            "family_history": rng.random() < 0.12,
            "benign_surgery": rng.random() < 0.06,
            "clinical_exam": rng.choices("NX", (92, 8))[0],
            "density": density,
            "acr_initial_right": acr[0],
            "acr_initial_left": acr[1],
            "acr_final_right": acr[0],
            "acr_final_left": acr[1],
            "conduct": "",
        }
        if spec.kind != "L1_POSITIVE":
            if rng.random() < 0.08:  # an asymmetry cleared by the immediate work-up: still goes to L2
                form.update(
                    acr_initial_left=0, acr_final_left=2, bdi_done=True, bdi_components=["AGR", "ECH"]
                )
                form["comment"] = "Asymétrie de densité gauche : BDI rassurant (échographie normale)."
            return form, []
        side, kind, quadrant, clock, ecs, ecs_text, components = self._pick("L1", L1_POSITIVES)
        key = "right" if side == "D" else "left"
        form.update({f"acr_initial_{key}": 0, f"acr_final_{key}": 4, "conduct": "PMI"})
        form.update(clinical_exam=ecs, clinical_findings=ecs_text, bdi_done=True, bdi_components=components)
        lesion = {"side": side, "lesion_type": kind, "quadrant": quadrant, "clock": clock}
        return form, [dict(lesion, phase="INITIAL"), dict(lesion, phase="BDI")]

    def _create(self, spec: ExamSpec, who: Identity, day: dt.date, prior: bool) -> Exam:
        code, radiologists = spec.practice.code, self.org.l1[spec.practice.code]
        if spec.kind in ("DRAFT", "INCOMPLETE"):
            l1 = self.org.users["dr.martin"]
        else:  # dr.bernard's own exams are never his to read (R-COI-1)
            l1 = self.rng.choice(
                [u for u in radiologists if spec.kind != "ASSIGNED_BERNARD" or u.username != BERNARD]
            )
        participant = participant_get_or_create(
            programme_id=who.programme_id,
            last_name=who.last_name,
            first_name=who.first_name,
            birth_date=who.birth_date,
            **who.extra,
        )
        film = spec.kind in people.FILM_KINDS and not prior
        first = spec.prior_date is None and (day - who.birth_date).days < 52 * 365
        form, lesions = self._l1_form(spec, first)
        film_unit = Exam.Equipment.CR if spec.index % 2 else Exam.Equipment.ANA
        if film:  # registered (and submitted) by the secretariat when the films arrive
            return film_exam_register(
                actor=self.org.coordinator, practice=self.org.practices[code], l1_radiologist=l1,
                participant={"programme_id": who.programme_id, "last_name": who.last_name,
                             "first_name": who.first_name, "birth_date": who.birth_date},
                mammogram_date=day, l1=form, lesions=lesions, equipment=film_unit,
                accession_number=f"{spec.practice.accession_prefix}{day:%y%m%d}{spec.index:03d}",
            )  # fmt: skip
        return exam_create(
            actor=self.org.staff[code],
            practice=self.org.practices[code],
            participant=participant,
            l1_radiologist=l1,
            mammogram_date=day,
            l1=form,
            lesions=lesions,
            accession_number=f"{spec.practice.accession_prefix}{day:%y%m%d}{spec.index:03d}{'A' if prior else ''}",
            medium=Exam.Medium.FILM if film else Exam.Medium.CONSOLE,
            equipment=film_unit if film else Exam.Equipment.DR,
        )

    def _upload(self, exam: Exam, who: Identity, spec: ExamSpec, slots: tuple[str, ...], seed: int) -> None:
        staff = self.org.staff[spec.practice.code]
        tags = {
            "patient_id": f"{spec.practice.accession_prefix}{exam.participant_id:07d}",  # the practice's own id
            "patient_name": who.dicom_name,
            "birth_date": f"{who.birth_date:%Y%m%d}",
            "study_date": f"{exam.mammogram_date:%Y%m%d}",
            "accession_number": exam.accession_number,
            "study_uid": generate_uid(),
        }
        for slot in slots:
            path = self.workdir / f"{exam.accession_number}_{slot}.dcm"
            self.pool.write(
                path, detector=spec.practice.detector, seed=seed, slot=slot, meta_seed=exam.pk, **tags
            )
            with path.open("rb") as fh:
                record = ingest_file_receive(
                    practice=exam.practice,
                    exam=exam,
                    upload=File(fh, name=path.name),
                    original_name=path.name,
                    actor=staff,
                )
            audit_record(
                actor=staff, action=AuditEvent.Action.FILE_UPLOAD, exam=exam, object_ref=record.original_name
            )
            path.unlink()
            self.images += 1
        files = IngestFile.objects.filter(exam=exam)
        self._wait(lambda: not files.filter(state=IngestFile.State.RECEIVED).exists(), f"images de {exam}")
        refused = files.filter(state=IngestFile.State.REFUSED).first()
        if refused is not None:
            raise RuntimeError(f"{refused.original_name} refusé : {refused.reason}")

    def _submit(self, exam: Exam, actor) -> Exam:
        film, S = exam.medium == Exam.Medium.FILM, ExamState  # films: submitted on registration
        if not film:
            exam_submit(exam_id=exam.pk, actor=actor)
        # L1 positives go on at once to their follow-up (§4): histology, surveillance or deferred work-up.
        settled = (S.QUEUED if film else S.ASSIGNED, S.INCOMPLETE, S.L1_POSITIVE, S.HISTOLOGY_PENDING,
                   S.SURVEILLANCE, S.BDD_PENDING)  # fmt: skip
        self._wait(lambda: Exam.objects.filter(pk=exam.pk, state__in=settled).exists(), f"routage de {exam}")
        exam.refresh_from_db()
        if film and exam.state == S.QUEUED:  # the engine leaves films to a lightbox session
            lightbox_book(self.org, exam)
            exam.refresh_from_db()
        return exam

    def _read(self, exam: Exam, kind: str, reader) -> None:
        if exam.medium == Exam.Medium.FILM:  # keyed in by the secretariat after the lightbox session
            form = exam.l1_form
            acr = [a if a in (1, 2) else 2 for a in (form.acr_final_right, form.acr_final_left)]
            film_result_key_in(exam_id=exam.pk, reader=reader, keyed_by=self.org.coordinator,
                               verdict=L2Reading.Verdict.NORMAL, acr_right=acr[0], acr_left=acr[1])  # fmt: skip
            return
        l2_reading_open(exam_id=exam.pk, reader=reader)
        audit_record(actor=reader, action=AuditEvent.Action.READING_OPEN, exam=exam, object_ref="lecture L2")
        if kind == "IN_READING":
            return
        seconds = self.rng.randint(35, 150)
        if kind == "POSITIVE":
            finding, proposed = self._pick("finding", FINDINGS)
            views = DicomInstance.objects.filter(
                exam=exam, is_default_for_slot=True, laterality="RL"["DG".index(finding.side)]
            )
            marks = [_mark(instance, finding.quadrant) for instance in views]
            l2_reading_submit(
                undo_seconds=0,
                exam_id=exam.pk, reader=reader, verdict=L2Reading.Verdict.ANOMALY,
                findings=[FindingInput(**{**finding.__dict__, "marks": marks})], proposed_exams=proposed,
                comment="Anomalie non décrite en première lecture : bilan de diagnostic différé conseillé.",
                reading_seconds=seconds * 2,
            )  # fmt: skip
        elif kind == "CTI":
            l2_reading_submit(
                undo_seconds=0,
                exam_id=exam.pk, reader=reader, verdict=L2Reading.Verdict.CTI,
                cti_items=self._pick("cti", CTIS), reading_seconds=seconds,
            )  # fmt: skip
        else:
            form = exam.l1_form
            acr = [a if a in (1, 2) else 2 for a in (form.acr_final_right, form.acr_final_left)]
            l2_reading_submit(
                undo_seconds=0,
                exam_id=exam.pk, reader=reader, verdict=L2Reading.Verdict.NORMAL,
                acr_right=acr[0], acr_left=acr[1], reading_seconds=seconds,
            )  # fmt: skip

    # --- one exam of each kind --------------------------------------------------------------------

    def build(self, spec: ExamSpec, who: Identity, *, prior: bool = False) -> Exam:
        kind = "NEGATIVE" if prior else spec.kind
        day = spec.prior_date if prior else spec.mammogram_date
        exam = self._create(spec, who, day, prior)
        staff = self.org.staff[spec.practice.code]
        seed = spec.prior_seed if prior else spec.seed
        if kind not in people.NO_IMAGE_KINDS:
            slots = {"DRAFT": SLOTS[: 2 + spec.index % 2], "INCOMPLETE": SLOTS[:3]}.get(kind, SLOTS)
            self._upload(exam, who, spec, slots, seed)
        if kind == "DRAFT":
            return exam
        exam = self._submit(exam, self.org.coordinator if exam.medium == Exam.Medium.FILM else staff)
        if exam.state != ExamState.ASSIGNED:
            return exam  # INCOMPLETE or L1_POSITIVE
        coordinator, reader = self.org.coordinator, exam.assignments.get(state=Assignment.State.ACTIVE).reader
        if kind == "QUEUED":  # back in the queue: the coordinator assigns it by hand in the demo
            assignment_release(exam_id=exam.pk, actor=coordinator, reason="Lecteur absent : remis en file.")
        elif kind == "ASSIGNED_BERNARD" and reader.username != BERNARD:
            assignment_release(
                exam_id=exam.pk, actor=coordinator, reason="Réattribution par la coordination."
            )
            exam_assign(exam_id=exam.pk, actor=coordinator, reader=self.org.users[BERNARD])
        elif kind in ("NEGATIVE", "POSITIVE", "CTI", "IN_READING", "FILM_NEGATIVE"):
            self._read(exam, kind, reader)
        exam.refresh_from_db()
        return exam


def _mark(instance: DicomInstance, quadrant: str) -> dict:
    """A diagram mark in stored pixels: a third of the way from the chest wall, in the quadrant's half."""
    outer, upper = quadrant in ("QSE", "QIE", "UEXT", "PA"), quadrant in ("QSE", "QSI", "USUP", "PA")
    depth = 0.3 if instance.laterality == "L" else 0.7  # left breasts have the chest wall on the left edge
    height = (0.35 if outer else 0.62) if instance.view == "CC" else (0.38 if upper else 0.62)
    return {
        "sop_uid": instance.sop_uid,
        "x": round(instance.columns * depth),
        "y": round(instance.rows * height),
    }


def demo_loaded() -> bool:
    return ReadingCentre.objects.filter(code=people.CENTRE_CODE).exists()


def demo_reset(log: Log) -> None:
    """Delete every row of the project's apps (PROTECT order found by retrying) and the stored images."""
    project = [c for c in apps.get_app_configs() if c.label in ("screening", "readings")]
    models = [m for config in project for m in config.get_models()]
    L2Reading.objects.update(supersedes=None)  # self-referencing PROTECT
    for _ in range(len(models) + 1):
        for model in models:
            try:
                with transaction.atomic():
                    model._default_manager.all().delete()
            except (ProtectedError, RestrictedError, IntegrityError):
                continue  # something still points at it: next pass
        left = [m for m in models if m._default_manager.exists()]
        if not left:
            break
    else:
        raise RuntimeError("Impossible de vider la base : " + ", ".join(m.__name__ for m in left))
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()
    for folder in ("originals", "renditions", "staging", "letters", "retakes"):
        shutil.rmtree(Path(settings.MEDIA_ROOT) / folder, ignore_errors=True)
    log("Données et images de démonstration supprimées.")


def demo_load(*, exams: int = people.DEFAULT_EXAMS, log: Log = print, seed: int = 2026) -> dict[str, int]:
    """Build the organisation and `exams` exams (priors included). Returns the count of exams per state."""
    from screening.celery import app as celery_app

    started = time.monotonic()
    rng, today = random.Random(seed), timezone.localdate()
    org = people.organisation_create()
    home_sites_set(org)
    log(
        f"Organisation : {len(org.sites)} sites de lecture, {len(org.practices)} cabinets, {len(org.users)} comptes."
    )
    specs = people.plan_exams(exams, rng, today)
    needs = []
    for spec in specs:
        if spec.prior_date:
            needs.append((spec.practice.detector, spec.prior_seed))
        if spec.kind not in people.NO_IMAGE_KINDS:
            needs.append((spec.practice.detector, spec.seed))
    pool = ImagePool(needs, workers=min(2, os.cpu_count() or 1))
    total, done = len(specs) + sum(1 for s in specs if s.prior_date), 0
    try:
        with tempfile.TemporaryDirectory(prefix="l2-demo-") as tmp:
            loader = DemoLoader(org, pool, Path(tmp), rng, log, bool(celery_app.conf.task_always_eager))
            for spec in specs:
                min_age = 52 if spec.prior_date else 50
                who = people.identity_make(
                    index=spec.index, rng=rng, practice=spec.practice, on=spec.mammogram_date, min_age=min_age
                )
                for prior in (True, False) if spec.prior_date else (False,):
                    exam = loader.build(spec, who, prior=prior)
                    done += 1
                    label = "antériorité" if prior else spec.kind.lower().replace("_", " ")
                    log(
                        f"  [{done:>3}/{total}] {exam.mammogram_date:%d/%m/%Y} {spec.practice.code:<14} "
                        f"{who.last_name.upper():<14} {label:<18} → {exam.get_state_display()}"
                    )
    finally:
        pool.close()
    planning_demo(org, today, log)
    outcomes_demo(org, today, log)
    counts = Counter(Exam.objects.values_list("state", flat=True))
    log(f"{done} examens et {loader.images} images chargés en {time.monotonic() - started:.0f} s.")
    return dict(counts)


def accounts_table() -> list[str]:
    """The fixed demo accounts: username, role, password."""
    user_w, role_w = max(len(u) for u, _ in people.ACCOUNTS), max(len(r) for _, r in people.ACCOUNTS)
    lines = [f"  {'Compte':<{user_w}}  {'Rôle':<{role_w}}  Mot de passe"]
    lines.append(f"  {'-' * user_w}  {'-' * role_w}  {'-' * len(people.DEMO_PASSWORD)}")
    lines += [
        f"  {user:<{user_w}}  {role:<{role_w}}  {people.DEMO_PASSWORD}" for user, role in people.ACCOUNTS
    ]
    lines.append("  Les autres comptes de démonstration (dr.*, staff.*, dr.morel) ont le même mot de passe.")
    return lines
