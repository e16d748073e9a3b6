"""Closed school years before the current one, for ``flask demo --years N``.

A past year repeats the school's current structure: the same class letters, courses,
teachers and weekly timetable. Each current class was one grade lower a year earlier, so its
students fill the lower class of that year. The upper classes of a past year get students who
have since finished school, kept as inactive students without a login. The year and its terms
are closed, and its journal has term and year marks.
"""

import datetime as dt
import random
from decimal import Decimal

from app.demo import reference
from app.demo.bulk import insert_rows, insert_rows_returning_ids
from app.demo.bulk_journal import YearJournal, fill_year_journal
from app.demo.calendar import build_calendar, school_year_start
from app.models import (
    AcademicYear,
    Course,
    CurriculumHours,
    Holiday,
    SchoolClass,
    Student,
    Term,
    TimetableEntry,
    Vacation,
    course_teacher,
    db,
)

# NOTE: past years get no enrollments, because a move up to the next grade at the end of a
# year is not one of the recorded movements. So a past class lists no students by
# ``Student.class_id`` or by enrollment, and its students are found only through their marks
# and final marks.


def build_past_year(school, years_back: int) -> None:
    """Add the closed year ``years_back`` years before the current one to a ``_SchoolBuilder``."""
    _PastYear(school, years_back).build()


class _PastYear:
    def __init__(self, school, years_back: int):
        self.school = school
        self.years_back = years_back
        self.sid = school.school_id
        start = school_year_start(school.demo.today)
        self.calendar = build_calendar(
            dt.date(start.year - years_back, 10, 1), half_years=school.profile.half_years
        )

    def build(self) -> None:
        self._build_year()
        self._build_classes()
        self._build_courses()
        self._place_students()
        calendar = self.calendar
        journal = YearJournal(
            school_id=self.sid,
            year=self.year,
            terms=self.terms,
            students_by_class=self.students_by_class,
            course_teacher_user=self.course_teacher_user,
            assignment_types=self.school.assignment_types,
            attendance_codes=self.school.attendance_codes,
            today=calendar.end + dt.timedelta(days=1),
            closed=True,
        )
        fill_year_journal(journal, random.Random(self.school.rng.random()))

    def _build_year(self) -> None:
        calendar = self.calendar
        self.year = AcademicYear(
            school_id=self.sid,
            name=calendar.name,
            start_date=calendar.start,
            end_date=calendar.end,
            is_closed=True,
        )
        db.session.add(self.year)
        db.session.flush()
        self.terms = [
            Term(
                school_id=self.sid,
                year_id=self.year.id,
                kind=spec.kind,
                number=spec.number,
                name=spec.name,
                start_date=spec.start,
                end_date=spec.end,
                grade_from=spec.grade_from,
                grade_to=spec.grade_to,
                is_closed=True,
            )
            for spec in calendar.terms
        ]
        db.session.add_all(self.terms)
        self.vacations = []
        for spec in calendar.vacations:
            vacation = Vacation(
                school_id=self.sid,
                year_id=self.year.id,
                name=spec.name,
                start_date=spec.start,
                end_date=spec.end,
            )
            self.vacations.append((vacation, spec.grades))
            db.session.add(vacation)
        for date, name in calendar.holidays:
            db.session.add(Holiday(school_id=self.sid, date=date, name=name, is_working_day=False))
        self.school._build_bell_schedules(calendar)
        db.session.flush()

    def _build_classes(self) -> None:
        school = self.school
        self.classes: dict[str, SchoolClass] = {}
        for name, current in school.classes.items():
            self.classes[name] = SchoolClass(
                school_id=self.sid,
                year_id=self.year.id,
                grade=current.grade,
                letter=current.letter,
                name=name,
                shift=current.shift,
                six_day_week=current.six_day_week,
                class_teacher_id=current.class_teacher_id,
                room_id=current.room_id,
            )
        db.session.add_all(self.classes.values())
        db.session.flush()
        for vacation, grades in self.vacations:
            if grades:
                vacation.classes = [c for c in self.classes.values() if c.grade in grades]
        plan = reference.curriculum()
        for grade in school.profile.grades:
            for subject, hours in plan[grade]:
                db.session.add(
                    CurriculumHours(
                        school_id=self.sid,
                        year_id=self.year.id,
                        subject_id=school.subjects[subject].id,
                        grade=grade,
                        hours_per_week=hours,
                    )
                )
        db.session.flush()

    def _build_courses(self) -> None:
        """Repeat the current courses, teachers and weekly timetable in the past year's classes."""
        school = self.school
        rows = [
            {
                "school_id": self.sid,
                "year_id": self.year.id,
                "subject_id": school.subjects[planned.subject].id,
                "class_id": self.classes[planned.class_key].id,
                "kind": planned.kind,
                "assessment": planned.assessment,
                "hours_per_week": Decimal(planned.hours),
            }
            for planned in school.planned_courses
        ]
        ids = insert_rows_returning_ids(Course, rows, ("class_id", "subject_id", "kind"))
        course_ids = {
            id(planned): course_id
            for planned, course_id in zip(school.planned_courses, ids, strict=True)
        }
        self.course_teacher_user = {}
        teacher_rows = []
        for planned in school.planned_courses:
            course_id = course_ids[id(planned)]
            teacher_rows.append(
                {"course_id": course_id, "employee_id": school.employee_ids[planned.teacher.key]}
            )
            self.course_teacher_user[course_id] = school.teacher_people[planned.teacher.key].user_id
        insert_rows(course_teacher, teacher_rows)
        insert_rows(
            TimetableEntry,
            [
                {
                    "school_id": self.sid,
                    "course_id": course_ids[id(slot.course)],
                    "weekday": slot.weekday,
                    "lesson_number": slot.lesson_number,
                    "room_id": school.rooms[slot.course.teacher.key].id,
                    "week_parity": "every",
                }
                for slot in school.slots
            ],
        )

    def _place_students(self) -> None:
        """Put each cohort in its class of that year; cohorts gone from school become leavers."""
        school = self.school
        self.students_by_class: dict[int, list[int]] = {}
        for past_class in self.classes.values():
            cohort_grade = past_class.grade + self.years_back
            current = school.classes.get(f"{cohort_grade}{past_class.letter}")
            if current is not None:
                students = school.students_by_class.get(current.id, [])
            else:
                # Finished school, or (in the small demo, which skips grades) left it.
                students = _leavers(school, cohort_grade, past_class.letter)
            self.students_by_class[past_class.id] = list(students)


def _leavers(school, cohort_grade: int, letter: str) -> list[int]:
    """Create the students of a cohort no longer at school, once per school and cohort."""
    cache = school.__dict__.setdefault("leavers", {})
    key = (cohort_grade, letter)
    if key in cache:
        return cache[key]
    low, high = school.profile.students_per_class
    number = school.__dict__.setdefault("next_file_number", len(school.members) + 1)
    rows = []
    names = school.demo.names
    for _student in range(school.rng.randint(low, high)):
        name = names.child(school.rng.choice("mf"), names.surname(), names.father_first_name())
        rows.append(
            {
                "school_id": school.school_id,
                "user_id": None,
                "class_id": None,
                "last_name": name.last_name,
                "first_name": name.first_name,
                "middle_name": name.middle_name,
                "birth_date": school._student_birth(cohort_grade),
                "sex": name.sex,
                "personal_file_number": f"{number:04d}",
                "is_active": False,
            }
        )
        number += 1
    school.next_file_number = number
    cache[key] = insert_rows_returning_ids(Student, rows, ("school_id", "personal_file_number"))
    return cache[key]
