"""The shape of each school of the city-scale demo: its size, term scheme and working week."""

import random
from dataclasses import dataclass

#: Schools the city scale builds when ``--schools`` is not given.
CITY_SCHOOLS = 100

GRADES = tuple(range(1, 12))


@dataclass(frozen=True)
class SchoolProfile:
    """Classes and calendar of one demo school."""

    grades: tuple[int, ...]
    #: One class per letter in each grade.
    letters: str
    #: Students per class, inclusive range.
    students_per_class: tuple[int, int]
    #: Grades 10–11 have half-years (else quarters like the other grades).
    half_years: bool = True
    six_day_week: bool = False


#: City school sizes: share of the schools, class letters per grade, students per class.
#: A large school has about 1,030 students, a medium one 590 and a small one 300, about 600
#: on average.
CITY_SIZES = (
    (0.2, "АБВГ", (22, 25)),
    (0.5, "АБ", (26, 28)),
    (0.3, "А", (25, 29)),
)

#: Every eighth school, from the second on, runs half-years in grades 10–11.
HALF_YEAR_EVERY = 8

#: The third school works six days a week.
SIX_DAY_SCHOOL = 2


def city_profiles(
    count: int, rng: random.Random, class_size: tuple[int, int] | None = None
) -> list[SchoolProfile]:
    """Draw the profile of each of ``count`` city schools.

    ``class_size`` (for tests) gives every school one class per grade of that size.
    """
    profiles = []
    for index in range(count):
        roll = rng.random()
        letters, size = CITY_SIZES[-1][1:]
        for share, size_letters, size_range in CITY_SIZES:
            if roll < share:
                letters, size = size_letters, size_range
                break
            roll -= share
        if class_size is not None:
            letters, size = "А", class_size
        profiles.append(
            SchoolProfile(
                grades=GRADES,
                letters=letters,
                students_per_class=size,
                half_years=index % HALF_YEAR_EVERY == 1,
                six_day_week=index == SIX_DAY_SCHOOL,
            )
        )
    return profiles


def format_duration(seconds: float) -> str:
    """Show seconds as «m:ss», or «h:mm:ss» from one hour on."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
