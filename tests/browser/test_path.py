"""The foundation path in a real browser, role by role: what each role sees, and what it must not see.

Practice staff create an exam with its L1 fiche, upload the DICOM files and submit; the exam is assigned to
a second reader (never its own L1: R-COI-1) who reads it in the viewer; the coordinator follows verdicts and
discordances; the practice gets the result from an anonymous "Second lecteur" (R-ANON-1).
"""

import datetime as dt
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import pydicom
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from readings.models import Assignment, L2Reading
from readings.services.l2_reading import CtiInput, FindingInput, l2_reading_open, l2_reading_submit
from screening.models import AuditEvent, DicomInstance, Exam, ExamState, IngestFile
from screening.services.exams import exam_submit
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    draft_exam,
    exam_files,
    l1_of,
    reader_at,
    staff_of,
    submitted_exam,
    upload,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOTS = ("RCC", "LCC", "RMLO", "LMLO")
READER_NAMES = ("Vasseur", "Hélène")  # must never reach a practice page (R-ANON-1)


# ---------------------------------------------------------------------------------------------- data


@pytest.fixture
def org():
    """One practice (staff + L1 radiologist), one reading site with one second reader, a coordinator."""
    practice = PracticeFactory(name="Cabinet des Tilleuls", town="Vichy")
    site = SiteFactory(name="Site de lecture de Moulins", town="Moulins")
    return SimpleNamespace(
        practice=practice,
        site=site,
        staff=staff_of(practice, username="accueil.tilleuls", first_name="Amandine", last_name="Secretan"),
        l1=l1_of(practice, username="dr.premier", first_name="Paul", last_name="Premierlecteur"),
        reader=reader_at(
            site, user=UserFactory(username="dr.vasseur", first_name="Hélène", last_name="Vasseur")
        ),
        coordinator=coordinator(username="coord.allier", first_name="Nadia", last_name="Coordo"),
    )


def _read(exam, reader, verdict, **kwargs):
    l2_reading_open(exam_id=exam.pk, reader=reader)
    return l2_reading_submit(exam_id=exam.pk, reader=reader, verdict=verdict, **kwargs)


@pytest.fixture
def read_exams(org):
    """Three exams of the practice read through the services (anomaly, normal, CTI), and a draft exam of
    another practice with one accepted image."""
    made = {}
    for key, days_ago in (("anomaly", 5), ("normal", 4), ("cti", 3)):
        made[key] = submitted_exam(practice=org.practice, staff=org.staff, l1=org.l1, days_ago=days_ago)
    _read(
        made["anomaly"],
        org.reader,
        "ANOMALY",
        findings=[FindingInput(side="G", lesion_type="C", quadrant="QSE", acr=4)],
    )
    _read(made["normal"], org.reader, "NORMAL")
    _read(made["cti"], org.reader, "CTI", cti_items=[CtiInput(side="G", view="MLO", reason="FLO")])
    other = PracticeFactory(name="Cabinet du Marché", town="Montluçon")
    other_exam = draft_exam(practice=other, staff=staff_of(other), l1=l1_of(other))
    return SimpleNamespace(**made, other=other_exam)


def _other_practice_image(exam, tmp_path) -> DicomInstance:
    [path] = exam_files(exam, tmp_path / "other", views=("RCC",), seed=7)
    upload(exam, path, exam.created_by)
    return DicomInstance.objects.get(exam=exam)


# ------------------------------------------------------------------------------------------- helpers


def at(path_pattern: str) -> re.Pattern:
    """The page URL is exactly this path (a regex, anchored, no language prefix unless written)."""
    return re.compile(r"^https?://[^/]+" + path_pattern)


def status_of(page, path: str) -> int:
    response = page.goto(path)
    assert response is not None, path
    return response.status


def body_text(page) -> str:
    return page.locator("body").inner_text()


def rect(locator) -> dict:
    """The rendered rectangle (CSS transforms included)."""
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width}; }"
    )


def wait_images_loaded(page, slots=SLOTS) -> None:
    page.wait_for_function(
        """slots => slots.every(s => {
             const img = document.querySelector(`[data-testid=viewport-${s}] img`);
             return img && img.complete && img.naturalWidth > 0; })""",
        arg=list(slots),
    )


