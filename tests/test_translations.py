"""The Russian catalog covers every message of the code, with matching placeholders."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "translations" / "ru" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHODS = [("app/**.py", "python"), ("app/templates/**.html", "jinja2"), ("run.py", "python")]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _source_messages() -> set:
    messages = set()
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT), method_map=METHODS, keywords=KEYWORDS, options_map={}
    ):
        messages.add(message)
    return messages


def _catalog():
    with open(CATALOG / "messages.po", "rb") as po_file:
        return read_po(po_file, locale="ru")


def test_every_message_has_russian_translation():
    catalog = _catalog()
    missing = []
    for message in _source_messages():
        entry = catalog.get(message[0] if isinstance(message, tuple) else message)
        translated = entry is not None and (
            all(entry.string) if isinstance(entry.string, tuple) else bool(entry.string)
        )
        if not translated:
            missing.append(message)
    assert missing == [], "run `make translations` and translate these"


def test_placeholders_match_in_translations():
    for entry in _catalog():
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, entry.id


def test_compiled_catalog_is_up_to_date():
    with open(CATALOG / "messages.mo", "rb") as mo_file:
        compiled = read_mo(mo_file)

    def as_pairs(catalog):
        # read_mo gives plural ids and strings as lists, read_po as tuples.
        def frozen(value):
            return tuple(value) if isinstance(value, list | tuple) else value

        return {
            frozen(entry.id): frozen(entry.string) for entry in catalog if entry.id and entry.string
        }

    assert as_pairs(compiled) == as_pairs(_catalog())
