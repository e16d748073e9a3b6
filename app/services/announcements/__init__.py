"""Announcements (объявления) of a school and of its education authority.

Who reads a school announcement:

- audience "school": everyone with an active membership in the school;
- audience "roles": the members holding one of the chosen role codes there;
- audience "classes": the students of the chosen classes, their parents (guardians who are
  not barred), the class teachers and the teachers of courses of those classes.

Readers see an announcement only while its display period covers the day. Its author, the
principal and the school administrator see every announcement of their school, and writers
also list their future and past ones. :func:`visible_statement` is the one rule of "who
sees what on a day": the list, the page of one announcement, the start page, the diary and
:func:`announcements_visible_to` (for the e-mail digest) all read through it.

An authority announcement is kept as an :class:`~app.models.AuthorityAnnouncement` and
copied into every school of the authority as an announcement to the whole school, files
included. Schools read their copies and cannot change them; the authority's edits and
deletion reach every copy.
"""

from app.services.announcements.access import (
    AnnouncementAccess,
    may_edit,
    may_see_statistics,
)
from app.services.announcements.authority import (
    authority_attachments,
    authority_copies,
    authority_rows,
    delete_authority_announcement,
    get_authority_announcement_or_404,
    get_authority_attachment_or_404,
    publish_authority_announcement,
    update_authority_announcement,
)
from app.services.announcements.form import (
    DEFAULT_DISPLAY_DAYS,
    AnnouncementForm,
    AnnouncementInputError,
    class_choices,
    parse_form,
    role_choices,
)
from app.services.announcements.listing import (
    PAGE_SIZE,
    PERIODS,
    announcement_rows,
    diary_announcements,
    list_page,
    reader_announcements,
)
from app.services.announcements.read_marks import (
    addressed_reader_ids,
    mark_read,
    read_statistics,
    record_read,
)
from app.services.announcements.reading import (
    announcements_visible_to,
    get_attachment_or_404,
    get_readable_or_404,
    reader_scope,
)
from app.services.announcements.writing import (
    create_announcement,
    delete_announcement,
    update_announcement,
)

# The names the views, the digest and the tests import from the package.
__all__ = [
    "AnnouncementAccess",
    "AnnouncementForm",
    "AnnouncementInputError",
    "DEFAULT_DISPLAY_DAYS",
    "PAGE_SIZE",
    "PERIODS",
    "addressed_reader_ids",
    "announcement_rows",
    "announcements_visible_to",
    "authority_attachments",
    "authority_copies",
    "authority_rows",
    "class_choices",
    "create_announcement",
    "delete_announcement",
    "delete_authority_announcement",
    "get_attachment_or_404",
    "get_authority_announcement_or_404",
    "get_authority_attachment_or_404",
    "get_readable_or_404",
    "list_page",
    "mark_read",
    "may_edit",
    "may_see_statistics",
    "parse_form",
    "publish_authority_announcement",
    "read_statistics",
    "diary_announcements",
    "reader_announcements",
    "reader_scope",
    "record_read",
    "role_choices",
    "update_announcement",
    "update_authority_announcement",
]
