"""The demo journal up to the build day: topics, homework, marks, absences and term marks.

Each student has a stable ability (the mean of their marks) and a proneness to illness, so
the marks of one student agree across subjects and the class shows more 4s and 5s than 3s,
with few 2s.
"""

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select, update

from app.demo.bulk import insert_rows, insert_rows_returning_ids
from app.models import (
    Assignment,
    Attendance,
    Course,
    FinalMark,
    Lesson,
    Mark,
    SchoolClass,
    Subject,
    db,
)

#: Lessons between two tests of a course.
TEST_EVERY = 8

#: The assignment type of the all-Russian tests (ВПР), by the name the reports look for.
VPR_TYPE = "ВПР"
#: Subjects with a ВПР in every grade of ``VPR_GRADES``: mathematics (algebra from grade
#: 7) and Russian.
VPR_SUBJECTS = frozenset({"Русский язык", "Математика", "Алгебра"})
VPR_GRADES = range(4, 9)
# NOTE: the city scale writes its journal through app/demo/bulk_journal.py, which adds no
# ВПР yet, so the ВПР report of a city demo stays empty.

#: Days before the build day whose absences have no reason yet.
REASON_DELAY_DAYS = 3


@dataclass
class _StudentProfile:
    ability: float
    illness_rate: float
    absent: dict  # date -> reason code or None
    late: set


def _round_mark(average: float) -> int:
    """Round a weighted average at .5, as the default regulation does: 3.5 → 4, 3.49 → 3."""
    return max(2, min(5, int(average + 0.5)))


def _mark_value(rng: random.Random, ability: float, shift: float = 0.0) -> int:
    return max(2, min(5, round(rng.gauss(ability + shift, 0.75))))


def _tests_for(subject: str) -> list[str]:
    if subject in ("Русский язык",):
        return ["Диктант", "Контрольная работа", "Изложение"]
    if subject in ("Литература", "Литературное чтение"):
        return ["Сочинение", "Тестирование", "Контрольная работа"]
    if subject in (
        "Математика",
        "Алгебра",
        "Геометрия",
        "Алгебра и начала математического анализа",
        "Вероятность и статистика",
    ):
        return ["Самостоятельная работа", "Контрольная работа", "Проверочная работа"]
    if subject in ("Физика", "Химия", "Биология"):
        return ["Лабораторная работа", "Контрольная работа", "Тестирование"]
    if subject == "Иностранный язык":
        return ["Контроль грамматики", "Контроль лексеки", "Контрольная работа"]
    if subject == "Физическая культура":
        return ["Зачёт", "Практическая работа"]
    return ["Проверочная работа", "Тестирование", "Практическая работа"]


def _homework_text(rng: random.Random, subject: str) -> str:
    if subject in ("Русский язык", "Иностранный язык"):
        return f"Упражнение {rng.randint(10, 450)}"
    if subject in ("Литература", "Литературное чтение"):
        page = rng.randint(5, 250)
        return f"Прочитать с. {page}–{page + rng.randint(4, 12)}, ответить на вопросы"
    if subject in (
        "Математика",
        "Алгебра",
        "Геометрия",
        "Алгебра и начала математического анализа",
        "Вероятность и статистика",
    ):
        first = rng.randint(1, 900)
        return f"№ {first}, {first + 2}, {first + 5}"
    return f"§ {rng.randint(1, 40)}, вопросы в конце параграфа"


def _topic(index: int, is_test: bool, after_test: bool) -> str:
    """Name a plausible topic from the lesson's place in a cycle of new material and practice."""
    if index == 0:
        return "Вводный урок. Повторение изученного"
    if is_test:
        return "Контроль знаний по разделу"
    if after_test:
        return "Анализ проверочной работы, работа над ошибками"
    unit = index // 4 + 1
    stage = ["Изучение нового материала", "Закрепление", "Практикум", "Обобщение"][index % 4]
    return f"Тема {unit}. {stage}"


