"""Tests for the synthetic mammogram generator (plain pytest, no Django needed)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless

from screening.dicom import synth

PATIENT = dict(
    patient_id="0123456789",
    patient_name="DUPONT^MARIE^HÉLÈNE",
    birth_date="19650312",
    study_date="20240115",
    accession_number="ACC-2024-0001",
)
GE_ROWS, GE_COLS = synth.DETECTORS["ge"]
SMALL = dict(rows=512, columns=416)
VIEWS = [("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")]


def _small_pixels(value: int = 100) -> np.ndarray:
    return np.full((64, 48), value, dtype=np.uint16)


def test_module_imports_without_django_settings():
    tree = ast.parse(Path(synth.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(name.startswith("django") for name in imported)
    code = (
        "import screening.dicom.synth as s; from django.conf import settings; "
        "assert not settings.configured; s.make_mammogram(patient_id='1', patient_name='A^B', "
        "birth_date='19600101', study_date='20240101', accession_number='1', pixels=s.np.zeros((32, 32), 'u2'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2], env=env)


def test_compressed_round_trip_is_lossless(tmp_path):
    expected = synth.mammogram_pixels(laterality="L", view="MLO", rows=GE_ROWS, columns=GE_COLS, seed=3)
    ds = synth.make_mammogram(**PATIENT, laterality="L", view="MLO", detector="ge", seed=3)
    assert ds.file_meta.TransferSyntaxUID == JPEG2000Lossless
    assert np.array_equal(ds.pixel_array, expected)
    path = synth.write_mammogram(tmp_path / "sub" / "img.dcm", **PATIENT, laterality="L", view="MLO", seed=3)
    back = pydicom.dcmread(path)
    assert back.file_meta.TransferSyntaxUID == JPEG2000Lossless
    assert (back.Rows, back.Columns) == (GE_ROWS, GE_COLS)
    assert back.pixel_array.dtype == np.uint16
    assert np.array_equal(back.pixel_array, expected)
    assert path.stat().st_size < expected.nbytes / 2  # really compressed


def test_uncompressed_round_trip_with_pixel_override(tmp_path):
    pixels = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    path = synth.write_mammogram(tmp_path / "raw.dcm", **PATIENT, pixels=pixels, compress=False)
    back = pydicom.dcmread(path)
    assert back.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert (back.Rows, back.Columns) == (64, 48)
    assert np.array_equal(back.pixel_array, pixels)


@pytest.mark.parametrize("laterality,view", VIEWS)
def test_chest_wall_on_the_stored_side(laterality, view):
    img = synth.mammogram_pixels(laterality=laterality, view=view, **SMALL, seed=1).astype(float)
    left, right = img[:, :10].mean(), img[:, -10:].mean()
    chest, far = (right, left) if laterality == "R" else (left, right)
    assert chest > 10 * far
    assert far < 0.02 * 4095  # nipple side ends in air
    assert img.max() > 0.5 * 4095


@pytest.mark.parametrize("laterality", ["R", "L"])
def test_mlo_pectoral_muscle_in_top_chest_wall_corner(laterality):
    rows, cols = SMALL["rows"], SMALL["columns"]
    mlo = synth.mammogram_pixels(laterality=laterality, view="MLO", **SMALL, seed=2).astype(float)
    corner = (
        slice(0, rows // 20),
        slice(cols - cols // 10, cols) if laterality == "R" else slice(0, cols // 10),
    )
    other = (
        slice(0, rows // 20),
        slice(0, cols // 10) if laterality == "R" else slice(cols - cols // 10, cols),
    )
    assert mlo[corner].mean() > 0.3 * 4095  # muscle reaches the top edge
    assert mlo[other].mean() < 0.02 * 4095  # air above the nipple side


def test_pixels_are_air_near_zero_and_deterministic():
    a = synth.mammogram_pixels(laterality="R", view="CC", **SMALL, seed=5)
    b = synth.mammogram_pixels(laterality="R", view="CC", **SMALL, seed=5)
    c = synth.mammogram_pixels(laterality="R", view="CC", **SMALL, seed=6)
    assert a.dtype == np.uint16 and a.shape == (512, 416)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a[:20, :20].max() < 0.01 * 4095


def test_bits_stored_14_spans_the_range():
    img = synth.mammogram_pixels(laterality="L", view="CC", **SMALL, bits_stored=14, seed=0)
    assert 4095 < img.max() <= 2**14 - 1


def test_monochrome1_is_inverted():
    m2 = synth.make_mammogram(**PATIENT, seed=4, compress=False)
    m1 = synth.make_mammogram(**PATIENT, seed=4, compress=False, photometric="MONOCHROME1")
    assert m1.PhotometricInterpretation == "MONOCHROME1"
    assert np.array_equal(m1.pixel_array, 4095 - m2.pixel_array)
    assert m1.pixel_array[:20, :20].min() > 0.99 * 4095  # air is bright in stored values
    assert abs(float(m1.WindowCenter) - (4095 - float(m2.WindowCenter))) <= 1
    assert m1.PresentationLUTShape == "INVERSE"


def test_window_covers_breast_tissue():
    ds = synth.make_mammogram(**PATIENT, seed=7, compress=False)
    img = ds.pixel_array
    tissue = img[img > 200]
    low = float(ds.WindowCenter) - float(ds.WindowWidth) / 2
    high = float(ds.WindowCenter) + float(ds.WindowWidth) / 2
    assert low < np.median(tissue) < high
    assert low > img[:20, :20].mean()  # air below the window
    assert ds.VOILUTFunction == "LINEAR" and ds.WindowCenterWidthExplanation


@pytest.mark.parametrize("laterality,view", VIEWS)
def test_view_tags(laterality, view):
    ds = synth.make_mammogram(
        **PATIENT, laterality=laterality, view=view, pixels=_small_pixels(), compress=False
    )
    expected_code = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}[
        view
    ]
    code = ds.ViewCodeSequence[0]
    assert (code.CodeValue, code.CodeMeaning, code.CodingSchemeDesignator) == (*expected_code, "SCT")
    assert ds.ViewPosition == view
    assert ds.ImageLaterality == laterality
    assert "Laterality" not in ds
    assert ds.SeriesDescription == f"{laterality} {view}"
    assert (
        list(ds.PatientOrientation)
        == {
            ("R", "CC"): ["P", "L"],
            ("L", "CC"): ["A", "R"],
            ("R", "MLO"): ["P", "F"],
            ("L", "MLO"): ["A", "F"],
        }[(laterality, view)]
    )


def test_general_tags_and_file_meta():
    ds = synth.make_mammogram(**PATIENT, detector="hologic", pixels=_small_pixels(), compress=False)
    assert ds.SOPClassUID == synth.MG_FOR_PRESENTATION
    assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.file_meta.ImplementationClassUID
    assert ds.Modality == "MG" and ds.PresentationIntentType == "FOR PRESENTATION"
    assert (ds.PatientID, str(ds.PatientName), ds.PatientBirthDate) == (
        "0123456789",
        "DUPONT^MARIE^HÉLÈNE",
        "19650312",
    )
    assert ds.PatientSex == "F" and ds.PatientAge == "058Y"
    assert ds.StudyDescription == "Mammographie de dépistage"
    assert ds.AccessionNumber == "ACC-2024-0001" and ds.StudyDate == "20240115"
    assert ds.Manufacturer == "HOLOGIC, Inc." and ds.ManufacturerModelName
    assert ds.BodyPartExamined == "BREAST"
    assert [float(v) for v in ds.ImagerPixelSpacing] == [0.07, 0.07] == [float(v) for v in ds.PixelSpacing]
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 12, 11, 0)
    assert (ds.SamplesPerPixel, ds.RescaleType, float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (
        1,
        "US",
        1,
        0,
    )
    assert ds.BurnedInAnnotation == "NO" and ds.LossyImageCompression == "00"
    assert ds.AcquisitionDateTime.startswith("20240115") and ds.ContentDate == "20240115" and ds.ContentTime
    assert ds.InstanceNumber == 1


def test_for_processing_options_and_given_uids():
    ds = synth.make_mammogram(
        **PATIENT,
        pixels=_small_pixels(),
        presentation_intent="FOR PROCESSING",
        modality="CR",
        manufacturer="ACME",
        set_view_code=False,
        set_image_laterality=False,
        study_uid="1.2.3.4",
        series_uid="1.2.3.4.5",
        sop_uid="1.2.3.4.5.6",
        acquisition_datetime="20240116101112",
        instance_number=7,
    )
    assert ds.SOPClassUID == synth.MG_FOR_PROCESSING == "1.2.840.10008.5.1.4.1.1.1.2.1"
    assert ds.PresentationIntentType == "FOR PROCESSING"
    assert ds.Modality == "CR" and ds.Manufacturer == "ACME"
    assert "ViewCodeSequence" not in ds and "ImageLaterality" not in ds
    assert (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID) == (
        "1.2.3.4",
        "1.2.3.4.5",
        "1.2.3.4.5.6",
    )
    assert ds.file_meta.MediaStorageSOPInstanceUID == "1.2.3.4.5.6"  # kept despite compression
    assert (ds.AcquisitionDateTime, ds.ContentDate, ds.ContentTime) == (
        "20240116101112",
        "20240116",
        "101112",
    )
    assert ds.InstanceNumber == 7


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError):
        synth.make_mammogram(**PATIENT, pixels=_small_pixels(5000), bits_stored=12)
    with pytest.raises(ValueError):
        synth.make_mammogram(**PATIENT, detector="siemens")
    with pytest.raises(ValueError, match="32x32"):
        synth.make_mammogram(**PATIENT, pixels=np.zeros((16, 16), np.uint16))
    with pytest.raises(ValueError):
        synth.mammogram_pixels(laterality="X", view="CC", **SMALL)


def test_make_exam_files(tmp_path):
    paths = synth.make_exam_files(tmp_path / "exam", **PATIENT, seed=11)
    assert len(paths) == 4 and all(p.is_file() for p in paths)
    datasets = [pydicom.dcmread(p) for p in paths]
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == 4
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 4
    assert [(ds.ImageLaterality, ds.ViewPosition) for ds in datasets] == VIEWS
    assert all(ds.file_meta.TransferSyntaxUID == JPEG2000Lossless for ds in datasets)
    assert {(ds.PatientID, str(ds.PatientName)) for ds in datasets} == {("0123456789", "DUPONT^MARIE^HÉLÈNE")}
    assert {ds.LossyImageCompression for ds in datasets} == {"00"}
    assert len({ds.AcquisitionDateTime for ds in datasets}) == 4
    assert datasets[0].pixel_array.shape == (GE_ROWS, GE_COLS)
