"""The cells of the course journal's grid, written as HTML in Python.

A term of 64 lessons and 23 students has 1,472 cells. Rendered by Jinja with a few
helper calls each, the cells took most of the page's time. Here an empty cell of a
lesson is one string made once per lesson, and only cells with entries are formatted.
Every value from the database goes through ``escape``.
"""

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.services.journal import (
    CourseGrid,
    GridAttendance,
    GridCell,
    GridMark,
    GridRow,
    LessonLock,
    assignment_title,
    format_average,
    mark_input_value,
)
from app.services.numbers import locale_decimal_symbol


@dataclass(frozen=True)
class GridLine:
    """One student's row: the row's data and the HTML pieces of its lesson cells."""

    row: GridRow
    #: Joined once, with every other row, by :func:`grid_body`: joining each row on its
    #: own copied the page's largest text twice.
    cells: list[str]


@dataclass(frozen=True)
class GridHeader:
    """The lesson cells of the grid's two header rows: dates and topics."""

    dates: Markup
    topics: Markup


#: An id that url_for writes into a lesson URL, replaced by each lesson's id: building
#: two URLs a lesson through the router cost more than the rest of the header.
_ID_MARK = 999999999


def grid_header(
    grid: CourseGrid, editable: bool, locks: dict[int, LessonLock], may_correct: bool
) -> GridHeader:
    """Write the header cells of the grid's lessons."""
    lesson_url = url_for("JournalView.lesson", lesson_id=_ID_MARK)
    cell_url = url_for("JournalView.cell_save", lesson_id=_ID_MARK) if editable else ""
    words = {
        "no_topic": _("No topic"),
        "homework": _("Homework"),
        "cancelled": _("cancelled"),
        "number": _("No. %(number)s", number=_ID_MARK),
    }
    dates, topics = [], []
    for lesson in grid.lessons:
        lock = locks.get(lesson.id) if not may_correct else None
        dates.append(_date_cell(lesson, lesson_url, cell_url, lock, words))
        topics.append(_topic_cell(lesson.topic or ""))
    return GridHeader(Markup("".join(dates)), Markup("".join(topics)))


def _date_cell(lesson, lesson_url: str, cell_url: str, lock, words: dict) -> str:
    lesson_id = str(lesson.id)
    homework = "; ".join(a.text for a in lesson.assignments if a.is_homework and a.text)
    title = lesson.topic or words["no_topic"]
    if homework:
        title = f"{title} — {words['homework']}: {homework}"
    attributes = f' title="{escape(title)}"'
    if lesson.is_cancelled:
        attributes += ' class="text-muted"'
    if cell_url:
        attributes += f' data-url="{cell_url.replace(str(_ID_MARK), lesson_id)}"'
    if lock is not None:
        # The lock message is written once a column; journal_grid.js reads it from here.
        attributes += f' id="lock-{lesson_id}" data-lock-message="{escape(lock.message)}"'
    cancelled = f"<br><small>{words['cancelled']}</small>" if lesson.is_cancelled else ""
    number = words["number"].replace(str(_ID_MARK), str(lesson.lesson_number))
    return (
        f"<th{attributes}>"
        f'<a href="{lesson_url.replace(str(_ID_MARK), lesson_id)}" data-testid="lesson-link">'
        f"{lesson.date:%d.%m}</a><br><small>{escape(number)}</small>{cancelled}</th>"
    )


def _topic_cell(topic: str) -> str:
    short = f"{topic[:12]}…" if len(topic) > 12 else topic
    return f'<th><small title="{escape(topic)}">{escape(short)}</small></th>'


#: The value span of an editable cell without a mark; journal_grid.js writes into it.
_EMPTY_VALUE = '<span class="grid-value"></span>'


@dataclass(frozen=True)
class _Column:
    """The parts that every cell of one lesson shares."""

    lesson_id: int
    #: The assignment whose mark the cell edits; None for a read-only column.
    assignment_id: int | None
    locked: bool
    #: The opening tag of a cell with no mark of the column's assignment.
    opening: str
    empty: str


def grid_lines(
    grid: CourseGrid, editable: bool, locks: dict[int, LessonLock], may_correct: bool
) -> list[GridLine]:
    """Write the lesson cells of every row of the grid."""
    columns = [_column(lesson, editable, locks, may_correct) for lesson in grid.lessons]
    pieces = _Pieces(
        {assignment.id: assignment for lesson in grid.lessons for assignment in lesson.assignments}
    )
    lines = []
    for row in grid.rows:
        cells = row.cells
        lines.append(
            GridLine(
                row,
                [
                    column.empty
                    if (cell := cells.get(column.lesson_id)) is None
                    else _cell(column, cell, pieces)
                    for column in columns
                ],
            )
        )
    return lines


