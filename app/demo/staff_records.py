"""Personnel records of the demo staff: positions, education, category and courses.

Rows are written in bulk, a handful per employee, so that the school scale stays quick.
The values are plausible rather than real: teachers mostly have a pedagogical higher
education, a category assigned for five years, and courses of 16 to 72 hours.
"""

import datetime as dt
import random
from decimal import Decimal

from app.demo.bulk import insert_rows
from app.models import StaffEducation, StaffPosition, StaffRecord, TrainingCourse

#: Institutions of the demo's diplomas.
INSTITUTIONS = (
    "Московский педагогический государственный университет",
    "Московский городской педагогический университет",
    "Российский государственный педагогический университет им. А. И. Герцена",
    "Педагогический колледж № 15",
)

#: Courses of professional development (курсы повышения квалификации) and their hours.
COURSES = (
    ("Реализация требований обновлённых ФГОС в работе учителя", 36),
    ("Формирование функциональной грамотности обучающихся", 72),
    ("Оказание первой помощи", 16),
    ("Подготовка обучающихся к ВПР и ГИА", 36),
    ("Цифровая образовательная среда в школе", 24),
)

#: Qualification categories with their shares among teachers: the usual mix of a school.
CATEGORIES = (("highest", 0.35), ("first", 0.35), ("conformity", 0.15), ("none", 0.15))

#: Years a first or highest category stays valid after its assignment.
CATEGORY_YEARS = 5


def _category(rng: random.Random) -> str:
    roll = rng.random()
    for code, share in CATEGORIES:
        if roll < share:
            return code
        roll -= share
    return "none"


def _years_before(day: dt.date, years: int) -> dt.date:
    """Return the day ``years`` before ``day``; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def staff_record_rows(
    school_id: int,
    employees: list[tuple[int, str, dt.date | None]],
    today: dt.date,
    rng: random.Random,
) -> dict[type, list[dict]]:
    """Plan the personnel rows of ``employees`` (id, position, birth date) by model."""
    rows: dict[type, list[dict]] = {
        StaffRecord: [],
        StaffPosition: [],
        StaffEducation: [],
        TrainingCourse: [],
    }
    for employee_id, position, birth_date in employees:
        is_teacher = position.startswith("Учитель")
        age = (today - birth_date).days // 365 if birth_date else 40
        experience = max(0, min(age - 22, 40) - rng.randint(0, 3))
        category = _category(rng) if is_teacher else "none"
        assigned = _years_before(today, rng.randint(0, CATEGORY_YEARS - 1)) - dt.timedelta(
            days=rng.randint(0, 300)
        )
        rows[StaffRecord].append(
            {
                "school_id": school_id,
                "employee_id": employee_id,
                "category": category,
                "category_assigned_on": assigned if category in ("first", "highest") else None,
                "category_valid_until": _years_before(assigned, -CATEGORY_YEARS)
                if category in ("first", "highest")
                else None,
                "total_experience_years": experience,
                "total_experience_months": rng.randint(0, 11),
                "teaching_experience_years": experience if is_teacher else 0,
                "teaching_experience_months": 0,
                "experience_as_of": today,
            }
        )
        rows[StaffPosition].append(
            {
                "school_id": school_id,
                "employee_id": employee_id,
                "title": position,
                "rate": Decimal("1.5") if is_teacher and rng.random() < 0.3 else Decimal("1"),
                "date_from": _years_before(today, min(experience, rng.randint(1, 15))),
                "date_to": None,
            }
        )
        graduated = today.year - experience - rng.randint(0, 2)
        rows[StaffEducation].append(
            {
                "school_id": school_id,
                "employee_id": employee_id,
                "level": "higher_specialist" if rng.random() < 0.8 else "secondary_vocational",
                "institution": rng.choice(INSTITUTIONS),
                "graduation_year": graduated,
                "speciality": "Педагогическое образование" if is_teacher else None,
            }
        )
        for name, hours in rng.sample(COURSES, rng.randint(0, 2) if is_teacher else 1):
            start = today - dt.timedelta(days=rng.randint(30, 4 * 365))
            rows[TrainingCourse].append(
                {
                    "school_id": school_id,
                    "employee_id": employee_id,
                    "name": name,
                    "hours": hours,
                    "date_from": start,
                    "date_to": start + dt.timedelta(days=max(1, hours // 8)),
                    "document": f"удостоверение № {rng.randint(100000, 999999)}",
                }
            )
    return rows


def add_staff_records(
    school_id: int,
    employees: list[tuple[int, str, dt.date | None]],
    today: dt.date,
    rng: random.Random,
) -> None:
    """Write the personnel records of the demo school's employees."""
    for model, rows in staff_record_rows(school_id, employees, today, rng).items():
        insert_rows(model, rows)
