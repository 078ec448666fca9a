"""Presentation contexts of the storage SCP.

Every storage SOP class is accepted at association time, so that a wrong object (a CT, a scanned film,
a report) is received, recorded and refused with a French reason by the ingest service rather than
failing opaquely during negotiation. Compressed transfer syntaxes are accepted as such: the dataset is
stored as received, never decompressed by us (ADR 0003).
"""

from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import AllStoragePresentationContexts, build_context
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import Verification

LOSSLESS_TRANSFER_SYNTAXES: tuple[UID, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    JPEGLosslessSV1,
    JPEGLossless,
    RLELossless,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ExplicitVRBigEndian,  # retired, still sent by some old CR readers
)
# Possibly lossy: accepted (the ingest flags the image), but never chosen when a lossless one is offered.
LOSSY_TRANSFER_SYNTAXES: tuple[UID, ...] = (
    JPEG2000,
    JPEGLSNearLossless,
    JPEGExtended12Bit,
    JPEGBaseline8Bit,
    HTJ2K,
)
TRANSFER_SYNTAXES: tuple[UID, ...] = LOSSLESS_TRANSFER_SYNTAXES + LOSSY_TRANSFER_SYNTAXES


def scp_contexts() -> list[PresentationContext]:
    """Verification (C-ECHO) plus every storage SOP class, with all the transfer syntaxes above."""
    contexts = [build_context(Verification)]
    for template in AllStoragePresentationContexts:
        contexts.append(build_context(template.abstract_syntax, list(TRANSFER_SYNTAXES)))
    return contexts


def prefer_requestor_order(
    supported: list[PresentationContext], requested: list[PresentationContext]
) -> None:
    """Reorder, in place, each supported context's transfer syntaxes for this association.

    pynetdicom picks the first of *our* transfer syntaxes that the requestor proposes. When a sender
    proposes several in one context, we follow the sender's own order (normally its native encoding
    first, so nothing is transcoded on its side), except that a lossless syntax always wins over a
    lossy one: the platform never makes a sender degrade a mammogram.
    """
    wanted: dict[str, list[str]] = {}
    for context in requested:
        wanted.setdefault(str(context.abstract_syntax), [str(ts) for ts in context.transfer_syntax])
    lossless = {str(ts) for ts in LOSSLESS_TRANSFER_SYNTAXES}
    for context in supported:
        proposal = wanted.get(str(context.abstract_syntax))
        if not proposal or len(proposal) < 2:
            continue
        ours = [str(ts) for ts in context.transfer_syntax]
        offered = [ts for ts in proposal if ts in ours]
        first = [ts for ts in offered if ts in lossless] + [ts for ts in offered if ts not in lossless]
        context.transfer_syntax = first + [ts for ts in ours if ts not in first]
