"""Base classes for generated views and REST APIs that enforce school tenancy.

Every school data screen and API inherits from these, so a new view cannot forget the
rules: queries are scoped, ``school_id`` comes from the session, related ids of another
school are rejected, actions check each id, and database errors are shown in Russian.
"""

import logging

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import ModelRestApi, ModelView
from flask_appbuilder import expose as expose_mvc
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import Boolean, Date, Numeric, String, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import MANYTOONE
from wtforms import BooleanField, SelectField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, Optional

from app.errors import SAVE_FAILED, DomainError, OutOfScope
from app.models import db, is_school_owned
from app.reports.list_export import list_frame
from app.reports.xlsx import (
    TooManyRows,
    check_row_count,
    current_school_label,
    frame_to_xlsx,
    xlsx_response,
)
from app.security.roles import METHOD_PERMISSIONS
from app.security.scope import ScopedSQLAInterface, current_scope

log = logging.getLogger(__name__)

#: The maximum page size of any list, whatever page size the request gives.
MAX_PAGE_SIZE = 200


def check_related_in_school(item) -> None:
    """Reject an object that points at rows of another school, or at unknown ids.

    FAB's forms and REST schemas load related rows by id without any tenancy filter, and
    marshmallow even builds a new row for an id it does not know; both are refused here.
    REST schemas also set plain foreign-key columns (``class_id``) and leave the
    relationship alone, so those ids are looked up too.
    """
    school_id = getattr(item, "school_id", None)
    # No autoflush: a lookup here must not write the unchecked row first.
    with db.session.no_autoflush:
        for relation in sa_inspect(type(item)).relationships:
            if relation.key == "school" or relation.viewonly:
                continue
            _check_foreign_key(item, relation, school_id)
            value = getattr(item, relation.key)
            targets = value if relation.uselist else [value]
            for target in targets or []:
                if target is None or not is_school_owned(type(target)):
                    continue
                state = sa_inspect(target)
                if not state.persistent and not state.pending:
                    raise OutOfScope(type(target).__name__)
                if state.pending and target is not item:
                    raise OutOfScope(type(target).__name__)
                if school_id is not None and target.school_id != school_id:
                    raise OutOfScope(type(target).__name__)


def _check_foreign_key(item, relation, school_id) -> None:
    """Reject a many-to-one foreign-key value that names no row of the item's school."""
    target_model = relation.mapper.class_
    if relation.direction is not MANYTOONE or not is_school_owned(target_model):
        return
    if len(relation.local_remote_pairs) != 1:
        return
    local_column, remote_column = relation.local_remote_pairs[0]
    attribute = sa_inspect(type(item)).get_property_by_column(local_column).key
    value = getattr(item, attribute)
    if value is None:
        return
    statement = select(target_model.school_id).where(remote_column == value)
    owner = db.session.scalar(statement)
    if owner is None or (school_id is not None and owner != school_id):
        raise OutOfScope(target_model.__name__)


def stamp_school(item) -> None:
    """Set ``school_id`` of a new row from the session's school, never from input."""
    if not is_school_owned(type(item)):
        return
    scope = current_scope()
    if scope is None or scope.level != "school":
        raise DomainError(
            _l(
                "Open the school first: school records are created inside a school. "
                "Choose the school in the organisation menu and try again."
            )
        )
    item.school_id = scope.school_id


class SafeSQLAInterface(ScopedSQLAInterface):
    """Scoped interface whose write errors never show database text."""

    def add(self, item, commit=True):
        self._write(lambda: self.session.add(item), commit)

    def edit(self, item, commit=True):
        self._write(lambda: self.session.merge(item), commit)

    def delete(self, item, commit=True):
        self._write(lambda: self.session.delete(item), commit)

    def _write(self, change, commit):
        try:
            change()
            if commit:
                self.session.commit()
        except SQLAlchemyError:
            log.exception("Write to %s failed", self.obj.__name__)
            self.session.rollback()
            raise DomainError(SAVE_FAILED) from None


def blank_strings_to_null(item) -> None:
    """Store an empty text field of a form as NULL where the column allows NULL.

    A form sends an untouched optional field as "", and two rows with "" in a column that
    is unique per school (a personal file number, a СНИЛС) would collide.
    """
    table = getattr(type(item), "__table__", None)
    if table is None:
        return
    for column in table.columns:
        if column.nullable and isinstance(column.type, String):
            attribute = sa_inspect(type(item)).get_property_by_column(column).key
            if getattr(item, attribute, None) == "":
                setattr(item, attribute, None)


def _model_column(model, name):
    table = getattr(model, "__table__", None)
    return table.c.get(name) if table is not None else None


