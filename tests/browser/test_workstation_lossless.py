"""Decision-grade pixels in the real viewer (spec §5 G2, §10 test 7): the views come as WADO-RS HTJ2K lossless
frames, the decoded frame's hash equals the server's, and a frame that decodes to other values is refused —
error shown, verdict keys inert."""

import imagecodecs
import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from readings.models import L2Reading
from screening.models import Rendition
from tests.browser.test_workstation_flow import build, gl_page, key, on_case, open_ws  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VERIFIED_JS = """() => {
  const v = window.L2Workstation.viewer._viewer;
  return Object.values(v.caseJson.views).map((view) => v.images.verified.get(v.imageIdOf(view)));
}"""


def test_views_load_as_htj2k_frames_whose_decoded_hash_matches_the_server(gl_page, login):  # noqa: F811
    page = gl_page
    reader, exams = build(2, "dr.sans.perte")
    open_ws(page, login, reader, "/lecture/poste/")
    on_case(page, exams[0], settle=False)
    page.wait_for_function("() => window.L2Workstation.viewer.losslessReady()", timeout=60_000)
    page.wait_for_function(f"() => ({VERIFIED_JS})().every((ok) => ok === true)", timeout=30_000)
    frames = page.evaluate(
        "() => performance.getEntriesByType('resource').map((r) => r.name).filter((n) => n.includes('/frames/1'))"
    )
    assert len({f for f in frames}) >= 4, frames
    assert not page.evaluate(
        "() => performance.getEntriesByType('resource').some((r) => r.name.includes('/lecture/dicom/'))"
    ), "the originals are not needed when the lossless frames exist"
    previews = page.evaluate(
        "() => performance.getEntriesByType('resource').filter((r) => r.name.includes('apercu.webp')).length"
    )
    assert previews >= 4
    # P1 mechanism: the next case is decoded and pre-hung on the spare viewports before the verdict key...
    page.wait_for_function(
        f"""() => performance.getEntriesByName('l2:prefetch-done').some(
              (m) => m.detail && m.detail.exam_id === {exams[1].pk} && m.detail.decoded)""",
        timeout=60_000,
    )
    page.wait_for_function("() => performance.now() > window.L2Workstation.lockUntil + 20")
    key(page, "n")
    on_case(page, exams[1], settle=False)
    page.wait_for_function("() => window.L2Workstation.viewer.losslessReady()", timeout=30_000)
    # ...so its four views open from the spares (no new texture upload), already lossless.
    assert page.evaluate("() => window.L2Workstation.viewer._viewer.standby.adopted") == 4


def test_a_frame_that_decodes_to_other_values_blocks_the_verdict(gl_page, login):  # noqa: F811
    page = gl_page
    reader, exams = build(1, "dr.empreinte")
    rendition = Rendition.objects.get(
        instance__exam=exams[0], instance__slot="LCC", kind=Rendition.Kind.HTJ2K
    )
    with default_storage.open(rendition.file, "rb") as fh:
        pixels = imagecodecs.htj2k_decode(fh.read())
    pixels[10, 10] = pixels[10, 10] ^ 1  # one stored value off by one: must not pass for lossless
    tampered = bytes(imagecodecs.htj2k_encode(np.ascontiguousarray(pixels)))
    default_storage.delete(rendition.file)
    default_storage.save(rendition.file, ContentFile(tampered))
    Rendition.objects.filter(pk=rendition.pk).update(size_bytes=len(tampered))
    open_ws(page, login, reader, "/lecture/poste/")
    on_case(page, exams[0], settle=False)
    page.wait_for_function(f"() => ({VERIFIED_JS})().includes(false)", timeout=60_000)
    expect(page.get_by_text("Pixels décodés différents de l'original")).to_be_visible()
    assert not page.evaluate("() => window.L2Workstation.viewer.losslessReady()")
    page.wait_for_function("() => performance.now() > window.L2Workstation.lockUntil + 20")
    key(page, "n")
    page.wait_for_timeout(500)
    assert not L2Reading.objects.filter(exam=exams[0]).exists()
