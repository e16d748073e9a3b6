"""The demo school year: the 2025/26 holiday pattern moved onto the year that contains a day."""

import datetime as dt
from dataclasses import dataclass, field

from app.demo.reference import public_holidays, reference_calendar

#: The year whose official calendar is the pattern.
PATTERN_START = dt.date(2025, 9, 1)


@dataclass(frozen=True)
class DemoVacation:
    name: str
    start: dt.date
    end: dt.date
    #: Grades that rest; empty for the whole school.
    grades: tuple[int, ...] = ()


@dataclass(frozen=True)
class DemoTerm:
    kind: str
    number: int
    name: str
    start: dt.date
    end: dt.date
    grade_from: int
    grade_to: int


@dataclass
class DemoCalendar:
    start: dt.date
    end: dt.date
    vacations: list[DemoVacation] = field(default_factory=list)
    terms: list[DemoTerm] = field(default_factory=list)
    holidays: list[tuple[dt.date, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.start.year}/{self.start.year + 1}"


def school_year_start(today: dt.date) -> dt.date:
    """1 September of the year that contains ``today``; in June–August, of the year just ended."""
    year = today.year if today.month >= 9 else today.year - 1
    return dt.date(year, 9, 1)


def move_date(pattern_day: dt.date, start: dt.date) -> dt.date:
    """Move a day of the pattern year to the same weekday nearest its date in the target year.

    Keeping the weekday keeps vacations running from Saturday to Sunday as in the pattern.
    """
    years = start.year - PATTERN_START.year
    try:
        same_date = pattern_day.replace(year=pattern_day.year + years)
    except ValueError:  # 29 February
        same_date = pattern_day.replace(year=pattern_day.year + years, day=28)
    shift = (pattern_day.weekday() - same_date.weekday()) % 7
    if shift > 3:
        shift -= 7
    return same_date + dt.timedelta(days=shift)


def build_calendar(today: dt.date, half_years: bool = True) -> DemoCalendar:
    """Dates of the school year containing ``today``: vacations, quarters, half-years, holidays.

    With ``half_years`` grades 10–11 have two half-years and the quarters cover grades 1–9;
    without it every grade has quarters.
    """
    start = school_year_start(today)
    pattern = reference_calendar()

    def moved(period: str) -> tuple[dt.date, dt.date]:
        item = pattern[period]
        return move_date(item.start, start), move_date(item.end, start)

    autumn = moved("осенние каникулы")
    winter = moved("зимние каникулы")
    spring = moved("весенние каникулы")
    extra_first_grade = moved("дополнительные каникулы 1 класс")
    summer_start = move_date(pattern["летние каникулы"].start, start)
    end = summer_start - dt.timedelta(days=1)

    calendar = DemoCalendar(start=start, end=end)
    calendar.vacations = [
        DemoVacation("Осенние каникулы", *autumn),
        DemoVacation("Зимние каникулы", *winter),
        DemoVacation("Дополнительные каникулы для первых классов", *extra_first_grade, grades=(1,)),
        DemoVacation("Весенние каникулы", *spring),
    ]
    day = dt.timedelta(days=1)
    quarters = [
        (start, autumn[0] - day),
        (autumn[1] + day, winter[0] - day),
        (winter[1] + day, spring[0] - day),
        (spring[1] + day, end),
    ]
    last_quarter_grade = 9 if half_years else 11
    calendar.terms = [
        DemoTerm("quarter", number, f"{number} четверть", first, last, 1, last_quarter_grade)
        for number, (first, last) in enumerate(quarters, start=1)
    ]
    if half_years:
        calendar.terms += [
            DemoTerm("half_year", 1, "1 полугодие", start, winter[0] - day, 10, 11),
            DemoTerm("half_year", 2, "2 полугодие", winter[1] + day, end, 10, 11),
        ]
    for year in (start.year, start.year + 1):
        for month, day_of_month, name in public_holidays():
            date = dt.date(year, month, day_of_month)
            if start <= date <= end:
                calendar.holidays.append((date, name))
    # NOTE: the yearly government decree that moves days off and working days is not in the
    # reference data, so the demo has the fixed public holidays only.
    calendar.holidays.sort()
    return calendar
