"""Input checks of the follow-up forms (dates, sizes, pTNM, ADICAP, conduct vs ACR), with French messages."""

import datetime as dt
import re

from django.utils import timezone
from django.utils.translation import gettext as _

from screening.models import Exam, WorkUp, WorkUpExam

from .errors import ServiceError

MAX_SIZE_MM = 300
PT_RE = re.compile(r"^(?:P?T)?(X|0|IS|1MI|1A|1B|1C|1|2|3|4A|4B|4C|4D|4)$")
PN_RE = re.compile(r"^(?:P?N)?(X|0|1MI|1A|1B|1C|1|2A|2B|2|3A|3B|3C|3)$")
M_RE = re.compile(r"^(?:[CP]?M)?(X|0|1)$")
ADICAP_RE = re.compile(r"^[A-Z0-9]{8}$")


def check_date(value: dt.date | None, exam: Exam, *, field: str, what: str) -> None:
    """Not in the future, not before the mammogram."""
    if value is None:
        raise ServiceError("date_missing", _("%(what)s est obligatoire.") % {"what": what}, field=field)
    if value > timezone.localdate():
        raise ServiceError("date_in_future", _("%(what)s est dans le futur.") % {"what": what}, field=field)
    if value < exam.mammogram_date:
        raise ServiceError(
            "date_before_mammogram",
            _("%(what)s précède la mammographie du %(m)s.")
            % {"what": what, "m": exam.mammogram_date.strftime("%d/%m/%Y")},
            field=field,
        )


def check_size(value: int | None, *, field: str) -> None:
    if value is not None and not 1 <= value <= MAX_SIZE_MM:
        raise ServiceError(
            "size_range",
            _("La taille s'exprime en millimètres, de 1 à %(max)s.") % {"max": MAX_SIZE_MM},
            field=field,
        )


def _tnm(value: str, pattern: re.Pattern, prefix: str, field: str, example: str) -> str:
    """'t1c', 'pT1C', '1c' → 'pT1c' (the form the pathology reports print)."""
    raw = (value or "").replace(" ", "").upper()
    if not raw:
        return ""
    match = pattern.match(raw)
    if match is None:
        raise ServiceError(
            "histology_tnm",
            _("%(f)s invalide : « %(v)s » (exemple : %(ex)s).")
            % {"f": prefix, "v": value[:10], "ex": example},
            field=field,
        )
    return prefix + match.group(1).lower().replace("x", "X")


def clean_pt(value: str) -> str:
    return _tnm(value, PT_RE, "pT", "pt", "pT1c, pTis")


def clean_pn(value: str) -> str:
    return _tnm(value, PN_RE, "pN", "pn", "pN0, pN1a")


def clean_m(value: str) -> str:
    return _tnm(value, M_RE, "M", "m", "M0")


def clean_adicap(value: str, *, field: str) -> str:
    code = (value or "").replace(" ", "").upper()
    if code and not ADICAP_RE.match(code):
        raise ServiceError(
            "histology_adicap",
            _("Code ADICAP invalide : 8 caractères attendus, lettres et chiffres (« %(v)s »).")
            % {"v": value[:12]},
            field=field,
        )
    return code


def work_up_conduct_check(*, worst: int, conduct: str, check: bool) -> None:
    """R-DATA-2 for the BDD: ACR 1–2 back to screening; 3 surveillance; 4–5 a biopsy or surgery.

    A surveillance check with a stable ACR 3 may also return the woman to screening (R-FU-3)."""
    C = WorkUp.Conduct
    if conduct not in C.values:
        raise ServiceError("work_up_conduct", _("Choisissez la conduite à tenir."), field="conduct")
    if worst <= 2 and conduct != C.SCREENING:
        message = _(
            "Un ACR 1 ou 2 ne justifie ni surveillance ni prélèvement : choisissez « Retour au dépistage »."
        )
    elif worst == 3 and conduct not in ((C.SURVEILLANCE, C.SCREENING) if check else (C.SURVEILLANCE,)):
        message = _("Un ACR 3 appelle une surveillance : choisissez « Surveillance ».")
    elif worst >= 4 and conduct not in (C.BIOPSY, C.SURGERY):
        message = _("Un ACR 4 ou 5 appelle un prélèvement histologique ou une chirurgie.")
    else:
        return
    raise ServiceError("work_up_conduct", message, field="conduct")


def work_up_origin_check(*, origin: str, check: bool) -> None:
    """A surveillance check while in ACR 3 surveillance, else the BDD of an L1 or L2 positive."""
    O = WorkUp.Origin  # noqa: E741
    if origin not in O.values:
        message = _("Origine du bilan inconnue.")
    elif check and origin != O.SURV:
        message = _("Cet examen est en surveillance ACR 3 : saisissez un contrôle de surveillance.")
    elif not check and origin == O.SURV:
        message = _("Cet examen attend un bilan différé, pas un contrôle de surveillance.")
    else:
        return
    raise ServiceError("work_up_origin", message, field="origin")


def work_up_exams_clean(exams_done: list[str] | None) -> list[str]:
    codes = list(dict.fromkeys(exams_done or []))
    if not codes:
        raise ServiceError(
            "work_up_exams", _("Cochez au moins un examen réalisé lors du bilan."), field="exams_done"
        )
    if any(code not in WorkUpExam.values for code in codes):
        raise ServiceError("work_up_exams", _("Examen réalisé inconnu."), field="exams_done")
    return codes


def work_up_acr_check(*, acr_right: int, acr_left: int) -> None:
    for value, field in ((acr_right, "acr_right"), (acr_left, "acr_left")):
        if value not in (1, 2, 3, 4, 5):
            raise ServiceError(
                "work_up_acr", _("L'ACR final d'un bilan va de 1 à 5 pour chaque sein."), field=field
            )
