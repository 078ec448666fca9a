"""Settings for the L2 platform, read from the environment (django-environ).

Embedded default (a laptop, `make demo`): SQLite file under var/ and Celery tasks run in process.
With DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://… the same code runs on PostgreSQL
with real Celery workers. Production is secure by default: DEBUG is off unless asked for.
"""

from importlib.util import find_spec
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

VAR_DIR.mkdir(exist_ok=True)
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and env.bool("DJANGO_REQUIRE_SECRET_KEY", default=False):
        raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
    SECRET_KEY = "insecure-embedded-default-key-for-demo-and-tests-only"  # noqa: S105
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_celery_beat",
    "screening.apps.ScreeningConfig",
    "readings.apps.ReadingsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "screening.urls"
WSGI_APPLICATION = "screening.wsgi.application"
ASGI_APPLICATION = "screening.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "screening.context_processors.roles",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "screening.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# French first; English available. Source strings are French (ADR 0005).
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media-not-served/"  # originals and renditions are served only through audited views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # DICOM originals, written once, content addressed and SHA-256 verified (ADR 0003): the filesystem by
    # default, S3-compatible object storage (django-storages) when ORIGINALS_S3_BUCKET is set.
    "originals": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if env.str("ORIGINALS_S3_BUCKET", default=""):
    STORAGES["originals"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("ORIGINALS_S3_BUCKET"),
            "endpoint_url": env.str("ORIGINALS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("ORIGINALS_S3_REGION", default="eu-west-3"),
            "access_key": env.str("ORIGINALS_S3_ACCESS_KEY", default=None),
            "secret_key": env.str("ORIGINALS_S3_SECRET_KEY", default=None),
            "file_overwrite": False,
            "default_acl": None,
        },
    }
# Uploads above 1 MiB stream to a temporary file: a whole mammogram never sits in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=None)
MAX_DICOM_FILE_BYTES = env.int("MAX_DICOM_FILE_BYTES", default=200 * 1024 * 1024)

# Celery: no broker configured → tasks run in process (embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# Heavy pixel work has its own queue, so a burst of uploads never starves assignment and notifications.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_PIXEL_QUEUE = env.str("CELERY_PIXEL_QUEUE", default="pixels")
CELERY_TASK_ROUTES = {"screening.tasks.ingest_file_process": {"queue": CELERY_PIXEL_QUEUE}}
# Beat reads its schedule from the database (django-celery-beat): a coordinator can change the intervals in
# the admin. These defaults are written to the database when beat starts.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "reconcile-stuck-exams": {"task": "screening.tasks.reconcile_stuck_exams", "schedule": 300.0},
    "assign-queued-exams": {"task": "readings.tasks.assign_queued_exams", "schedule": 120.0},
    "assignment-housekeeping": {"task": "readings.tasks.assignment_housekeeping", "schedule": 300.0},
    "finalize-due-verdicts": {"task": "readings.tasks.l2_readings_finalize_due_task", "schedule": 30.0},
    # Issue 6 outcomes: letters rendered when due (the woman's 24 h after the doctor's), retake and follow-up
    # timers (idempotent, they re-check each exam's state under its lock).
    "letters-generate-due": {"task": "screening.tasks_letters.letters_generate_due_task", "schedule": 300.0},
    "retake-timers": {"task": "readings.tasks_retakes.retake_timers", "schedule": 3600.0},
    "follow-up-timers": {"task": "screening.tasks_followup.follow_up_timers", "schedule": 3600.0},
}
# Autodiscovery finds only tasks.py: the outcome task modules are named here.
CELERY_IMPORTS = ("screening.tasks_letters", "screening.tasks_followup", "readings.tasks_retakes")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "screening.api_auth.PracticeTokenAuthentication",  # practices' software (REST v1, DICOMweb)
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "screening.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# OpenAPI schema of the REST API v1 (/api/schema/, docs page /api/docs/).
SPECTACULAR_SETTINGS = {
    "TITLE": "Plateforme L2 — API des cabinets",
    "DESCRIPTION": (
        "API REST des cabinets de radiologie : créer un examen avec sa fiche L1, envoyer les images, "
        "transmettre, suivre l'état. Authentification par jeton de cabinet (`Authorization: Bearer <jeton>`, "
        "créé par `manage.py issue_api_token`). Les images peuvent aussi être envoyées en DICOMweb "
        "(STOW-RS `/dicomweb/studies`), avec le même jeton."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "PREPROCESSING_HOOKS": ["screening.api_v1.schema.only_public_api"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ExamStateEnum": "screening.models.exams.ExamState",
        "IngestFileStateEnum": "screening.models.dicom.IngestFile.State",
        "AcrEnum": "screening.models.l1.ACR_CHOICES",
    },
}
# Swagger UI assets served locally (no CDN) when drf-spectacular-sidecar is installed.
if find_spec("drf_spectacular_sidecar") is not None:
    INSTALLED_APPS.append("drf_spectacular_sidecar")
    SPECTACULAR_SETTINGS.update(
        SWAGGER_UI_DIST="SIDECAR", SWAGGER_UI_FAVICON_HREF="SIDECAR", REDOC_DIST="SIDECAR"
    )

# Programme settings (domain spec `cfg.*`), defaults from the official texts.
L2_RESULT_DEADLINE_DAYS = 15
L2_DUE_SOON_DAYS = 10
L2_REQUIRED_VIEWS = ("RCC", "LCC", "RMLO", "LMLO")
L2_READING_LOCK_MINUTES = 30
# F8 d: a verdict stays provisional (withdrawable with Ctrl+Z) this long; 0 makes it final at once.
L2_UNDO_WINDOW_SECONDS = env.int("L2_UNDO_WINDOW_SECONDS", default=5)
L2_READER_DAILY_CAPACITY = env.int("L2_READER_DAILY_CAPACITY", default=120)
# §9 declared reading station: when True, a verdict from a non-diagnostic display is refused (HTTP 409); when
# False (default, so the demo works on any screen) it is recorded with the "non diagnostique" status.
L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION = env.bool("L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION", default=False)
L2_STATION_MIN_AREA_MPX = env.float("L2_STATION_MIN_AREA_MPX", default=5.0)
L2_STATION_COOKIE = "l2_station"
INGEST_STUCK_MINUTES = 10
# R-SCOPE-4 (!): L2 after a refused BDI. The foundation issue keeps ACR 0 exams out of L2.
L2_ON_REFUSED_BDI = env.bool("L2_ON_REFUSED_BDI", default=False)
# Outcomes (domain spec §7, R-LET-1, R-CTI-3, R-FU-2): delays of letters, retakes and follow-up.
L2_WOMAN_LETTER_DELAY_HOURS = env.int("L2_WOMAN_LETTER_DELAY_HOURS", default=24)
L2_RETAKE_REMINDER_DAYS = 30
L2_LIGHTBOX_SESSION_MAX = env.int(
    "L2_LIGHTBOX_SESSION_MAX", default=120
)  # exams per lightbox session (2–3 h)
L2_RETAKE_DEADLINE_DAYS = 182
L2_RETAKE_STATEMENT_MAX_BYTES = 10 * 1024 * 1024
L2_FU_REMINDER_DAYS = (90, 180)
L2_FU_LOST_MONTHS = 12
L2_FU_SURVEILLANCE_MONTHS = (6, 12)
L2_INTERVAL_CANCER_MONTHS = 24

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=False)
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
