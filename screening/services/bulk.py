"""Per-row values written in one set-based statement (PostgreSQL `UPDATE … FROM unnest(…)`).

Django's `bulk_update` builds a CASE WHEN per row and field in Python, which dominated the assignment
engine's time (docs/benchmarks.md); other databases (the embedded SQLite demo) still use it.
"""

from django.db import connection, models


def rows_update(model: type[models.Model], rows: dict[int, dict], fields: list[str]) -> int:
    """Set `fields` of each row `pk → {field: value}`; the same fields for every row."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        objs = [model(pk=pk, **values) for pk, values in rows.items()]
        return model.objects.bulk_update(objs, fields, batch_size=500)
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    arrays = [list(rows)] + [[values[name] for values in rows.values()] for name in fields]
    types = [meta.pk.db_type(connection)] + [field.db_type(connection) for field in columns]
    unnest = ", ".join(f"%s::{db_type.split('(')[0]}[]" for db_type in types)
    names = ", ".join(["pk_"] + [f"v{i}" for i in range(len(columns))])
    sets = ", ".join(f'"{field.column}" = v.v{i}' for i, field in enumerate(columns))
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {sets} FROM unnest({unnest}) AS v({names}) '
        f'WHERE t."{meta.pk.column}" = v.pk_'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount
