"""Numbers of the health rules (СанПиН 1.2.3685-21) that the weekly template is checked against.

NOTE: the values below were written from the regulation's tables as the developers read
them, not copied from an official file. Check them against the school's own reading of
СанПиН 1.2.3685-21 (and later amendments) before relying on the warnings. The difficulty
points are only defaults: each school edits its own scale on the subject difficulty screen.
"""

import datetime as dt

#: The regulation every warning names.
REGULATION = "СанПиН 1.2.3685-21"

#: Weekly maximum of the compulsory part, in lessons (СанПиН 1.2.3685-21, table 6.6):
#: grade → (five-day week, six-day week). Grade 1 learns only on a five-day week, so it
#: has no six-day value.
WEEKLY_MAXIMUM: dict[int, tuple[int, int | None]] = {
    1: (21, None),
    2: (23, 26),
    3: (23, 26),
    4: (23, 26),
    5: (29, 32),
    6: (30, 33),
    7: (32, 35),
    8: (33, 36),
    9: (33, 36),
    10: (34, 37),
    11: (34, 37),
}

#: Daily maximum in lessons (table 6.6): grade → (usual, allowed once a week when the day
#: has a physical education lesson). Grades 5–11 have no such extra lesson.
DAILY_MAXIMUM: dict[int, tuple[int, int]] = {
    1: (4, 5),
    2: (5, 6),
    3: (5, 6),
    4: (5, 6),
    5: (6, 6),
    6: (6, 6),
    7: (7, 7),
    8: (7, 7),
    9: (7, 7),
    10: (7, 7),
    11: (7, 7),
}

#: Subject names, lower case, that count as physical education for the extra daily lesson.
PHYSICAL_EDUCATION_NAMES = ("физическая культура", "физкультура", "адаптивная физическая культура")

#: Lessons start no earlier and end no later than these times (table 6.6).
EARLIEST_START = dt.time(8, 0)
LATEST_END = dt.time(19, 0)

#: Grades taught only in the first shift, besides classes for students with ОВЗ (table 6.6).
FIRST_SHIFT_GRADES = frozenset({1, 5, 9, 10, 11})


#: The stepped regime of grade 1 (ступенчатый режим, table 6.6): (first month, last month,
#: the maximum of lessons a day or None when the daily maximum applies, lesson length in minutes).
#: Months after December belong to the second calendar year of the school year.
STEPPED_REGIME = (
    (9, 10, 3, 35),
    (11, 12, 4, 35),
    (1, 5, None, 40),
)

#: Default points of the difficulty scale (table 6.9 and the tables after it) for grades
#: 1–4 and 10–11: subject name → points.
_DIFFICULTY_PRIMARY = {
    "Математика": 8,
    "Русский язык": 7,
    "Иностранный язык": 7,
    "Окружающий мир": 6,
    "Информатика": 6,
    "Литературное чтение": 5,
    "Изобразительное искусство": 3,
    "Музыка": 3,
    "Технология": 2,
    "Физическая культура": 1,
}
_DIFFICULTY_SENIOR = {
    "Физика": 12,
    "Геометрия": 11,
    "Химия": 11,
    "Алгебра": 10,
    "Математика": 10,
    "Русский язык": 9,
    "Литература": 8,
    "Иностранный язык": 8,
    "Биология": 7,
    "Информатика": 6,
    "История": 5,
    "Обществознание": 5,
    "Астрономия": 4,
    "География": 3,
    "Основы безопасности жизнедеятельности": 2,
    "Физическая культура": 1,
}
#: Grades 5–9, one value a grade (5, 6, 7, 8, 9); None where the subject is not taught.
_DIFFICULTY_MIDDLE = {
    "Математика": (10, 13, None, None, None),
    "Алгебра": (None, None, 9, 10, 7),
    "Геометрия": (None, None, 12, 10, 8),
    "Русский язык": (12, 11, 10, 7, 6),
    "Литература": (4, 6, 4, 4, 7),
    "Иностранный язык": (9, 11, 10, 8, 9),
    "Физика": (None, None, 8, 9, 13),
    "Химия": (None, None, None, 10, 12),
    "Биология": (10, 8, 7, 7, 7),
    "История": (5, 8, 6, 8, 10),
    "Обществознание": (None, 9, 9, 5, 5),
    "География": (3, 7, 6, 6, 5),
    "Информатика": (None, None, 4, 7, 7),
    "Изобразительное искусство": (3, 3, 1, None, None),
    "Музыка": (2, 1, 1, 1, None),
    "Технология": (4, 3, 2, 1, None),
    "Основы безопасности жизнедеятельности": (None, None, 3, 3, 3),
    "Физическая культура": (3, 4, 2, 2, 2),
}


def default_difficulty() -> list[tuple[str, int, int, int]]:
    """Return the default scale as (subject name, first grade, last grade, points) rows."""
    rows = [(name, 1, 4, points) for name, points in _DIFFICULTY_PRIMARY.items()]
    for name, per_grade in _DIFFICULTY_MIDDLE.items():
        for grade, points in enumerate(per_grade, start=5):
            if points is not None:
                rows.append((name, grade, grade, points))
    rows += [(name, 10, 11, points) for name, points in _DIFFICULTY_SENIOR.items()]
    return rows