def choice_and_flag_fields(model, columns, label_columns) -> dict:
    """Form fields FAB gets wrong: choice lists and non-null checkboxes.

    A string column with ``info={"choices": {...}}`` becomes a select with translated
    labels. FAB marks a non-null Boolean as required, so an unticked box fails
    validation; such columns get a plain checkbox instead.
    """
    fields = {}
    for name in columns or []:
        column = _model_column(model, name)
        if column is None:
            continue
        label = label_columns.get(name, name)
        choices = column.info.get("choices")
        if choices:
            validators = [] if column.nullable else [DataRequired()]
            if column.nullable:
                validators.append(Optional())
            fields[name] = SelectField(
                label,
                choices=[("", "—")] * column.nullable + list(choices.items()),
                validators=validators,
                widget=Select2Widget(),
                default=_column_default(column),
            )
        elif isinstance(column.type, Boolean):
            fields[name] = BooleanField(label, default=_column_default(column) or False)
    return fields


def _column_default(column):
    default = column.default
    if default is None or callable(getattr(default, "arg", None)):
        return None
    return default.arg


def _yes_no(value):
    if value is None:
        return "—"
    return _l("Yes") if value else _l("No")


def _plain(value):
    """Show an empty value as nothing and a collection as a comma-separated list.

    FAB prints Python's own text for these: «None» and «[<Employee object at …>]».
    """
    if value is None:
        return ""
    if isinstance(value, list | tuple | set):
        return ", ".join(str(item) for item in value)
    return value


def _local_number(value):
    """Write a decimal the user's way: «5» or «0,5» in Russian."""
    return "" if value is None else format_decimal(value)


def _local_date(value):
    """Write a date as Russian documents do: 01.09.2026."""
    return "" if value is None else value.strftime("%d.%m.%Y")


def choice_formatters(model, columns) -> dict:
    """List formatters for choices, flags («Да», «Нет»), empty values and collections."""
    formatters = {}
    for name in columns or []:
        column = _model_column(model, name)
        choices = column.info.get("choices") if column is not None else None
        if choices:
            formatters[name] = lambda value, choices=choices: choices.get(value, value) or ""
        elif column is not None and isinstance(column.type, Boolean):
            formatters[name] = _yes_no
        elif column is not None and isinstance(column.type, Numeric):
            formatters[name] = _local_number
        elif column is not None and isinstance(column.type, Date):
            formatters[name] = _local_date
        else:
            formatters[name] = _plain
    return formatters


def default_show_columns(view) -> list[str]:
    """List the record page's fields: those of the form, then the list's, once each.

    FAB's default shows every column and relationship: the school, the login, raw lists
    of child rows and internal ids such as ``sgo_id``.
    """
    columns = []
    for name in (view.edit_columns or []) + (view.add_columns or []) + (view.list_columns or []):
        if name not in columns and name not in SCHOOL_COLUMNS:
            columns.append(name)
    return columns


def _name_blank_choices(form) -> None:
    """Give the empty choice of related-record drop-downs a visible dash.

    WTForms prints an option's value when its label is empty, so FAB's blank choice
    showed as «__None».
    """
    for name in dir(form):
        field = getattr(form, name, None)
        if isinstance(field, UnboundField) and issubclass(field.field_class, QuerySelectField):
            field.kwargs["blank_text"] = "—"


#: Columns a school comes from: set from the session on create, never from input.
SCHOOL_COLUMNS = ("school", "school_id")


def drop_school_columns(view) -> None:
    """Remove the school columns from a view's add and edit columns, if it lists them."""
    for attr in ("add_columns", "edit_columns"):
        columns = getattr(view, attr, None)
        if columns:
            setattr(view, attr, [c for c in columns if c not in SCHOOL_COLUMNS])


