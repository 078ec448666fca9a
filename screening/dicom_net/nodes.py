"""Who may send: a registered, active DICOM node of an active practice (calling AE title, address)."""

import ipaddress
import logging
from dataclasses import dataclass

from screening.models import DicomNode

log = logging.getLogger(__name__)


@dataclass
class Caller:
    """The accepted sender of one association, and what it sent (for the association log line)."""

    node_id: int
    practice_id: int
    practice_code: str
    ae_title: str
    address: str
    stored: int = 0
    failed: int = 0


def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((value or "").strip().split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # "::ffff:10.0.0.5" on a dual-stack socket is 10.0.0.5
    return address


def dicom_node_match(*, ae_title: str, address: str) -> DicomNode | None:
    """The node allowed to send as `ae_title` from `address`, or None (the association is rejected).

    AE titles are compared exactly (DICOM AE titles are case-sensitive), surrounding spaces ignored.
    A node registered with an address only matches that address; a node without one matches any
    address. An address-bound node wins over an unbound one; two unbound nodes of different practices
    under the same AE title are ambiguous and refused, never guessed.
    """
    title = (ae_title or "").strip()
    if not title:
        return None
    nodes = list(
        DicomNode.objects.filter(ae_title=title, active=True, practice__active=True).select_related(
            "practice"
        )
    )
    peer = _ip(address)
    bound = [node for node in nodes if node.host and peer is not None and _ip(node.host) == peer]
    if len(bound) == 1:
        return bound[0]
    unbound = [node for node in nodes if not node.host]
    if len(bound) > 1 or len(unbound) > 1:
        log.error(
            "AE title %s enregistré plusieurs fois (%s) : association refusée",
            title,
            ", ".join(node.practice.code for node in (bound or unbound)),
        )
        return None
    return unbound[0] if unbound else None


def caller_for(*, ae_title: str, address: str) -> Caller | None:
    node = dicom_node_match(ae_title=ae_title, address=address)
    if node is None:
        return None
    return Caller(
        node_id=node.pk,
        practice_id=node.practice_id,
        practice_code=node.practice.code,
        ae_title=(ae_title or "").strip(),
        address=address,
    )
