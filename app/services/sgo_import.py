"""Import of one diary week from «Сетевой Город» into one student's school.

The payload is the JSON of the product's ``/webapi/student/diary`` endpoint. Its ``weekDays``
list contains days, each day contains ``lessons``, each lesson may contain ``assignments``,
and an assignment may contain the student's ``mark``. Each lesson becomes a :class:`Lesson` of a
:class:`Course` of the student's class, each assignment an :class:`Assignment`, each mark a
:class:`Mark` of the student.

The importer does not store the ids «Сетевой Город» gives lessons and assignments, because
the model has no column for them. Importing the same week again therefore matches lessons by
course, date and lesson number, and assignments by type and text, and updates them in place.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.errors import SAVE_FAILED, DomainError
from app.models import (
    Assignment,
    AssignmentType,
    Course,
    Lesson,
    Mark,
    Room,
    School,
    SchoolClass,
    Student,
    Subject,
    Term,
    db,
)
from app.security.scope import apply_scope
from app.services.journal_audit import mark_text, record_change

logger = logging.getLogger(__name__)

#: Type id of homework (Домашнее задание) in the netschoolapi type list of 2020 and in the
#: type table of the asurso client's README.
HOMEWORK_SGO_TYPE_ID = 3
HOMEWORK_TYPE_NAME = "Домашнее задание"

#: Name of a type created for an id that no list names. Type names are school data in the
#: school's language, like the seeded «Домашнее задание», so this is not a translated msgid.
UNKNOWN_TYPE_NAME = "Тип задания {sgo_id} (из «Сетевого Города»)"

NOT_A_DIARY = _l(
    "The file is not a «Сетевой Город» diary week: %(detail)s "
    "Export the diary from /webapi/student/diary and try again."
)

#: Shown for a failure inside one lesson, after the whole week was rolled back.
LESSON_FAILED = _l(
    "The diary week was not imported: day %(date)s, lesson %(number)s (%(subject)s) failed: "
    "%(reason)s Nothing from this week was saved. Fix the value and import the week again."
)


@dataclass
class SkippedItem:
    """A part of the payload the import left out, and why."""

    date: dt.date | None
    lesson_number: int | None
    subject: str | None
    reason: str


@dataclass
class ImportReport:
    """Outcome of one import: counts of rows created or updated, and what it left out."""

    lessons: int = 0
    assignments: int = 0
    marks: int = 0
    #: Names of the assignment types the import created.
    new_types: list[str] = field(default_factory=list)
    new_subjects: list[str] = field(default_factory=list)
    new_courses: int = 0
    skipped: list[SkippedItem] = field(default_factory=list)


class _PayloadError(Exception):
    """A value of one lesson that cannot be imported, with a message already translated."""


def assignment_types_from_json(document: dict) -> dict[int, str]:
    """Turn an assignment type list (``{"types": [{"id": 3, "name": ...}]}``) into id → name.

    A plain list of such objects is accepted too.
    """
    rows = document["types"] if isinstance(document, dict) else document
    return {int(row["id"]): str(row["name"]) for row in rows}


def import_diary_week(
    school_id: int,
    student_id: int,
    payload: dict,
    *,
    assignment_types: dict[int, str] | None = None,
) -> ImportReport:
    """Import one «Сетевой Город» diary week for one student and commit it.

    ``assignment_types`` maps the product's type ids to names, for ids that no type of the
    school carries in ``sgo_id`` yet. An id found in neither becomes a new type, so no
    assignment is dropped. The import is all-or-nothing: on any failure it rolls the session
    back and raises :class:`DomainError` naming the day and lesson.
    """
    student = _load_student(school_id, student_id)
    school_class = _load_class(student, payload)
    week_days = _week_days(payload)

    importer = _WeekImporter(student, school_class, assignment_types or {})
    try:
        for day in week_days:
            for lesson_data in day.get("lessons") or []:
                importer.import_lesson(day, lesson_data)
        importer.report_unknown_lists(payload)
        db.session.commit()
    except DomainError:
        raise
    except SQLAlchemyError:
        logger.exception(
            "SGO import commit failed for student %s of school %s", student_id, school_id
        )
        db.session.rollback()
        raise DomainError(SAVE_FAILED) from None
    except Exception:
        db.session.rollback()
        raise

    report = importer.report
    logger.info(
        "Imported SGO diary week for student %s of school %s: %s lessons, %s assignments, "
        "%s marks, %s new types, %s skipped",
        student_id,
        school_id,
        report.lessons,
        report.assignments,
        report.marks,
        len(report.new_types),
        len(report.skipped),
    )
    return report


def _load_student(school_id: int, student_id: int) -> Student:
    statement = select(Student).where(Student.school_id == school_id, Student.id == student_id)
    student = db.session.scalars(apply_scope(statement, Student)).first()
    if student is None:
        raise DomainError(
            _l("Student %(student_id)s was not found in school %(school_id)s. Check both ids."),
            student_id=student_id,
            school_id=school_id,
        )
    return student


def _load_class(student: Student, payload: dict) -> SchoolClass:
    school_class = student.school_class
    if school_class is None:
        raise DomainError(
            _l(
                "Student %(student_id)s is in no class. "
                "Put the student in a class, then import the diary."
            ),
            student_id=student.id,
        )

    file_class = payload.get("className")
    if file_class and _normalise(file_class) != _normalise(school_class.name):
        raise DomainError(
            _l(
                "The diary is of class %(file_class)s, but the student is in class %(class_name)s. "
                "Import the diary of the student's own class."
            ),
            file_class=file_class,
            class_name=school_class.name,
        )

    if school_class.year.is_closed:
        raise DomainError(
            _l(
                "The school year %(year)s is closed. "
                "Ask the principal to reopen it, then import again."
            ),
            year=school_class.year.name,
        )
    return school_class


def _week_days(payload: dict) -> list[dict]:
    week_days = payload.get("weekDays") if isinstance(payload, dict) else None
    if not isinstance(week_days, list):
        raise DomainError(NOT_A_DIARY, detail=_("its weekDays list is missing."))
    for position, day in enumerate(week_days, start=1):
        if not isinstance(day, dict) or not isinstance(day.get("lessons") or [], list):
            raise DomainError(
                NOT_A_DIARY,
                detail=_("day %(position)s of weekDays has no lessons list.", position=position),
            )
    return week_days


def _normalise(name: str) -> str:
    return "".join(str(name).split()).casefold()


class _WeekImporter:
    """State of one import: the rows found or created so far, and the report."""

    def __init__(self, student: Student, school_class: SchoolClass, type_names: dict[int, str]):
        self.student = student
        self.student_id = student.id
        self.school_class = school_class
        self.school_id = student.school_id
        self.type_names = type_names
        self.max_mark = db.session.get(School, self.school_id).max_mark
        self.report = ImportReport()

        self._subjects: dict[str, Subject] = {}
        self._courses: dict[int, Course] = {}
        self._types: dict[int, AssignmentType] = {}
        self._rooms: dict[str, Room] = {}
        #: Lessons and assignments already matched in this import, so that two payload items
        #: never land on one row: two lessons in one slot both survive.
        self._claimed_lessons: set[int] = set()
        self._claimed_assignments: set[int] = set()

    def report_unknown_lists(self, payload: dict) -> None:
        """Report the parts of the payload whose format is unknown, so nothing goes silently."""
        late_assignments = payload.get("laAssigns") or []
        if late_assignments:
            # NOTE: no sample of a non-empty laAssigns list was available, so its shape is unknown.
            reason = _(
                "%(count)s entries of laAssigns were not imported: their format is unknown.",
                count=len(late_assignments),
            )
            self.report.skipped.append(SkippedItem(None, None, None, reason))

    # -- one lesson -----------------------------------------------------------------------

    def import_lesson(self, day: dict, data) -> None:
        """Import one lesson with its assignments and marks, flushed so that errors name it."""
        date = _parse_date(data.get("day") or day.get("date")) if isinstance(data, dict) else None
        number = data.get("number") if isinstance(data, dict) else None
        subject_name = str(data.get("subjectName") or "").strip() if isinstance(data, dict) else ""
        self._current = (date, number, subject_name)
        try:
            if not isinstance(data, dict):
                raise _PayloadError(_("the lesson is not a JSON object."))
            if date is None:
                raise _PayloadError(_("the lesson has no valid date."))
            lesson = self._import_lesson_row(date, number, subject_name, data)
            for assignment_data in data.get("assignments") or []:
                self._import_assignment(lesson, assignment_data)
            db.session.flush()
        except _PayloadError as error:
            raise self._failure(date or day.get("date"), number, subject_name, str(error)) from None
        except (AttributeError, KeyError, TypeError, ValueError):
            logger.exception(
                "SGO import found malformed data on %s lesson %s for student %s of school %s",
                date,
                number,
                self.student_id,
                self.school_id,
            )
            reason = _("its data does not have the shape of a «Сетевой Город» diary.")
            raise self._failure(date, number, subject_name, reason) from None
        except SQLAlchemyError:
            logger.exception(
                "SGO import failed on %s lesson %s for student %s of school %s",
                date,
                number,
                self.student_id,
                self.school_id,
            )
            reason = _("the database rejected the record.")
            raise self._failure(date, number, subject_name, reason) from None

    def _failure(self, date, number, subject_name, reason: str) -> DomainError:
        """Roll the whole import back and build the error that names the lesson."""
        db.session.rollback()
        logger.warning(
            "SGO import of student %s of school %s rolled back at %s lesson %s: %s",
            self.student_id,
            self.school_id,
            date,
            number,
            reason,
        )
        return DomainError(
            LESSON_FAILED,
            date=date.strftime("%d.%m.%Y") if isinstance(date, dt.date) else date,
            number=number,
            subject=subject_name or "—",
            reason=reason,
        )

    def _import_lesson_row(self, date: dt.date, number, subject_name: str, data: dict) -> Lesson:
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= 12:
            raise _PayloadError(
                _("lesson number %(number)s is not a whole number from 0 to 12.", number=number)
            )
        if not subject_name:
            raise _PayloadError(_("the lesson has no subject name."))
        self._check_date(date)

        course = self._course(subject_name)
        starts_at = _parse_time(data.get("startTime"), "startTime")
        ends_at = _parse_time(data.get("endTime"), "endTime")
        room = self._room(data.get("room"))

        lesson = self._find_lesson(course, date, number)
        if lesson is None:
            lesson = Lesson(
                school_id=self.school_id, course=course, date=date, lesson_number=number
            )
            db.session.add(lesson)
        lesson.starts_at = starts_at
        lesson.ends_at = ends_at
        if room is not None:
            lesson.room = room
        db.session.flush()
        self._claimed_lessons.add(lesson.id)
        self.report.lessons += 1
        return lesson

    def _check_date(self, date: dt.date) -> None:
        year = self.school_class.year
        if not year.contains(date):
            raise _PayloadError(
                _(
                    "the date is outside the school year %(year)s (%(start)s–%(end)s).",
                    year=year.name,
                    start=year.start_date.strftime("%d.%m.%Y"),
                    end=year.end_date.strftime("%d.%m.%Y"),
                )
            )
        closed = db.session.scalars(
            select(Term).where(
                Term.school_id == self.school_id,
                Term.year_id == year.id,
                Term.is_closed.is_(True),
                Term.start_date <= date,
                Term.end_date >= date,
                Term.grade_from <= self.school_class.grade,
                Term.grade_to >= self.school_class.grade,
            )
        ).first()
        if closed is not None:
            raise _PayloadError(
                _("the term %(term)s is closed; ask the principal to reopen it.", term=closed.name)
            )

    def _find_lesson(self, course: Course, date: dt.date, number: int) -> Lesson | None:
        statement = (
            select(Lesson)
            .where(
                Lesson.school_id == self.school_id,
                Lesson.course_id == course.id,
                Lesson.date == date,
                Lesson.lesson_number == number,
            )
            .order_by(Lesson.id)
        )
        for lesson in db.session.scalars(statement):
            if lesson.id not in self._claimed_lessons:
                return lesson
        return None

    # -- subjects, courses, rooms ---------------------------------------------------------

    def _course(self, subject_name: str) -> Course:
        subject = self._subject(subject_name)
        course = self._courses.get(subject.id)
        if course is not None:
            return course

        candidates = db.session.scalars(
            select(Course)
            .where(
                Course.school_id == self.school_id,
                Course.year_id == self.school_class.year_id,
                Course.class_id == self.school_class.id,
                Course.subject_id == subject.id,
            )
            .order_by(Course.id)
        ).all()
        course = self._course_of_student(candidates)
        if course is None:
            # NOTE: the diary gives no weekly hours, so the model's default stays until the
            # curriculum sets them. isEaLesson is not read because no source documents it
            # (it may mark extra-curricular activities), so every new course is a lesson.
            course = Course(
                school_id=self.school_id,
                year_id=self.school_class.year_id,
                subject=subject,
                class_id=self.school_class.id,
                kind="lesson",
                assessment="marks",
            )
            db.session.add(course)
            db.session.flush()
            self.report.new_courses += 1
        self._courses[subject.id] = course
        return course

    def _course_of_student(self, candidates: list[Course]) -> Course | None:
        """Prefer the group course the student is in, then the whole-class course."""
        for course in candidates:
            if course.group is not None and self.student in course.group.students:
                return course
        for course in candidates:
            if course.group_id is None:
                return course
        return None

    def _subject(self, name: str) -> Subject:
        key = name.casefold()
        if key in self._subjects:
            return self._subjects[key]
        if len(name) > Subject.name.type.length:
            raise _PayloadError(
                _(
                    "the subject name is longer than %(limit)s characters.",
                    limit=Subject.name.type.length,
                )
            )

        subjects = db.session.scalars(select(Subject).where(Subject.school_id == self.school_id))
        subject = next((s for s in subjects if s.name.casefold() == key), None)
        if subject is None:
            subject = Subject(school_id=self.school_id, name=name)
            db.session.add(subject)
            db.session.flush()
            self.report.new_subjects.append(name)
        self._subjects[key] = subject
        return subject

    def _room(self, value) -> Room | None:
        if value is None or str(value).strip() == "":
            return None
        name = str(value).strip()
        if name in self._rooms:
            return self._rooms[name]
        if len(name) > Room.name.type.length:
            raise _PayloadError(
                _(
                    "room %(room)s has a name longer than %(limit)s characters.",
                    room=name,
                    limit=Room.name.type.length,
                )
            )

        room = db.session.scalars(
            select(Room).where(Room.school_id == self.school_id, Room.name == name)
        ).first()
        if room is None:
            room = Room(school_id=self.school_id, name=name)
            db.session.add(room)
            db.session.flush()
        self._rooms[name] = room
        return room

    # -- assignments and marks ------------------------------------------------------------

    def _import_assignment(self, lesson: Lesson, data) -> None:
        if not isinstance(data, dict):
            raise _PayloadError(_("an assignment is not a JSON object."))
        sgo_id = data.get("id")
        assignment_type = self._assignment_type(data.get("typeId"), sgo_id)
        weight = _parse_weight(data.get("weight"), sgo_id)
        text = data.get("assignmentName")
        text = "" if text is None else str(text)
        due_date = _parse_date(data.get("dueDate"))
        if data.get("dueDate") and due_date is None:
            raise _PayloadError(
                _(
                    "assignment %(id)s has the invalid due date %(value)s.",
                    id=sgo_id,
                    value=data.get("dueDate"),
                )
            )

        assignment = self._find_assignment(lesson, assignment_type, text)
        if assignment is None:
            assignment = Assignment(
                school_id=self.school_id, lesson=lesson, type=assignment_type, text=text
            )
            db.session.add(assignment)
        assignment.weight = weight
        assignment.due_date = due_date
        db.session.flush()
        self._claimed_assignments.add(assignment.id)
        self.report.assignments += 1

        mark_data = data.get("mark")
        if mark_data:
            self._import_mark(lesson, assignment, mark_data, sgo_id)

    def _find_assignment(
        self, lesson: Lesson, assignment_type: AssignmentType, text: str
    ) -> Assignment | None:
        statement = (
            select(Assignment)
            .where(
                Assignment.school_id == self.school_id,
                Assignment.lesson_id == lesson.id,
                Assignment.type_id == assignment_type.id,
                Assignment.text == text,
            )
            .order_by(Assignment.id)
        )
        for assignment in db.session.scalars(statement):
            if assignment.id not in self._claimed_assignments:
                return assignment
        return None

    def _import_mark(self, lesson: Lesson, assignment: Assignment, data, sgo_id) -> None:
        """Write the student's mark: a number, or a duty mark («точка») when dutyMark is set."""
        if not isinstance(data, dict):
            raise _PayloadError(_("the mark of assignment %(id)s is not a JSON object.", id=sgo_id))
        value = data.get("mark")
        is_duty = data.get("dutyMark") is True

        if value is None and not is_duty:
            self._skip(
                _("Assignment %(id)s: its mark has neither a value nor a duty flag.", id=sgo_id)
            )
            return
        if not lesson.course.gives_marks:
            self._skip(
                _(
                    "Assignment %(id)s: the course %(course)s takes no marks.",
                    id=sgo_id,
                    course=lesson.course,
                )
            )
            return

        kind = "duty"
        if value is not None:
            kind = "number"
            value = _parse_mark(value, self.max_mark)
            if is_duty:
                self._skip(
                    _(
                        "Assignment %(id)s: the duty flag was dropped because the work has "
                        "the mark %(value)s.",
                        id=sgo_id,
                        value=value,
                    )
                )

        mark = db.session.scalars(
            select(Mark).where(
                Mark.school_id == self.school_id,
                Mark.assignment_id == assignment.id,
                Mark.student_id == self.student_id,
            )
        ).first()
        old_text = mark_text(mark.kind, mark.value) if mark is not None else None
        if mark is None:
            mark = Mark(school_id=self.school_id, assignment=assignment, student_id=self.student_id)
            db.session.add(mark)
        mark.kind = kind
        mark.value = value
        self._audit_mark(lesson, assignment, old_text, mark_text(kind, value))
        comment = data.get("comment")
        if comment:
            mark.comment = str(comment)[: Mark.comment.type.length]
        self.report.marks += 1

        score = data.get("resultScore")
        if score is not None:
            # NOTE: Mark has no column for a score in points, so the report carries it instead.
            self._skip(
                _(
                    "Assignment %(id)s: the result score %(score)s was not kept, because marks "
                    "have no score field.",
                    id=sgo_id,
                    score=score,
                )
            )

    def _audit_mark(self, lesson, assignment, old_text, new_text) -> None:
        # An imported mark is a change of the journal like any other; the import runs
        # without a signed-in user, so the audit row names none.
        if old_text == new_text:
            return
        if assignment.id is None or lesson.id is None:
            db.session.flush()
        record_change(
            "mark",
            "create" if old_text is None else "change",
            school_id=self.school_id,
            user_id=None,
            lesson=lesson,
            student_id=self.student_id,
            assignment_id=assignment.id,
            old=old_text,
            new=new_text,
        )

    def _skip(self, reason: str) -> None:
        date, number, subject_name = self._current
        self.report.skipped.append(SkippedItem(date, number, subject_name, reason))

    def _assignment_type(self, sgo_id, assignment_id) -> AssignmentType:
        if not isinstance(sgo_id, int) or isinstance(sgo_id, bool):
            raise _PayloadError(
                _(
                    "assignment %(id)s has no valid typeId (found %(value)s).",
                    id=assignment_id,
                    value=sgo_id,
                )
            )
        if sgo_id in self._types:
            return self._types[sgo_id]

        school_types = db.session.scalars(
            select(AssignmentType)
            .where(AssignmentType.school_id == self.school_id)
            .order_by(AssignmentType.id)
        ).all()
        found = next((t for t in school_types if t.sgo_id == sgo_id), None)
        if found is None:
            found = self._type_by_name(school_types, sgo_id)
        self._types[sgo_id] = found
        return found

    def _type_by_name(self, school_types: list[AssignmentType], sgo_id: int) -> AssignmentType:
        """Match an id through the given list by name, or create the type."""
        name = self.type_names.get(sgo_id) or UNKNOWN_TYPE_NAME.format(sgo_id=sgo_id)
        found = next((t for t in school_types if t.name.casefold() == name.casefold()), None)
        if found is not None:
            if found.sgo_id is None:
                found.sgo_id = sgo_id
            return found

        is_homework = (
            sgo_id == HOMEWORK_SGO_TYPE_ID or name.casefold() == HOMEWORK_TYPE_NAME.casefold()
        )
        created = AssignmentType(
            school_id=self.school_id, name=name, sgo_id=sgo_id, is_homework=is_homework
        )
        db.session.add(created)
        db.session.flush()
        self.report.new_types.append(name)
        return created


