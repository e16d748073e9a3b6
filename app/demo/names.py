"""Fictional Russian names drawn at random from real name-frequency lists.

First names, patronymics and surnames are combined independently, weighted by how often
each occurs, so a generated person is no real person. Logins are transliterated names.
"""

import csv
import random
from dataclasses import dataclass
from functools import cache

from app.demo.reference import DATA_DIR

NAMES_DIR = DATA_DIR / "names"


@dataclass(frozen=True)
class PersonName:
    last_name: str
    first_name: str
    middle_name: str
    sex: str  # "m" or "f"


def _read_yaml_counts(filename: str) -> dict[str, int]:
    """Read the flat ``name: count`` files of realistic-russian-names (no YAML library needed)."""
    counts = {}
    with open(NAMES_DIR / filename, encoding="utf-8") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if value.strip().isdigit():
                counts[name.strip()] = int(value)
    return counts


@cache
def _patronymic_forms() -> dict[str, tuple[str, str]]:
    """Male first name → (male patronymic, female patronymic)."""
    forms = {}
    with open(NAMES_DIR / "russian_patronymics.yaml", encoding="utf-8") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            parts = [part.strip() for part in value.split(",")]
            if len(parts) == 2 and all(parts):
                forms[name.strip()] = (parts[0], parts[1])
    return forms


def feminine_surname(surname: str) -> str | None:
    """Return the feminine form of a male surname, or None when the rule is not known.

    Иванов → Иванова, Ильин → Ильина, Полянский → Полянская, Толстой → Толстая; surnames
    that do not change (Шевченко, Шевчук, Черных) stay as they are.
    """
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith(("ский", "цкий")):
        return surname[:-2] + "ая"
    if surname.endswith(("ой", "ый")):
        return surname[:-2] + "ая"
    if surname.endswith(("ий", "ья", "а", "я")):
        return None
    return surname


class _Weighted:
    """Values with weights, drawn with ``random.choices`` through cumulative weights."""

    def __init__(self, counts: dict[str, int]):
        self.values = list(counts)
        total = 0
        self.cumulative = []
        for value in self.values:
            total += counts[value]
            self.cumulative.append(total)

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.values, cum_weights=self.cumulative, k=1)[0]


@cache
def _lists():
    surnames = {}
    for surname, count in _read_yaml_counts("russian_male_last_names_top3000.yaml").items():
        if feminine_surname(surname) is not None:
            surnames[surname] = count
    children = {
        "m": _read_yaml_counts("russian_male_first_names_and_popularity.yaml"),
        "f": _read_yaml_counts("russian_female_first_names_and_popularity.yaml"),
    }
    adults = {"m": {}, "f": {}}
    with open(NAMES_DIR / "datacoon_first_names_top3000.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["ethnic"] == "slav" and row["gender"] in adults:
                adults[row["gender"]][row["name"]] = int(row["count"])
    patronymics = {"m": {}, "f": {}}
    with open(NAMES_DIR / "datacoon_patronymics_top3000.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["ethnic"] == "slav" and row["gender"] in patronymics:
                patronymics[row["gender"]][row["patronymic"]] = int(row["count"])
    # Fathers need a first name whose patronymic forms are known, for their children.
    forms = _patronymic_forms()
    fathers = {name: count for name, count in adults["m"].items() if name in forms}
    return {
        "surnames": _Weighted(surnames),
        "children": {sex: _Weighted(counts) for sex, counts in children.items()},
        "adults": {sex: _Weighted(counts) for sex, counts in adults.items()},
        "patronymics": {sex: _Weighted(counts) for sex, counts in patronymics.items()},
        "fathers": _Weighted(fathers),
    }


class NameGenerator:
    """Draw fictional adults and families from the frequency lists with one random source."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lists = _lists()

    def surname(self) -> str:
        return self.lists["surnames"].draw(self.rng)

    def adult(self, sex: str, surname: str | None = None) -> PersonName:
        male_surname = surname or self.surname()
        last = male_surname if sex == "m" else feminine_surname(male_surname)
        first = self.lists["adults"][sex].draw(self.rng)
        middle = self.lists["patronymics"][sex].draw(self.rng)
        return PersonName(last, first, middle, sex)

    def father_first_name(self) -> str:
        return self.lists["fathers"].draw(self.rng)

    def child(self, sex: str, surname: str, father_first_name: str) -> PersonName:
        """Draw a child with the family surname and a patronymic from the father's name."""
        last = surname if sex == "m" else feminine_surname(surname)
        first = self.lists["children"][sex].draw(self.rng)
        male_form, female_form = _patronymic_forms()[father_first_name]
        return PersonName(last, first, male_form if sex == "m" else female_form, sex)


# Transliteration of Russian passports (ICAO Doc 9303, used since 2014).
_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch ie y _ e iu ia".split(),
        strict=True,
    )
)
_TRANSLIT["ь"] = ""


def transliterate(text: str) -> str:
    """Lowercase Latin letters for a Russian word; characters other than letters are dropped."""
    result = []
    for char in text.lower():
        if char in _TRANSLIT:
            result.append(_TRANSLIT[char])
        elif "a" <= char <= "z":
            result.append(char)
    return "".join(result)


class UsernameRegistry:
    """Unique logins of the form surname + initials + number: «Иванова А. П.» → ivanovaap1."""

    def __init__(self, taken: set[str] | None = None):
        self.taken = set(taken or ())
        self.counters: dict[str, int] = {}

    def make(self, name: PersonName) -> str:
        initials = "".join(
            transliterate(part[:1]) for part in (name.first_name, name.middle_name) if part
        )
        base = transliterate(name.last_name) + initials
        number = self.counters.get(base, 0)
        while True:
            number += 1
            candidate = f"{base}{number}"
            if candidate not in self.taken:
                break
        self.counters[base] = number
        self.taken.add(candidate)
        return candidate
