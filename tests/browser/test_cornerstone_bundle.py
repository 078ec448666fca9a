"""The committed cornerstone3D bundle (static/vendor/cornerstone/, built by frontend/) in Debian's Chromium.

No node at test time: the bundle, its decode worker and the WASM codecs are served by Django's staticfiles
from /static/vendor/cornerstone/ (pytest-django's live server); the test page and the DICOM files are answered
by Playwright routes on the same origin. A synthetic full-size mammogram (GE detector, 2294 x 1914, 12 bits)
is rendered in a 512 x 512 STACK viewport with WebGL2 on SwiftShader (no GPU here), and decoded through every
codec that a mammography practice may send: the decoded stored values must equal the generator's exactly
(lossless syntaxes) or Pillow's libjpeg-turbo decode (JPEG baseline).

Encoders: JPEG 2000 by pydicom (pylibjpeg-openjpeg), JPEG baseline by Pillow, JPEG-LS and JPEG lossless by
DCMTK (dcmcjpls, dcmcjpeg: installed by .ci/run), HTJ2K by OpenJPH's ojph_compress (Debian `openjph-tools`).
A case whose encoder is missing is skipped and says which package to install.
"""

import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.conf import settings
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import (
    HTJ2KLossless,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
)

from screening.dicom.synth import DETECTORS, make_mammogram, mammogram_pixels, write_mammogram
from tests.browser.conftest import SHOTS

pytestmark = pytest.mark.browser

BUNDLE_DIR = Path(settings.BASE_DIR) / "static" / "vendor" / "cornerstone"
BUNDLE_URL = "/static/vendor/cornerstone/cornerstone.js"
PAGE_PATH = "/__cornerstone_bundle_test__/"
# WebGL2 on SwiftShader through ANGLE: no GPU on the test machines. Headless Chromium 156 picks SwiftShader by
# itself (even with --disable-gpu), but newer Chromium versions only do so when told, hence the explicit flags.
TIMEOUT_MS = 60_000
WEIGHT_MODULUS = 65521  # pixel i weighs (i % 65521) + 1: the weighted sum stays exact in a JS double
SAMPLES = 997

PAGE = """<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><title>cornerstone bundle test</title></head>
<body style="margin:0;background:#000">
  <div id="viewport" style="width:512px;height:512px"></div>
  <script type="module" src="{bundle}"></script>
</body>
</html>
"""

# ------------------------------------------------------------------------------------------------ in-page code

RENDER_JS = """async ([imageId, timeoutMs]) => {
  const { core } = await window.L2Cornerstone.init();
  const element = document.getElementById('viewport');
  let engine = core.getRenderingEngine('l2-test');
  if (!engine) {
    engine = new core.RenderingEngine('l2-test');
    engine.enableElement({
      viewportId: 'stack', type: core.Enums.ViewportType.STACK, element,
      defaultOptions: { background: [0, 0, 0] },
    });
  }
  const viewport = engine.getViewport('stack');
  const rendered = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no IMAGE_RENDERED within ' + timeoutMs + ' ms')), timeoutMs);
    element.addEventListener(core.Enums.Events.IMAGE_RENDERED, () => { clearTimeout(timer); resolve(); },
      { once: true });
  });
  await viewport.setStack([imageId], 0);
  viewport.render();
  await rendered;
  const imageData = viewport.getImageData();
  const canvas = viewport.getCanvas();
  const ctx = canvas.getContext('2d');
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  // 64 x 64 grid over the canvas: luminance of each sample
  const grid = [];
  for (let gy = 0; gy < 64; gy++) {
    for (let gx = 0; gx < 64; gx++) {
      const x = Math.floor((gx + 0.5) * canvas.width / 64), y = Math.floor((gy + 0.5) * canvas.height / 64);
      const o = (y * canvas.width + x) * 4;
      grid.push(Math.round((pixels[o] + pixels[o + 1] + pixels[o + 2]) / 3));
    }
  }
  return {
    imageId: viewport.getCurrentImageId(),
    dimensions: Array.from(imageData.dimensions),
    canvas: [canvas.width, canvas.height],
    cssSize: [element.clientWidth, element.clientHeight],
    grid,
    cpuRendering: core.getShouldUseCPURendering(),
    voiRange: viewport.getProperties().voiRange,
    voiLutFunction: viewport.getProperties().VOILUTFunction,
  };
}"""

