"""Image classification at ingest (workstation spec §2 C1–C6, §3 H2–H4).

Pure functions over a pydicom Dataset read without pixels: they never touch the database.
"""

from dataclasses import dataclass, field

from pydicom import Dataset

MG_PREFIX = "1.2.840.10008.5.1.4.1.1."
MG_FOR_PRESENTATION = MG_PREFIX + "1.2"
MG_FOR_PROCESSING = MG_PREFIX + "1.2.1"
BREAST_PROJECTION_FOR_PRESENTATION = MG_PREFIX + "13.1.4"
BREAST_PROJECTION_FOR_PROCESSING = MG_PREFIX + "13.1.5"
BREAST_TOMOSYNTHESIS = MG_PREFIX + "13.1.3"
SECONDARY_CAPTURE = MG_PREFIX + "7"
DX_FOR_PRESENTATION = MG_PREFIX + "1.1"
CR_IMAGE = MG_PREFIX + "1"

# CID 4014 view codes (SNOMED CT and legacy SRT), CID 4015 modifiers.
VIEW_CODES = {
    "399162004": "CC", "R-10242": "CC",
    "399368009": "MLO", "R-10226": "MLO",
    "399260004": "ML", "R-10224": "ML",
    "399352003": "LM", "R-10228": "LM",
    "399099002": "LMO", "R-10230": "LMO",
    "399192008": "XCCL", "R-1024A": "XCCL",
    "399101009": "XCCM", "R-1024B": "XCCM",
}  # fmt: skip
MODIFIER_CODES = {
    "399209000": "ID", "R-102D2": "ID",
    "399055006": "SPOT", "R-102D6": "SPOT",
    "399163009": "MAG", "R-102D7": "MAG",
    "399161006": "CV", "399011000": "AT", "399197002": "RL", "399226006": "RM",
}  # fmt: skip
STANDARD_VIEWS = {"CC", "MLO"}
CC_FAMILY = {"CC", "XCCL", "XCCM"}
# H2: target PatientOrientation (row, column first letters) per laterality and view family.
TARGETS = {
    ("R", "CC"): ("P", "L"),
    ("L", "CC"): ("A", "R"),
    ("R", "MLO"): ("P", "F"),
    ("L", "MLO"): ("A", "F"),
}
OPPOSITE = {"A": "P", "P": "A", "R": "L", "L": "R", "H": "F", "F": "H"}


