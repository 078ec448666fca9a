"""Build the workstation renditions (HTJ2K lossless frame, WebP preview) that are missing, or all of them.

python manage.py rebuild_renditions            # only instances missing one
python manage.py rebuild_renditions --all      # every instance (e.g. after a codec upgrade)
"""

import json

from django.core.management.base import BaseCommand
from django.db.models import Count, Q

from screening.models import DicomInstance, Rendition
from screening.services.renditions import renditions_rebuild

WORKSTATION_KINDS = (Rendition.Kind.HTJ2K, Rendition.Kind.PREVIEW)


class Command(BaseCommand):
    help = "Reconstruit les rendus du poste de lecture (trame HTJ2K sans perte, aperçu WebP) depuis les originaux."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="reconstruire aussi ceux qui existent")

    def handle(self, *args, **options):
        instances = DicomInstance.objects.annotate(
            n=Count("renditions", filter=Q(renditions__kind__in=WORKSTATION_KINDS))
        )
        if not options["all"]:
            instances = instances.filter(n__lt=len(WORKSTATION_KINDS))
        done, failed = 0, []
        for instance in instances.order_by("pk").iterator(chunk_size=200):
            try:
                renditions_rebuild(instance=instance)
                done += 1
            except Exception as exc:  # one unreadable original must not stop the others; it is reported
                failed.append({"sop_uid": instance.sop_uid, "error": str(exc)[:200]})
        self.stdout.write(json.dumps({"rebuilt": done, "failed": failed}, ensure_ascii=False))
