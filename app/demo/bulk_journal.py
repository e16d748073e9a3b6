"""The journal of one school year written in bulk, for the city-scale demo and past years.

It follows the rules of ``app/demo/journal.py``: homework is due at the next lesson, a test
comes every eighth lesson with at most one per class a day, grade 1 and ОРКСЭ get no marks and
grade 2 gets them from the second quarter. The rates are those of a busy real journal, about
300 marks per student a year and 5 % of lessons missed. The rows go out through ``copy_rows``
one school year at a time, so memory keeps one school's year, never the city's.
"""

import bisect
import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from app.demo.bulk import copy_rows, next_id, sync_id_sequence
from app.demo.bulk_lessons import plan_lessons, write_lessons
from app.demo.journal import (
    REASON_DELAY_DAYS,
    TEST_EVERY,
    _homework_text,
    _round_mark,
    _tests_for,
    _topic,
)
from app.models import (
    Assignment,
    Attendance,
    Course,
    FinalMark,
    Mark,
    SchoolClass,
    Subject,
    db,
)

#: Mean and spread of the students' abilities and the spread of one student's marks around
#: their ability. Together they give about 30 % fives, 40 % fours, 25 % threes and 5 % twos.
ABILITY_MEAN = 4.05
ABILITY_SPREAD = 0.6
MARK_SPREAD = 0.7

#: Tests are marked a quarter of a point harder than class work and homework.
TEST_SHIFT = -0.25

#: Share of the students present marked for their work in class in a lesson without a test.
CLASS_WORK_MARKS = (0.15, 0.4)

#: Share of lessons that set homework, and share of the students whose homework is marked.
#: With the tests every eighth lesson, these give about 300 marks per student a year.
HOMEWORK_SHARE = 0.7
HOMEWORK_MARKS = (0.1, 0.25)

ASSIGNMENT_COLUMNS = (
    "id",
    "school_id",
    "lesson_id",
    "type_id",
    "weight",
    "text",
    "due_date",
    "created_at",
)
MARK_COLUMNS = (
    "school_id",
    "assignment_id",
    "student_id",
    "kind",
    "value",
    "changed_by_id",
    "changed_at",
)
ATTENDANCE_COLUMNS = (
    "school_id",
    "lesson_id",
    "student_id",
    "code_id",
    "reason_id",
    "changed_by_id",
    "changed_at",
)
FINAL_MARK_COLUMNS = (
    "school_id",
    "student_id",
    "course_id",
    "kind",
    "term_id",
    "value",
    "suggested",
    "changed_by_id",
    "changed_at",
)


@dataclass(frozen=True)
class YearJournal:
    """Inputs of the bulk journal filler for one school year."""

    school_id: int
    #: The AcademicYear row, without lessons yet.
    year: object
    #: Term rows of the year (``app.models.Term``).
    terms: list
    #: class id -> student ids
    students_by_class: dict[int, list[int]]
    #: course id -> user id of its teacher
    course_teacher_user: dict[int, int]
    #: assignment type name -> AssignmentType row
    assignment_types: dict
    #: attendance code -> AttendanceCode row
    attendance_codes: dict
    #: Lessons up to this day get their journal; later ones stay empty.
    today: dt.date
    #: Whether the year is over: every term and the year get their marks.
    closed: bool


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _thresholds(ability: float) -> tuple[float, float, float]:
    """Cumulative chances of a 2, of 2–3 and of 2–4 for a student of this ability."""
    return tuple(_normal_cdf((edge - ability) / MARK_SPREAD) for edge in (2.5, 3.5, 4.5))


def _share(rng: random.Random, size: int, shares: tuple[float, float], minimum: int) -> int:
    """Draw a count between the two shares of ``size``, at least ``minimum``, at most ``size``."""
    low = round(size * shares[0])
    high = round(size * shares[1])
    return min(size, max(minimum, rng.randint(low, high)))


class _Student:
    __slots__ = ("absent", "late", "usual", "test")

    def __init__(self, ability: float):
        self.usual = _thresholds(ability)
        self.test = _thresholds(ability + TEST_SHIFT)
        self.absent: dict[dt.date, str | None] = {}
        self.late: set[dt.date] = set()


