"""The rules of the school's regulation that the journal suggests period marks by, the
page that edits them per year, and the page parents read them on.

The regulation row of a year may be missing. The school then works by the usual defaults:
round at .5, three marks for a subject of one hour a week, «н/а» when more than half of
the lessons were missed, ties in the student's favour, grade 2 marked from term 2.
"""

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.errors import DomainError, FormErrors
from app.models import AcademicYear, Course, Regulation, School, Term, db
from app.models.regulation import YEAR_TIE_RULES
from app.security.scope import Scope, apply_scope, scoped_get_or_404

log = logging.getLogger(__name__)

#: The part of a mark an average needs to round up to it, unless the regulation sets another.
DEFAULT_FRACTION = Decimal("0.5")


class ThresholdError(DomainError):
    """A threshold text the regulation form cannot take."""


def regulation_for(school_id: int, year_id: int) -> Regulation:
    """Return the year's regulation, or an unsaved one holding the defaults."""
    regulation = db.session.scalar(
        select(Regulation).where(Regulation.school_id == school_id, Regulation.year_id == year_id)
    )
    if regulation is not None:
        return regulation
    return default_regulation(school_id, year_id)


def default_regulation(school_id: int, year_id: int) -> Regulation:
    """Build a transient regulation with the defaults; it is not added to the session."""
    return Regulation(
        school_id=school_id,
        year_id=year_id,
        thresholds="",
        min_marks=3,
        min_marks_per_extra_hour=1,
        max_missed_share=Decimal("0.5"),
        no_top_mark_with_fail=False,
        year_tie_rule="student",
        grade2_marks_from_term=2,
    )


def default_thresholds(max_mark: int) -> dict[int, Decimal]:
    """Map each mark from 2 to the top to the lowest average that rounds to it."""
    return {mark: mark - 1 + DEFAULT_FRACTION for mark in range(2, max_mark + 1)}


def parse_thresholds(text: str, max_mark: int) -> dict[int, Decimal]:
    """Read ``3:2.6,4:3.6`` into the full map of thresholds, defaults filled in.

    Each threshold must lie between the two marks of its boundary, and they must rise with
    the mark; otherwise a :class:`ThresholdError` names the wrong pair.
    """
    thresholds = default_thresholds(max_mark)
    for pair in filter(None, (part.strip() for part in (text or "").split(","))):
        mark, value = _parse_pair(pair, max_mark)
        thresholds[mark] = value
    return thresholds


def _parse_pair(pair: str, max_mark: int) -> tuple[int, Decimal]:
    mark_text, _sep, value_text = pair.partition(":")
    try:
        mark = int(mark_text)
        value = Decimal(value_text.strip().replace(",", "."))
    except (ValueError, InvalidOperation):
        raise ThresholdError(
            _(
                "«%(pair)s» is not a threshold: write the mark and the lowest average, "
                "for example «4:3.6».",
                pair=pair,
            )
        ) from None
    if not 2 <= mark <= max_mark or not mark - 1 < value <= mark:
        raise ThresholdError(
            _(
                "Threshold «%(pair)s»: the average for a %(mark)s must lie above "
                "%(low)s and not above %(mark)s.",
                pair=pair,
                mark=mark,
                low=mark - 1,
            )
        )
    return mark, value


def format_thresholds(thresholds: dict[int, Decimal], max_mark: int) -> str:
    """Write back only the thresholds that differ from the default."""
    defaults = default_thresholds(max_mark)
    return ",".join(
        f"{mark}:{_plain(value)}"
        for mark, value in sorted(thresholds.items())
        if value != defaults.get(mark)
    )


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def round_average(average: Decimal, thresholds: dict[int, Decimal]) -> int:
    """Round a raw average to a mark: the highest mark whose threshold it reaches.

    The average is compared unrounded, so 3.49 gives 3 at the default .5.
    """
    mark = 1
    for candidate, lowest in sorted(thresholds.items()):
        if average >= lowest:
            mark = candidate
    return mark


def required_marks(regulation: Regulation, hours_per_week) -> int:
    """Marks a period mark needs in a subject of the given weekly hours."""
    extra_hours = max(0, math.ceil(Decimal(hours_per_week or 1)) - 1)
    return regulation.min_marks + extra_hours * regulation.min_marks_per_extra_hour


# --- The settings page ----------------------------------------------------------------


@dataclass(frozen=True)
class WholeNumber:
    """The allowed whole numbers of one setting, and its name in messages."""

    label: object
    minimum: int
    maximum: int