PIXELS_JS = """async ([imageId, modulus, sampleIndices]) => {
  const { core } = await window.L2Cornerstone.init();
  const image = await core.imageLoader.loadAndCacheImage(imageId);
  const px = image.getPixelData();
  let sum = 0, weighted = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < px.length; i++) {
    const v = px[i];
    sum += v;
    weighted += v * ((i % modulus) + 1);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return {
    rows: image.rows, columns: image.columns, length: px.length, arrayType: px.constructor.name,
    sum, weighted, min, max, samples: sampleIndices.map((i) => px[i]),
  };
}"""

WEBGL_JS = """() => {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return null;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
}"""

# ------------------------------------------------------------------------------------------------ the images


def _stats(values: np.ndarray, sample_indices: list[int]) -> dict:
    flat = values.ravel().astype(np.int64)
    weights = np.arange(flat.size, dtype=np.int64) % WEIGHT_MODULUS + 1
    return {
        "length": int(flat.size),
        "sum": int(flat.sum()),
        "weighted": int((flat * weights).sum()),
        "min": int(flat.min()),
        "max": int(flat.max()),
        "samples": [int(flat[i]) for i in sample_indices],
    }


def _encapsulated(ds: pydicom.Dataset, frame: bytes, transfer_syntax) -> pydicom.Dataset:
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return ds


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def mammograms(tmp_path_factory):
    """{case: {"path", "name", "transfer_syntax", "expected" (stats) or "missing" (why it can't be made)}}."""
    out = tmp_path_factory.mktemp("cornerstone-dicom")
    rows, columns = DETECTORS["ge"]
    stored = mammogram_pixels(laterality="L", view="MLO", rows=rows, columns=columns, bits_stored=12, seed=11)
    common = dict(
        patient_id="0123456789",
        patient_name="TEST^CORNERSTONE",
        birth_date="19600312",
        study_date="20260105",
        accession_number="CS-BUNDLE",
        laterality="L",
        view="MLO",
        detector="ge",
        pixels=stored,
    )
    rng = np.random.default_rng(5)
    sample_indices = sorted(int(i) for i in rng.choice(stored.size, SAMPLES, replace=False))
    expected = _stats(stored, sample_indices)
    cases: dict[str, dict] = {}

    def add(case, path, transfer_syntax, reference=expected, missing=None):
        cases[case] = dict(
            path=path,
            name=path.name,
            transfer_syntax=str(transfer_syntax),
            expected=reference,
            missing=missing,
            sample_indices=sample_indices,
            shape=(rows, columns),
        )
        if path.exists():
            header = pydicom.dcmread(path, stop_before_pixels=True)
            cases[case]["window"] = (float(header.WindowCenter), float(header.WindowWidth))

    raw = write_mammogram(out / "raw.dcm", compress=False, **common)
    add("uncompressed", raw, "1.2.840.10008.1.2.1")
    # VOI LUT Function SIGMOID (Hologic's usual choice) instead of LINEAR
    ds = pydicom.dcmread(raw)
    ds.VOILUTFunction = "SIGMOID"
    ds.save_as(out / "sigmoid.dcm", enforce_file_format=True)
    add("sigmoid", out / "sigmoid.dcm", "1.2.840.10008.1.2.1")
    # the project's own JPEG 2000 lossless path (tests/factories.exam_files(compress=True))
    add("jpeg2000", write_mammogram(out / "j2k.dcm", compress=True, **common), JPEG2000Lossless)

    for case, tool, package, args, syntax in (
        ("jpeg-ls", "dcmcjpls", "dcmtk", [], JPEGLSLossless),
        ("jpeg-lossless", "dcmcjpeg", "dcmtk", ["+e1"], JPEGLosslessSV1),
    ):
        path = out / f"{case}.dcm"
        if shutil.which(tool):
            _run(tool, *args, str(raw), str(path))
            assert pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax
            add(case, path, syntax)
        else:
            add(case, path, syntax, missing=f"{tool} missing (apt-get install {package})")

    path = out / "htj2k.dcm"
    if shutil.which("ojph_compress"):
        pgm = out / "stored.pgm"
        pgm.write_bytes(f"P5\n{columns} {rows}\n4095\n".encode() + stored.astype(">u2").tobytes())
        _run("ojph_compress", "-i", str(pgm), "-o", str(out / "stored.j2c"), "-reversible", "true")
        ds = make_mammogram(compress=False, **common)
        _encapsulated(ds, (out / "stored.j2c").read_bytes(), HTJ2KLossless).save_as(
            path, enforce_file_format=True
        )
        add("htj2k", path, HTJ2KLossless)
    else:
        add("htj2k", path, HTJ2KLossless, missing="ojph_compress missing (apt-get install openjph-tools)")

    # JPEG baseline (8 bits, lossy): decoded by libjpeg-turbo (WASM) in the worker; Pillow's decode is the reference
    eight = (stored >> 4).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(eight).save(buffer, format="JPEG", quality=92)
    reference = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    ds = make_mammogram(compress=False, **{**common, "pixels": eight}, bits_stored=8)
    ds.BitsAllocated, ds.LossyImageCompression = 8, "01"
    ds.LossyImageCompressionMethod, ds.LossyImageCompressionRatio = "ISO_10918_1", "10"
    path = out / "jpeg-baseline.dcm"
    _encapsulated(ds, buffer.getvalue(), JPEGBaseline8Bit).save_as(path, enforce_file_format=True)
    add("jpeg-baseline", path, JPEGBaseline8Bit, reference=_stats(reference, sample_indices))
    return cases