def _parse_date(value) -> dt.date | None:
    """Read «Сетевой Город» dates such as ``2022-01-13T00:00:00``, or None if missing or invalid."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def _parse_time(value, field_name: str) -> dt.time | None:
    if value is None or value == "":
        return None
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise _PayloadError(
            _("%(field)s %(value)s is not a time such as 08:30.", field=field_name, value=value)
        ) from None


def _parse_weight(value, assignment_id) -> Decimal:
    """Read the weight as given. The asurso client's README says the diary endpoint always
    sends 0 and the real weight needs a separate request, so 0 is kept, not replaced."""
    if value is None:
        return Decimal("0")
    try:
        weight = Decimal(str(value))
    except InvalidOperation:
        weight = None
    if weight is None or not weight.is_finite() or weight < 0 or weight >= 1000:
        raise _PayloadError(
            _(
                "assignment %(id)s has the weight %(value)s; a weight is a number from 0 to 999.",
                id=assignment_id,
                value=value,
            )
        )
    return weight


def _parse_mark(value, max_mark: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise _PayloadError(_("mark %(value)s is not a whole number.", value=value))
    if not 1 <= value <= max_mark:
        raise _PayloadError(
            _(
                "mark %(value)s is outside the school's scale of 1 to %(max)s.",
                value=value,
                max=max_mark,
            )
        )
    return int(value)