# NOTE: the upper limits only keep typing slips out; the regulation itself sets none.
MIN_MARKS = WholeNumber(_l("Marks needed for a subject of one hour a week"), 0, 100)
EXTRA_MARKS = WholeNumber(_l("Marks added for each further weekly hour"), 0, 100)
MISSED_PERCENT = WholeNumber(_l("Share of missed lessons above which «н/а» is proposed, %"), 1, 100)
GRADE2_TERM_LABEL = _l("Term from which grade 2 gets marks")
#: The maximum number of terms in a year (quarters), used when the year has no grade-2 terms.
MAX_TERMS = 4
MAX_NOTE_LENGTH = 2000
#: Thresholds are stored to hundredths, as regulations write them (2.6, 3.65).
THRESHOLD_STEP = Decimal("0.01")


class RegulationInputError(FormErrors):
    """One or more typed values of the regulation form are invalid, so nothing was saved."""


@dataclass
class RegulationForm:
    """The regulation form as typed: numbers stay text so that a wrong value is shown again."""

    #: Mark → the typed lowest average that gives it, for every mark from 2 to the top.
    thresholds: dict[int, str] = field(default_factory=dict)
    min_marks: str = ""
    min_marks_per_extra_hour: str = ""
    missed_percent: str = ""
    no_top_mark_with_fail: bool = False
    year_tie_rule: str = ""
    grade2_marks_from_term: str = ""
    note: str = ""

    @classmethod
    def from_regulation(cls, regulation: Regulation, max_mark: int) -> "RegulationForm":
        thresholds = stored_thresholds(regulation, max_mark)
        return cls(
            thresholds={mark: format_threshold(value) for mark, value in thresholds.items()},
            min_marks=str(regulation.min_marks),
            min_marks_per_extra_hour=str(regulation.min_marks_per_extra_hour),
            missed_percent=str(share_to_percent(regulation.max_missed_share)),
            no_top_mark_with_fail=bool(regulation.no_top_mark_with_fail),
            year_tie_rule=regulation.year_tie_rule,
            grade2_marks_from_term=str(regulation.grade2_marks_from_term),
            note=regulation.note or "",
        )

    @classmethod
    def from_request(cls, data, max_mark: int) -> "RegulationForm":
        """Read a submitted form; an unchecked checkbox is absent from the request."""
        return cls(
            thresholds={
                mark: data.get(f"threshold-{mark}", "").strip() for mark in range(2, max_mark + 1)
            },
            min_marks=data.get("min_marks", "").strip(),
            min_marks_per_extra_hour=data.get("min_marks_per_extra_hour", "").strip(),
            missed_percent=data.get("missed_percent", "").strip().rstrip("%").strip(),
            no_top_mark_with_fail=data.get("no_top_mark_with_fail") == "1",
            year_tie_rule=data.get("year_tie_rule", "").strip(),
            grade2_marks_from_term=data.get("grade2_marks_from_term", "").strip(),
            note=data.get("note", "").strip(),
        )


@dataclass
class RegulationPage:
    """The data of the settings and reading pages: the school, the chosen year and its rules."""

    school: School
    year: AcademicYear
    years: list[AcademicYear]
    regulation: Regulation
    #: Whether the school saved its own settings for the year (else the defaults apply).
    adopted: bool
    #: The highest term number of grade 2 in the year, the limit of the grade-2 setting.
    grade2_last_term: int

    @property
    def max_mark(self) -> int:
        return self.school.max_mark