class BulkJournalFiller:
    """Writes the assignments, marks, attendance, topics and final marks of one school year."""

    def __init__(self, year: YearJournal, rng: random.Random):
        self.year = year
        self.rng = rng
        self.sid = year.school_id
        self.codes = {code: item.id for code, item in year.attendance_codes.items()}
        self.types = year.assignment_types

    def run(self) -> dict[str, int]:
        """Fill the year; return the number of rows written per table."""
        self._load()
        self._plan_students()
        counts = self._write_journal()
        counts["final_mark"] = copy_rows(
            FinalMark.__table__, FINAL_MARK_COLUMNS, self._final_mark_rows()
        )
        return counts

    # --- loading -------------------------------------------------------------------

    def _load(self) -> None:
        self._load_courses()
        self._plan_lessons()
        self.terms_by_grade = {
            grade: sorted(
                (t for t in self.year.terms if t.applies_to_grade(grade)),
                key=lambda t: t.start_date,
            )
            for grade in range(1, 12)
        }

    def _load_courses(self) -> None:
        """Read the year's courses as (class id, grade, kind, assessment, subject name)."""
        rows = db.session.execute(
            select(Course.id, Course.class_id, Course.kind, Course.assessment, Course.subject_id)
            .where(Course.school_id == self.sid, Course.year_id == self.year.year.id)
            .order_by(Course.id)
        ).all()
        grades = dict(
            db.session.execute(
                select(SchoolClass.id, SchoolClass.grade).where(
                    SchoolClass.school_id == self.sid, SchoolClass.year_id == self.year.year.id
                )
            ).all()
        )
        subjects = dict(
            db.session.execute(
                select(Subject.id, Subject.name).where(Subject.school_id == self.sid)
            ).all()
        )
        self.courses = {
            r.id: (r.class_id, grades[r.class_id], r.kind, r.assessment, subjects[r.subject_id])
            for r in rows
        }

    def _plan_lessons(self) -> None:
        """Plan the year's lessons and find each class's school days and first lesson of a day."""
        self.lessons = plan_lessons(self.sid, self.year.year)
        self.lessons_by_course = defaultdict(list)
        class_days = defaultdict(dict)
        ordered = sorted(self.lessons, key=lambda x: (x.course_id, x.date, x.lesson_number))
        for lesson in ordered:
            self.lessons_by_course[lesson.course_id].append(lesson)
            if lesson.date > self.year.today:
                continue
            class_id = self.courses[lesson.course_id][0]
            first = class_days[class_id].get(lesson.date)
            if first is None or lesson.lesson_number < first[1]:
                class_days[class_id][lesson.date] = (lesson.id, lesson.lesson_number)
        self.class_days = {class_id: sorted(days) for class_id, days in class_days.items()}
        self.first_lesson = {
            (class_id, day): first[0]
            for class_id, days in class_days.items()
            for day, first in days.items()
        }

    # --- students --------------------------------------------------------------------

    def _plan_students(self) -> None:
        """Give each student an ability and the days they miss or come late."""
        rng = self.rng
        today = self.year.today
        self.students: dict[int, _Student] = {}
        # (class id, day) -> {student id: reason code or None}, and -> students late that day
        self.absent_on = defaultdict(dict)
        self.late_on = defaultdict(list)
        for class_id, student_ids in self.year.students_by_class.items():
            days = self.class_days.get(class_id, [])
            for student_id in student_ids:
                ability = min(4.95, max(2.6, rng.gauss(ABILITY_MEAN, ABILITY_SPREAD)))
                student = _Student(ability)
                illness_rate = rng.choice([0.005, 0.01, 0.015, 0.03])
                index = 0
                while index < len(days):
                    roll = rng.random()
                    if roll < illness_rate:
                        reason = "Б" if rng.random() < 0.8 else "УП"
                        for day in days[index : index + rng.randint(2, 6)]:
                            student.absent[day] = reason
                            index += 1
                        continue
                    if roll < illness_rate + 0.006:
                        student.absent[days[index]] = rng.choice(["НП", "УП", "ОЛ", "НП"])
                    elif roll < illness_rate + 0.016:
                        student.late.add(days[index])
                    index += 1
                for day in student.absent:
                    if (today - day).days < REASON_DELAY_DAYS or rng.random() < 0.08:
                        student.absent[day] = None
                for day, reason in student.absent.items():
                    self.absent_on[(class_id, day)][student_id] = reason
                for day in student.late:
                    if day not in student.absent:
                        self.late_on[(class_id, day)].append(student_id)
                self.students[student_id] = student

    # --- the journal -----------------------------------------------------------------

    def _write_journal(self) -> dict[str, int]:
        self.assignments: list[tuple] = []
        self.marks: list[tuple] = []
        self.attendance: list[tuple] = []
        # NOTE: the per-(student, course, term) rollups of the reports are to be filled from
        # these sums once their tables exist. Until then the sums serve the term marks only.
        self.term_sums = defaultdict(lambda: [0.0, 0.0])
        self.next_assignment_id = next_id(Assignment)
        self.daily_test: set[tuple[int, dt.date]] = set()
        for course_id, lessons in self.lessons_by_course.items():
            self._fill_course(course_id, lessons)

        counts = {
            "lesson": write_lessons(self.sid, self.lessons),
            "assignment": copy_rows(Assignment.__table__, ASSIGNMENT_COLUMNS, self.assignments),
        }
        sync_id_sequence(Assignment)
        counts["mark"] = copy_rows(Mark.__table__, MARK_COLUMNS, self.marks)
        counts["attendance"] = copy_rows(Attendance.__table__, ATTENDANCE_COLUMNS, self.attendance)
        self.assignments = self.marks = self.attendance = self.lessons = []
        return counts

    def _fill_course(self, course_id: int, lessons: list) -> None:
        class_id, grade, kind, assessment, subject = self.courses[course_id]
        students = self.year.students_by_class.get(class_id, [])
        teacher = self.year.course_teacher_user.get(course_id)
        gives_marks = kind == "lesson" and assessment != "none" and grade > 1
        marks_from = self._grade_two_start() if grade == 2 else None
        done = [lesson for lesson in lessons if lesson.date <= self.year.today]
        last_test = -10
        for index, lesson in enumerate(done):
            when = dt.datetime.combine(lesson.date, lesson.ends_at or dt.time(15, 0))
            present = self._mark_attendance(lesson, class_id, students, teacher, when)
            marks_allowed = gives_marks and bool(present)
            if marks_from is not None and lesson.date < marks_from:
                marks_allowed = False
            is_test = gives_marks and index % TEST_EVERY == TEST_EVERY - 1
            if is_test and (class_id, lesson.date) in self.daily_test:
                is_test = False
            lesson.topic = _topic(index, is_test, index == last_test + 1)
            next_lesson = lessons[index + 1] if index + 1 < len(lessons) else None
            if kind == "lesson" and next_lesson is not None:
                self._homework(
                    lesson, next_lesson, course_id, subject, present, teacher, when, marks_allowed
                )
            if not marks_allowed:
                continue
            if is_test:
                self.daily_test.add((class_id, lesson.date))
                last_test = index
                type_name = self.rng.choice(_tests_for(subject))
                self._assignment(
                    lesson,
                    type_name,
                    "Работа по разделу",
                    None,
                    when,
                    course_id,
                    grade,
                    present,
                    teacher,
                    test=True,
                )
            elif self.rng.random() < 0.9:
                count = _share(self.rng, len(present), CLASS_WORK_MARKS, minimum=1)
                type_name = "Ответ на уроке" if self.rng.random() < 0.6 else "Работа на уроке"
                self._assignment(
                    lesson,
                    type_name,
                    "",
                    None,
                    when,
                    course_id,
                    grade,
                    self.rng.sample(present, count),
                    teacher,
                )

    def _mark_attendance(self, lesson, class_id, students, teacher, when) -> list[int]:
        """Write the absences and lateness of one lesson; return the students present."""
        key = (class_id, lesson.date)
        absent = self.absent_on.get(key)
        late = self.late_on.get(key)
        if late and self.first_lesson.get(key) == lesson.id:
            late_code = self.codes["ОП"]
            for student_id in late:
                self.attendance.append(
                    (self.sid, lesson.id, student_id, late_code, None, teacher, when)
                )
        if not absent:
            return students
        absent_code = self.codes["Н"]
        for student_id, reason in absent.items():
            self.attendance.append(
                (
                    self.sid,
                    lesson.id,
                    student_id,
                    absent_code,
                    self.codes[reason] if reason else None,
                    teacher,
                    when,
                )
            )
        return [student_id for student_id in students if student_id not in absent]

    def _homework(
        self, lesson, next_lesson, course_id, subject, present, teacher, when, marks_allowed
    ) -> None:
        if self.rng.random() >= HOMEWORK_SHARE:
            return
        checked = []
        if marks_allowed and next_lesson.date <= self.year.today:
            count = _share(self.rng, len(present), HOMEWORK_MARKS, minimum=0)
            checked = self.rng.sample(present, count)
        grade = self.courses[course_id][1]
        self._assignment(
            lesson,
            "Домашнее задание",
            _homework_text(self.rng, subject),
            next_lesson.date,
            when,
            course_id,
            grade,
            checked,
            teacher,
            duty_share=0.1,
        )

    def _assignment(
        self,
        lesson,
        type_name,
        text,
        due_date,
        when,
        course_id,
        grade,
        marked,
        teacher,
        test=False,
        duty_share=0.0,
    ) -> None:
        assignment_type = self.types[type_name]
        weight = assignment_type.default_weight
        assignment_id = self.next_assignment_id
        self.next_assignment_id += 1
        self.assignments.append(
            (assignment_id, self.sid, lesson.id, assignment_type.id, weight, text, due_date, when)
        )
        term_id = self._term_of(grade, lesson.date)
        float_weight = float(weight)
        rng = self.rng
        marks = self.marks
        students = self.students
        term_sums = self.term_sums
        random_value = rng.random
        for student_id in marked:
            if duty_share and random_value() < duty_share:
                marks.append((self.sid, assignment_id, student_id, "duty", None, teacher, when))
                continue
            student = students[student_id]
            value = 2 + bisect.bisect_right(student.test if test else student.usual, random_value())
            marks.append((self.sid, assignment_id, student_id, "number", value, teacher, when))
            if term_id is not None:
                sums = term_sums[(student_id, course_id, term_id)]
                sums[0] += float_weight * value
                sums[1] += float_weight

    def _term_of(self, grade: int, day: dt.date) -> int | None:
        for term in self.terms_by_grade[grade]:
            if term.start_date <= day <= term.end_date:
                return term.id
        return None

    def _grade_two_start(self) -> dt.date:
        """Grade 2 gets marks from the second quarter on, as most schools decide."""
        quarters = [t for t in self.terms_by_grade[2] if t.kind == "quarter"]
        return quarters[1].start_date if len(quarters) > 1 else dt.date.min

    # --- final marks -----------------------------------------------------------------

    def _final_mark_rows(self):
        """Term marks of finished terms, and year marks of a closed year."""
        finished = {t.id: t for t in self.year.terms if t.end_date < self.year.today}
        term_values = defaultdict(list)
        for (student_id, course_id, term_id), (weighted, weights) in self.term_sums.items():
            term = finished.get(term_id)
            if term is None or weights == 0:
                continue
            value = _round_mark(weighted / weights)
            term_values[(student_id, course_id)].append(value)
            yield self._final_mark(student_id, course_id, "term", term, value, term.end_date)
        if not self.year.closed:
            return
        year_end = max(t.end_date for t in self.year.terms)
        for (student_id, course_id), values in term_values.items():
            value = _round_mark(sum(values) / len(values))
            yield self._final_mark(student_id, course_id, "year", None, value, year_end)

    def _final_mark(self, student_id, course_id, kind, term, value, day) -> tuple:
        text = str(value)
        return (
            self.sid,
            student_id,
            course_id,
            kind,
            term.id if term is not None else None,
            text,
            text,
            self.year.course_teacher_user.get(course_id),
            dt.datetime.combine(day, dt.time(16, 0)),
        )


def fill_year_journal(year: YearJournal, rng: random.Random) -> dict[str, int]:
    """Fill one school year's journal in bulk; return the rows written per table."""
    return BulkJournalFiller(year, rng).run()
