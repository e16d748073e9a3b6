"""Rights of a session to write and edit school announcements and to see who has read them."""

from dataclasses import dataclass

from app.models import Announcement
from app.security.scope import Scope

#: Roles that see and manage every announcement of their school.
MANAGER_ROLES = ("principal", "school_admin")
#: Roles that write announcements; a teacher only to the classes they teach or lead.
WRITER_ROLES = (*MANAGER_ROLES, "teacher")


def _sees_whole_school(scope: Scope) -> bool:
    if scope.level == "server":
        return True
    return scope.level == "school" and scope.has_role(*MANAGER_ROLES)


@dataclass(frozen=True)
class AnnouncementAccess:
    """The rights of one session over school announcements."""

    scope: Scope
    #: True when the session has the write permission of the Announcements feature.
    may_write: bool = False

    @property
    def sees_whole_school(self) -> bool:
        """Managers read every announcement of their school; the server level, of all."""
        return _sees_whole_school(self.scope)

    @property
    def manages(self) -> bool:
        """Principals and school administrators address anyone and edit any announcement."""
        return (
            self.may_write and self.scope.level == "school" and self.scope.has_role(*MANAGER_ROLES)
        )

    @property
    def writes(self) -> bool:
        return (
            self.may_write and self.scope.level == "school" and self.scope.has_role(*WRITER_ROLES)
        )

    @property
    def lists_other_periods(self) -> bool:
        """Writers list future and past announcements too; readers list current ones only."""
        return self.writes or self.scope.level == "server"


def may_edit(access: AnnouncementAccess, announcement: Announcement) -> bool:
    """Tell whether the session may edit or delete the announcement.

    A teacher changes only their own announcements; managers change any of their school's
    except the copies of an authority announcement, which only the authority changes.
    """
    if not access.writes or announcement.authority_announcement_id is not None:
        return False
    if announcement.school_id != access.scope.school_id:
        return False
    return access.manages or announcement.author_id == access.scope.user_id


def may_see_statistics(access: AnnouncementAccess, announcement: Announcement) -> bool:
    """Tell whether the session sees who has read it: the author and the managers do."""
    if access.sees_whole_school:
        return True
    return announcement.author_id is not None and announcement.author_id == access.scope.user_id
