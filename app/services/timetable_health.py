"""Health rules of СанПиН 1.2.3685-21 checked on the weekly timetable template, as warnings.

Unlike conflicts, a warning never blocks a save: the editor shows it beside the conflicts
and the health page lists those of the whole school. The numbers are kept in
:mod:`app.services.timetable_health_rules`. The template is read with column queries and
checked in Python, a few queries for a whole school whatever its size.

How the template is counted:

- Only courses of kind «урок» count; extra-curricular and after-school courses are
  outside the compulsory part the maxima speak of.
- A class's lessons of a day are its distinct lesson numbers, so two halves of a class
  taught at the same time count once. A week of odd and even lines is counted for the odd
  and the even week, and the larger count is compared with the maximum.
- The difficulty sum of a day adds, per lesson number, the largest points of the subjects
  taught then, averaged over the odd and the even week.
- Bell times come from every bell schedule variant that applies to the class's grade, shift
  and weekday, whatever its dates, so a variant for part of the year is checked too.
- The stepped regime of grade 1: for September–October, November–December and
  January–May the lessons of a weekday are the template lines valid on the first such
  weekday of the months that have a bell period in the variant in force that day. Their
  number may not exceed 3 (September–October) or 4 (November–December), and each period
  may last at most 35 minutes until December and 40 minutes from January.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.models import (
    AcademicYear,
    BellPeriod,
    BellSchedule,
    Course,
    SchoolClass,
    Subject,
    SubjectDifficulty,
    TimetableEntry,
    db,
)
from app.services import timetable_health_rules as rules
from app.services.timetable_conflicts import Line, weekday_phrase
from app.services.timetable_grid import weekday_label

log = logging.getLogger(__name__)

HEALTH_RULES = ("daily", "weekly", "six_day", "difficulty", "hours", "shift", "stepped")

#: Weekdays where the peak of the difficulty sums is expected.
_MIDWEEK = (2, 3, 4)


@dataclass(frozen=True)
class HealthWarning:
    """A health rule the template breaks, with its message naming the rule and numbers."""

    rule: str
    class_id: int
    class_name: str
    message: str


@dataclass(frozen=True)
class ClassFacts:
    id: int
    name: str
    grade: int
    shift: int
    six_day_week: bool
    is_special_needs: bool


@dataclass(frozen=True)
class HealthLine:
    """A template line as the health check reads it."""

    id: int
    class_id: int
    weekday: int
    lesson_number: int
    week_parity: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    #: Subject names in lower case: the subject's own and its parent's (or empty).
    subject: str
    parent_subject: str

    def runs_in_week(self, parity: str) -> bool:
        return self.week_parity in ("every", parity)

    def runs_on(self, day: dt.date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_to is None or day <= self.valid_to


@dataclass(frozen=True)
class Bells:
    """One bell schedule variant and its periods: lesson number → (start, end)."""

    name: str
    shift: int
    grade_from: int
    grade_to: int
    weekday: int | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    periods: dict

    def fits(self, grade: int, shift: int, weekday: int) -> bool:
        if not (self.grade_from <= grade <= self.grade_to) or self.shift != shift:
            return False
        return self.weekday in (None, weekday)

    def applies_on(self, grade: int, shift: int, day: dt.date) -> bool:
        if not self.fits(grade, shift, day.isoweekday()):
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_to is None or day <= self.valid_to


@dataclass
class HealthTemplate:
    """The classes, lessons, difficulty points and bells that the health rules read."""

    year_start: dt.date
    classes: dict[int, ClassFacts]
    lines: list[HealthLine]
    #: (subject name lower case, first grade, last grade, points)
    difficulty: list[tuple[str, int, int, int]]
    bells: list[Bells]

    def points(self, line: HealthLine, grade: int) -> int:
        for name in (line.subject, line.parent_subject):
            for subject, grade_from, grade_to, points in self.difficulty:
                if subject == name and grade_from <= grade <= grade_to:
                    return points
        return 0


# --- Reading --------------------------------------------------------------------------------


def _line_query(school_id: int):
    parent = aliased(Subject)
    return (
        select(
            TimetableEntry.id,
            Course.class_id,
            TimetableEntry.weekday,
            TimetableEntry.lesson_number,
            TimetableEntry.week_parity,
            TimetableEntry.valid_from,
            TimetableEntry.valid_to,
            Subject.name,
            parent.name,
        )
        .join(Course, Course.id == TimetableEntry.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .outerjoin(parent, parent.id == Subject.parent_id)
        .where(TimetableEntry.school_id == school_id, Course.kind == "lesson")
    )


def _read_difficulty(school_id: int) -> list[tuple[str, int, int, int]]:
    """Return the school's scale, or the default scale when the school has none yet."""
    rows = db.session.execute(
        select(
            SubjectDifficulty.subject_name,
            SubjectDifficulty.grade_from,
            SubjectDifficulty.grade_to,
            SubjectDifficulty.points,
        ).where(SubjectDifficulty.school_id == school_id)
    ).all()
    if rows:
        return [(name.strip().lower(), *rest) for name, *rest in rows]
    return [(name.lower(), *rest) for name, *rest in rules.default_difficulty()]