# ------------------------------------------------------------------------------------------------ browser


@pytest.fixture
def viewer(gl_browser, server, mammograms):
    """The test page on the live server's origin, the bundle loaded and `L2Cornerstone.init()` done."""
    context = gl_browser.new_context(base_url=server.url, viewport={"width": 800, "height": 700})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    responses: dict[str, tuple[int, str]] = {}
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    context.on(
        "response", lambda r: responses.__setitem__(r.url, (r.status, r.headers.get("content-type", "")))
    )

    by_name = {case["name"]: case for case in mammograms.values() if not case["missing"]}
    page.route(
        f"{server.url}{PAGE_PATH}",
        lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=PAGE.format(bundle=BUNDLE_URL)
        ),
    )

    def dicom(route):
        case = by_name.get(route.request.url.rsplit("/", 1)[-1])
        if case is None:
            route.fulfill(status=404, body="not found")
        else:
            route.fulfill(status=200, content_type="application/dicom", path=str(case["path"]))

    page.route(f"{server.url}{PAGE_PATH}dicom/*", dicom)
    page.goto(PAGE_PATH)
    page.wait_for_function("() => window.L2Cornerstone !== undefined")
    page.evaluate("async () => { await window.L2Cornerstone.init(); }")
    page.test_state = {"errors": errors, "console": console, "responses": responses, "server": server.url}
    yield page
    context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}\nconsole: {console[-20:]}"


def _image_id(viewer, case: dict) -> str:
    return f"wadouri:{viewer.test_state['server']}{PAGE_PATH}dicom/{case['name']}"


def _available(mammograms, case: str) -> dict:
    entry = mammograms[case]
    if entry["missing"]:
        pytest.skip(f"{case}: {entry['missing']}")
    return entry


# ------------------------------------------------------------------------------------------------ tests


def test_bundle_is_committed_with_its_worker_codecs_and_notices():
    names = {p.name for p in BUNDLE_DIR.iterdir()}
    for needed in (
        "cornerstone.js",
        "decodeImageFrameWorker.js",
        "openjpegwasm_decode.wasm",
        "openjphjs.wasm",
        "charlswasm_decode.wasm",
        "libjpegturbowasm_decode.wasm",
        "VERSIONS.txt",
        "LICENSES.txt",
    ):
        assert needed in names, (
            f"{needed} missing from {BUNDLE_DIR}: run `cd frontend && npm ci && npm run build`"
        )
    versions = (BUNDLE_DIR / "VERSIONS.txt").read_text()
    for package in ("core", "tools", "dicom-image-loader"):
        assert f"@cornerstonejs/{package}@5.14.0" in versions
    for wasm in BUNDLE_DIR.glob("*.wasm"):
        assert wasm.read_bytes()[:4] == b"\0asm", wasm
    # no source map references: a manifest static storage would try to resolve (and fail on) them
    for js in BUNDLE_DIR.glob("*.js"):
        assert b"sourceMappingURL" not in js.read_bytes(), js


