"""Readers of the real reference data shipped in ``app/demo/data`` (see SOURCES.md there)."""

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

#: Rows of the curriculum files that are totals or limits, not subjects.
_CURRICULUM_TOTAL_PREFIXES = (
    "ИТОГО",
    "Часть формируемая",
    "Максимально",
    "Учебные недели",
    "Всего",
)


def _read_csv(relative: str, delimiter: str = ",") -> list[dict]:
    with open(DATA_DIR / relative, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


@cache
def curriculum() -> dict[int, list[tuple[str, Decimal]]]:
    """Weekly hours of each subject in grades 1–11 from the federal curricula (ФОП, 2023).

    NOTE: the grade 10–11 file (ФОП СОО, universal profile) was compiled from memory and not
    checked against the official text, so the hours of grades 10 and 11 are unverified.
    """
    files = {
        "curriculum/fup_noo_5day_2023.csv": range(1, 5),
        "curriculum/fup_ooo_5day_2023.csv": range(5, 10),
        "curriculum/fup_soo_universal_5day_UNVERIFIED.csv": range(10, 12),
    }
    plan: dict[int, list[tuple[str, Decimal]]] = {grade: [] for grade in range(1, 12)}
    for relative, grades in files.items():
        for row in _read_csv(relative):
            subject = row["subject"].strip()
            if subject.startswith(_CURRICULUM_TOTAL_PREFIXES):
                continue
            for grade in grades:
                hours = Decimal(row[f"grade{grade}"].replace(",", ".") or "0")
                if hours > 0:
                    plan[grade].append((subject, hours))
    return plan


@dataclass(frozen=True)
class AssignmentTypeSpec:
    name: str
    sgo_id: int


@cache
def assignment_types() -> list[AssignmentTypeSpec]:
    """Assignment types of «Сетевой Город» with their ids there (netschoolapi, 2020)."""
    with open(
        DATA_DIR / "sgo_api/assignment_types_hardcoded_2020.json", encoding="utf-8"
    ) as handle:
        data = json.load(handle)
    return [AssignmentTypeSpec(item["name"], int(item["id"])) for item in data["types"]]


@dataclass(frozen=True)
class BellPeriodSpec:
    lesson_number: int
    starts_at: dt.time
    ends_at: dt.time


def _time(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


@cache
def bell_schedules() -> dict[str, list[BellPeriodSpec]]:
    """Real bell schedules by their regime label, in lesson order."""
    schedules: dict[str, list[BellPeriodSpec]] = {}
    for row in _read_csv("curriculum/bell_schedules_real_examples.csv"):
        regime = row["regime"]
        # The second-shift row of the diary sample is a single lesson, not a schedule.
        if "2 смена" in regime:
            continue
        schedules.setdefault(regime, []).append(
            BellPeriodSpec(int(row["lesson_no"]), _time(row["start"]), _time(row["end"]))
        )
    return schedules


@cache
def public_holidays() -> list[tuple[int, int, str]]:
    """(month, day, name) of the non-working public holidays of the Labour Code, art. 112."""
    return [
        (int(row["month"]), int(row["day"]), row["name"])
        for row in _read_csv("curriculum/public_holidays_labour_code.csv")
    ]


@dataclass(frozen=True)
class CalendarPeriod:
    period: str
    start: dt.date
    end: dt.date | None


@cache
def reference_calendar() -> dict[str, CalendarPeriod]:
    """Read the ministry's quarter-system calendar of 2025/26, by period name."""
    periods = {}
    for row in _read_csv("curriculum/school_calendar_reference.csv"):
        if row["school_year"] != "2025/2026" or row["system"] != "четверти" or not row["start"]:
            continue
        end = dt.date.fromisoformat(row["end"]) if row["end"] else None
        periods[row["period"]] = CalendarPeriod(
            row["period"], dt.date.fromisoformat(row["start"]), end
        )
    return periods


@dataclass(frozen=True)
class SchoolRecord:
    number: str
    full_name: str
    address: str
    okrug: str
    district: str
    authority: str


_SCHOOL_NUMBER = re.compile(r"школа № ?(\d+)")


@cache
def moscow_schools() -> list[SchoolRecord]:
    """State secondary schools of Moscow (open data of 2013) whose name carries a number."""
    records = []
    for row in _read_csv("schools/moscow_schools_sosh_2013.csv", delimiter=";"):
        if row["form_of_incorporation"] != "Государственное":
            continue
        match = _SCHOOL_NUMBER.search(row["name"])
        if match is None:
            continue
        records.append(
            SchoolRecord(
                number=match.group(1),
                full_name=row["name"].strip(),
                address=row["adress"].strip(),
                okrug=row["okrug"].strip(),
                district=row["rayon"].strip(),
                authority=row["submission"].strip(),
            )
        )
    return records
