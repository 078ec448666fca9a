"""SQL expressions of the indicators: delays in whole days (Europe/Paris dates) and hours over ExamOutcome's
timestamps, written for PostgreSQL with SQLite variants for the embedded demo."""

import zoneinfo

from django.conf import settings
from django.db.models import F, FloatField, Func, IntegerField
from django.db.models.functions import TruncDate

# PostgreSQL is the platform's database (ADR 0002); the `as_sqlite` variants only keep the embedded demo
# (`make demo`, ADR 0004) showing the same page on its small data set.


class _DateDiff(Func):
    """Whole days between two dates (PostgreSQL: date − date)."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(julianday(%(expressions)s) AS INTEGER)",
                           arg_joiner=") - julianday(", **extra)  # fmt: skip


def days_after_mammogram(timestamp: str) -> Func:
    """Calendar days (Europe/Paris, §0) from the mammogram to the local date of `timestamp`."""
    return _DateDiff(TruncDate(timestamp, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)), F("mammogram_date"))


class _HoursBetween(Func):
    # date_part, not EXTRACT: float8 arithmetic, several times cheaper than EXTRACT's numeric on 2 M rows.
    template = "(date_part('epoch', %(expressions)s) / 3600.0)"
    arg_joiner = " - "
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s)) * 24.0)",
                           arg_joiner=") - julianday(", **extra)  # fmt: skip


def hours_between(later: str, earlier: str) -> Func:
    """Elapsed hours between two timestamps (real time, so a DST change counts as it happened)."""
    return _HoursBetween(F(later), F(earlier))


class _RoundInt(Func):
    template = "ROUND(%(expressions)s)::int"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(ROUND(%(expressions)s) AS INTEGER)", **extra)


def whole_hours(later: str, earlier: str) -> Func:
    """The delay in whole hours (rounded): the unit QI-09 reports its medians in."""
    return _RoundInt(hours_between(later, earlier))


class DaysSince(Func):
    """Calendar days from the local date of a timestamp to a given day (the backlog's age)."""

    template = "(%%s::date - (%(expressions)s AT TIME ZONE '%(tz)s')::date)"
    output_field = IntegerField()

    def __init__(self, timestamp: str, *, day):
        super().__init__(F(timestamp))
        self.day = day

    def as_sql(self, compiler, connection, **extra):
        tz = settings.TIME_ZONE.replace("'", "")
        sql, params = super().as_sql(compiler, connection, tz=tz, **extra)
        return sql, (self.day, *params)

    def as_sqlite(self, compiler, connection, **extra):  # the demo: the server's local date
        template = "CAST(julianday(%%s) - julianday(date(%(expressions)s, 'localtime')) AS INTEGER)"
        sql, params = Func.as_sql(self, compiler, connection, template=template, **extra)
        return sql, (self.day.isoformat(), *params)


# --- Conditions: the exact meaning of each word of §6 ------------------------------------------------------
