"""Bulk inserts for the demo build."""

from sqlalchemy import func, insert, select

from app.models import db

#: Rows per INSERT statement.
INSERT_BATCH = 5000


def insert_rows(model, rows: list[dict]) -> None:
    """Insert rows with executemany, in batches."""
    for offset in range(0, len(rows), INSERT_BATCH):
        db.session.execute(insert(model), rows[offset : offset + INSERT_BATCH])


def insert_rows_returning_ids(model, rows: list[dict], key_columns: tuple[str, ...]) -> list[int]:
    """Insert rows and return their new ids in the order of ``rows``.

    The ids are read back by ``key_columns``, which must be unique among the new rows.
    INSERT … RETURNING with ``sort_by_parameter_order`` would return them directly, but with
    SQLAlchemy 2.1 on SQLite it sends one statement per row, which made the build minutes long.
    The build is the only writer, so the new rows are those above the largest id before it.
    """
    if not rows:
        return []
    before = db.session.scalar(select(func.max(model.id))) or 0
    insert_rows(model, rows)
    columns = [getattr(model, name) for name in key_columns]
    found = {
        tuple(row[1:]): row[0]
        for row in db.session.execute(select(model.id, *columns).where(model.id > before))
    }
    return [found[tuple(row.get(name) for name in key_columns)] for row in rows]
