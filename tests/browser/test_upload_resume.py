"""Browser uploads of a whole folder (a CD's content) in resumable chunks: a dropped connection costs a retry,
never a file; each file ends accepted, or refused with its reason in French."""

import hashlib
import json
import shutil

import pytest
from playwright.sync_api import expect

from screening.models import DicomInstance, IngestFile
from tests.factories import PracticeFactory, draft_exam, exam_files, l1_of, staff_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOTS = ("RCC", "LCC", "RMLO", "LMLO")
RETRYING = "Connexion interrompue — reprise…"

# Every text the file rows show, in order, per row (the retry state lasts about a second only).
WATCH_ROWS = """() => {
  window.__seen = [];
  const rows = document.getElementById("file-rows");
  new MutationObserver(() => {
    rows.querySelectorAll("tr").forEach((tr) => window.__seen.push(tr.innerText.replace(/\\s+/g, " ")));
  }).observe(rows, { subtree: true, childList: true, characterData: true });
}"""


@pytest.fixture
def exam():
    practice = PracticeFactory(name="Cabinet des Tilleuls", town="Vichy")
    return draft_exam(practice=practice, staff=staff_of(practice), l1=l1_of(practice))


@pytest.fixture
def cd(exam, tmp_path):
    """A CD copied to disk: DICOMDIR, the 4 views under DICOM/, a report that is no image, a hidden file."""
    root = tmp_path / "CD"
    (root / "DICOM").mkdir(parents=True)
    views = []
    for path in exam_files(exam, tmp_path / "made"):
        views.append(shutil.move(path, root / "DICOM" / path.name))
    (root / "DICOMDIR").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 64)
    (root / "compte-rendu.pdf").write_bytes(b"%PDF-1.4\n% not a mammogram\n" * 50)
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return root


class Uploads:
    """Playwright routes over the upload protocol: which upload is which file, and failures on demand."""

    def __init__(self, page):
        self.names: dict[str, str] = {}  # upload_id -> file name
        self.patches: list[tuple[str, str]] = []  # (file name, outcome)
        self.rules: list = []  # (predicate(name, nth PATCH of that file), action) evaluated in order
        page.route("**/api/examens/*/envois/", self._create)
        page.route("**/api/examens/*/envois/*/", self._chunk)

    def _create(self, route, request):
        response = route.fetch()
        body = response.json()
        if response.status == 201:
            self.names[body["upload_id"]] = json.loads(request.post_data)["name"].rsplit("/", 1)[-1]
        route.fulfill(response=response)

    def _chunk(self, route, request):
        if request.method != "PATCH":
            route.continue_()
            return
        name = self.names.get(request.url.rstrip("/").rsplit("/", 1)[-1], "")
        nth = sum(1 for n, _ in self.patches if n == name)
        for predicate, action in self.rules:
            if predicate(name, nth):
                self.patches.append((name, action))
                if action == "lost request":  # never reaches the server
                    route.abort("connectionreset")
                else:  # "lost answer": the server takes the chunk, the browser never hears back
                    route.fetch()
                    route.abort("connectionreset")
                return
        self.patches.append((name, "ok"))
        route.continue_()


def _open_exam(page, login, exam):
    login(page, exam.created_by.username)
    page.goto(f"/examens/{exam.pk}/")
    page.evaluate(WATCH_ROWS)


def _seen(page, name: str) -> list[str]:
    return [text for text in page.evaluate("window.__seen") if name in text]


def test_a_folder_uploads_through_dropped_connections_and_each_file_gets_its_status(page, login, exam, cd):
    uploads = Uploads(page)
    lcc, rmlo = (next((cd / "DICOM").glob(f"*_{slot}.dcm")).name for slot in ("LCC", "RMLO"))
    uploads.rules = [
        (lambda name, nth: name == lcc and nth == 0, "lost request"),
        (lambda name, nth: name == rmlo and nth == 0, "lost answer"),
        (lambda name, nth: name == "compte-rendu.pdf" and nth == 0, "lost answer"),  # its only chunk
    ]
    _open_exam(page, login, exam)
    expect(page.get_by_test_id("missing-views")).to_contain_text("Face D, Face G, Oblique D, Oblique G")

    page.get_by_test_id("folder-input").set_input_files(str(cd))

    rows = page.locator("#file-rows tr")
    expect(rows).to_have_count(6)  # 4 views, the report, DICOMDIR; never the hidden file
    expect(page.locator("#file-rows")).not_to_contain_text(".DS_Store")
    expect(rows.filter(has_text="DICOMDIR").locator("td.st")).to_have_text("Index du CD, ignoré")
    expect(page.locator("#total-label")).to_have_text("Envoi terminé", timeout=90_000)
    for path in sorted((cd / "DICOM").iterdir()):
        slot = path.stem.rsplit("_", 1)[1]
        row = rows.filter(has_text=path.name)
        expect(row.locator("td").first).to_have_text(f"CD/DICOM/{path.name}")
        expect(row.locator("td.st")).to_have_text(f"Accepté ({slot})")
        expect(row.locator("progress")).to_have_attribute("value", "100")
    refused = rows.filter(has_text="compte-rendu.pdf")
    expect(refused.locator("td.st")).to_have_text("Refusé")
    expect(refused.locator("td").nth(3)).to_contain_text("n'est pas un fichier DICOM")
    expect(page.get_by_test_id("missing-views")).to_have_text("Les 4 incidences sont présentes.")
    expect(page.locator("#total-progress")).to_have_attribute("value", "100")

    # the interrupted files said so while they waited, then resumed where the server stood
    assert any(RETRYING in text for text in _seen(page, lcc)), _seen(page, lcc)
    assert any(RETRYING in text for text in _seen(page, rmlo)), _seen(page, rmlo)
    assert [a for n, a in uploads.patches if n == lcc] == ["lost request", "ok", "ok", "ok"]
    assert [a for n, a in uploads.patches if n == rmlo] == ["lost answer", "ok", "ok"]  # chunk 1 not resent
    assert [a for n, a in uploads.patches if n == "compte-rendu.pdf"] == ["lost answer"]

    # the server holds each file once, byte-identical, and the views fill the 4 slots
    assert IngestFile.objects.filter(exam=exam).count() == 5
    assert IngestFile.objects.filter(exam=exam, state=IngestFile.State.ACCEPTED).count() == 4
    assert IngestFile.objects.get(exam=exam, original_name="compte-rendu.pdf").reason_code == "not_dicom"
    assert set(DicomInstance.objects.filter(exam=exam).values_list("slot", flat=True)) == set(SLOTS)
    for path in (cd / "DICOM").iterdir():
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert DicomInstance.objects.filter(exam=exam, sha256=sha).exists(), path.name