class SchoolModelView(ModelView):
    """A generated CRUD screen over school data, scoped to the session's school.

    Its list page links to :meth:`export_xlsx`, which downloads the list as filtered.
    """

    method_permission_name = METHOD_PERMISSIONS
    page_size = 50
    list_template = "list_with_export.html"
    # FAB's own Russian catalog reads these as counts («Добавлено строк»): the app's
    # catalog gives them full sentences.
    add_row_message = _l("Added Row")
    edit_row_message = _l("Changed Row")
    delete_row_message = _l("Deleted Row")

    def __init__(self, *args, **kwargs):
        model = self.datamodel.obj
        drop_school_columns(self)
        self.add_form_extra_fields = {
            **choice_and_flag_fields(model, self.add_columns, self.label_columns),
            **(self.add_form_extra_fields or {}),
        }
        self.edit_form_extra_fields = {
            **choice_and_flag_fields(model, self.edit_columns, self.label_columns),
            **(self.edit_form_extra_fields or {}),
        }
        if not self.show_columns:
            self.show_columns = default_show_columns(self)
        shown = set(self.list_columns or []) | set(self.show_columns or [])
        self.formatters_columns = {
            **choice_formatters(model, shown),
            **(self.formatters_columns or {}),
        }
        super().__init__(*args, **kwargs)
        for form in (self.add_form, self.edit_form):
            _name_blank_choices(form)

    def _get_list_widget(self, *args, **kwargs):
        kwargs["page_size"] = min(kwargs.get("page_size") or self.page_size, MAX_PAGE_SIZE)
        return super()._get_list_widget(*args, **kwargs)

    def pre_add(self, item):
        stamp_school(item)
        check_related_in_school(item)
        blank_strings_to_null(item)

    def pre_update(self, item):
        check_related_in_school(item)
        blank_strings_to_null(item)

    def _add(self):
        return self._flash_domain_errors(super()._add)

    def _edit(self, pk):
        return self._flash_domain_errors(super()._edit, pk)

    def _delete(self, pk):
        return self._flash_domain_errors(super()._delete, pk)

    def _flash_domain_errors(self, handler, *args):
        try:
            return handler(*args)
        except OutOfScope:
            abort(404)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return None

    def _scoped_item(self, pk):
        item = self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
        if item is None:
            abort(404)
        return item

    # FAB's action routes check only the action's own permission and redirect a role
    # without it. Checking write first returns 403, as every other route does.
    @expose_mvc("/action/<string:name>/<pk>", methods=["GET", "POST"])
    @has_access
    def action(self, name, pk):
        self._scoped_item(pk)
        return super().action(name, pk)

    @expose_mvc("/action_post", methods=["POST"])
    @has_access
    def action_post(self):
        for pk in request.form.getlist("rowid"):
            self._scoped_item(pk)
        return super().action_post()

    @expose_mvc("/export.xlsx")
    @has_access
    def export_xlsx(self):
        """Download the list with the screen's columns, search filters and order.

        The rows are read through the same scoped interface and base filters as the list,
        so the file contains exactly the rows the screen would page through.
        """
        # A fresh set per request: the view's own ``_filters`` is shared by every request,
        # and FAB's ``Filters.copy`` drops the allowed search columns.
        filters = self.datamodel.get_filters(self.search_columns)
        get_filter_args(filters)
        joined = filters.get_joined_filters(self._base_filters)
        order_column, order_direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        try:
            count, _rows = self.datamodel.query(joined, page=0, page_size=1)
            check_row_count(count)
        except TooManyRows as error:
            flash(str(error), "danger")
            return redirect(url_for(f"{self.endpoint}.list", **request.args.to_dict(flat=False)))
        # NOTE: the rows are loaded as ORM objects at once. That suits one school's lists,
        # where a year's lessons are about 40,000, but not a list of a whole city.
        _count, rows = self.datamodel.query(joined, order_column, order_direction)
        columns = [(name, str(self.label_columns.get(name, name))) for name in self.list_columns]
        frame = list_frame(
            columns, self.datamodel.get_values(rows, self.list_columns), self._choices()
        )
        title = str(self.list_title)
        content = frame_to_xlsx([(title, frame, {})], title, self._filters_text(filters))
        return xlsx_response(content, title, current_school_label())

    def _choices(self) -> dict:
        model = self.datamodel.obj
        choices = {}
        for name in self.list_columns:
            column = _model_column(model, name)
            if column is not None and column.info.get("choices"):
                choices[name] = column.info["choices"]
        return choices

    def _filters_text(self, filters) -> str:
        """Describe the search filters of an export: «Фамилия: начинается с «Ив»»."""
        parts = []
        for flt, value in filters.get_filters_values():
            label = self.label_columns.get(flt.column_name, flt.column_name)
            shown = ", ".join(value) if isinstance(value, list) else value
            parts.append(f"{label}: {flt.name} «{shown}»")
        if not parts:
            return _("Filters: none, the whole list.")
        return _("Filters: %(filters)s.", filters="; ".join(parts))

    # NOTE: FAB's generic /download/<filename> is left unexposed on purpose: it serves
    # any stored file by name, without tenancy. Attachments get scoped routes instead.
    def download(self, filename):
        abort(404)


def _allow_null_where_nullable(schema, model) -> None:
    if schema is None:  # the API has no such write route
        return
    for name, schema_field in schema.fields.items():
        column = _model_column(model, name)
        if column is not None and column.nullable:
            schema_field.allow_none = True


class SchoolModelApi(ModelRestApi):
    """A REST API over school data with the same scoping and permissions as its screen."""

    method_permission_name = METHOD_PERMISSIONS
    max_page_size = MAX_PAGE_SIZE
    allow_browser_login = True

    def __init__(self, *args, **kwargs):
        drop_school_columns(self)
        super().__init__(*args, **kwargs)

    def _init_model_schemas(self):
        super()._init_model_schemas()
        # FAB's schemas reject null even for nullable foreign-key columns, and a PUT fills
        # every column the body leaves out from the stored row, so editing a course
        # without a group failed with "Field may not be null".
        for schema in (self.add_model_schema, self.edit_model_schema):
            _allow_null_where_nullable(schema, self.datamodel.obj)

    def pre_add(self, item):
        stamp_school(item)
        check_related_in_school(item)

    def pre_update(self, item):
        check_related_in_school(item)

    def post_headless(self):
        return self._answer_domain_errors(super().post_headless)

    def put_headless(self, pk):
        return self._answer_domain_errors(super().put_headless, pk)

    def delete_headless(self, pk):
        return self._answer_domain_errors(super().delete_headless, pk)

    def _answer_domain_errors(self, handler, *args):
        try:
            return handler(*args)
        except OutOfScope:
            db.session.rollback()
            return self.response_404()
        except DomainError as error:
            db.session.rollback()
            return self.response_422(message=str(error))
        except ValidationError as error:
            db.session.rollback()
            return self.response_422(message=error.messages)
