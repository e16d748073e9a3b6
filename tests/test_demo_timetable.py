"""The demo's weekly plan leaves no teacher in two classes at once, at school scale."""

import random

import pytest

from app.demo import reference
from app.demo.staffing import (
    CONVERSATIONS,
    PlannedCourse,
    plan_teachers,
    plan_timetable,
    weekly_hours,
)


def _school_courses() -> tuple[list[tuple[str, int]], list[PlannedCourse]]:
    """Build the courses of a school with classes А and Б in grades 1 to 11."""
    curriculum = reference.curriculum()
    classes, courses = [], []
    for grade in range(1, 12):
        for letter in "АБ":
            name = f"{grade}{letter}"
            classes.append((name, grade))
            for subject, hours in curriculum[grade]:
                courses.append(PlannedCourse(name, grade, subject, weekly_hours(hours)))
            courses.append(PlannedCourse(name, grade, CONVERSATIONS, 1, "extracurricular", "none"))
    return classes, courses


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("days", [5, 6])
def test_school_plan_has_no_clashes(seed, shared, days):
    rng = random.Random(seed)
    classes, courses = _school_courses()
    plan_teachers(courses, classes, rng, shared_informatics=shared)

    slots, clashes = plan_timetable(courses, classes, rng, days=days)

    assert clashes == 0
    taken = [(slot.course.teacher.key, slot.weekday, slot.lesson_number) for slot in slots]
    assert len(taken) == len(set(taken))
