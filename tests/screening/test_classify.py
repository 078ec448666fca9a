"""Classification at ingest (workstation spec §2 C1–C5, §3 H2–H4), on synthetic datasets."""

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from screening.dicom.classify import KeptOutOfReading, Refusal, check_acceptable, classify
from screening.dicom.synth import make_mammogram

TAGS = {
    "patient_id": "03-1",
    "patient_name": "DUPONT^Marie",
    "birth_date": "19600101",
    "study_date": "20261120",
    "accession_number": "A1",
}
SMALL = np.full((64, 48), 100, dtype=np.uint16)


def mammo(**kwargs):
    return make_mammogram(**TAGS, pixels=SMALL, compress=False, **kwargs)


@pytest.mark.parametrize(
    ("laterality", "view", "orientation", "flips"),
    [
        ("R", "CC", ["P", "L"], (False, False)),
        ("R", "CC", ["A", "L"], (True, False)),
        ("R", "CC", ["P", "R"], (False, True)),
        ("R", "CC", ["A", "R"], (True, True)),
        ("L", "CC", ["A", "R"], (False, False)),
        ("L", "CC", ["P", "R"], (True, False)),
        ("R", "MLO", ["P", "F"], (False, False)),
        ("R", "MLO", ["P", "H"], (False, True)),
        ("L", "MLO", ["A", "F"], (False, False)),
        ("L", "MLO", ["P", "H"], (True, True)),
    ],
)
def test_flips_bring_each_view_to_the_back_to_back_target(laterality, view, orientation, flips):
    ds = mammo(laterality=laterality, view=view)
    ds.PatientOrientation = orientation
    result, text = classify(ds)
    assert (result.flip_horizontal, result.flip_vertical) == flips
    assert result.slot == f"{laterality}{view}"
    assert text == "\\".join(orientation)


@pytest.mark.parametrize(
    ("orientation", "flag"), [(["H", "L"], "rotation"), (["A", "F"], "view_orientation_incoherent")]
)
def test_rotations_and_incoherent_orientations_are_flagged_never_guessed(orientation, flag):
    ds = mammo(laterality="R", view="CC")
    ds.PatientOrientation = orientation
    result, _ = classify(ds)
    assert flag in result.flags
    assert (result.flip_horizontal, result.flip_vertical) == (False, False)


def test_missing_orientation_is_flagged_unknown():
    ds = mammo(laterality="L", view="MLO")
    del ds.PatientOrientation
    result, _ = classify(ds)
    assert "orientation_unknown" in result.flags


def test_laterality_falls_back_from_image_laterality_to_laterality():
    ds = mammo(laterality="R", view="CC", set_image_laterality=False)
    ds.Laterality = "L"
    result, _ = classify(ds)
    assert result.laterality == "L"


def test_view_code_wins_over_view_position_and_the_conflict_is_flagged():
    ds = mammo(laterality="R", view="CC")
    ds.ViewPosition = "MLO"
    result, _ = classify(ds)
    assert result.view == "CC"
    assert "view_conflict" in result.flags


def test_view_position_with_laterality_prefix_is_understood():
    ds = mammo(laterality="L", view="MLO", set_view_code=False)
    ds.ViewPosition = "LMLO"
    result, _ = classify(ds)
    assert (result.view, result.slot) == ("MLO", "LMLO")


def test_implant_displaced_view_never_fills_a_standard_slot():
    ds = mammo(laterality="R", view="CC")
    modifier = Dataset()
    modifier.CodeValue, modifier.CodingSchemeDesignator, modifier.CodeMeaning = "399209000", "SCT", "ID"
    ds.ViewCodeSequence[0].ViewModifierCodeSequence = Sequence([modifier])
    result, _ = classify(ds)
    assert result.modifiers == ["ID"]
    assert result.slot == ""


def test_lossy_source_is_flagged():
    ds = mammo(laterality="R", view="CC")
    ds.LossyImageCompression = "01"
    assert "lossy" in classify(ds)[0].flags


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7"}, "digitised_film"),
        ({"Modality": "CR"}, "wrong_modality"),
        ({"PresentationIntentType": "FOR PROCESSING"}, "for_processing"),
        ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.88.50"}, "not_an_image"),
    ],
)
def test_objects_that_may_not_be_read_are_refused_with_a_code(change, code):
    ds = mammo(laterality="R", view="CC")
    for keyword, value in change.items():
        setattr(ds, keyword, value)
    with pytest.raises(Refusal) as refusal:
        check_acceptable(ds)
    assert refusal.value.code == code


@pytest.mark.parametrize(
    "change",
    [
        {"PresentationIntentType": "FOR PROCESSING"},
        {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.88.50", "Modality": "SR"},
    ],
)
def test_raw_images_and_non_image_objects_are_kept_out_of_reading_not_refused(change):
    ds = mammo(laterality="R", view="CC")
    for keyword, value in change.items():
        setattr(ds, keyword, value)
    with pytest.raises(KeptOutOfReading):
        check_acceptable(ds)


def test_tomosynthesis_and_synthesised_2d_are_accepted_and_flagged():
    tomo = mammo(laterality="L", view="MLO")
    tomo.SOPClassUID, tomo.NumberOfFrames = "1.2.840.10008.5.1.4.1.1.13.1.3", 40
    check_acceptable(tomo)
    result, _ = classify(tomo)
    assert "tomosynthesis" in result.flags and result.slot == ""
    synthetic = mammo(laterality="L", view="CC")
    synthetic.ImageType = ["DERIVED", "PRIMARY", "GENERATED_2D"]
    result, _ = classify(synthetic)
    assert "synthesised_2d" in result.flags and result.slot == "LCC"