class Refusal(Exception):
    """A file that may not be read in the programme, with a stable code and a French reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class KeptOutOfReading(Refusal):
    """A valid object that is kept (stored as received) but never read: raw images, reports, states."""


NON_IMAGE_PREFIXES = (MG_PREFIX + "88.", MG_PREFIX + "11.", MG_PREFIX + "104.", MG_PREFIX + "66")
SYNTHESISED_MARKERS = {"GENERATED_2D", "SYNTHETIC", "C-VIEW", "V-PREVIEW", "SYNTHESIZED"}


@dataclass
class Classification:
    laterality: str
    view: str
    modifiers: list[str]
    slot: str  # RCC / LCC / RMLO / LMLO, or "" for an extra view
    flip_horizontal: bool
    flip_vertical: bool
    flags: list[str] = field(default_factory=list)


def check_acceptable(ds: Dataset) -> None:
    """C1/C2 and R-ORG-4: only MG For Presentation images are read; everything else is refused with why."""
    sop_class = str(ds.get("SOPClassUID", ""))
    modality = str(ds.get("Modality", "")).upper()
    if sop_class.startswith(NON_IMAGE_PREFIXES):
        raise KeptOutOfReading(
            "not_an_image",
            "Objet DICOM sans image (compte rendu, marquage CAD, état de présentation) : conservé, hors lecture.",
        )
    if sop_class == SECONDARY_CAPTURE or str(ds.get("ConversionType", "")).upper() in {"DF", "DI", "SD"}:
        raise Refusal(
            "digitised_film",
            "Film numérisé (capture secondaire) : la lecture de films scannés est interdite dans le programme.",
        )
    if modality != "MG":
        raise Refusal(
            "wrong_modality", f"Modalité {modality or 'absente'} : seule la mammographie (MG) est lue."
        )
    intent = str(ds.get("PresentationIntentType", "")).upper()
    if sop_class in (MG_FOR_PROCESSING, BREAST_PROJECTION_FOR_PROCESSING) or intent == "FOR PROCESSING":
        raise KeptOutOfReading(
            "for_processing",
            "Image « For Processing » (brute) : conservée hors lecture ; la lecture se fait sur les images "
            "« For Presentation ».",
        )
    if sop_class not in (MG_FOR_PRESENTATION, BREAST_PROJECTION_FOR_PRESENTATION, BREAST_TOMOSYNTHESIS):
        raise Refusal(
            "not_an_image", f"Objet DICOM non image ou non mammographique ({sop_class or 'classe absente'})."
        )


def _laterality(ds: Dataset, flags: list[str]) -> str:
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(ds.get(keyword, "")).strip().upper()
        if value:
            return value
    for item in ds.get("SharedFunctionalGroupsSequence", []):
        for anatomy in item.get("FrameAnatomySequence", []):
            value = str(anatomy.get("FrameLaterality", "")).strip().upper()
            if value:
                return value
    description = str(ds.get("SeriesDescription", "")).upper().split()
    for token in description:
        if token in ("R", "L", "D", "G"):
            flags.append("laterality_from_description")
            return {"D": "R", "G": "L"}.get(token, token)
    return ""


def _view(ds: Dataset, flags: list[str]) -> tuple[str, list[str]]:
    modifiers: list[str] = []
    coded = ""
    for item in ds.get("ViewCodeSequence", []):
        coded = VIEW_CODES.get(str(item.get("CodeValue", "")), "")
        for modifier in item.get("ViewModifierCodeSequence", []):
            code = MODIFIER_CODES.get(str(modifier.get("CodeValue", "")))
            if code:
                modifiers.append(code)
    for modifier in ds.get("ViewModifierCodeSequence", []):
        code = MODIFIER_CODES.get(str(modifier.get("CodeValue", "")))
        if code and code not in modifiers:
            modifiers.append(code)
    position = str(ds.get("ViewPosition", "")).strip().upper()
    if position[:1] in ("R", "L") and position[1:] in VIEW_CODES.values():
        position = position[1:]
    if position.endswith("ID") and position[:-2] in VIEW_CODES.values():
        position, modifiers = position[:-2], modifiers + (["ID"] if "ID" not in modifiers else [])
    if coded:
        if position and position != coded:
            flags.append("view_conflict")
        return coded, modifiers
    if position in VIEW_CODES.values():
        return position, modifiers
    for token in str(ds.get("SeriesDescription", "")).upper().replace("_", " ").split():
        if token in VIEW_CODES.values():
            flags.append("view_from_description")
            return token, modifiers
    return "", modifiers


def _orientation(ds: Dataset, laterality: str, view: str, flags: list[str]) -> tuple[bool, bool, str]:
    raw = ds.get("PatientOrientation", None)
    values = [str(v).upper() for v in raw] if raw else []
    family = "CC" if view in CC_FAMILY else "MLO"
    if len(values) != 2 or not all(values):
        flags.append("orientation_unknown")
        return False, False, ""
    row, column = values[0][0], values[1][0]
    text = "\\".join(values)
    if row in ("H", "F") or column in ("A", "P"):
        flags.append("rotation")  # H4: a 90° rotation is flagged, never guessed
        return False, False, text
    if (family == "CC" and column in ("H", "F")) or (family == "MLO" and column in ("L", "R")):
        flags.append("view_orientation_incoherent")
        return False, False, text
    target_row, target_column = TARGETS[(laterality, family)]
    flip_h = row != target_row
    flip_v = column != target_column and column == OPPOSITE.get(target_column)
    return flip_h, flip_v, text


def classify(ds: Dataset) -> tuple[Classification, str]:
    """Laterality, view, modifiers, standard slot and display flips. Returns (classification, orientation)."""
    flags: list[str] = []
    laterality = _laterality(ds, flags)
    if laterality not in ("R", "L"):
        raise Refusal(
            "laterality_missing", "Latéralité absente ou bilatérale : impossible de placer l'image (D/G)."
        )
    view, modifiers = _view(ds, flags)
    if not view:
        raise Refusal(
            "view_missing", "Incidence absente (ni ViewCodeSequence ni ViewPosition) : image non classable."
        )
    flip_h, flip_v, orientation = _orientation(ds, laterality, view, flags)
    tomosynthesis = (
        str(ds.get("SOPClassUID", "")) == BREAST_TOMOSYNTHESIS or int(ds.get("NumberOfFrames", 1) or 1) > 1
    )
    if tomosynthesis:
        flags.append("tomosynthesis")  # stored and shown as an extra; the 2D views are read
    image_type = {str(v).upper() for v in (ds.get("ImageType") or [])}
    if image_type & SYNTHESISED_MARKERS:
        flags.append("synthesised_2d")
    slot = f"{laterality}{view}" if view in STANDARD_VIEWS and not modifiers and not tomosynthesis else ""
    if str(ds.get("LossyImageCompression", "00")) == "01":
        flags.append("lossy")
    return Classification(laterality, view, modifiers, slot, flip_h, flip_v, flags), orientation
