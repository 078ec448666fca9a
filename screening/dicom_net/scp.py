"""The storage SCP (pynetdicom): C-ECHO, and C-STORE into `ingest_file_receive` for the caller's practice.

One association per thread (pynetdicom). Each association is checked when requested: the calling AE
title (and the source address, for nodes registered with one) must match an active `DicomNode`, else
it is rejected ("calling AE title not recognised"). Each received dataset is written to a temporary
file exactly as it came over the wire (file meta + encoded dataset, never decoded or decompressed)
and handed to the ingest service; its outcome becomes the C-STORE status (`status`).
"""

import contextlib
import logging
import os
import tempfile
import threading
import time

from django.core.files import File
from django.db import close_old_connections, connections
from pynetdicom import AE, evt
from pynetdicom.dsutils import encode_file_meta
from pynetdicom.events import Event
from pynetdicom.transport import ThreadedAssociationServer

from screening.models import IngestFile, Practice
from screening.services.errors import ServiceError
from screening.services.ingest import ingest_file_receive

from .contexts import prefer_requestor_order, scp_contexts
from .nodes import Caller, caller_for
from .status import (
    REFUSED,
    status_dataset,
    status_for_ingest,
    status_for_service_error,
    status_internal_error,
)

log = logging.getLogger(__name__)
CALLER_ATTR = "l2_caller"
DEFAULT_AE_TITLE = "L2PLATFORM"
MAX_PDU_BYTES = 256 * 1024


def _caller(event: Event) -> Caller | None:
    return getattr(event.assoc, CALLER_ATTR, None)


def _reject(event: Event, *, transient: bool = False) -> None:
    """A-ASSOCIATE-RJ from the EVT_REQUESTED handler; pynetdicom then skips its own negotiation."""
    # permanent, service user, calling AE title not recognised | transient, service user, no reason
    result, source, diagnostic = (0x02, 0x01, 0x01) if transient else (0x01, 0x01, 0x03)
    event.assoc.acse.send_reject(result, source, diagnostic)
    evt.trigger(event.assoc, evt.EVT_REJECTED, {})
    event.assoc.kill()


def _on_requested(event: Event) -> None:
    request = event.assoc.requestor.primitive
    calling = str(request.calling_ae_title or "").strip()
    called = str(request.called_ae_title or "").strip()
    address = str(event.assoc.requestor.address)
    close_old_connections()
    try:
        caller = caller_for(ae_title=calling, address=address)
    except Exception:  # database down, …: fail closed, the sender may retry
        log.exception("Association de %s (%s) : vérification impossible, refus temporaire", calling, address)
        _reject(event, transient=True)
        return
    finally:
        close_old_connections()
    if caller is None:
        log.warning(
            "Association refusée : AE title appelant « %s » non reconnu (adresse %s, appelé « %s »)",
            calling,
            address,
            called,
        )
        _reject(event)
        return
    setattr(event.assoc, CALLER_ATTR, caller)
    prefer_requestor_order(
        event.assoc.acceptor.supported_contexts, request.presentation_context_definition_list
    )


def _on_accepted(event: Event) -> None:
    caller = _caller(event)
    if caller is not None:
        log.info(
            "Association acceptée : %s (%s) → cabinet %s",
            caller.ae_title,
            caller.address,
            caller.practice_code,
        )


def _on_finished(event: Event) -> None:
    caller = _caller(event)
    if caller is not None:
        how = "libérée" if event.event == evt.EVT_RELEASED else "interrompue"
        log.info(
            "Association %s : %s (%s), cabinet %s, %d image(s) acceptée(s), %d refusée(s)",
            how,
            caller.ae_title,
            caller.address,
            caller.practice_code,
            caller.stored,
            caller.failed,
        )
    if threading.current_thread() is event.assoc:  # this thread's connection dies with it
        connections.close_all()


def _on_echo(event: Event) -> int:
    caller = _caller(event)
    log.debug("C-ECHO de %s", caller.ae_title if caller else "?")
    return 0x0000


def _received_name(event: Event) -> str:
    uid = str(getattr(event.request, "AffectedSOPInstanceUID", "") or "")
    safe = "".join(ch for ch in uid if ch.isdigit() or ch == ".")[:64]
    return f"{safe or 'cstore'}.dcm"


