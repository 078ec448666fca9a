"""Django-side helper of the ingest benchmark, run as a subprocess with the benchmark's environment.

    python bench/app_setup.py setup --ae-title BENCHSCU   -> JSON {"token": ..., "practice": ...} on stdout

Creates a reading centre, a practice, the DicomNode allowed to send as the storescu AE title from
127.0.0.1, and a practice API token, through the models and `screening.services.tokens.api_token_issue`.
Run only against the benchmark's own database (DATABASE_URL=…/l2bench_<pid>), never a real one.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "screening.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["setup"])
    parser.add_argument("--ae-title", default="BENCHSCU")
    args = parser.parse_args()
    if "/l2bench_" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("refusing to run: DATABASE_URL is not a benchmark database (…/l2bench_<pid>)")

    import django

    django.setup()
    from screening.models import DicomNode, Practice, ReadingCentre
    from screening.services.tokens import api_token_issue

    centre, _ = ReadingCentre.objects.get_or_create(code="BENCH", defaults={"name": "Centre de benchmark"})
    practice, _ = Practice.objects.get_or_create(
        code="BENCH", defaults={"centre": centre, "name": "Cabinet de benchmark", "town": "Vichy"}
    )
    DicomNode.objects.get_or_create(
        practice=practice, ae_title=args.ae_title, host="127.0.0.1", defaults={"description": "bench"}
    )
    _token, raw = api_token_issue(practice=practice, name="bench")
    print(json.dumps({"token": raw, "practice": practice.pk}))


if __name__ == "__main__":
    main()