def _read_bells(school_id: int) -> list[Bells]:
    periods: dict[int, dict] = defaultdict(dict)
    for schedule_id, number, starts_at, ends_at in db.session.execute(
        select(
            BellPeriod.schedule_id,
            BellPeriod.lesson_number,
            BellPeriod.starts_at,
            BellPeriod.ends_at,
        ).where(BellPeriod.school_id == school_id)
    ):
        periods[schedule_id][number] = (starts_at, ends_at)
    schedules = db.session.execute(
        select(
            BellSchedule.id,
            BellSchedule.name,
            BellSchedule.shift,
            BellSchedule.grade_from,
            BellSchedule.grade_to,
            BellSchedule.weekday,
            BellSchedule.valid_from,
            BellSchedule.valid_to,
        )
        .where(BellSchedule.school_id == school_id)
        .order_by(BellSchedule.id)
    ).all()
    return [Bells(*row[1:], periods=periods.get(row[0], {})) for row in schedules]


def load_health_template(
    school_id: int, year_id: int, class_id: int | None = None
) -> HealthTemplate | None:
    """Read a year's template of the school, or of one class; None when the year is missing."""
    year_start = db.session.scalar(
        select(AcademicYear.start_date).where(
            AcademicYear.id == year_id, AcademicYear.school_id == school_id
        )
    )
    if year_start is None:
        return None

    class_query = select(
        SchoolClass.id,
        SchoolClass.name,
        SchoolClass.grade,
        SchoolClass.shift,
        SchoolClass.six_day_week,
        SchoolClass.is_special_needs,
    ).where(SchoolClass.school_id == school_id, SchoolClass.year_id == year_id)
    line_query = _line_query(school_id).where(Course.year_id == year_id)
    if class_id is not None:
        class_query = class_query.where(SchoolClass.id == class_id)
        line_query = line_query.where(Course.class_id == class_id)
    classes = {row[0]: ClassFacts(*row) for row in db.session.execute(class_query)}
    # Names are lowered in Python: SQLite's lower() leaves Cyrillic letters as they are.
    lines = [
        HealthLine(*row[:7], row[7].lower(), (row[8] or "").lower())
        for row in db.session.execute(line_query)
    ]
    return HealthTemplate(
        year_start=year_start,
        classes=classes,
        lines=lines,
        difficulty=_read_difficulty(school_id),
        bells=_read_bells(school_id),
    )


def _course_subjects(course_id: int):
    """Return (class id, subject, parent subject) of a course of kind lesson, else None."""
    parent = aliased(Subject)
    return db.session.execute(
        select(Course.class_id, Subject.name, parent.name)
        .join(Subject, Subject.id == Course.subject_id)
        .outerjoin(parent, parent.id == Subject.parent_id)
        .where(Course.id == course_id, Course.kind == "lesson")
    ).first()


def with_change(
    template: HealthTemplate, removed_id: int | None, added: Line | None
) -> HealthTemplate:
    """Return the template with one line taken out and a proposed line put in."""
    lines = [line for line in template.lines if line.id != removed_id]
    if added is not None:
        row = _course_subjects(added.course_id)
        if row is not None:
            class_id, subject, parent_subject = row
            subject, parent_subject = subject.lower(), (parent_subject or "").lower()
            lines.append(
                HealthLine(
                    added.id,
                    class_id,
                    added.weekday,
                    added.lesson_number,
                    added.week_parity,
                    added.valid_from,
                    added.valid_to,
                    subject,
                    parent_subject,
                )
            )
    return HealthTemplate(
        template.year_start, template.classes, lines, template.difficulty, template.bells
    )


# --- Counting ------------------------------------------------------------------------------


def _day_lessons(lines: list[HealthLine], parity: str) -> dict[int, dict[int, list[HealthLine]]]:
    """Group the lines of one class running in an odd or even week: weekday → number → lines."""
    days: dict[int, dict[int, list[HealthLine]]] = defaultdict(lambda: defaultdict(list))
    for line in lines:
        if line.runs_in_week(parity):
            days[line.weekday][line.lesson_number].append(line)
    return days


