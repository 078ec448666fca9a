"""The C-STORE status answered for each ingest outcome (PS3.4 B.2.3), with a short French comment.

- ACCEPTED / RECEIVED / IGNORED → 0x0000 Success. RECEIVED means the header was checked and the pixel
  work is queued: a later refusal (e.g. unreadable pixel data) shows in the practice's inbox.
- DUPLICATE → 0x0000 Success, deliberately not a warning: a sender re-sending after a lost response
  must not see an error (some PACS then retry forever); the first copy is kept, the row says DUPLICATE.
- REFUSED → 0xC000 (failure, "cannot understand" family) + the French reason.
- QUARANTINE → 0xA900 (failure): another image already has this SOP Instance UID; the first is kept.
- too large / internal error → 0xA700 (out of resources): the sender may try again later.

The comment goes into the DIMSE command set, whose character set is the default repertoire: accents
are folded to ASCII and the text cut to 64 characters (LO).
"""

import unicodedata

from pydicom.dataset import Dataset

from screening.models import IngestFile

SUCCESS = 0x0000
REFUSED = 0xC000
CONFLICT = 0xA900
OUT_OF_RESOURCES = 0xA700

_BY_STATE = {
    IngestFile.State.ACCEPTED: SUCCESS,
    IngestFile.State.RECEIVED: SUCCESS,
    IngestFile.State.IGNORED: SUCCESS,
    IngestFile.State.DUPLICATE: SUCCESS,
    IngestFile.State.REFUSED: REFUSED,
    IngestFile.State.QUARANTINED: CONFLICT,
}
_BY_SERVICE_ERROR = {"file_too_large": OUT_OF_RESOURCES}


def ascii_comment(text: str) -> str:
    """French text as a DIMSE Error Comment: accents folded, printable ASCII only, at most 64 characters."""
    folded = unicodedata.normalize("NFKD", text.replace("«", '"').replace("»", '"').replace("’", "'"))
    plain = "".join(ch for ch in folded if 32 <= ord(ch) < 127 and ch != "\\")
    plain = " ".join(plain.split())
    return plain if len(plain) <= 64 else plain[:63].rstrip() + "."


def status_dataset(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment and code != SUCCESS:
        status.ErrorComment = ascii_comment(comment)
    return status


def status_for_ingest(record: IngestFile) -> Dataset:
    code = _BY_STATE.get(record.state, REFUSED)
    reason = record.reason or record.get_state_display()
    return status_dataset(code, reason)


def status_for_service_error(code: str, message: str) -> Dataset:
    return status_dataset(_BY_SERVICE_ERROR.get(code, REFUSED), message)


def status_internal_error() -> Dataset:
    return status_dataset(OUT_OF_RESOURCES, "Erreur interne temporaire : renvoyez l'image plus tard.")