def test_a_file_given_up_after_the_retries_is_resumed_by_hand(page, login, exam, cd):
    uploads = Uploads(page)
    rcc = next((cd / "DICOM").glob("*_RCC.dcm"))
    network = {"down": True}
    uploads.rules = [(lambda name, nth: name == rcc.name and nth >= 1 and network["down"], "lost request")]
    _open_exam(page, login, exam)
    page.locator("#upload").evaluate("box => { box.dataset.retryDelays = '200,200,200'; }")

    page.get_by_test_id("file-input").set_input_files([rcc])

    row = page.locator("#file-rows tr", has_text=rcc.name)
    expect(row.locator("td.st")).to_have_text("Non envoyé", timeout=30_000)
    expect(row.locator("td").nth(3)).to_contain_text("Connexion interrompue.")
    expect(page.locator("#total-label")).to_have_text("Envoi inachevé : reprenez les fichiers non envoyés.")
    assert [a for n, a in uploads.patches if n == rcc.name] == ["ok"] + ["lost request"] * 4
    assert not IngestFile.objects.exists()

    network["down"] = False
    row.get_by_role("button", name="Reprendre").click()
    expect(row.locator("td.st")).to_have_text("Accepté (RCC)", timeout=30_000)
    expect(page.locator("#total-label")).to_have_text("Envoi terminé")
    expect(row.get_by_role("button", name="Reprendre")).to_have_count(0)
    assert [a for n, a in uploads.patches if n == rcc.name] == ["ok"] + ["lost request"] * 4 + ["ok", "ok"]
    assert IngestFile.objects.get(exam=exam).state == IngestFile.State.ACCEPTED


# A dropped folder as Chromium hands it over (FileSystemEntry objects), read batch by batch like the real
# DirectoryReader: a CD with its DICOMDIR, a hidden file and a hidden folder, and two sub-folder files.
DROP_FOLDER = """box => {
  const file = (path, text) => ({
    isFile: true, isDirectory: false, name: path.split("/").pop(), fullPath: path,
    file: (ok) => ok(new File([text], path.split("/").pop())),
  });
  const dir = (path, batches) => ({
    isFile: false, isDirectory: true, name: path.split("/").pop(), fullPath: path,
    createReader: () => { const left = batches.slice(); return { readEntries: (ok) => ok(left.shift() || []) }; },
  });
  const sub = dir("/CD/RAPPORTS", [[file("/CD/RAPPORTS/b.txt", "pas une image")], [file("/CD/RAPPORTS/c.txt", "non plus")]]);
  const cd = dir("/CD", [
    [file("/CD/DICOMDIR", "index"), file("/CD/.DS_Store", "x")],
    [dir("/CD/.Trashes", [[file("/CD/.Trashes/old.dcm", "x")]]), sub],
  ]);
  const drop = new Event("drop", { bubbles: true, cancelable: true });
  Object.defineProperty(drop, "dataTransfer", {
    value: { items: [{ kind: "file", webkitGetAsEntry: () => cd }], files: [] },
  });
  box.dispatchEvent(drop);
}"""


def test_a_dropped_folder_is_read_recursively(page, login, exam):
    _open_exam(page, login, exam)
    page.locator("#upload").evaluate(DROP_FOLDER)

    rows = page.locator("#file-rows tr")
    expect(page.locator("#total-label")).to_have_text("Envoi terminé")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).locator("td").first).to_have_text("CD/DICOMDIR")
    expect(rows.nth(0).locator("td.st")).to_have_text("Index du CD, ignoré")
    for index, name in ((1, "CD/RAPPORTS/b.txt"), (2, "CD/RAPPORTS/c.txt")):
        expect(rows.nth(index).locator("td").first).to_have_text(name)
        expect(rows.nth(index).locator("td.st")).to_have_text("Refusé")
        expect(rows.nth(index).locator("td").nth(3)).to_contain_text("n'est pas un fichier DICOM")
    assert sorted(IngestFile.objects.filter(exam=exam).values_list("original_name", flat=True)) == [
        "b.txt",
        "c.txt",
    ]