def _is_physical_education(lines: list[HealthLine]) -> bool:
    return any(
        name in rules.PHYSICAL_EDUCATION_NAMES
        for line in lines
        for name in (line.subject, line.parent_subject)
    )


def _lessons_phrase(count: int) -> str:
    return ngettext("%(num)d lesson", "%(num)d lessons", count)


def _warning(rule: str, facts: ClassFacts, message: str) -> HealthWarning:
    return HealthWarning(rule=rule, class_id=facts.id, class_name=facts.name, message=message)


def _number(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


# --- The rules ---------------------------------------------------------------------------------


def _daily_warnings(facts: ClassFacts, lines: list[HealthLine]) -> list[HealthWarning]:
    """Check the lessons of each day against the daily maximum of the grade.

    A day one lesson over the usual maximum is allowed once a week in grades 1–4 when it
    has a physical education lesson.
    """
    usual, with_pe = rules.DAILY_MAXIMUM[facts.grade]
    counts: dict[int, int] = defaultdict(int)
    physical_education: dict[int, bool] = defaultdict(bool)
    for parity in ("odd", "even"):
        for weekday, numbers in _day_lessons(lines, parity).items():
            counts[weekday] = max(counts[weekday], len(numbers))
            physical_education[weekday] |= any(
                _is_physical_education(found) for found in numbers.values()
            )

    warnings = []
    extended_days = 0
    for weekday in sorted(counts):
        count = counts[weekday]
        if count <= usual:
            continue
        allowed = count <= with_pe and physical_education[weekday] and extended_days == 0
        if count <= with_pe and physical_education[weekday]:
            extended_days += 1
        if allowed:
            continue
        if with_pe > usual:
            message = _(
                "%(class_name)s, %(weekday)s: %(lessons)s, while %(usual)s are allowed, or "
                "%(with_pe)s once a week with a physical education lesson (%(regulation)s, "
                "table 6.6).",
                class_name=facts.name,
                weekday=weekday_label(weekday).lower(),
                lessons=_lessons_phrase(count),
                usual=usual,
                with_pe=with_pe,
                regulation=rules.REGULATION,
            )
        else:
            message = _(
                "%(class_name)s, %(weekday)s: %(lessons)s, while %(usual)s are allowed "
                "(%(regulation)s, table 6.6).",
                class_name=facts.name,
                weekday=weekday_label(weekday).lower(),
                lessons=_lessons_phrase(count),
                usual=usual,
                regulation=rules.REGULATION,
            )
        warnings.append(_warning("daily", facts, message))
    return warnings


def _weekly_warnings(facts: ClassFacts, lines: list[HealthLine]) -> list[HealthWarning]:
    """Check the week's lessons against the weekly maximum for a five- or six-day week."""
    five_days, six_days = rules.WEEKLY_MAXIMUM[facts.grade]
    if facts.six_day_week and six_days is None:
        message = _(
            "%(class_name)s: grade %(grade)s learns only on a five-day week, but the class "
            "has a six-day week (%(regulation)s, table 6.6).",
            class_name=facts.name,
            grade=facts.grade,
            regulation=rules.REGULATION,
        )
        return [_warning("six_day", facts, message)]

    maximum = six_days if facts.six_day_week else five_days
    count = max(
        sum(len(numbers) for numbers in _day_lessons(lines, parity).values())
        for parity in ("odd", "even")
    )
    if count <= maximum:
        return []
    if facts.six_day_week:
        text = _(
            "%(class_name)s: %(lessons)s a week, while %(maximum)s are allowed on a six-day "
            "week (%(regulation)s, table 6.6).",
            class_name=facts.name,
            lessons=_lessons_phrase(count),
            maximum=maximum,
            regulation=rules.REGULATION,
        )
    else:
        text = _(
            "%(class_name)s: %(lessons)s a week, while %(maximum)s are allowed on a five-day "
            "week (%(regulation)s, table 6.6).",
            class_name=facts.name,
            lessons=_lessons_phrase(count),
            maximum=maximum,
            regulation=rules.REGULATION,
        )
    return [_warning("weekly", facts, text)]


def difficulty_sums(
    template: HealthTemplate, facts: ClassFacts, lines: list[HealthLine]
) -> dict[int, Decimal]:
    """Return the day sums of difficulty points, averaged over the odd and even week."""
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for parity in ("odd", "even"):
        for weekday, numbers in _day_lessons(lines, parity).items():
            for found in numbers.values():
                points = max(template.points(line, facts.grade) for line in found)
                sums[weekday] += Decimal(points) / 2
    return dict(sums)


def _difficulty_warnings(
    template: HealthTemplate, facts: ClassFacts, lines: list[HealthLine]
) -> list[HealthWarning]:
    """Warn when the heaviest day is Monday, Friday or Saturday and no midweek day equals it."""
    sums = difficulty_sums(template, facts, lines)
    if not sums or max(sums.values()) == 0:
        return []
    peak = max(sums.values())
    if any(sums.get(weekday, 0) == peak for weekday in _MIDWEEK):
        return []
    peak_day = min(weekday for weekday, value in sums.items() if value == peak)
    by_day = ", ".join(
        f"{weekday_label(weekday).lower()} {_number(sums[weekday])}" for weekday in sorted(sums)
    )
    message = _(
        "%(class_name)s: the largest daily sum on the subject difficulty scale, %(peak)s, "
        "is %(weekday)s, while it should fall on Tuesday, Wednesday or Thursday. Sums "
        "by day: %(sums)s (%(regulation)s, table 6.9).",
        class_name=facts.name,
        peak=_number(peak),
        weekday=weekday_phrase(peak_day),
        sums=by_day,
        regulation=rules.REGULATION,
    )
    return [_warning("difficulty", facts, message)]


def _hours_warnings(
    template: HealthTemplate, facts: ClassFacts, lines: list[HealthLine]
) -> list[HealthWarning]:
    """Warn of placed lessons whose bell period starts before 8:00 or ends after 19:00."""
    used: dict[int, set[int]] = defaultdict(set)
    for line in lines:
        used[line.weekday].add(line.lesson_number)

    late: dict[tuple[str, int], tuple] = {}
    for weekday, numbers in used.items():
        for bells in template.bells:
            if not bells.fits(facts.grade, facts.shift, weekday):
                continue
            for number in numbers:
                period = bells.periods.get(number)
                if period is None:
                    continue
                starts_at, ends_at = period
                if starts_at < rules.EARLIEST_START or ends_at > rules.LATEST_END:
                    late[(bells.name, number)] = period

    warnings = []
    for (name, number), (starts_at, ends_at) in sorted(late.items()):
        message = _(
            "%(class_name)s, lesson %(number)s by the bell schedule «%(schedule)s» runs "
            "%(start)s–%(end)s, while lessons may run only from 8:00 to 19:00 "
            "(%(regulation)s, table 6.6).",
            class_name=facts.name,
            number=number,
            schedule=name,
            start=starts_at.strftime("%H:%M"),
            end=ends_at.strftime("%H:%M"),
            regulation=rules.REGULATION,
        )
        warnings.append(_warning("hours", facts, message))
    return warnings


def _shift_warnings(facts: ClassFacts) -> list[HealthWarning]:
    """Warn when a class that must learn in the first shift is in another one."""
    if facts.shift == 1:
        return []
    if facts.is_special_needs:
        message = _(
            "%(class_name)s is a class for students with ОВЗ and is in shift %(shift)s, while "
            "such classes learn only in the first shift (%(regulation)s, table 6.6).",
            class_name=facts.name,
            shift=facts.shift,
            regulation=rules.REGULATION,
        )
    elif facts.grade in rules.FIRST_SHIFT_GRADES:
        message = _(
            "%(class_name)s is in shift %(shift)s, while grades 1, 5 and 9–11 learn only in "
            "the first shift (%(regulation)s, table 6.6).",
            class_name=facts.name,
            shift=facts.shift,
            regulation=rules.REGULATION,
        )
    else:
        return []
    return [_warning("shift", facts, message)]


def _bells_on(template: HealthTemplate, facts: ClassFacts, day: dt.date) -> dict:
    """Return the periods of the most specific bell variant in force on a day."""
    matching = [b for b in template.bells if b.applies_on(facts.grade, facts.shift, day)]
    if not matching:
        return {}
    # A variant for one weekday or for given dates beats the general one, as in the
    # generation of dated lessons.
    matching.sort(
        key=lambda b: (b.weekday is not None, b.valid_from is not None or b.valid_to is not None),
        reverse=True,
    )
    return matching[0].periods


def _first_weekday_on_or_after(start: dt.date, weekday: int) -> dt.date:
    return start + dt.timedelta(days=(weekday - start.isoweekday()) % 7)


def _stage_months(stage_start: int, stage_end: int) -> str:
    months = {
        1: _("January"),
        5: _("May"),
        9: _("September"),
        10: _("October"),
        11: _("November"),
        12: _("December"),
    }
    return f"{months[stage_start]}–{months[stage_end]}".lower()


def _stepped_warnings(
    template: HealthTemplate, facts: ClassFacts, lines: list[HealthLine]
) -> list[HealthWarning]:
    """Check the grade-1 template against the stepped regime, month range by month range."""
    if facts.grade != 1:
        return []
    warnings = []
    weekdays = sorted({line.weekday for line in lines})
    for first_month, last_month, max_lessons, minutes in rules.STEPPED_REGIME:
        year = template.year_start.year + (0 if first_month >= 9 else 1)
        start = max(dt.date(year, first_month, 1), template.year_start)
        largest_count, longest = 0, 0
        for weekday in weekdays:
            day = _first_weekday_on_or_after(start, weekday)
            periods = _bells_on(template, facts, day)
            numbers = {
                line.lesson_number
                for line in lines
                if line.weekday == weekday and line.runs_on(day) and line.lesson_number in periods
            }
            largest_count = max(largest_count, len(numbers))
            for number in numbers:
                starts_at, ends_at = periods[number]
                length = (
                    dt.datetime.combine(day, ends_at) - dt.datetime.combine(day, starts_at)
                ).seconds // 60
                longest = max(longest, length)
        months = _stage_months(first_month, last_month)
        if max_lessons is not None and largest_count > max_lessons:
            message = _(
                "%(class_name)s, %(months)s: up to %(lessons)s a day, while the stepped regime "
                "of grade 1 allows %(allowed)s (%(regulation)s, table 6.6).",
                class_name=facts.name,
                months=months,
                lessons=_lessons_phrase(largest_count),
                allowed=max_lessons,
                regulation=rules.REGULATION,
            )
            warnings.append(_warning("stepped", facts, message))
        if longest > minutes:
            message = _(
                "%(class_name)s, %(months)s: lessons of up to %(length)s minutes by the bell "
                "schedule, while the stepped regime of grade 1 allows %(allowed)s minutes "
                "(%(regulation)s, table 6.6).",
                class_name=facts.name,
                months=months,
                length=longest,
                allowed=minutes,
                regulation=rules.REGULATION,
            )
            warnings.append(_warning("stepped", facts, message))
    return warnings


def find_warnings(template: HealthTemplate) -> list[HealthWarning]:
    """Check every class of the template against every health rule."""
    by_class: dict[int, list[HealthLine]] = defaultdict(list)
    for line in template.lines:
        by_class[line.class_id].append(line)

    warnings = []
    for facts in sorted(template.classes.values(), key=lambda c: (c.grade, c.name)):
        lines = by_class.get(facts.id, [])
        warnings += _shift_warnings(facts)
        warnings += _weekly_warnings(facts, lines)
        warnings += _daily_warnings(facts, lines)
        warnings += _difficulty_warnings(template, facts, lines)
        warnings += _hours_warnings(template, facts, lines)
        warnings += _stepped_warnings(template, facts, lines)
    return warnings


# --- Entry points ----------------------------------------------------------------------------


def fill_default_difficulty(school_id: int, user_id: int) -> int:
    """Add the default difficulty points the school's scale lacks; return how many were added.

    A row is missing when no row of the school has its subject name and first grade, so
    the points a school changed are kept.
    """
    present = {
        (name.lower(), grade_from)
        for name, grade_from in db.session.execute(
            select(SubjectDifficulty.subject_name, SubjectDifficulty.grade_from).where(
                SubjectDifficulty.school_id == school_id
            )
        )
    }
    added = [
        SubjectDifficulty(
            school_id=school_id,
            subject_name=name,
            grade_from=grade_from,
            grade_to=grade_to,
            points=points,
        )
        for name, grade_from, grade_to, points in rules.default_difficulty()
        if (name.lower(), grade_from) not in present
    ]
    db.session.add_all(added)
    db.session.flush()
    log.info(
        "User %s added %d default difficulty rows to school %d", user_id, len(added), school_id
    )
    return len(added)


def check_school(school_id: int, year_id: int) -> list[HealthWarning]:
    """Find the health warnings of a school year's whole template."""
    template = load_health_template(school_id, year_id)
    if template is None:
        return []
    warnings = find_warnings(template)
    log.info(
        "Checked health rules on %d template lines of school %d, year %d: %d warnings",
        len(template.lines),
        school_id,
        year_id,
        len(warnings),
    )
    return warnings


def check_class(
    school_class: SchoolClass, removed_id: int | None = None, added: Line | None = None
) -> list[HealthWarning]:
    """Find the health warnings of one class, with a proposed change applied when given."""
    template = load_health_template(
        school_class.school_id, school_class.year_id, class_id=school_class.id
    )
    if template is None:
        return []
    if removed_id is not None or added is not None:
        template = with_change(template, removed_id, added)
    return find_warnings(template)