class _JournalFiller:
    def __init__(self, school):
        self.school = school
        self.demo = school.demo
        self.rng = random.Random(school.rng.random())
        self.today = self.demo.today
        self.sid = school.school_id

    def run(self) -> None:
        self._load()
        self._plan_attendance()
        self._fill()
        self._write_term_marks()

    def _load(self) -> None:
        sid = self.sid
        rows = db.session.execute(
            select(
                Course.id,
                Course.class_id,
                SchoolClass.grade,
                Course.kind,
                Course.assessment,
                Subject.name,
            )
            .join(SchoolClass, SchoolClass.id == Course.class_id)
            .join(Subject, Subject.id == Course.subject_id)
            .where(Course.school_id == sid)
        ).all()
        self.courses = {r.id: r for r in rows}
        self.lessons_by_course = defaultdict(list)
        self.lessons_by_class_day = defaultdict(list)
        lesson_rows = db.session.execute(
            select(Lesson.id, Lesson.course_id, Lesson.date, Lesson.lesson_number, Lesson.ends_at)
            .where(Lesson.school_id == sid)
            .order_by(Lesson.course_id, Lesson.date, Lesson.lesson_number)
        ).all()
        for lesson in lesson_rows:
            self.lessons_by_course[lesson.course_id].append(lesson)
            class_id = self.courses[lesson.course_id].class_id
            if lesson.date <= self.today:
                self.lessons_by_class_day[(class_id, lesson.date)].append(lesson)
        self.first_lesson_of_day = {
            key: min(lessons, key=lambda lesson: lesson.lesson_number).id
            for key, lessons in self.lessons_by_class_day.items()
        }
        self.types = {name: item for name, item in self.school.assignment_types.items()}
        self.codes = {code: item.id for code, item in self.school.attendance_codes.items()}

    # --- attendance ----------------------------------------------------------------

    def _plan_attendance(self) -> None:
        """Give each student an ability and the days they miss or come late."""
        days_by_class = defaultdict(set)
        for class_id, day in self.lessons_by_class_day:
            days_by_class[class_id].add(day)
        self.profiles: dict[int, _StudentProfile] = {}
        for class_id, students in self.school.students_by_class.items():
            days = sorted(days_by_class.get(class_id, ()))
            for student_id in students:
                ability = min(4.95, max(2.7, self.rng.gauss(4.05, 0.5)))
                rate = self.rng.choice([0.005, 0.01, 0.015, 0.03])
                profile = _StudentProfile(ability, rate, {}, set())
                index = 0
                while index < len(days):
                    roll = self.rng.random()
                    if roll < profile.illness_rate:
                        length = self.rng.randint(2, 6)
                        reason = "Б" if self.rng.random() < 0.8 else "УП"
                        for day in days[index : index + length]:
                            profile.absent[day] = reason
                        index += length
                        continue
                    if roll < profile.illness_rate + 0.006:
                        profile.absent[days[index]] = self.rng.choice(["НП", "УП", "ОЛ", "НП"])
                    elif roll < profile.illness_rate + 0.016:
                        profile.late.add(days[index])
                    index += 1
                for day in list(profile.absent):
                    recent = (self.today - day).days < REASON_DELAY_DAYS
                    if recent or self.rng.random() < 0.08:
                        profile.absent[day] = None
                self.profiles[student_id] = profile

    # --- lessons, assignments and marks ------------------------------------------

    def _fill(self) -> None:
        topics = []
        attendance = []
        assignment_rows = []
        pending_marks = []  # per assignment row: list of mark dicts without assignment_id
        self.term_sums = defaultdict(lambda: [0.0, 0.0])
        daily_procedure = set()
        grade_two_start = self._grade_two_marks_start()

        for course_id, lessons in self.lessons_by_course.items():
            course = self.courses[course_id]
            students = self.school.students_by_class.get(course.class_id, [])
            teacher_user = self.school.course_teacher_user.get(course_id)
            gives_marks = (
                course.kind == "lesson" and course.assessment != "none" and course.grade > 1
            )
            done = [lesson for lesson in lessons if lesson.date <= self.today]
            last_test = -10
            for index, lesson in enumerate(done):
                is_test = gives_marks and index % TEST_EVERY == TEST_EVERY - 1
                key = (course.class_id, lesson.date)
                if is_test and key in daily_procedure:
                    is_test = False
                topics.append(
                    {"id": lesson.id, "topic": _topic(index, is_test, index == last_test + 1)}
                )
                when = dt.datetime.combine(lesson.date, lesson.ends_at or dt.time(15, 0))
                present = []
                for student_id in students:
                    profile = self.profiles[student_id]
                    if lesson.date in profile.absent:
                        attendance.append(
                            self._attendance(
                                lesson,
                                student_id,
                                "Н",
                                profile.absent[lesson.date],
                                teacher_user,
                                when,
                            )
                        )
                        continue
                    present.append(student_id)
                    if self.first_lesson_of_day[key] == lesson.id and lesson.date in profile.late:
                        attendance.append(
                            self._attendance(lesson, student_id, "ОП", None, teacher_user, when)
                        )

                marks_allowed = gives_marks and not (
                    course.grade == 2 and lesson.date < grade_two_start
                )
                next_lesson = lessons[index + 1] if index + 1 < len(lessons) else None
                if (
                    next_lesson is not None
                    and (course.kind == "lesson")
                    and self.rng.random() < 0.7
                ):
                    marks = []
                    due_done = next_lesson.date <= self.today
                    if marks_allowed and due_done and present:
                        for student_id in self.rng.sample(
                            present, min(len(present), self.rng.randint(0, 3))
                        ):
                            if self.rng.random() < 0.1:
                                marks.append(
                                    self._mark(student_id, None, teacher_user, when, kind="duty")
                                )
                            else:
                                value = _mark_value(
                                    self.rng, self.profiles[student_id].ability, 0.1
                                )
                                marks.append(self._mark(student_id, value, teacher_user, when))
                    self._add_assignment(
                        assignment_rows,
                        pending_marks,
                        lesson,
                        "Домашнее задание",
                        _homework_text(self.rng, course.name),
                        next_lesson.date,
                        marks,
                        course_id,
                    )
                if not marks_allowed or not present:
                    continue
                if is_test:
                    daily_procedure.add(key)
                    last_test = index
                    type_name = self.rng.choice(_tests_for(course.name))
                    marks = [
                        self._mark(
                            s,
                            _mark_value(self.rng, self.profiles[s].ability, -0.2),
                            teacher_user,
                            when,
                        )
                        for s in present
                    ]
                    self._add_assignment(
                        assignment_rows,
                        pending_marks,
                        lesson,
                        type_name,
                        "Работа по разделу",
                        None,
                        marks,
                        course_id,
                    )
                elif self.rng.random() < 0.85:
                    answered = self.rng.sample(present, min(len(present), self.rng.randint(1, 4)))
                    marks = [
                        self._mark(
                            s,
                            _mark_value(self.rng, self.profiles[s].ability, 0.15),
                            teacher_user,
                            when,
                        )
                        for s in answered
                    ]
                    self._add_assignment(
                        assignment_rows,
                        pending_marks,
                        lesson,
                        "Ответ на уроке",
                        "",
                        None,
                        marks,
                        course_id,
                    )

        self._add_vpr(assignment_rows, pending_marks, daily_procedure)

        db.session.execute(update(Lesson), topics) if topics else None
        # A lesson gets at most one assignment of each type, so (lesson, type) finds each row.
        ids = insert_rows_returning_ids(Assignment, assignment_rows, ("lesson_id", "type_id"))
        mark_rows = []
        for assignment_id, marks in zip(ids, pending_marks, strict=True):
            for mark in marks:
                mark["assignment_id"] = assignment_id
                mark_rows.append(mark)
        insert_rows(Mark, mark_rows)
        insert_rows(Attendance, attendance)

    def _add_vpr(self, assignment_rows, pending_marks, daily_procedure) -> None:
        """Give each ВПР subject of grades 4–8 one ВПР with a mark for every present student.

        The work is written on the first lesson after the first term, so that the ВПР
        report has a term mark to compare it with, on a day without another assessment
        procedure of the class. Marks run a little below the students' usual ones.
        """
        for course_id, lessons in self.lessons_by_course.items():
            course = self.courses[course_id]
            if course.grade not in VPR_GRADES or course.name not in VPR_SUBJECTS:
                continue
            lesson = self._vpr_lesson(course, lessons, daily_procedure)
            if lesson is None:
                continue
            daily_procedure.add((course.class_id, lesson.date))
            students = self.school.students_by_class.get(course.class_id, [])
            teacher_user = self.school.course_teacher_user.get(course_id)
            when = dt.datetime.combine(lesson.date, lesson.ends_at or dt.time(15, 0))
            marks = [
                self._mark(
                    s, _mark_value(self.rng, self.profiles[s].ability, -0.3), teacher_user, when
                )
                for s in students
                if lesson.date not in self.profiles[s].absent
            ]
            self._add_assignment(
                assignment_rows,
                pending_marks,
                lesson,
                VPR_TYPE,
                "Всероссийская проверочная работа",
                None,
                marks,
                course_id,
            )

    def _vpr_lesson(self, course, lessons, daily_procedure):
        """Return the first lesson held after the course's first term with a free day."""
        first_term_end = min(
            (t.end_date for t in self.school.terms if t.applies_to_grade(course.grade)),
            default=None,
        )
        for lesson in lessons:
            if lesson.date > self.today:
                return None
            if first_term_end is not None and lesson.date <= first_term_end:
                continue
            if (course.class_id, lesson.date) not in daily_procedure:
                return lesson
        return None

    def _grade_two_marks_start(self) -> dt.date:
        """Grade 2 gets marks from the second quarter on, as most schools decide."""
        quarters = sorted(
            (t for t in self.school.terms if t.kind == "quarter"), key=lambda t: t.number
        )
        return quarters[1].start_date if len(quarters) > 1 else self.school.year.start_date

    def _attendance(self, lesson, student_id, code, reason, user_id, when) -> dict:
        return {
            "school_id": self.sid,
            "lesson_id": lesson.id,
            "student_id": student_id,
            "code_id": self.codes[code],
            "reason_id": self.codes[reason] if reason else None,
            "changed_by_id": user_id,
            "changed_at": when,
        }

    def _mark(self, student_id, value, user_id, when, kind="number") -> dict:
        return {
            "school_id": self.sid,
            "student_id": student_id,
            "kind": kind,
            "value": value,
            "changed_by_id": user_id,
            "changed_at": when,
        }

    def _add_assignment(
        self, rows, pending, lesson, type_name, text, due_date, marks, course_id
    ) -> None:
        assignment_type = self.types[type_name]
        weight = assignment_type.default_weight
        rows.append(
            {
                "school_id": self.sid,
                "lesson_id": lesson.id,
                "type_id": assignment_type.id,
                "weight": weight,
                "text": text,
                "due_date": due_date,
            }
        )
        pending.append(marks)
        term = self._term_of(course_id, lesson.date)
        if term is None:
            return
        for mark in marks:
            if mark["kind"] == "number":
                sums = self.term_sums[(mark["student_id"], course_id, term.id)]
                sums[0] += float(weight) * mark["value"]
                sums[1] += float(weight)

    def _term_of(self, course_id, day):
        grade = self.courses[course_id].grade
        for term in self.school.terms:
            if term.applies_to_grade(grade) and term.start_date <= day <= term.end_date:
                return term
        return None

    # --- term marks --------------------------------------------------------------

    def _write_term_marks(self) -> None:
        """Write term marks of finished terms, rounded from the students' weighted averages."""
        finished = {term.id: term for term in self.school.terms if term.end_date < self.today}
        rows = []
        for (student_id, course_id, term_id), (weighted, weights) in self.term_sums.items():
            term = finished.get(term_id)
            if term is None or weights == 0:
                continue
            value = str(_round_mark(weighted / weights))
            rows.append(
                {
                    "school_id": self.sid,
                    "student_id": student_id,
                    "course_id": course_id,
                    "kind": "term",
                    "term_id": term_id,
                    "value": value,
                    "suggested": value,
                    "changed_by_id": self.school.course_teacher_user.get(course_id),
                    "changed_at": dt.datetime.combine(term.end_date, dt.time(16, 0)),
                }
            )
        insert_rows(FinalMark, rows)


def fill_journal(school) -> None:
    """Fill the journal of one demo school (a ``_SchoolBuilder``) up to the build day."""
    _JournalFiller(school).run()
