"""How the authority's schools keep the journal and how their parents use the diary.

Per school, over the lessons held in the period's terms (not cancelled, not after today,
within the dates of the term of the course's grade):

* the lessons held;
* the shares without a topic, without any attendance entry, and without marks (of the
  lessons of courses that take marks), as the school's «Контроль заполнения журнала»
  counts them;
* the parents with a login, those who signed in since the period began, and their share.

A parent is a guardian with a login who is not barred from the child's data. One login
counts once per school, however many of its children learn there. The sign-in is read
from the login's last sign-in, so "since the period began" is exact. A sign-in made only
inside a past period looks the same as no sign-in.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, fields

import pandas as pd
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from sqlalchemy import and_, func, select

from app.models import Course, Guardian, Lesson, School, SchoolClass, Term, db
from app.reports.authority import TermPeriod, lesson_in_term, term_condition
from app.reports.xlsx import INTEGER, PERCENT_1
from app.services.journal_fill import gap_columns

#: Counts of a school's lessons and of its parents. The shares divide them, and the
#: authority total adds them up.
LESSON_COUNTS = ("held", "markable", "no_topic", "no_attendance", "no_marks")
PARENT_COUNTS = ("parents", "parents_signed_in")


@dataclass(frozen=True)
class ActivityColumns:
    """Column names of the report, in the user's language."""

    school: str
    held: str
    no_topic: str
    no_attendance: str
    no_marks: str
    parents: str
    parents_signed_in: str
    sign_in_rate: str

    @classmethod
    def translated(cls) -> "ActivityColumns":
        return cls(
            school=_("School"),
            held=_("Lessons held"),
            no_topic=_("Without a topic"),
            no_attendance=_("Without attendance"),
            no_marks=_("Without marks"),
            parents=_("Parents with a login"),
            parents_signed_in=_("Parents signed in since the period began"),
            sign_in_rate=_("Parents' sign-in rate"),
        )

    def names(self) -> list[str]:
        return [getattr(self, item.name) for item in fields(self)]

    def formats(self) -> dict[str, str]:
        return {
            self.held: INTEGER,
            self.no_topic: PERCENT_1,
            self.no_attendance: PERCENT_1,
            self.no_marks: PERCENT_1,
            self.parents: INTEGER,
            self.parents_signed_in: INTEGER,
            self.sign_in_rate: PERCENT_1,
        }


def _lesson_counts(authority_id: int, period: TermPeriod, today: dt.date) -> dict:
    """Count each school's held lessons and their gaps; return them by school id."""
    flags = (
        select(Lesson.school_id.label("school_id"), *gap_columns())
        .join(Course, and_(Course.id == Lesson.course_id, Course.school_id == Lesson.school_id))
        .join(
            SchoolClass,
            and_(SchoolClass.id == Course.class_id, SchoolClass.school_id == Course.school_id),
        )
        .join(Term, lesson_in_term())
        .join(School, School.id == Lesson.school_id)
        .where(
            School.authority_id == authority_id,
            term_condition(period),
            Lesson.is_cancelled.is_(False),
            Lesson.date <= today,
        )
        .subquery("lesson_flags")
    )
    statement = select(
        flags.c.school_id,
        func.count().label("held"),
        func.sum(flags.c.markable).label("markable"),
        func.sum(flags.c.no_topic).label("no_topic"),
        func.sum(flags.c.no_attendance).label("no_attendance"),
        func.sum(flags.c.no_marks).label("no_marks"),
    ).group_by(flags.c.school_id)
    return {row.school_id: row for row in db.session.execute(statement)}


def _parent_counts(authority_id: int, period: TermPeriod) -> dict:
    """Count each school's parents with a login and those who signed in since the period began.

    The period begins at the latest start of the school's terms in it. That is quarter N's
    start where the school has quarters, since a half-year in the period starts earlier.
    """
    starts = (
        select(Term.school_id, func.max(Term.start_date).label("start_date"))
        .join(School, School.id == Term.school_id)
        .where(School.authority_id == authority_id, term_condition(period))
        .group_by(Term.school_id)
        .subquery("period_start")
    )
    parents = (
        select(
            Guardian.school_id,
            Guardian.user_id,
            func.max(User.last_login).label("last_login"),
        )
        .join(User, User.id == Guardian.user_id)
        .join(School, School.id == Guardian.school_id)
        .where(School.authority_id == authority_id, Guardian.is_barred.is_(False))
        .group_by(Guardian.school_id, Guardian.user_id)
        .subquery("parent")
    )
    # The login's date is compared with the day the period begins, from its first moment.
    signed_in = and_(
        parents.c.last_login.is_not(None), func.date(parents.c.last_login) >= starts.c.start_date
    )
    statement = (
        select(
            parents.c.school_id,
            func.count().label("parents"),
            func.count().filter(signed_in).label("parents_signed_in"),
        )
        .join(starts, starts.c.school_id == parents.c.school_id)
        .group_by(parents.c.school_id)
    )
    return {row.school_id: row for row in db.session.execute(statement)}


def _counts(row, names: tuple[str, ...]) -> Counter:
    """Read the named counts of a row; a school missing from a query has none."""
    if row is None:
        return Counter()
    return Counter({name: int(getattr(row, name) or 0) for name in names})


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _record(columns: ActivityColumns, school: str, counts: Counter) -> dict:
    """Build one row of the report from a school's counts, or the authority's."""
    return {
        columns.school: school,
        columns.held: counts["held"],
        columns.no_topic: _share(counts["no_topic"], counts["held"]),
        columns.no_attendance: _share(counts["no_attendance"], counts["held"]),
        columns.no_marks: _share(counts["no_marks"], counts["markable"]),
        columns.parents: counts["parents"],
        columns.parents_signed_in: counts["parents_signed_in"],
        columns.sign_in_rate: _share(counts["parents_signed_in"], counts["parents"]),
    }


def authority_activity(
    authority_id: int,
    period: TermPeriod,
    today: dt.date,
    columns: ActivityColumns | None = None,
) -> pd.DataFrame:
    """Build the report: a row per school of the authority in name order, then the total.

    A school with no lessons held and no parent with a login in the period is left out.
    An authority with none of them gets an empty frame.
    """
    columns = columns or ActivityColumns.translated()
    lessons = _lesson_counts(authority_id, period, today)
    parents = _parent_counts(authority_id, period)
    schools = db.session.execute(
        select(School.id, School.name)
        .where(School.id.in_(set(lessons) | set(parents)))
        .order_by(School.name, School.id)
    ).all()

    records = []
    total: Counter = Counter()
    for school in schools:
        counts = _counts(lessons.get(school.id), LESSON_COUNTS)
        counts.update(_counts(parents.get(school.id), PARENT_COUNTS))
        records.append(_record(columns, school.name, counts))
        total.update(counts)
    if records:
        records.append(_record(columns, _("All schools"), total))
    return pd.DataFrame.from_records(records, columns=columns.names())