def _write_as_received(event: Event, directory: str | None) -> str:
    """Preamble + file meta + the dataset bytes exactly as sent: nothing decoded or re-encoded."""
    fd, path = tempfile.mkstemp(prefix="l2-cstore-", suffix=".dcm", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(b"\x00" * 128 + b"DICM")
            out.write(encode_file_meta(event.file_meta))
            with event.request.DataSet.getbuffer() as view:
                out.write(view)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path


def _on_store(event: Event, tmp_dir: str | None):
    caller = _caller(event)
    if caller is None:  # cannot happen: associations without a caller are rejected
        return status_dataset(REFUSED, "Emetteur non reconnu.")
    name = _received_name(event)
    path = None
    state, code = "", ""
    close_old_connections()
    try:
        path = _write_as_received(event, tmp_dir)
        practice = Practice.objects.get(pk=caller.practice_id)
        with open(path, "rb") as fh:
            record = ingest_file_receive(
                practice=practice,
                upload=File(fh, name=name),
                original_name=name,
                actor=None,
                source=IngestFile.Source.CSTORE,
                sender=caller.ae_title,
            )
        record.refresh_from_db()  # tasks may have run on commit (eager mode)
        state, code = record.state, record.reason_code
        status = status_for_ingest(record)
    except ServiceError as exc:
        state, code = "ERROR", exc.code
        status = status_for_service_error(exc.code, exc.message)
    except Exception:
        log.exception("C-STORE %s de %s : erreur interne", name, caller.ae_title)
        state, code = "ERROR", "internal_error"
        status = status_internal_error()
    finally:
        if path:
            with contextlib.suppress(OSError):
                os.unlink(path)
        close_old_connections()
    if status.Status == 0x0000:
        caller.stored += 1
    else:
        caller.failed += 1
    log.info(
        "C-STORE %s de %s (cabinet %s) : %s %s → 0x%04X",
        name,
        caller.ae_title,
        caller.practice_code,
        state,
        code,
        status.Status,
    )
    return status


class ScpServer:
    """A running SCP. `shutdown()` stops accepting, lets running associations finish, then aborts."""

    def __init__(self, ae: AE, server: ThreadedAssociationServer) -> None:
        self.ae = ae
        self._server = server
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def active_associations(self) -> int:
        return len(self._server.active_associations)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `shutdown()` has completed (True) or `timeout` seconds passed (False)."""
        return self._stopped.wait(timeout)

    def shutdown(self, *, grace: float = 10.0) -> None:
        if self._stopped.is_set():
            return
        self._server.shutdown()  # no new association; running ones continue
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(a.is_established for a in self._server.active_associations):
            time.sleep(0.05)
        for assoc in self._server.active_associations:  # idle connections, or transfers past the grace
            if assoc.is_established:
                log.warning("Arrêt : association de %s interrompue", assoc.requestor.ae_title)
            assoc.abort()
        log.info("Serveur DICOM arrêté")
        self._stopped.set()


def scp_start(
    *,
    port: int,
    ae_title: str = DEFAULT_AE_TITLE,
    bind: str = "127.0.0.1",
    block: bool = False,
    max_associations: int = 10,
    tmp_dir: str | None = None,
) -> ScpServer:
    """Start the SCP on (bind, port); port 0 picks a free one (see `ScpServer.port`).

    With block=False the server runs in background threads and the caller stops it with `shutdown()`;
    with block=True this call returns only after another thread (e.g. a signal handler) called it.
    """
    ae = AE(ae_title=ae_title)
    ae.supported_contexts = scp_contexts()
    ae.maximum_associations = max_associations
    ae.maximum_pdu_size = MAX_PDU_BYTES
    ae.require_called_aet = False  # echoscu & co. call "ANY-SCP" by default: the caller is what matters
    handlers = [
        (evt.EVT_REQUESTED, _on_requested),
        (evt.EVT_ACCEPTED, _on_accepted),
        (evt.EVT_RELEASED, _on_finished),
        (evt.EVT_ABORTED, _on_finished),
        (evt.EVT_C_ECHO, _on_echo),
        (evt.EVT_C_STORE, _on_store, [tmp_dir]),
    ]
    server = ae.start_server((bind, port), block=False, evt_handlers=handlers)
    scp = ScpServer(ae, server)
    log.info("Serveur DICOM %s à l'écoute sur %s:%d", ae_title, scp.host, scp.port)
    if block:
        scp.wait()
    return scp
