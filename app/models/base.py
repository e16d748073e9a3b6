"""Shared pieces of the data model: the database handle and the school-owned mixin."""

from typing import NamedTuple

from flask_appbuilder import Model
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Column, ForeignKey, Integer
from sqlalchemy.orm import declared_attr, relationship

#: FAB's declarative base as the model class, so that Alembic sees FAB's tables and ours
#: in one metadata.
db = SQLAlchemy(model_class=Model)


class SchoolOwned:
    """A row that belongs to one school.

    Every school-owned table carries a non-null ``school_id``, child rows included, so that
    one filter scopes every query and the schema can later be distributed by school.
    """

    @declared_attr
    def school_id(cls):
        return Column(
            Integer,
            ForeignKey("school.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )

    @declared_attr
    def school(cls):
        # Loaded on access, from the identity map once any row of the school is loaded.
        # A joined load here nests an inner join inside every joined relation, which
        # SQLite runs by scanning the related table of every school.
        return relationship("School")


def is_school_owned(model) -> bool:
    """Tell whether a mapped class keeps its rows per school."""
    return isinstance(model, type) and issubclass(model, SchoolOwned)


def person_full_name(last_name: str, first_name: str, middle_name: str | None) -> str:
    """Join a Russian full name in its usual order: surname, name, patronymic."""
    parts = [last_name, first_name, middle_name or ""]
    return " ".join(p for p in parts if p)


def person_short_name(last_name: str, first_name: str, middle_name: str | None) -> str:
    """Shorten a name as Russian documents do: «Иванова А. П.»."""
    initials = " ".join(f"{p[0]}." for p in (first_name, middle_name) if p)
    return f"{last_name} {initials}".strip()


class PersonName(NamedTuple):
    """A person's id and name, read as plain columns in this order."""

    id: int
    last_name: str
    first_name: str
    middle_name: str | None

    @property
    def short_name(self) -> str:
        return person_short_name(self.last_name, self.first_name, self.middle_name)
