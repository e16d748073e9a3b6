"""The start page of each user type: its first links, in the order the job needs them."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.security.scope import Scope


@dataclass(frozen=True)
class StartLink:
    endpoint: str
    label: object
    hint: object


ANNOUNCEMENTS = StartLink(
    "AnnouncementView.index",
    _l("Announcements"),
    _l("Announcements of the school and of the education authority."),
)
MESSAGES = StartLink(
    "MessageView.inbox", _l("Messages"), _l("Your inbox: messages to and from the school.")
)
NOTICES = StartLink(
    "NotificationView.index",
    _l("Notices and e-mail"),
    _l("Your notices, and which of them also come by e-mail."),
)

#: Links every school role gets after its own.
COMMUNICATION = [ANNOUNCEMENTS, MESSAGES, NOTICES]

#: Start links per role code; the page shows the union for a user holding several roles.
START_LINKS: dict[str, list[StartLink]] = {
    "authority": [
        StartLink(
            "AuthorityReportView.summary",
            _l("Summary of schools"),
            _l(
                "Average mark, quality and pass rates per school and grade, with an Excel download."
            ),
        ),
        StartLink(
            "SchoolCardView.list",
            _l("School cards"),
            _l("Addresses, principals and shifts of your schools."),
        ),
        StartLink(
            "SchoolCardExportView.export",
            _l("School cards in Excel"),
            _l("Legal details, contacts and infrastructure of every school in one table."),
        ),
        StartLink(
            "AuthorityAnnouncementView.index",
            _l("Announcements to schools"),
            _l("Announcements shown in every school of your authority."),
        ),
    ],
    "server_admin": [
        StartLink("UserDBModelView.list", _l("Users"), _l("Logins of the whole server.")),
        StartLink("RoleModelView.list", _l("Roles"), _l("The role and permission matrix.")),
    ],
    "school_admin": [
        StartLink(
            "SchoolUserView.list",
            _l("School users"),
            _l("Logins and roles of your school's people."),
        ),
        StartLink(
            "SchoolCardPageView.card",
            _l("School card"),
            _l("Legal details, contacts, management and infrastructure of the school."),
        ),
        StartLink(
            "TermView.list", _l("Terms"), _l("Terms, vacations and holidays of the school year.")
        ),
        StartLink(
            "AssignmentTypeView.list",
            _l("Assignment types"),
            _l("Types of work and their weights."),
        ),
        *COMMUNICATION,
    ],
    "principal": [
        StartLink(
            "JournalView.courses",
            _l("Class journal"),
            _l("Every course of the school, for reading and correction."),
        ),
        StartLink(
            "TimetableView.index", _l("Timetable"), _l("Weekly timetables of classes and teachers.")
        ),
        StartLink("CourseView.list", _l("Teaching load"), _l("Courses, classes and teachers.")),
        StartLink(
            "SchoolCardPageView.card",
            _l("School card"),
            _l("Legal details, contacts, management and infrastructure of the school."),
        ),
        *COMMUNICATION,
    ],
    "teacher": [
        StartLink(
            "JournalView.courses",
            _l("Class journal"),
            _l("Marks, attendance, topics and homework of your courses."),
        ),
        StartLink(
            "TimetableView.index",
            _l("Timetable"),
            _l("Timetables of your classes, your colleagues and the rooms."),
        ),
        StartLink("StudentView.list", _l("My students"), _l("Students of the classes you teach.")),
        StartLink(
            "AbsenceNoteView.index",
            _l("Absence notes"),
            _l("Parents' notes about absences of your students."),
        ),
        *COMMUNICATION,
    ],
    "secretary": [
        StartLink(
            "StudentView.list", _l("Students"), _l("Personal files and classes of students.")
        ),
        StartLink(
            "GuardianView.list", _l("Parents and guardians"), _l("Parents' contacts and access.")
        ),
        *COMMUNICATION,
    ],
    "hr": [
        StartLink("EmployeeView.list", _l("Staff"), _l("Staff records and positions.")),
        StartLink(
            "StaffRecordsView.index",
            _l("Staff records"),
            _l("Positions, education, qualification categories and courses of the staff."),
        ),
        *COMMUNICATION,
    ],
    "medical": [
        StartLink("StudentView.list", _l("Students"), _l("Lists of students by class.")),
        *COMMUNICATION,
    ],
    "psychologist": [
        StartLink("StudentView.list", _l("Students"), _l("Lists of students by class.")),
        StartLink("DiaryView.index", _l("Diaries"), _l("Marks and attendance of a student.")),
        *COMMUNICATION,
    ],
    "technical_staff": [
        StartLink("TimetableView.index", _l("Timetable"), _l("Timetable of classes and rooms.")),
        StartLink(
            "RoomView.list", _l("Rooms"), _l("Rooms of the school, their seats and equipment.")
        ),
        *COMMUNICATION,
    ],
    "student": [
        StartLink("DiaryView.index", _l("Diary"), _l("Lessons, homework and marks of the week.")),
        StartLink("TimetableView.index", _l("Timetable"), _l("Your lessons this week.")),
        *COMMUNICATION,
    ],
    "parent": [
        StartLink(
            "DiaryView.index", _l("Diary"), _l("Marks, attendance and homework of your children.")
        ),
        StartLink(
            "AbsenceNoteView.index",
            _l("Absence notes"),
            _l("Tell the school that your child will be or was away."),
        ),
        *COMMUNICATION,
    ],
}


def start_links(scope: Scope, known_endpoints=None) -> list[StartLink]:
    """Links for every role the session holds, without repeats, in role order.

    ``known_endpoints`` drops links to pages this installation does not register.
    """
    seen = set()
    links = []
    for code in START_LINKS:
        if code not in scope.role_codes:
            continue
        for link in START_LINKS[code]:
            if known_endpoints is not None and link.endpoint not in known_endpoints:
                continue
            if link.endpoint not in seen:
                seen.add(link.endpoint)
                links.append(link)
    return links
