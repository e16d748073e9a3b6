"""Bulk inserts for the demo build."""

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, Time, func, insert, select

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


def copy_rows(table, columns: tuple[str, ...], rows) -> int:
    """Write ``rows`` (tuples in ``columns`` order) into ``table``; return how many were written.

    PostgreSQL gets one binary COPY … FROM STDIN through psycopg 3 on the session's own
    connection, so the rows join the build's transaction. Other databases get batched
    executemany INSERTs. ``rows`` may be a generator, which is consumed once and streamed.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _copy_postgresql(connection, table, columns, rows)
    count = 0
    batch = []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) >= INSERT_BATCH:
            connection.execute(insert(table), batch)
            count += len(batch)
            batch = []
    if batch:
        connection.execute(insert(table), batch)
        count += len(batch)
    return count


#: psycopg type names for binary COPY, by SQLAlchemy column type, most specific first.
_BINARY_TYPES = (
    (Boolean, "bool"),
    (DateTime, "timestamp"),
    (Date, "date"),
    (Time, "time"),
    (Numeric, "numeric"),
    (Integer, "int4"),
    (String, "text"),
)


def _binary_type(column) -> str:
    for sql_type, name in _BINARY_TYPES:
        if isinstance(column.type, sql_type):
            return name
    raise TypeError(f"No binary COPY type for column {column.name} of type {column.type}")


def _copy_postgresql(connection, table, columns: tuple[str, ...], rows) -> int:
    # Binary COPY: psycopg's C dumpers write each value without text formatting, which made
    # a row of the mark table about four times cheaper than text COPY (psycopg 3.3).
    driver = connection.connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    count = 0
    with driver.cursor() as cursor:
        with cursor.copy(statement) as copy:
            copy.set_types([_binary_type(table.c[name]) for name in columns])
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def next_id(model) -> int:
    """Return the first free id of ``model``'s table, for rows the build gives ids itself.

    This is safe only because the demo build is the table's single writer; on PostgreSQL the caller
    moves the id sequence past the rows with ``sync_id_sequence`` afterwards.
    """
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def sync_id_sequence(model) -> None:
    """Move the PostgreSQL id sequence of ``model`` past the largest id written by hand."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    table = model.__table__.name
    connection.exec_driver_sql(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
    )


def skip_foreign_key_checks() -> bool:
    """Turn off PostgreSQL's per-row foreign key triggers until the transaction ends.

    Rows loaded by COPY are checked one by one against each referenced table, which made the
    load of the mark table about five times slower (measured on PostgreSQL 15). The demo rows
    take every id they refer to from the database itself, so the checks add nothing. Only a
    superuser may do this; for other roles the checks stay on and the build is just slower.
    Returns whether the checks are off.
    """
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return False
    if connection.exec_driver_sql("SELECT current_setting('is_superuser')").scalar() != "on":
        return False
    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    return True
