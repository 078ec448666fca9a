"""The case as the reading workstation receives it (spec §2, §3): classified views with their display
transforms, the chosen prior, the L1 form as the policy allows, flags, and the next cases to prefetch."""

import datetime as dt

from django.urls import reverse

from readings.models import Assignment, L2Reading, Retake
from readings.selectors import exam_for_reader, reader_session, reader_worklist
from screening.models import DicomInstance, Exam, Rendition, User
from screening.services.policies import l1_blinded_for
from screening.services.renditions import HTJ2K_LOSSLESS_RPCL

SLOTS = ("RCC", "LCC", "RMLO", "LMLO")
PRIOR_MIN_MONTHS = 12  # C8: default prior = the latest at least 12 months older


def case_view(instance: DicomInstance) -> dict:
    renditions = {r.kind: r for r in instance.renditions.all()}
    preview = renditions.get(Rendition.Kind.PREVIEW)
    display = renditions.get(Rendition.Kind.DISPLAY)
    htj2k = renditions.get(Rendition.Kind.HTJ2K)
    if preview:
        preview_url = reverse("rendition_webp", args=[instance.pk, "apercu"])
    else:
        preview_url = reverse("rendition", args=[instance.pk, "affichage"]) if display else None
    return {
        "sop_uid": instance.sop_uid,
        "slot": instance.slot,
        "laterality": instance.laterality,
        "view": instance.view,
        "modifiers": instance.view_modifiers,
        "rows": instance.rows,
        "columns": instance.columns,
        "bits_stored": instance.bits_stored,
        "photometric": instance.photometric,
        "spacing_mm": instance.pixel_spacing_mm,
        "patient_orientation": instance.patient_orientation,
        "flip_horizontal": instance.flip_horizontal,
        "flip_vertical": instance.flip_vertical,
        "flags": instance.flags,
        "breast_box": instance.breast_box,
        "lossy": instance.lossy,
        "transfer_syntax": instance.transfer_syntax_uid,
        "sha256": instance.sha256,
        "size_bytes": instance.size_bytes,
        "url": reverse("readings:dicom", args=[instance.sop_uid]),
        "preview_url": preview_url,
        # WADO-RS lossless frame (HTJ2K) with its header inline; null → the viewer loads `url` (the original).
        "wado": _wado(instance, htj2k) if htj2k else None,
    }


def _wado(instance: DicomInstance, htj2k: Rendition) -> dict:
    uids = [instance.series.study.study_uid, instance.series.series_uid, instance.sop_uid]
    return {
        "frames_url": reverse("readings:wado_frames", args=[*uids, "1"]),
        "metadata_url": reverse("readings:wado_metadata", args=uids),
        "metadata": htj2k.metadata,
        "transfer_syntax": HTJ2K_LOSSLESS_RPCL,
        "pixel_sha256": htj2k.pixel_sha256,
        "size_bytes": htj2k.size_bytes,
    }


def _views(exam: Exam) -> tuple[dict[str, dict], list[dict]]:
    """The default image of each standard slot (C6), and every other image as an extra view."""
    standard, extra = {}, []
    instances = (
        exam.instances.select_related("series__study")
        .prefetch_related("renditions")
        .order_by("slot", "-acquisition_datetime", "pk")
    )
    for instance in instances:
        if instance.is_default_for_slot and instance.slot in SLOTS:
            standard[instance.slot] = case_view(instance)
        else:
            extra.append(case_view(instance))
    duplicates = {v["slot"] for v in extra if v["slot"]}
    for slot in duplicates & set(standard):
        standard[slot]["badge"] = "+" + str(sum(1 for v in extra if v["slot"] == slot))
    return standard, extra


def prior_choose(exam: Exam) -> Exam | None:
    """C8: the latest earlier exam of the woman at least 12 months older, else the latest earlier one."""
    earlier = exam.priors.filter(mammogram_date__lt=exam.mammogram_date).order_by("-mammogram_date")
    limit = exam.mammogram_date - dt.timedelta(days=round(PRIOR_MIN_MONTHS * 30.44))
    return earlier.filter(mammogram_date__lte=limit).first() or earlier.first()


L1_BLINDED_KEYS = ("acr_final_right", "acr_final_left", "acr_initial_right", "acr_initial_left", "bdi_done",
                   "conduct", "lesions")  # fmt: skip


def _l1(exam: Exam, *, blinded: bool = False) -> dict:
    """The L1 form for the second reader; under a blind policy (§5) without ACR, lesions, BDI and conduct."""
    data = _l1_full(exam)
    if blinded:
        data = {k: v for k, v in data.items() if k not in L1_BLINDED_KEYS}
        data["blinded"] = True
    return data


