"""Import DICOM files (folders, DICOMDIRs, single files) for a practice; prints a JSON summary."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from screening.models import Practice
from screening.services.dicom_import import dicom_import_paths


class Command(BaseCommand):
    help = (
        "Importe des fichiers DICOM (dossiers parcourus récursivement, DICOMDIR, fichiers) pour un cabinet "
        "et affiche un bilan JSON : acceptés, doublons, refusés avec leur motif, quarantaine."
    )

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True, help="code du cabinet (ex. CAB001)")
        parser.add_argument("paths", nargs="+", type=Path, help="dossiers, DICOMDIR ou fichiers")

    def handle(self, *args, **options):
        code = options["practice"].strip()
        practice = Practice.objects.filter(code=code).first()
        if practice is None:
            raise CommandError(f"Cabinet inconnu : {code}")
        if not practice.active:
            raise CommandError(f"Cabinet inactif : {code}")
        missing = [str(path) for path in options["paths"] if not path.exists()]
        if missing:
            raise CommandError("Chemin introuvable : " + ", ".join(missing))
        report = dicom_import_paths(practice=practice, paths=options["paths"])
        self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        if report.errors:  # internal failures (database, storage): refusals never change the exit code
            raise CommandError(f"{len(report.errors)} fichier(s) non importé(s) sur erreur interne.")
