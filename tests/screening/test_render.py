"""The grey-scale pipeline of the renditions (workstation spec §5 G1, PS3.3 C.11.2)."""

import numpy as np
import pytest
from PIL import Image

from screening.dicom.render import reduce_to, to_display, window_to_unit
from screening.dicom.synth import make_mammogram

TAGS = {
    "patient_id": "03-1",
    "patient_name": "DUPONT^Marie",
    "birth_date": "19600101",
    "study_date": "20261120",
    "accession_number": "A1",
}
RAMP = np.tile(np.linspace(0, 4095, 64).astype(np.uint16), (32, 1))


def ds_with(photometric="MONOCHROME2", **tags):
    ds = make_mammogram(**TAGS, pixels=RAMP, compress=False, photometric=photometric)
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    return ds


def test_header_window_maps_center_to_mid_grey_and_clips_outside():
    ds = ds_with(
        WindowCenter=2048, WindowWidth=1024, VOILUTFunction="LINEAR", RescaleSlope=1, RescaleIntercept=0
    )
    out, center, width = to_display(ds, ds.pixel_array)
    assert (center, width) == (2048, 1024)
    assert out[0, 0] == 0 and out[0, -1] == 255
    mid = int(np.argmin(np.abs(RAMP[0].astype(int) - 2048)))
    expected = ((RAMP[0, mid] - 2047.5) / 1023 + 0.5) * 255  # PS3.3 C.11.2.1.2 LINEAR
    assert abs(int(out[0, mid]) - expected) <= 1


def test_monochrome1_shows_dense_tissue_bright():
    normal = ds_with(WindowCenter=2048, WindowWidth=4096)
    inverted = ds_with(photometric="MONOCHROME1", WindowCenter=2048, WindowWidth=4096)
    a, _, _ = to_display(normal, normal.pixel_array)
    b, _, _ = to_display(inverted, inverted.pixel_array)
    assert a[0, -1] > a[0, 0] and b[0, -1] < b[0, 0]
    assert np.all(np.abs(a.astype(int) + b.astype(int) - 255) <= 1)


def test_presentation_lut_inverse_inverts_too():
    ds = ds_with(WindowCenter=2048, WindowWidth=4096, PresentationLUTShape="INVERSE")
    out, _, _ = to_display(ds, ds.pixel_array)
    assert out[0, 0] > out[0, -1]


def test_modality_lut_is_applied_before_the_window():
    ds = ds_with(RescaleSlope=2, RescaleIntercept=-100, WindowCenter=4000, WindowWidth=2)
    out, _, _ = to_display(ds, ds.pixel_array)
    first_bright = int(np.argmax(out[0] > 128))
    assert abs(RAMP[0, first_bright] * 2 - 100 - 4000) <= 2 * (4095 / 63)


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        ("LINEAR", 2048.0, 0.5002),
        ("LINEAR_EXACT", 1536.0, 0.0),
        ("LINEAR_EXACT", 2560.0, 1.0),
        ("SIGMOID", 2048.0, 0.5),
    ],
)
def test_voi_functions_follow_the_standard_formulas(function, value, expected):
    got = float(window_to_unit(np.array([value]), 2048.0, 1024.0, function)[0])
    assert got == pytest.approx(expected, abs=1e-3)


def test_minification_averages_areas_and_keeps_the_aspect():
    image = Image.fromarray(np.tile(np.array([[0, 255], [255, 0]], dtype=np.uint8), (2000, 1500)))
    reduced = reduce_to(image, 1000)
    assert reduced.height <= 1000
    assert abs(reduced.width / reduced.height - 3000 / 4000) < 0.01
    assert 120 <= np.asarray(reduced).mean() <= 135  # a checkerboard averages to mid-grey, no aliasing


def test_breast_box_hugs_the_breast_against_the_chest_wall():
    from screening.dicom.render import breast_box
    from screening.dicom.synth import mammogram_pixels

    pixels = mammogram_pixels(laterality="R", view="CC", rows=512, columns=400, seed=3)
    ds = make_mammogram(**TAGS, pixels=pixels, compress=False, laterality="R", view="CC")
    display, _, _ = to_display(ds, ds.pixel_array)
    x0, y0, x1, y1 = breast_box(display)
    assert x1 == pytest.approx(1.0, abs=0.01)  # right breast stored with its chest wall on the right edge
    assert 0.05 < x0 < 0.9 and y0 < 0.5 < y1
    assert breast_box(np.zeros((100, 80), np.uint8)) is None


@pytest.mark.parametrize(
    "tags",
    [
        {"WindowCenter": 1500, "WindowWidth": 900, "VOILUTFunction": "SIGMOID"},
        {"WindowCenter": 2048, "WindowWidth": 300, "VOILUTFunction": "LINEAR_EXACT", "RescaleSlope": 2},
        {"PhotometricInterpretation": "MONOCHROME1"},
    ],
)
def test_the_lookup_table_path_gives_exactly_the_per_pixel_result(tags):
    from screening.dicom.render import _pipeline

    ds = ds_with(**{k: v for k, v in tags.items() if k != "PhotometricInterpretation"},
                 photometric=tags.get("PhotometricInterpretation", "MONOCHROME2"))  # fmt: skip
    if "WindowCenter" not in tags:
        del ds.WindowCenter, ds.WindowWidth
    fast, c1, w1 = to_display(ds, ds.pixel_array)
    slow, c2, w2 = _pipeline(ds, ds.pixel_array, window_from=ds.pixel_array)
    assert (c1, w1) == (c2, w2)
    assert np.array_equal(fast, slow)
