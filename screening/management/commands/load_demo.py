"""`manage.py load_demo [--reset] [--exams N]`: the demo data set of the Allier site, through the services."""

import logging

from django.core.management.base import BaseCommand, CommandError, CommandParser

from screening.demo import accounts_table, demo_load, demo_loaded, demo_reset
from screening.demo_people import DEFAULT_EXAMS, MIN_EXAMS
from screening.models import Exam, ExamState, User
from screening.services.errors import ServiceError

DEMO_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = (
        "Charge les données de démonstration (CRCDC ARA, site de l'Allier) à travers les services : "
        "cabinets, radiologues, lecteurs L2, examens et images DICOM synthétiques."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Supprime toutes les données et images, puis recharge la démo.",
        )
        parser.add_argument(
            "--exams",
            type=int,
            default=DEFAULT_EXAMS,
            help=f"Nombre d'examens, antériorités comprises (défaut {DEFAULT_EXAMS}, minimum {MIN_EXAMS}).",
        )

    def handle(self, *args, reset: bool = False, exams: int = DEFAULT_EXAMS, **options) -> None:
        # Eager tasks log a line each, and kombu warns about the empty broker URL: too chatty here.
        quiet = {name: logging.getLogger(name) for name in ("celery.app.trace", "kombu.connection")}
        previous = {name: logger.level for name, logger in quiet.items()}
        for logger in quiet.values():
            logger.setLevel(logging.ERROR)
        try:
            self._load(reset=reset, exams=exams)
        finally:
            for name, logger in quiet.items():
                logger.setLevel(previous[name])

    def _load(self, *, reset: bool, exams: int) -> None:
        if exams < MIN_EXAMS:
            raise CommandError(f"--exams doit valoir au moins {MIN_EXAMS}.")
        if demo_loaded() and not reset:
            self.stdout.write("Données de démonstration déjà chargées (--reset pour les recharger).")
            self._accounts()
            return
        if not reset and (Exam.objects.exists() or User.objects.exists()):
            raise CommandError(
                "La base contient déjà d'autres données : relancez avec --reset pour les remplacer."
            )
        if reset:
            demo_reset(self.stdout.write)
        self.stdout.write(f"Chargement des données de démonstration ({exams} examens)…")
        try:
            counts = demo_load(exams=exams, log=self.stdout.write)
        except (ServiceError, RuntimeError) as error:
            raise CommandError(f"Chargement interrompu : {error} (relancez avec --reset).") from error
        self.stdout.write("Examens par état :")
        for state, label in ExamState.choices:
            if counts.get(state):
                self.stdout.write(f"  {label:<24} {counts[state]:>3}")
        self.stdout.write(self.style.SUCCESS(f"Démonstration prête : {DEMO_URL}"))
        self._accounts()

    def _accounts(self) -> None:
        self.stdout.write(f"Adresse : {DEMO_URL}")
        for line in accounts_table():
            self.stdout.write(line)
