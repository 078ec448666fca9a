"""Run the DICOM storage SCP in the foreground until SIGTERM / SIGINT (then stops gracefully)."""

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from screening.dicom_net.scp import DEFAULT_AE_TITLE, scp_start


class Command(BaseCommand):
    help = (
        "Serveur DICOM (C-STORE, C-ECHO) : reçoit les images des modalités et PACS enregistrés "
        "(nœuds DICOM, par AE title appelant) et les transmet à la réception des examens."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=11112, help="port TCP (défaut 11112)")
        parser.add_argument("--ae-title", default=DEFAULT_AE_TITLE, help="AE title du serveur")
        parser.add_argument(
            "--bind", default="127.0.0.1", help="adresse d'écoute (défaut 127.0.0.1 ; 0.0.0.0 en conteneur)"
        )
        parser.add_argument("--max-associations", type=int, default=10)
        parser.add_argument(
            "--grace", type=float, default=30.0, help="secondes laissées aux transferts en cours à l'arrêt"
        )

    def handle(self, *args, **options):
        title = options["ae_title"].strip()
        if not title or len(title) > 16 or not title.isascii() or "\\" in title:
            raise CommandError("AE title invalide : 1 à 16 caractères ASCII, sans barre oblique inverse.")
        if not 0 <= options["port"] <= 65535:
            raise CommandError("Port invalide.")
        if options["verbosity"] < 2:
            logging.getLogger("pynetdicom").setLevel(logging.WARNING)
        stop = threading.Event()

        def _stop(signum, frame):
            stop.set()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            try:
                server = scp_start(
                    port=options["port"],
                    ae_title=title,
                    bind=options["bind"],
                    max_associations=options["max_associations"],
                )
            except OSError as exc:
                raise CommandError(
                    f"Écoute impossible sur {options['bind']}:{options['port']} : {exc}"
                ) from exc
            while not stop.wait(0.5):
                pass
            self.stdout.write("Arrêt demandé : fin des transferts en cours…")
            server.shutdown(grace=options["grace"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
