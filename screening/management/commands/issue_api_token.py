"""Issue an API token for a practice and print it once: only its hash is kept."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from screening.models import Practice
from screening.services.errors import ServiceError
from screening.services.tokens import api_token_issue


class Command(BaseCommand):
    help = "Crée un jeton d'API (REST et DICOMweb) pour un cabinet et l'affiche une seule fois."

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True, help="code du cabinet")
        parser.add_argument("--name", default="API", help="nom du jeton (logiciel ou poste qui l'utilise)")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="validité en jours (défaut : sans)"
        )

    def handle(self, *args, practice: str, name: str, expires_days: int | None, **options):
        target = Practice.objects.filter(code=practice).first()
        if target is None:
            raise CommandError(f"Cabinet inconnu : {practice}")
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days doit être positif.")
        expires_at = timezone.now() + dt.timedelta(days=expires_days) if expires_days else None
        try:
            token, raw = api_token_issue(practice=target, name=name, expires_at=expires_at)
        except ServiceError as error:
            raise CommandError(error.message) from error
        self.stderr.write(
            f"Jeton « {token.name} » créé pour {target.code} ({target.name})"
            + (f", expire le {token.expires_at:%d/%m/%Y %H:%M}" if token.expires_at else "")
            + ". Conservez-le maintenant : il ne sera plus jamais affiché."
        )
        self.stdout.write(raw)