def grid_body(grid: CourseGrid, lines: list[GridLine]) -> Markup:
    """Write the grid's student rows: the name, the lesson cells, and the marks' columns.

    A term has some 30 rows; written by Jinja, their few lookups and formatted values
    each cost the page as much again as their cells.
    """
    gives_marks = grid.gives_marks
    decimal_symbol = locale_decimal_symbol()
    parts = []
    for number, line in enumerate(lines, start=1):
        row = line.row
        parts.append(
            f'<tr data-student="{row.student.id}">'
            f'<td class="student-name">{number}. {escape(row.student.short_name)}</td>'
        )
        parts.extend(line.cells)
        if grid.shows_transferred:
            spans = "".join(_transferred_span(mark) for mark in row.transferred)
            parts.append(f'<td data-testid="transferred">{spans}</td>')
        if gives_marks:
            average = format_average(row.average, decimal_symbol)
            parts.append(
                f'<td data-testid="average"><strong>{escape(average)}</strong></td>'
                f'<td data-testid="term-mark">{escape(row.term_mark or "")}</td>'
            )
        parts.append("</tr>\n")
    return Markup("".join(parts))


def _transferred_span(mark) -> str:
    title = _(
        "from the extract of %(school)s, %(date)s, weight %(weight)s",
        school=mark.source_school,
        date=mark.date.strftime("%d.%m.%Y"),
        weight=str(mark.weight),
    )
    return f'<span class="label label-info" title="{escape(title)}">{escape(mark.value)}</span> '


def _column(lesson, editable: bool, locks, may_correct: bool) -> _Column:
    assignment_id = lesson.assignments[0].id if editable and lesson.assignments else None
    locked = lesson.id in locks and not may_correct
    column = _Column(lesson.id, assignment_id, locked, "", "")
    opening = _open_tag(column, "")
    return _Column(lesson.id, assignment_id, locked, opening, opening + _close(column))


def _open_tag(column: _Column, seen: str) -> str:
    if column.assignment_id is None:
        return f'<td data-lesson="{column.lesson_id}">'
    locked = f' data-locked="{column.lesson_id}"' if column.locked else ""
    return (
        f'<td data-lesson="{column.lesson_id}" data-assignment="{column.assignment_id}" '
        f'data-seen="{escape(seen)}" class="grid-cell" tabindex="-1"{locked}>'
    )


def _close(column: _Column) -> str:
    return f"{_EMPTY_VALUE}</td>" if column.assignment_id else "</td>"


def _cell(column: _Column, cell: GridCell, pieces: "_Pieces") -> str:
    attendance = pieces.attendance(cell.attendance) if cell.attendance else ""
    if column.assignment_id is None:
        marks = "".join(pieces.mark(mark, "") for mark in cell.marks)
        return f'<td data-lesson="{column.lesson_id}">{marks}{attendance}</td>'

    own, others = None, []
    for mark in cell.marks:
        if mark.assignment_id == column.assignment_id:
            own = mark
        else:
            others.append(pieces.mark(mark, ""))
    if own is None:
        return f"{column.opening}{_EMPTY_VALUE}{''.join(others)}{attendance}</td>"
    return f"{pieces.own_mark(column, own)}{''.join(others)}{attendance}</td>"


class _Pieces:
    """The spans of marks and attendance entries, each written once per grid.

    A term repeats the same few values down a column, and the same assignment types,
    weights and absence codes across columns, so most cells reuse a span already
    written. A mark's span is keyed by what it shows, not by its assignment.
    """

    def __init__(self, assignments: dict):
        #: (type name, weight) by assignment id: what a mark's tooltip begins with.
        self._types = {key: (a.type_name, a.weight) for key, a in assignments.items()}
        self._titles: dict[tuple, str] = {}
        self._spans: dict = {}
        self._own_cells: dict[tuple, str] = {}

    def mark(self, mark: GridMark, extra_class: str) -> str:
        assignment_type = self._types[mark.assignment_id]
        key = (assignment_type, mark.kind, mark.value, mark.comment, extra_class)
        span = self._spans.get(key)
        if span is None:
            css_kind = mark.value if mark.value is not None else mark.kind
            span = self._spans[key] = (
                f'<span class="{extra_class}mark mark-{escape(css_kind)}" '
                f'title="{escape(self._title(assignment_type, mark.comment))}">'
                f"{escape(mark.display())}</span>"
            )
        return span

    def own_mark(self, column: _Column, mark: GridMark) -> str:
        """Write the opening tag and the value span of an editable cell with its mark."""
        key = (column.lesson_id, mark.kind, mark.value, mark.comment)
        text = self._own_cells.get(key)
        if text is None:
            text = self._own_cells[key] = (
                f"{_open_tag(column, mark_input_value(mark))}{self.mark(mark, 'grid-value ')}"
            )
        return text

    def attendance(self, attendance: GridAttendance) -> str:
        # Keyed by the code and reason only: the entry also names its student and lesson.
        key = attendance[:4]
        span = self._spans.get(key)
        if span is None:
            span = self._spans[key] = (
                f'<span class="attendance" title="{escape(attendance.title)}">'
                f"{escape(attendance.display())}</span>"
            )
        return span

    def _title(self, assignment_type: tuple, comment: str | None) -> str:
        """Build the tooltip: the type and weight, worked out once per pair, and the comment."""
        base = self._titles.get(assignment_type)
        if base is None:
            base = self._titles[assignment_type] = assignment_title(*assignment_type)
        return f"{base}: {comment}" if comment else base
