"""The announcement form: typed values, choices offered and the checks before saving."""

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.errors import FormErrors
from app.models import AcademicYear, Announcement, SchoolClass, db
from app.models.communication import AUDIENCE_KINDS
from app.security.roles import school_role_codes
from app.services.announcements.access import AnnouncementAccess
from app.services.announcements.listing import role_label
from app.services.announcements.reading import teacher_class_ids
from app.services.attachments import AttachmentError, check_upload
from app.services.dates import parse_user_date

TITLE_MAX_LENGTH = 255
#: Days a new announcement is shown unless the writer sets another end date.
DEFAULT_DISPLAY_DAYS = 7


class AnnouncementInputError(FormErrors):
    """Form input that cannot be saved; each message names the value and the fix."""


@dataclass
class AnnouncementForm:
    """The announcement form as typed, kept so that an error loses nothing."""

    title: str = ""
    body: str = ""
    audience: str = "school"
    role_codes: list[str] = field(default_factory=list)
    class_ids: list[str] = field(default_factory=list)
    display_from: str = ""
    display_to: str = ""
    #: Attachments ticked for removal on the edit form.
    remove_attachment_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, data) -> "AnnouncementForm":
        """Read the form from a request's form data (a MultiDict)."""
        return cls(
            title=data.get("title", ""),
            body=data.get("body", ""),
            audience=data.get("audience", ""),
            role_codes=data.getlist("role"),
            class_ids=data.getlist("class_id"),
            display_from=data.get("display_from", ""),
            display_to=data.get("display_to", ""),
            remove_attachment_ids=data.getlist("remove_attachment"),
        )

    @classmethod
    def blank(cls, access: AnnouncementAccess, today: dt.date) -> "AnnouncementForm":
        """Return a new announcement's form: shown from today for a week, to the whole
        school (managers) or to the teacher's classes."""
        return cls(
            audience="school" if access.manages else "classes",
            display_from=today.isoformat(),
            display_to=(today + dt.timedelta(days=DEFAULT_DISPLAY_DAYS)).isoformat(),
        )

    @classmethod
    def from_announcement(cls, announcement) -> "AnnouncementForm":
        """Return the form of a stored school or authority announcement."""
        classes = getattr(announcement, "classes", [])
        return cls(
            title=announcement.title,
            body=announcement.body or "",
            audience=getattr(announcement, "audience", "school"),
            role_codes=list(getattr(announcement, "role_codes", [])),
            class_ids=[str(link.class_id) for link in classes],
            display_from=announcement.display_from.isoformat(),
            display_to=announcement.display_to.isoformat(),
        )

    def date_value(self, name: str) -> str:
        """Return a typed date as <input type="date"> shows it: ISO when it can be read."""
        text = getattr(self, name)
        parsed = parse_user_date(text)
        return parsed.isoformat() if parsed is not None else text


@dataclass
class AnnouncementInput:
    """The checked values of an announcement form."""

    title: str
    body: str
    display_from: dt.date
    display_to: dt.date
    audience: str = "school"
    role_codes: list[str] = field(default_factory=list)
    class_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ClassChoice:
    id: int
    label: str


def role_choices() -> list[tuple[str, str]]:
    """(code, label) of the school roles an announcement may be addressed to."""
    return [(code, role_label(code)) for code in school_role_codes()]


def class_choices(
    access: AnnouncementAccess, announcement: Announcement | None = None
) -> list[ClassChoice]:
    """Classes the form offers: those the session may address in open school years.

    Managers address any class of the school, a teacher only the classes they teach or
    lead. Classes the edited announcement names already stay listed.
    """
    scope = access.scope
    allowed = _addressable_classes(access)
    open_years = select(AcademicYear.id).where(
        AcademicYear.school_id == scope.school_id, AcademicYear.is_closed.is_(False)
    )
    chosen = [link.class_id for link in announcement.classes] if announcement else []
    statement = allowed.where(or_(SchoolClass.year_id.in_(open_years), SchoolClass.id.in_(chosen)))
    classes = list(
        db.session.scalars(
            statement.order_by(SchoolClass.year_id, SchoolClass.grade, SchoolClass.name)
        )
    )
    several_years = len({c.year_id for c in classes}) > 1
    return [
        ClassChoice(c.id, f"{c.name} ({c.year.name})" if several_years else c.name) for c in classes
    ]


def _addressable_classes(access: AnnouncementAccess):
    """Build a select() of the classes the session may address."""
    scope = access.scope
    statement = select(SchoolClass).where(SchoolClass.school_id == scope.school_id)
    if not access.manages:
        statement = statement.where(
            SchoolClass.id.in_(teacher_class_ids(scope.school_id, scope.user_id))
        )
    return statement