def test_init_exposes_the_api_and_uses_webgl(viewer):
    info = viewer.evaluate(
        """async () => {
          const api = await window.L2Cornerstone.init();
          return {
            same: api === window.L2Cornerstone,
            keys: Object.keys(api).sort(),
            versions: api.versions,
            baseUrl: api.baseUrl,
            initialized: api.core.isCornerstoneInitialized(),
            cpu: api.core.getShouldUseCPURendering(),
            loaders: ['wadouri', 'dicomweb', 'wadors'].map((s) => typeof api.core.imageLoader.loadImage),
          };
        }"""
    )
    assert info["same"]
    assert {"core", "tools", "dicomImageLoader", "init"} <= set(info["keys"])
    assert info["versions"]["@cornerstonejs/core"] == "5.14.0"
    assert info["baseUrl"] == f"{viewer.test_state['server']}/static/vendor/cornerstone/"
    assert info["initialized"]
    renderer = viewer.evaluate(WEBGL_JS)
    assert renderer, "no WebGL2 context in headless Chromium"
    assert info["cpu"] is False, f"cornerstone fell back to CPU rendering (WebGL2 renderer: {renderer})"


@pytest.mark.parametrize(
    ("case", "voi_lut_function"), [("uncompressed", "LINEAR"), ("jpeg2000", "LINEAR"), ("sigmoid", "SIGMOID")]
)
def test_renders_a_full_size_mammogram_in_a_stack_viewport(viewer, mammograms, case, voi_lut_function):
    entry = _available(mammograms, case)
    rows, columns = entry["shape"]
    result = viewer.evaluate(RENDER_JS, [_image_id(viewer, entry), TIMEOUT_MS - 5_000])

    assert result["imageId"] == _image_id(viewer, entry)
    assert result["dimensions"][:2] == [columns, rows], "vtkImageData dimensions are (columns, rows, 1)"
    assert result["cssSize"] == [512, 512]
    assert result["cpuRendering"] is False
    # the DICOM window is applied (PS3.3 C.11.2.1.2: LINEAR bounds; SIGMOID keeps centre and width)
    center, width = entry["window"]
    assert result["voiLutFunction"] == voi_lut_function
    assert result["voiRange"] == {
        "lower": center - 0.5 - (width - 1) / 2,
        "upper": center - 0.5 + (width - 1) / 2,
    }
    grid = np.array(result["grid"])
    assert grid.std() > 10, (
        f"rendered canvas looks uniform (std {grid.std():.1f}, values {set(grid.tolist())})"
    )
    assert (grid < 20).mean() > 0.1, "no dark background (air) on the rendered canvas"
    tissue = grid[grid > 40]
    assert tissue.size > 0.1 * grid.size, "no breast tissue on the rendered canvas"
    # texture, not a flat blown-out silhouette (what a VOI left at its default shows)
    levels, saturated = len(set(tissue.tolist())), (tissue >= 250).mean()
    assert levels > 40 and saturated < 0.2, (
        f"breast without contrast: {levels} grey levels, {saturated:.0%} at 255"
    )

    SHOTS.mkdir(parents=True, exist_ok=True)
    viewer.locator("#viewport").screenshot(path=str(SHOTS / f"cornerstone-bundle-{case}.png"))


