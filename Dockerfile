# One image for every process of the L2 platform: web (gunicorn), worker and beat (Celery).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=screening.settings \
    MEDIA_ROOT=/data/media

WORKDIR /app

# WeasyPrint (letters, feedback sheets) needs Pango, HarfBuzz and a font with French accents.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first, for layer caching: the project declares no installable packages
# (the Django code runs from /app), so installing "." installs just its dependencies.
COPY pyproject.toml ./
RUN pip install .

COPY . .

# Static files are collected at build time and served by whitenoise. Only the build uses
# these throw-away values; the real ones come from the environment at run time.
RUN DJANGO_SECRET_KEY=build-only-not-a-secret \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    CELERY_BROKER_URL= \
    python manage.py collectstatic --noinput -v 0 \
 && rm -f /tmp/build.sqlite3

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home l2 \
 && mkdir -p /data/media \
 && chown -R l2:l2 /data
USER l2

EXPOSE 8000
CMD ["gunicorn", "screening.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