def _parse_date(text: str, field_label: str, errors: list[str]) -> dt.date | None:
    text = (text or "").strip()
    example = dt.date.today().strftime("%d.%m.%Y")
    if not text:
        errors.append(
            _(
                "Enter the date «%(field)s», for example %(example)s.",
                field=field_label,
                example=example,
            )
        )
        return None
    parsed = parse_user_date(text)
    if parsed is None:
        errors.append(
            _(
                "The date «%(value)s» in «%(field)s» is invalid: enter it as dd.mm.yyyy, "
                "for example %(example)s.",
                value=text,
                field=field_label,
                example=example,
            )
        )
    return parsed


def _parse_common(form: AnnouncementForm, errors: list[str]):
    """Check the title and the display period shared by school and authority forms."""
    title = (form.title or "").strip()
    if not title:
        errors.append(_("Enter the title of the announcement."))
    elif len(title) > TITLE_MAX_LENGTH:
        errors.append(
            _(
                "The title is %(length)s characters long; shorten it to %(max)s characters.",
                length=len(title),
                max=TITLE_MAX_LENGTH,
            )
        )

    display_from = _parse_date(form.display_from, _("Show from"), errors)
    display_to = _parse_date(form.display_to, _("Show until"), errors)
    if display_from and display_to and display_from > display_to:
        errors.append(
            _(
                "The display period ends on %(end)s, before it starts on %(start)s. "
                "Set «Show until» to %(start)s or later.",
                start=display_from.strftime("%d.%m.%Y"),
                end=display_to.strftime("%d.%m.%Y"),
            )
        )
    return title, (form.body or "").strip(), display_from, display_to


def _parse_roles(form: AnnouncementForm, errors: list[str]) -> list[str]:
    codes = []
    known = set(school_role_codes())
    for code in form.role_codes:
        if code not in known:
            errors.append(
                _(
                    "The role «%(value)s» is not a school role; tick roles from the list.",
                    value=code,
                )
            )
        elif code not in codes:
            codes.append(code)
    if not form.role_codes:
        errors.append(_("Tick at least one role the announcement is for."))
    return codes


def _parse_classes(
    access: AnnouncementAccess, form: AnnouncementForm, errors: list[str]
) -> list[int]:
    requested = []
    for value in form.class_ids:
        if not str(value).isdigit():
            errors.append(
                _(
                    "The class «%(value)s» is not found in this school; tick classes from "
                    "the list.",
                    value=value,
                )
            )
        elif int(value) not in requested:
            requested.append(int(value))
    if not form.class_ids:
        errors.append(_("Tick at least one class the announcement is for."))
        return []

    scope = access.scope
    in_school = dict(
        db.session.execute(
            select(SchoolClass.id, SchoolClass.name).where(
                SchoolClass.school_id == scope.school_id, SchoolClass.id.in_(requested)
            )
        ).all()
    )
    allowed = set(
        db.session.scalars(
            _addressable_classes(access)
            .where(SchoolClass.id.in_(requested))
            .with_only_columns(SchoolClass.id)
        )
    )
    for class_id in requested:
        if class_id not in in_school:
            errors.append(
                _(
                    "The class «%(value)s» is not found in this school; tick classes from "
                    "the list.",
                    value=class_id,
                )
            )
        elif class_id not in allowed:
            errors.append(
                _(
                    "You may address only the classes you teach or lead; class %(name)s is "
                    "not one of them.",
                    name=in_school[class_id],
                )
            )
    return [class_id for class_id in requested if class_id in allowed]


def _check_uploads(uploads, errors: list[str]) -> None:
    for upload in uploads:
        try:
            check_upload(upload)
        except AttachmentError as error:
            errors.append(str(error))


def parse_form(access: AnnouncementAccess, form: AnnouncementForm, uploads=()) -> AnnouncementInput:
    """Check a school announcement form; raise :class:`AnnouncementInputError` with every
    problem found."""
    errors: list[str] = []
    title, body, display_from, display_to = _parse_common(form, errors)

    audience = form.audience
    role_codes: list[str] = []
    class_ids: list[int] = []
    if audience not in AUDIENCE_KINDS:
        errors.append(
            _(
                "The audience «%(value)s» is unknown: choose the whole school, chosen roles "
                "or chosen classes.",
                value=audience,
            )
        )
    elif audience != "classes" and not access.manages:
        errors.append(
            _(
                "A teacher addresses only the classes they teach or lead: choose «Chosen "
                "classes» and tick your classes."
            )
        )
    elif audience == "roles":
        role_codes = _parse_roles(form, errors)
    elif audience == "classes":
        class_ids = _parse_classes(access, form, errors)

    _check_uploads(uploads, errors)
    if errors:
        raise AnnouncementInputError(errors)
    return AnnouncementInput(
        title=title,
        body=body,
        display_from=display_from,
        display_to=display_to,
        audience=audience,
        role_codes=role_codes,
        class_ids=class_ids,
    )