def commit(page) -> None:
    with page.expect_navigation():
        page.get_by_test_id("commit-verdict").click()


def table_row(page, table_testid: str, text: str):
    return page.get_by_test_id(table_testid).locator("tbody tr", has_text=text)


# --------------------------------------------------------------------------------- 1. practice staff


def test_practice_creates_exam_uploads_dicom_and_submits(page, login, org, tmp_path):
    login(page, org.staff.username)
    expect(page).to_have_url(at(r"/examens/$"))
    expect(page.get_by_test_id("exam-list")).to_contain_text("Aucun examen.")
    expect(page.get_by_role("link", name="Ma liste de lecture")).to_have_count(0)
    expect(page.get_by_role("link", name="Tableau de bord")).to_have_count(0)

    page.get_by_role("link", name="Nouvel examen").click()
    expect(page).to_have_url(at(r"/examens/nouveau/$"))
    mammogram_date = timezone.localdate() - dt.timedelta(days=3)
    page.fill("#id_programme_id", "03-2026-424242")
    page.fill("#id_last_name", "Lefebvre")
    page.fill("#id_first_name", "Martine")
    page.fill("#id_birth_date", "1960-03-02")
    page.fill("#id_mammogram_date", mammogram_date.isoformat())
    page.fill("#id_accession_number", "RIS-2026-0001")
    page.select_option("#id_l1_radiologist", str(org.l1.pk))
    page.select_option("#id_medium", "CONSOLE")
    page.select_option("#id_clinical_exam", "N")
    page.select_option("#id_density", "B")
    for field in ("acr_initial_right", "acr_initial_left", "acr_final_right", "acr_final_left"):
        page.select_option(f"#id_{field}", "1")
    with page.expect_navigation():
        page.get_by_role("button", name="Créer l'examen").click()

    expect(page).to_have_url(at(r"/examens/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("Examen créé")
    expect(page.get_by_test_id("exam-state")).to_have_text("Brouillon")
    exam = Exam.objects.select_related("participant", "l1_form").get(
        participant__programme_id="03-2026-424242"
    )
    assert page.url.rstrip("/").endswith(f"/examens/{exam.pk}")
    assert (exam.l1_radiologist_id, exam.l1_form.clinical_exam, exam.l1_form.density) == (org.l1.pk, "N", "B")
    assert exam.l1_form.final_acrs == (1, 1)
    expect(page.get_by_test_id("missing-views")).to_contain_text("Face D, Face G, Oblique D, Oblique G")

    dicoms = exam_files(exam, tmp_path)
    not_dicom = tmp_path / "compte-rendu.pdf"
    not_dicom.write_bytes(b"%PDF-1.4\n% not a mammogram\n" * 50)
    page.get_by_test_id("file-input").set_input_files([*dicoms, not_dicom])

    rows = page.locator("#file-rows tr")
    expect(rows).to_have_count(5)
    for path in [*dicoms, not_dicom]:
        expect(rows.filter(has_text=path.name).locator("progress")).to_have_count(1)
    expect(page.locator("#total-label")).to_have_text("Envoi terminé", timeout=60_000)
    for path in dicoms:
        slot = path.stem.rsplit("_", 1)[1]
        expect(rows.filter(has_text=path.name).locator("td.st")).to_have_text(f"Accepté ({slot})")
    refused = rows.filter(has_text=not_dicom.name)
    expect(refused.locator("td.st")).to_have_text("Refusé")
    expect(refused.locator("td").nth(3)).to_contain_text("n'est pas un fichier DICOM")
    expect(page.get_by_test_id("missing-views")).to_have_text("Les 4 incidences sont présentes.")
    assert IngestFile.objects.filter(exam=exam, state=IngestFile.State.ACCEPTED).count() == 4

    page.reload()  # the server-rendered list says the same
    expect(page.locator("#file-rows tr", has_text=dicoms[0].name)).to_contain_text("Accepté (RCC)")
    expect(page.locator("#file-rows tr", has_text=not_dicom.name)).to_contain_text("Refusé")
    expect(page.get_by_test_id("missing-views")).to_have_count(0)

    with page.expect_navigation():
        page.get_by_role("button", name="Transmettre pour seconde lecture").click()
    expect(page.get_by_test_id("exam-state")).to_have_text("Attribué")
    expect(page.locator(".messages")).to_contain_text("Examen transmis")
    expect(page.get_by_test_id("submit-exam")).to_have_count(0)
    expect(page.get_by_test_id("file-input")).to_have_count(0)
    assert Assignment.objects.get(exam=exam, state=Assignment.State.ACTIVE).reader == org.reader
    text = body_text(page)
    for name in READER_NAMES:
        assert name not in text, f"R-ANON-1: the assigned reader's name {name!r} is shown to the practice"


# ------------------------------------------------------------------------ 2. conflict of interest


def test_l1_radiologist_who_is_also_a_reader_never_gets_their_own_exam(page, login, org):
    reader_at(org.site, user=org.l1)  # the L1 also reads L2; lower id and no load: first in line but for COI
    exam = submitted_exam(practice=org.practice, staff=org.staff, l1=org.l1)
    assignment = Assignment.objects.get(exam=exam)
    assert exam.state == ExamState.ASSIGNED
    assert assignment.reader == org.reader, "R-COI-1: the exam went to its own L1 radiologist"
    assert "R-COI-1" in assignment.why
    pid = exam.participant.programme_id

    login(page, org.l1.username)
    expect(page).to_have_url(at(r"/lecture/$"))
    expect(page.get_by_test_id("worklist")).to_be_visible()
    expect(page.get_by_test_id("worklist")).not_to_contain_text(pid)
    expect(page.get_by_test_id("worklist")).to_contain_text("Aucun examen à lire.")
    assert status_of(page, f"/lecture/examen/{exam.pk}/") == 404
    images = DicomInstance.objects.filter(exam=exam)
    # as a member of the practice the L1 may see the images of their own exam, not as a reader
    assert status_of(page, f"/images/{images.first().pk}/affichage.png") == 200

    login(page, org.reader.username)  # the negative above is not vacuous
    expect(page.get_by_test_id("worklist")).to_contain_text(pid)


# ---------------------------------------------------------------------------- 3-4, 7. second reader


def test_reader_reads_anomaly_normal_and_cti_in_the_viewer(page, login, org, shots_dir):
    exams = {
        key: submitted_exam(practice=org.practice, staff=org.staff, l1=org.l1, days_ago=days_ago)
        for key, days_ago in (("anomaly", 5), ("normal", 4), ("cti", 3))
    }
    pids = {key: exam.participant.programme_id for key, exam in exams.items()}
    assert all(exam.state == ExamState.ASSIGNED for exam in exams.values())

    login(page, org.reader.username)
    expect(page).to_have_url(at(r"/lecture/$"))
    worklist = page.get_by_test_id("worklist")
    for pid in pids.values():
        expect(worklist).to_contain_text(pid)
    expect(page.get_by_role("link", name="Examens du cabinet")).to_have_count(0)
    expect(page.get_by_role("link", name="Tableau de bord")).to_have_count(0)

    # --- exam 1: the viewer, then a bad input, then an anomaly of the left breast
    worklist.get_by_role("link", name=pids["anomaly"]).click()
    anomaly = exams["anomaly"]
    expect(page).to_have_url(at(rf"/lecture/examen/{anomaly.pk}/$"))
    identity = page.get_by_test_id("identity-strip")
    expect(identity).to_contain_text(pids["anomaly"])
    expect(identity).to_contain_text(anomaly.participant.last_name.upper())
    expect(identity).to_contain_text(anomaly.participant.birth_date.strftime("%d/%m/%Y"))
    wait_images_loaded(page)
    boxes = {slot: rect(page.get_by_test_id(f"viewport-{slot}")) for slot in SLOTS}
    # H1 back-to-back hanging: right breast (RCC, RMLO) in the left column, left breast in the right one
    assert boxes["RCC"]["right"] <= boxes["LCC"]["left"] + 1
    assert boxes["RMLO"]["right"] <= boxes["LMLO"]["left"] + 1
    assert abs(boxes["RCC"]["left"] - boxes["RMLO"]["left"]) < 2
    assert abs(boxes["LCC"]["left"] - boxes["LMLO"]["left"]) < 2
    assert boxes["RCC"]["bottom"] <= boxes["RMLO"]["top"] + 1
    assert boxes["LCC"]["bottom"] <= boxes["LMLO"]["top"] + 1
    for slot in SLOTS:  # each image drawn inside its viewport, chest wall against the seam
        image = rect(page.get_by_test_id(f"viewport-{slot}").locator("img"))
        box = boxes[slot]
        assert image["width"] > 50, slot
        assert box["left"] - 1 <= image["left"] and image["right"] <= box["right"] + 1, slot
        seam_gap = box["right"] - image["right"] if slot.startswith("R") else image["left"] - box["left"]
        assert abs(seam_gap) < 2, f"{slot}: the chest wall is not at the seam"
    expect(page.locator("details.l1")).to_contain_text("D1 / G1")
    page.screenshot(path=str(shots_dir / "reading.png"))

    page.check("input[name=verdict][value=ANOMALY]")
    expect(page.locator("fieldset[data-for=ANOMALY]")).to_be_visible()
    expect(page.locator("fieldset[data-for=CTI]")).to_be_hidden()
    commit(page)  # anomaly without any finding
    expect(page).to_have_url(at(rf"/lecture/examen/{anomaly.pk}/$"))
    expect(page.locator("#verdict-form [role=alert]")).to_contain_text("Décrivez au moins une anomalie")
    anomaly.refresh_from_db()
    assert anomaly.state == ExamState.IN_READING
    assert not L2Reading.objects.filter(exam=anomaly).exists()

    expect(page.locator("input[name=verdict][value=ANOMALY]")).to_be_checked()
    page.select_option("select[name=finding_G_type]", "C")
    commit(page)  # a finding without its location and ACR
    expect(page.locator("#verdict-form [role=alert]")).to_contain_text(
        "type, localisation et ACR sont requis"
    )
    assert not L2Reading.objects.filter(exam=anomaly).exists()

    expect(page.locator("select[name=finding_G_type]")).to_have_value("C")
    page.select_option("select[name=finding_G_quadrant]", "QSE")
    page.select_option("select[name=finding_G_acr]", "4")
    page.screenshot(path=str(shots_dir / "reading-anomaly-form.png"))
    commit(page)
    expect(page.locator(".messages")).to_contain_text(
        re.compile(rf"Examen {pids['anomaly']} — seconde lecture enregistrée : Anomalie")
    )
    expect(page).to_have_url(at(rf"/lecture/examen/{exams['normal'].pk}/$"))  # next in the list
    anomaly.refresh_from_db()
    assert anomaly.state == ExamState.L2_POSITIVE
    reading = L2Reading.objects.get(exam=anomaly)
    finding = reading.findings.get()
    assert (reading.verdict, reading.reader, reading.acr_right, reading.acr_left) == (
        "ANOMALY",
        org.reader,
        1,
        4,
    )
    assert (finding.side, finding.lesion_type, finding.quadrant, finding.acr) == ("G", "C", "QSE", 4)
    assert reading.reading_seconds is not None

    # --- exam 2: normal
    wait_images_loaded(page)
    page.check("input[name=verdict][value=NORMAL]")
    commit(page)
    expect(page.locator(".messages")).to_contain_text(
        re.compile(rf"Examen {pids['normal']} — seconde lecture enregistrée : Normal")
    )
    expect(page).to_have_url(at(rf"/lecture/examen/{exams['cti'].pk}/$"))

    # --- exam 3: CTI on the left MLO
    wait_images_loaded(page)
    page.check("input[name=verdict][value=CTI]")
    page.select_option("select[name=cti_LMLO]", "FLO")
    commit(page)
    expect(page.locator(".messages")).to_contain_text(
        re.compile(
            rf"Examen {pids['cti']} — seconde lecture enregistrée : Clichés techniquement insuffisants"
        )
    )
    expect(page).to_have_url(at(r"/lecture/$"))
    expect(worklist).to_contain_text("Aucun examen à lire.")
    for pid in pids.values():
        expect(worklist).not_to_contain_text(pid)
        expect(page.locator("ul.done")).to_contain_text(pid)

    states = {key: Exam.objects.get(pk=exam.pk).state for key, exam in exams.items()}
    assert states == {
        "anomaly": ExamState.L2_POSITIVE,
        "normal": ExamState.L2_NEGATIVE,
        "cti": ExamState.CTI_REQUESTED,
    }
    cti = L2Reading.objects.get(exam=exams["cti"]).cti_items.get()
    assert (cti.side, cti.view, cti.reason) == ("G", "MLO", "FLO")

    # a read exam re-opened: no form any more, the reader's own verdict
    page.goto(f"/lecture/examen/{anomaly.pk}/")
    expect(page.get_by_test_id("verdict-form")).to_have_count(0)
    expect(page.get_by_test_id("my-reading")).to_contain_text("Anomalie")

    # 7. audit trail of the reader on the first exam
    events = AuditEvent.objects.filter(actor=org.reader, exam=anomaly)
    assert events.filter(action=AuditEvent.Action.READING_OPEN).exists()
    viewed = set(events.filter(action=AuditEvent.Action.IMAGE_VIEW).values_list("object_ref", flat=True))
    assert {f"{slot} affichage" for slot in SLOTS} <= viewed

    # the labels of the outcomes, as the practice sees them
    login(page, org.staff.username)
    exam_list = page.get_by_test_id("exam-list")
    expect(exam_list.locator("tr", has_text=pids["anomaly"])).to_contain_text("L2 positive")
    expect(exam_list.locator("tr", has_text=pids["normal"])).to_contain_text("L2 négative")
    expect(exam_list.locator("tr", has_text=pids["cti"])).to_contain_text("CTI demandés")


def test_a_flipped_image_stays_inside_its_viewport(page, login, org, tmp_path, shots_dir):
    """An image whose PatientOrientation says it is mirrored is flipped back by the viewer, in place."""
    exam = draft_exam(practice=org.practice, staff=org.staff, l1=org.l1)
    paths = exam_files(exam, tmp_path)
    rcc = next(p for p in paths if p.stem.endswith("_RCC"))
    ds = pydicom.dcmread(rcc)
    ds.PatientOrientation = ["A", "L"]  # stored mirrored: chest wall on the left edge
    ds.save_as(rcc)
    for path in paths:
        upload(exam, path, org.staff)
    exam_submit(exam_id=exam.pk, actor=org.staff)
    assert DicomInstance.objects.get(exam=exam, slot="RCC").flip_horizontal

    login(page, org.reader.username)
    page.goto(f"/lecture/examen/{exam.pk}/")
    wait_images_loaded(page)
    viewport = page.get_by_test_id("viewport-RCC")
    expect(viewport.locator("img")).to_have_attribute("data-flip-h", "1")
    page.screenshot(path=str(shots_dir / "reading-flipped-rcc.png"))
    box, image = rect(viewport), rect(viewport.locator("img"))
    visible = max(0.0, min(box["right"], image["right"]) - max(box["left"], image["left"]))
    assert visible >= 0.9 * image["width"], (
        "BUG static/js/viewer.js: a horizontally flipped image is mirrored about its chest-wall edge "
        f"(transform-origin) and drawn outside its viewport: viewport {box}, image {image}"
    )


def test_changing_the_verdict_discards_what_was_entered_for_the_other_one(page, login, org):
    """The reader picks CTI and a reason, then changes their mind: the exam is normal. The CTI panel is
    hidden; what it holds must not be held against the normal verdict."""
    exam = submitted_exam(practice=org.practice, staff=org.staff, l1=org.l1)
    login(page, org.reader.username)
    page.goto(f"/lecture/examen/{exam.pk}/")
    page.check("input[name=verdict][value=CTI]")
    page.select_option("select[name=cti_LMLO]", "FLO")
    page.check("input[name=verdict][value=NORMAL]")
    expect(page.locator("fieldset[data-for=CTI]")).to_be_hidden()
    commit(page)
    alert = page.locator("#verdict-form [role=alert]")
    assert alert.count() == 0, (
        "BUG static/js/viewer.js (or readings/forms.py): the fields of the hidden verdict panels are still "
        f"submitted, so a normal verdict is refused with: {alert.inner_text()!r}"
    )
    expect(page.locator(".messages")).to_contain_text("Normal")
    exam.refresh_from_db()
    assert exam.state == ExamState.L2_NEGATIVE


# ------------------------------------------------------------------------------------ 5. coordinator


def test_coordinator_sees_discordances_loads_and_verdicts_side_by_side(
    page, login, org, read_exams, shots_dir
):
    pid = {key: getattr(read_exams, key).participant.programme_id for key in ("anomaly", "normal", "cti")}
    login(page, org.coordinator.username)
    expect(page).to_have_url(at(r"/coordination/$"))
    expect(page.get_by_role("link", name="Examens du cabinet")).to_have_count(0)
    expect(page.get_by_role("link", name="Ma liste de lecture")).to_have_count(0)

    discordances = page.get_by_test_id("discordances")
    expect(table_row(page, "discordances", pid["anomaly"])).to_contain_text("L1 négative / L2 positive")
    expect(table_row(page, "discordances", pid["anomaly"])).to_contain_text("Cabinet des Tilleuls")
    expect(table_row(page, "discordances", pid["cti"])).to_contain_text("Clichés techniquement insuffisants")
    expect(discordances).not_to_contain_text(pid["normal"])
    expect(discordances.locator("tbody tr")).to_have_count(2)

    cells = table_row(page, "per-practice", "Cabinet des Tilleuls").locator("td")
    # total, waiting, L2 neg, L2 pos, CTI, L1 positive
    expect(cells).to_have_text([re.compile("Cabinet des Tilleuls"), "3", "0", "1", "1", "1", "0"])
    expect(table_row(page, "per-practice", "Cabinet du Marché").locator("td").nth(1)).to_have_text("1")
    expect(table_row(page, "per-reader", "Vasseur").locator("td")).to_have_text(
        [re.compile("Hélène Vasseur"), "Site de lecture de Moulins", "0", "3 / 1 500"]
    )
    expect(table_row(page, "per-site", "Site de lecture de Moulins").locator("td")).to_have_text(
        ["Site de lecture de Moulins", "3", "1", "1"]
    )
    page.screenshot(path=str(shots_dir / "dashboard.png"), full_page=True)

    page.get_by_role("link", name="Examens", exact=True).click()
    expect(page).to_have_url(at(r"/coordination/examens/$"))
    row = table_row(page, "exam-table", pid["anomaly"]).locator("td")
    expect(row.nth(4)).to_have_text("L2 positive")
    expect(row.nth(5)).to_have_text("D1 / G1")  # L1 verdict
    expect(row.nth(6)).to_contain_text("Anomalie (D1 / G4)")  # L2 verdict, side by side
    expect(row.nth(6)).to_contain_text("ACR 4")
    expect(row.nth(7)).to_have_text("Dr Hélène Vasseur")
    expect(table_row(page, "exam-table", pid["normal"]).locator("td").nth(6)).to_have_text("Normal (D1 / G1)")
    expect(table_row(page, "exam-table", pid["cti"]).locator("td").nth(6)).to_contain_text("Flou cinétique")


# ----------------------------------------------------------------------- 6. practice, tenancy, roles


def test_practice_sees_an_anonymous_result_and_only_its_own_exams(page, login, org, read_exams, tmp_path):
    foreign_image = _other_practice_image(read_exams.other, tmp_path)
    login(page, org.staff.username)
    exam_list = page.get_by_test_id("exam-list")
    for key in ("anomaly", "normal", "cti"):
        expect(exam_list).to_contain_text(getattr(read_exams, key).participant.programme_id)
    expect(exam_list).not_to_contain_text(read_exams.other.participant.programme_id)
    expect(exam_list.locator("tbody tr")).to_have_count(3)

    for key in ("anomaly", "normal", "cti"):
        exam = getattr(read_exams, key)
        exam_list = page.get_by_test_id("exam-list")
        exam_list.get_by_role("link", name=exam.participant.programme_id).click()
        expect(page).to_have_url(at(rf"/examens/{exam.pk}/$"))
        result = page.get_by_test_id("l2-result")
        expect(result).to_contain_text("Second lecteur")
        text, html = body_text(page), page.content()
        for name in READER_NAMES:
            assert name not in text, (
                f"R-ANON-1: reader's name {name!r} on the practice page of the {key} exam"
            )
            assert name not in html, f"R-ANON-1: reader's name {name!r} in the HTML of the {key} exam page"
        assert org.reader.username not in text
        page.go_back()
    page.goto(f"/examens/{read_exams.anomaly.pk}/")
    expect(page.get_by_test_id("l2-result")).to_contain_text("Anomalie")
    expect(page.get_by_test_id("l2-result")).to_contain_text("Sein gauche")
    expect(page.get_by_test_id("l2-result")).to_contain_text("ACR 4")
    expect(page.get_by_test_id("history")).to_contain_text("Second lecteur")
    page.goto(f"/examens/{read_exams.cti.pk}/")
    expect(page.get_by_test_id("l2-result")).to_contain_text("Flou cinétique")

    # R-TENANT-1: another practice's exam, its files and its images do not exist for this practice
    other = read_exams.other
    assert status_of(page, f"/examens/{other.pk}/") == 404
    assert page.request.get(f"/api/examens/{other.pk}/fichiers/").status == 404
    assert page.request.get(f"/images/{foreign_image.pk}/affichage.png").status == 404
    own_image = DicomInstance.objects.filter(exam=read_exams.anomaly).first()
    assert page.request.get(f"/images/{own_image.pk}/vignette.png").status == 200


def test_each_role_is_kept_out_of_the_others_pages(page, login, org, tmp_path):
    exam = draft_exam(practice=org.practice, staff=org.staff, l1=org.l1)
    image = _other_practice_image(exam, tmp_path)  # an image of an exam never assigned to the reader

    login(page, org.reader.username)
    for path in ("/coordination/", "/coordination/examens/", "/examens/", "/examens/nouveau/"):
        assert status_of(page, path) == 403, f"reader on {path}"
    assert status_of(page, f"/examens/{exam.pk}/") == 403
    assert status_of(page, f"/lecture/examen/{exam.pk}/") == 404
    assert page.request.get(f"/images/{image.pk}/affichage.png").status == 404

    login(page, org.staff.username)
    for path in ("/coordination/", "/coordination/examens/", "/lecture/", f"/lecture/examen/{exam.pk}/"):
        assert status_of(page, path) == 403, f"practice staff on {path}"

    login(page, org.coordinator.username)
    for path in ("/examens/", f"/examens/{exam.pk}/", "/lecture/"):
        assert status_of(page, path) == 403, f"coordinator on {path}"

    page.context.clear_cookies()  # anonymous: sent to the login page
    page.goto("/coordination/")
    expect(page).to_have_url(at(r"/connexion/\?next=/coordination/$"))


# ------------------------------------------------------------------------------------------ 8. i18n


def test_language_switch_to_english_keeps_the_app_working(page, login, org):
    login(page, org.staff.username)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    with page.expect_navigation() as navigation:
        page.select_option("select[name=language]", "en")
    assert navigation.value is not None and navigation.value.status == 200
    assert urlsplit(page.url).path == "/en/examens/"
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("exam-list")).to_be_visible()
    assert status_of(page, "/en/examens/nouveau/") == 200
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#id_programme_id")).to_be_visible()

    # and back to French from an English page
    with page.expect_navigation():
        page.select_option("select[name=language]", "fr")
    assert (
        urlsplit(page.url).path == "/examens/nouveau/" and page.locator("html").get_attribute("lang") == "fr"
    ), (
        "BUG templates/base.html + django.views.i18n.set_language: switching back to FR from an /en/… page "
        f"keeps the /en/ prefix, so the page stays in English ({page.url}, "
        f"lang={page.locator('html').get_attribute('lang')!r})"
    )