@pytest.mark.parametrize("case", ["uncompressed", "jpeg2000", "htj2k", "jpeg-ls", "jpeg-lossless"])
def test_decodes_stored_values_losslessly(viewer, mammograms, case):
    entry = _available(mammograms, case)
    rows, columns = entry["shape"]
    got = viewer.evaluate(PIXELS_JS, [_image_id(viewer, entry), WEIGHT_MODULUS, entry["sample_indices"]])

    assert (got["rows"], got["columns"]) == (rows, columns)
    expected = entry["expected"]
    assert got["length"] == expected["length"]
    assert got["samples"] == expected["samples"]
    assert (got["min"], got["max"], got["sum"], got["weighted"]) == (
        expected["min"],
        expected["max"],
        expected["sum"],
        expected["weighted"],
    )
    codec = {
        "jpeg2000": "openjpegwasm_decode.wasm",
        "htj2k": "openjphjs.wasm",
        "jpeg-ls": "charlswasm_decode.wasm",
    }.get(case)
    if codec:
        url = f"{viewer.test_state['server']}/static/vendor/cornerstone/{codec}"
        assert viewer.test_state["responses"].get(url, (None, ""))[0] == 200, (
            f"{codec} not fetched from the bundle folder; responses: {sorted(viewer.test_state['responses'])}"
        )
        assert viewer.test_state["responses"][url][1].startswith("application/wasm")


def test_jpeg2000_decodes_to_the_uncompressed_pixels(viewer, mammograms):
    """The brief's own check: the same mammogram, stored both ways, decodes to identical stored values."""
    raw, j2k = mammograms["uncompressed"], mammograms["jpeg2000"]
    args = (WEIGHT_MODULUS, raw["sample_indices"])
    from_raw = viewer.evaluate(PIXELS_JS, [_image_id(viewer, raw), *args])
    from_j2k = viewer.evaluate(PIXELS_JS, [_image_id(viewer, j2k), *args])
    assert {k: v for k, v in from_j2k.items() if k != "arrayType"} == {
        k: v for k, v in from_raw.items() if k != "arrayType"
    }
    digest = hashlib.sha256(str(sorted(from_raw.items())).encode()).hexdigest()
    assert digest == hashlib.sha256(str(sorted(from_j2k.items())).encode()).hexdigest()


def test_decodes_jpeg_baseline_with_libjpeg_turbo(viewer, mammograms):
    entry = _available(mammograms, "jpeg-baseline")
    got = viewer.evaluate(PIXELS_JS, [_image_id(viewer, entry), WEIGHT_MODULUS, entry["sample_indices"]])
    expected = entry["expected"]
    assert (got["rows"], got["columns"], got["length"]) == (*entry["shape"], expected["length"])
    # lossy, but both sides are libjpeg-turbo with the same (islow) IDCT: identical decoded values
    assert got["samples"] == expected["samples"]
    assert (got["min"], got["max"], got["sum"], got["weighted"]) == (
        expected["min"],
        expected["max"],
        expected["sum"],
        expected["weighted"],
    )
    url = f"{viewer.test_state['server']}/static/vendor/cornerstone/libjpegturbowasm_decode.wasm"
    assert viewer.test_state["responses"].get(url, (None, ""))[0] == 200


def test_worker_and_codecs_are_served_by_django_staticfiles(viewer, mammograms):
    """Everything the bundle fetches at run time comes from /static/vendor/cornerstone/ with the right type."""
    viewer.evaluate(PIXELS_JS, [_image_id(viewer, mammograms["jpeg2000"]), WEIGHT_MODULUS, [0]])
    base = f"{viewer.test_state['server']}/static/vendor/cornerstone/"
    fetched = {
        url[len(base) :]: meta for url, meta in viewer.test_state["responses"].items() if url.startswith(base)
    }
    assert fetched.get("cornerstone.js", (0, ""))[0] == 200
    assert fetched["cornerstone.js"][1].split(";")[0] in ("text/javascript", "application/javascript")
    assert fetched.get("decodeImageFrameWorker.js", (0, ""))[0] == 200, f"worker not fetched: {fetched}"
    assert fetched["decodeImageFrameWorker.js"][1].split(";")[0] in (
        "text/javascript",
        "application/javascript",
    )
    others = {
        url: meta
        for url, meta in viewer.test_state["responses"].items()
        if "/static/" in url and not url.startswith(base)
    }
    assert not others, f"the bundle fetched static files outside its folder: {others}"
    assert all(status == 200 for status, _ in fetched.values()), fetched