def _l1_full(exam: Exam) -> dict:
    form = exam.l1_form
    return {
        "acr_final_right": form.acr_final_right,
        "acr_final_left": form.acr_final_left,
        "acr_initial_right": form.acr_initial_right,
        "acr_initial_left": form.acr_initial_left,
        "density": form.density,
        "clinical_exam": form.get_clinical_exam_display(),
        "clinical_findings": form.clinical_findings,
        "bdi_done": form.bdi_done,
        "conduct": form.get_conduct_display() if form.conduct else "",
        "history": {
            "implants": form.implants,
            "breast_cancer_history": form.breast_cancer_history,
            "family_history": form.family_history,
            "high_risk": form.high_risk,
            "hormone_therapy": form.hormone_therapy,
            "benign_surgery": form.benign_surgery,
        },  # fmt: skip
        "comment": form.comment,
        "lesions": [
            {
                "phase": les.phase,
                "side": les.side,
                "type": les.lesion_type,
                "quadrant": les.quadrant,
                "clock": les.clock,
            }  # fmt: skip
            for les in form.lesions.all()
        ],
    }


def _retake(exam: Exam, extra: list[dict]) -> dict | None:
    """R-CTI-4: a retake is re-read with the originals; say which views were retaken and why, and mark the
    originals among the extra views (the retaken image is the slot's default, the original an extra view)."""
    retake = (
        Retake.objects.filter(exam=exam, received_at__isnull=False)
        .select_related("reading")
        .order_by("-pk")
        .first()
    )
    if retake is None:
        return None
    asked_at = retake.reading.submitted_at  # images stored before the CTI verdict are the originals
    originals = set(exam.instances.filter(stored_at__lt=asked_at).values_list("sop_uid", flat=True))
    for view in extra:
        view["original"] = view["sop_uid"] in originals
    items = [
        {"side": i.side, "view": i.view, "reason": i.get_reason_display(), "action": i.get_action_display(),
         "instructions": i.instructions}
        for i in retake.reading.cti_items.all()
    ]  # fmt: skip
    return {"round": exam.l2_round, "received_at": retake.received_at.isoformat(), "items": items}


def case_for_reader(*, reader: User, exam_id: int, prefetch: int = 3) -> dict:
    """Everything the workstation needs to hang and read one case; 404 unless it is the reader's."""
    exam = exam_for_reader(reader=reader, exam_id=exam_id)
    standard, extra = _views(exam)
    prior = prior_choose(exam)
    prior_views = _views(prior)[0] if prior is not None else {}
    assignment = Assignment.objects.filter(exam=exam, reader=reader).order_by("-pk").first()
    provisional = exam.l2_readings.filter(reader=reader, status=L2Reading.Status.PROVISIONAL).first()
    # The reader's whole remaining list in reading order (session first): the page orders skips against it.
    queue = [
        pk for pk in reader_worklist(reader=reader).values_list("exam_id", flat=True)[:500] if pk != exam.pk
    ]
    following = queue[:prefetch]
    session = reader_session(reader=reader)
    p = exam.participant
    l1 = exam.l1_form
    blinded = l1_blinded_for(exam=exam, reader=reader)
    return {
        "policy": exam.policy_version,
        "exam": {
            "id": exam.pk,
            "state": exam.state,
            "medium": exam.medium,
            "l2_round": exam.l2_round,
            "mammogram_date": exam.mammogram_date.isoformat(),
            "due_at": exam.due_at.isoformat(),
            "practice_town": exam.practice.town,
            "accession_number": exam.accession_number,
            "urgent": exam.urgent,
        },  # fmt: skip
        # Identity strip (§4 overlays): outside the images, in one fixed place.
        "identity": {
            "programme_id": p.programme_id,
            "name": f"{p.last_name.upper()} {p.first_name}",
            "birth_date": p.birth_date.isoformat(),
        },  # fmt: skip
        "views": standard,
        "missing": [slot for slot in SLOTS if slot not in standard],
        "extra_views": extra,
        "retake": _retake(exam, extra) if exam.l2_round > 1 else None,
        "lossy": any(v["lossy"] for v in standard.values()),
        "prior": {
            "exam_id": prior.pk,
            "mammogram_date": prior.mammogram_date.isoformat(),
            "months_before": round((exam.mammogram_date - prior.mammogram_date).days / 30.44),
            "views": prior_views,
        }
        if prior is not None
        else None,  # fmt: skip
        "l1": _l1(exam, blinded=blinded) if l1 is not None else None,
        "normal_acr": {  # blind reading: no hint from the L1 ACR either
            "right": l1.acr_final_right if l1 and not blinded and l1.acr_final_right in (1, 2) else 1,
            "left": l1.acr_final_left if l1 and not blinded and l1.acr_final_left in (1, 2) else 1,
        },
        "assignment": {"id": assignment.pk, "state": assignment.state} if assignment else None,
        "provisional": {"reading_id": provisional.pk, "final_at": provisional.final_at.isoformat()}
        if provisional
        else None,
        "next": following,
        "queue": queue,
        "session": {"read": session.read, "assigned": session.assigned} if session else None,
        "urls": {
            "verdict": reverse("readings:api_verdict", args=[exam.pk]),
            "defer": reverse("readings:api_defer", args=[exam.pk]),
        },
    }