def share_to_percent(share) -> int:
    """Turn a stored share of lessons (0.5) into the whole percent the page shows (50)."""
    return int((Decimal(share) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def format_threshold(value: Decimal) -> str:
    """Show a threshold in the user's locale without trailing zeros: «2,6», «4,5», «3,65»."""
    return format_decimal(value, format="0.0#")


def stored_thresholds(regulation: Regulation, max_mark: int) -> dict[int, Decimal]:
    """Read the regulation's thresholds for the school's current scale.

    A pair that no longer fits the scale (the school lowered its top mark after saving) is
    skipped, so the page still opens and the next save writes valid thresholds.
    """
    thresholds = default_thresholds(max_mark)
    for pair in filter(None, (part.strip() for part in (regulation.thresholds or "").split(","))):
        try:
            mark, value = _parse_pair(pair, max_mark)
        except ThresholdError:
            log.warning(
                "Regulation %s: threshold pair %r does not fit the scale 1–%s, skipped",
                regulation.id,
                pair,
                max_mark,
            )
            continue
        thresholds[mark] = value
    return thresholds


def require_school(scope: Scope | None) -> int:
    """Return the scope's school id, or raise when the session works outside a school."""
    if scope is None or scope.level != "school" or scope.school_id is None:
        raise DomainError(
            _(
                "Open a school first: the assessment regulation belongs to one school. "
                "Choose it in the organisation menu."
            )
        )
    return scope.school_id


def school_years(scope: Scope) -> list[AcademicYear]:
    """The school's years, newest first, for the year selector."""
    statement = apply_scope(select(AcademicYear), AcademicYear, scope)
    return list(db.session.scalars(statement.order_by(AcademicYear.start_date.desc())))


def current_year(years: list[AcademicYear], today: dt.date) -> AcademicYear | None:
    """Pick the year containing ``today``, else the latest one begun, else the earliest."""
    for year in years:
        if year.contains(today):
            return year
    begun = [year for year in years if year.start_date <= today]
    if begun:
        return begun[0]
    return years[-1] if years else None


def grade2_last_term(school_id: int, year_id: int) -> int:
    """The highest term number of grade 2 in the year, or MAX_TERMS without such terms."""
    highest = db.session.scalar(
        select(func.max(Term.number)).where(
            Term.school_id == school_id,
            Term.year_id == year_id,
            Term.grade_from <= 2,
            Term.grade_to >= 2,
        )
    )
    return highest or MAX_TERMS


def regulation_page(scope: Scope | None, year_id=None, today: dt.date | None = None):
    """Load the page of a year's regulation: the given year of the school, or the current one.

    A year id of another school, or one that does not exist, raises 404. Raises DomainError
    when the session works outside a school or the school has no year yet.
    """
    school_id = require_school(scope)
    school = db.session.scalars(
        apply_scope(select(School).where(School.id == school_id), School, scope)
    ).first()
    if school is None:
        raise DomainError(_("The school of this session was not found. Choose it again."))
    years = school_years(scope)
    if year_id not in (None, ""):
        year = scoped_get_or_404(AcademicYear, year_id, scope)
    else:
        year = current_year(years, today or dt.date.today())
    if year is None:
        raise DomainError(
            _(
                "The school has no school year yet, so it has no regulation either. "
                "The school system administrator adds the year first."
            )
        )
    stored = _stored_regulation(school_id, year.id)
    return RegulationPage(
        school=school,
        year=year,
        years=years,
        regulation=stored if stored is not None else default_regulation(school_id, year.id),
        adopted=stored is not None,
        grade2_last_term=grade2_last_term(school_id, year.id),
    )


def _stored_regulation(school_id: int, year_id: int, for_update: bool = False):
    statement = select(Regulation).where(
        Regulation.school_id == school_id, Regulation.year_id == year_id
    )
    if for_update:
        statement = statement.with_for_update()
    return db.session.scalar(statement)


# --- Checks -----------------------------------------------------------------------------


def _threshold_error(mark: int, text: str, max_mark: int) -> str | None:
    """Return the message for an invalid threshold of ``mark``, or None when it is valid.

    Each threshold must lie above the mark below and not above its own mark. These ranges
    do not overlap, so thresholds that pass rise with the mark.
    """
    example = format_threshold(default_thresholds(max_mark)[mark])
    params = {"mark": mark, "low": mark - 1, "value": text, "example": example}
    if not text:
        return _(
            "Threshold for «%(mark)s»: the value is missing. Enter the lowest average that "
            "gives «%(mark)s», above %(low)s and at most %(mark)s, for example %(example)s.",
            **params,
        )
    value = _threshold_number(text)
    if value is None:
        return _(
            "Threshold for «%(mark)s»: «%(value)s» is not a number. Enter the lowest average "
            "that gives «%(mark)s», above %(low)s and at most %(mark)s, for example %(example)s.",
            **params,
        )
    if not mark - 1 < value <= mark:
        return _(
            "Threshold for «%(mark)s»: %(value)s is outside its boundary. Enter a number "
            "above %(low)s and at most %(mark)s, for example %(example)s.",
            **params,
        )
    if value != value.quantize(THRESHOLD_STEP):
        return _(
            "Threshold for «%(mark)s»: %(value)s has more than two decimal places. "
            "Round it to hundredths, for example %(example)s.",
            **params,
        )
    return None


def _threshold_number(text: str) -> Decimal | None:
    """Read a typed threshold with a decimal comma or point; None when it is no number."""
    try:
        value = Decimal(text.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _check_thresholds(form: RegulationForm, max_mark: int, errors: list[str]) -> str:
    """Return the thresholds text to store, after adding a message per invalid one."""
    thresholds = {}
    for mark in range(2, max_mark + 1):
        text = form.thresholds.get(mark, "")
        message = _threshold_error(mark, text, max_mark)
        if message is not None:
            errors.append(message)
            continue
        thresholds[mark] = _threshold_number(text).quantize(THRESHOLD_STEP)
    return format_thresholds(thresholds, max_mark)


def _check_whole_number(text: str, rule: WholeNumber, errors: list[str]) -> int | None:
    """Return the typed whole number, or None after adding a message to ``errors``."""
    params = {"field": rule.label, "value": text, "min": rule.minimum, "max": rule.maximum}
    if not text:
        errors.append(
            _(
                "%(field)s: the value is missing. Enter a whole number from %(min)s to %(max)s.",
                **params,
            )
        )
        return None
    if text.isdigit() and rule.minimum <= int(text) <= rule.maximum:
        return int(text)
    errors.append(
        _(
            "%(field)s: «%(value)s» is invalid. Enter a whole number from %(min)s to %(max)s.",
            **params,
        )
    )
    return None


def check_regulation(form: RegulationForm, page: RegulationPage) -> dict:
    """Return the checked values to store, or raise RegulationInputError with every message.

    Messages follow the order of the page.
    """
    errors: list[str] = []
    thresholds = _check_thresholds(form, page.max_mark, errors)
    min_marks = _check_whole_number(form.min_marks, MIN_MARKS, errors)
    extra_marks = _check_whole_number(form.min_marks_per_extra_hour, EXTRA_MARKS, errors)
    percent = _check_whole_number(form.missed_percent, MISSED_PERCENT, errors)
    if form.year_tie_rule not in YEAR_TIE_RULES:
        errors.append(
            _(
                "Year mark tie rule: «%(value)s» is not one of the rules. Choose a rule "
                "from the list.",
                value=form.year_tie_rule,
            )
        )
    grade2_rule = WholeNumber(GRADE2_TERM_LABEL, 1, page.grade2_last_term)
    grade2_term = _check_whole_number(form.grade2_marks_from_term, grade2_rule, errors)
    if len(form.note) > MAX_NOTE_LENGTH:
        errors.append(
            _(
                "The text of the regulation is too long: %(length)s characters. Shorten it "
                "to at most %(max)s, or give a link to the full text.",
                length=len(form.note),
                max=MAX_NOTE_LENGTH,
            )
        )
    if errors:
        raise RegulationInputError(errors)

    return {
        "thresholds": thresholds,
        "min_marks": min_marks,
        "min_marks_per_extra_hour": extra_marks,
        "max_missed_share": Decimal(percent) / 100,
        "no_top_mark_with_fail": form.no_top_mark_with_fail,
        "year_tie_rule": form.year_tie_rule,
        "grade2_marks_from_term": grade2_term,
        "note": form.note or None,
    }


# --- Saving -----------------------------------------------------------------------------


def save_regulation(scope: Scope, page: RegulationPage, form: RegulationForm) -> list[str]:
    """Check and store the year's regulation in one commit; the first save creates the row.

    Returns the names of the settings that changed. On RegulationInputError or DomainError
    nothing is written, and the caller rolls the session back.
    """
    if page.year.is_closed:
        raise DomainError(
            _(
                "The school year %(year)s is closed, so its regulation is read-only. "
                "Choose an open year.",
                year=page.year.name,
            )
        )
    regulation = _stored_regulation(page.school.id, page.year.id, for_update=True)
    values = check_regulation(form, page)
    if regulation is None:
        regulation = default_regulation(page.school.id, page.year.id)
        db.session.add(regulation)
    changed = [name for name, value in values.items() if getattr(regulation, name) != value]
    for name in changed:
        setattr(regulation, name, values[name])
    try:
        db.session.commit()
    except IntegrityError:
        # Two first saves of one year at the same time: the unique key keeps one of them.
        db.session.rollback()
        log.warning(
            "Regulation of school %s, year %s: concurrent first save by user %s rejected",
            page.school.id,
            page.year.id,
            scope.user_id,
        )
        raise DomainError(
            _(
                "Another user saved this year's regulation at the same time, so yours was "
                "not saved. Open the page again and repeat your changes."
            )
        ) from None
    if changed:
        log.info(
            "Regulation of school %s, year %s changed by user %s: %s",
            page.school.id,
            page.year.id,
            scope.user_id,
            ", ".join(changed),
        )
    return changed


# --- Grade 2 ----------------------------------------------------------------------------


def grade2_first_mark_term(course: Course, term: Term | None) -> int | None:
    """Find the term from which a grade-2 course gives marks, when ``term`` comes before it.

    Second-graders get marks from the term the regulation names (usually the second);
    earlier lessons take attendance and topics only. Returns None when the course gives
    marks in the term: another grade, a later term, or a lesson outside every term.
    """
    school_class = course.school_class
    if term is None or school_class is None or school_class.grade != 2:
        return None
    first_term = regulation_for(course.school_id, course.year_id).grade2_marks_from_term
    return first_term if term.number < first_term else None


def grade2_mark_rejection(course: Course, term: Term | None, value_text: str) -> str | None:
    """Return the message rejecting a mark in a grade-2 lesson before marks begin, else None."""
    first_term = grade2_first_mark_term(course, term)
    if first_term is None:
        return None
    return _(
        'Mark "%(value)s" is rejected: in grade 2 the school\'s regulation gives marks from '
        "term %(first)s, and this lesson is in %(term)s. Leave the mark cells empty; "
        "attendance and the topic are saved as usual.",
        value=value_text,
        first=first_term,
        term=term.name,
    )


def grade2_marks_notice(course: Course, term: Term | None) -> str | None:
    """Tell why the journal shows no mark inputs for a grade-2 course in the term, if so."""
    first_term = grade2_first_mark_term(course, term)
    if first_term is None:
        return None
    return _(
        "In grade 2 the school's regulation gives marks from term %(first)s, so %(term)s "
        "takes attendance and topics only.",
        first=first_term,
        term=term.name,
    )


# --- The reading page -------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdLine:
    """One line of the rounding table: an average from ``lowest`` gives ``mark``."""

    mark: int
    lowest: str


def threshold_lines(page: RegulationPage) -> list[ThresholdLine]:
    """The rounding table from the top mark down, as the reading page lists it."""
    thresholds = stored_thresholds(page.regulation, page.max_mark)
    return [
        ThresholdLine(mark, format_threshold(value))
        for mark, value in sorted(thresholds.items(), reverse=True)
    ]


def describe_marks_needed(regulation: Regulation) -> list[str]:
    """Sentences on the marks a term mark needs and when «н/а» is proposed."""
    sentences = []
    if regulation.min_marks:
        sentences.append(
            ngettext(
                "A term mark needs at least %(num)d mark in a subject taught one hour a week.",
                "A term mark needs at least %(num)d marks in a subject taught one hour a week.",
                regulation.min_marks,
            )
        )
    else:
        sentences.append(_("A term mark needs no minimum number of marks."))
    if regulation.min_marks and regulation.min_marks_per_extra_hour:
        sentences.append(
            ngettext(
                "Each further weekly hour of the subject adds %(num)d mark to that minimum.",
                "Each further weekly hour of the subject adds %(num)d marks to that minimum.",
                regulation.min_marks_per_extra_hour,
            )
        )
    # A no-break space keeps the number and its sign on one line.
    percent = f"{share_to_percent(regulation.max_missed_share)}\u00a0%"
    if regulation.min_marks:
        sentences.append(
            _(
                "With fewer marks, or when the student missed more than %(percent)s of the "
                "term's lessons, the teacher is offered «н/а» (not attested) in place of a mark.",
                percent=percent,
            )
        )
    else:
        sentences.append(
            _(
                "When the student missed more than %(percent)s of the term's lessons, the "
                "teacher is offered «н/а» (not attested) in place of a mark.",
                percent=percent,
            )
        )
    return sentences


def describe_year_tie_rule(regulation: Regulation) -> str:
    """The sentence on the year mark when the term marks' mean lies between two marks."""
    if regulation.year_tie_rule == "last_term":
        return _(
            "When the mean of the term marks lies exactly between two marks, the year mark "
            "is the one nearer to the last term mark."
        )
    if regulation.year_tie_rule == "annual_test":
        return _(
            "When the mean of the term marks lies exactly between two marks, the year mark "
            "is the one nearer to the mark of the annual test."
        )
    return _(
        "When the mean of the term marks lies exactly between two marks, the year mark is "
        "the higher one, in the student's favour."
    )


def describe_top_mark_rule(page: RegulationPage) -> str | None:
    """The sentence of the optional rule on the top mark, or None when it is off."""
    if not page.regulation.no_top_mark_with_fail:
        return None
    return _(
        "A term that has a mark of «2» or lower gets no «%(top)s» as its term mark.",
        top=page.max_mark,
    )


def describe_grade2(regulation: Regulation) -> str:
    """The sentence on the term from which second-graders get marks."""
    return _(
        "In grade 2 marks are given from term %(term)s on; before it, lessons record "
        "attendance and topics without marks.",
        term=regulation.grade2_marks_from_term,
    )
