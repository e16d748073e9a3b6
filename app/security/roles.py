"""The twelve user types as data: names on screen and the baseline permission matrix.

Each school-level feature is one FAB permission name shared by its page and its REST API,
with methods collapsed into ``can_read`` and ``can_write``. ``menu_access`` is derived from
``can_read`` when the roles are synchronised, so the matrix below lists only read and write.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

READ = "can_read"
WRITE = "can_write"

#: FAB method names mapped to the two permissions every feature uses.
METHOD_PERMISSIONS = {
    # MVC model views
    "list": "read",
    "show": "read",
    "download": "read",
    "export_xlsx": "read",
    "add": "write",
    "edit": "write",
    "delete": "write",
    "action": "write",
    "action_post": "write",
    "muldelete": "write",
    # REST model APIs
    "get": "read",
    "get_list": "read",
    "info": "read",
    "post": "write",
    "put": "write",
    "bulk_delete": "write",
}


@dataclass(frozen=True)
class RoleSpec:
    """One user type: its code, FAB role name (shown on screen) and baseline rights."""

    code: str
    name: str
    label: object
    #: The organisation level a membership with this role belongs to.
    level: str
    read: frozenset = field(default_factory=frozenset)
    write: frozenset = field(default_factory=frozenset)


def _spec(code, name, label, level, read=(), write=()):
    write_set = frozenset(write)
    return RoleSpec(code, name, label, level, frozenset(read) | write_set, write_set)


#: Features of school settings, kept by the school administrator.
SCHOOL_SETTINGS = {
    "AcademicYears",
    "Terms",
    "Vacations",
    "Holidays",
    "BellSchedules",
    "AssignmentTypes",
    "AttendanceCodes",
    "Rooms",
}

#: Features of the educational process, kept by the principal and deputies.
EDUCATION = {
    "Subjects",
    "SchoolClasses",
    "StudyGroups",
    "CurriculumHours",
    "Courses",
    "TimetableEntries",
    "Lessons",
    # The subject difficulty scale the template's health check reads.
    "SubjectDifficulty",
}

#: Journal records read through REST and lists, written through the journal page.
JOURNAL_RECORDS = {"Assignments", "Marks", "Attendances", "FinalMarks"}

#: Features every school role uses for itself: the inbox, its notices and e-mail choices,
#: and reading announcements.
COMMUNICATION_READ = {"Announcements"}
COMMUNICATION_WRITE = {"Messages", "Notifications"}

#: Pages the school publishes to every school role, parents and students included: the
#: schedule of assessment procedures and the assessment regulation.
PUBLISHED_TO_SCHOOL = {"AssessmentSchedule", "Regulation"}

ROLES: dict[str, RoleSpec] = {
    spec.code: spec
    for spec in [
        _spec(
            "authority",
            "Управление образования",
            _l("Education authority"),
            "authority",
            read={"SchoolCards", "AuthorityReports"},
            # ReportJobs: queue background reports, see and download one's own.
            write={"AuthorityAnnouncements", "ReportJobs"},
        ),
        # The server administrator is FAB's admin role: it receives every permission
        # FAB creates, so its baseline is "everything" and is not listed here.
        _spec("server_admin", "Администратор сервера", _l("Server administrator"), "server"),
        _spec(
            "school_admin",
            "Администратор системы",
            _l("School system administrator"),
            "school",
            read=PUBLISHED_TO_SCHOOL
            | {
                "Employees",
                "Students",
                "Guardians",
                "SchoolClasses",
                "Subjects",
                "Timetable",
                "PersonalDataLog",
                # Courses against the curriculum and teachers' hours, read only.
                "TeachingLoad",
                # The difficulty scale behind the health warnings of the template it edits.
                "SubjectDifficulty",
            },
            write=SCHOOL_SETTINGS
            | COMMUNICATION_WRITE
            | {
                "SchoolUsers",
                "ClassLogins",
                "StudentDocuments",
                "SchoolSettings",
                "RegulationEdit",
                "Announcements",
                "SchoolCard",
                # The weekly template editor, shared with the principal.
                "TimetableEditor",
                "StaffRecords",
                "StudentImport",
                "EmployeeImport",
                "StudentMovement",
                "TimetableImport",
            },
        ),
        _spec(
            "principal",
            "Директор / завуч",
            _l("Principal or deputy"),
            "school",
            read=SCHOOL_SETTINGS
            | JOURNAL_RECORDS
            | PUBLISHED_TO_SCHOOL
            | {
                "Employees",
                "Students",
                "Guardians",
                "Diary",
                "SchoolReports",
                "AbsenceNotes",
                "SchoolSettings",
                "AbsenteeList",
                "ProgrammeReport",
                "PhysicalEducation",
                "SocialPassport",
                "MealBenefits",
                "SchoolCard",
                "StaffRecords",
                "StudentMovement",
                "Certificates",
                "CertificateRequests",
                "TransferredMarks",
                "TeachingLoad",
            },
            write=EDUCATION
            | COMMUNICATION_WRITE
            | {
                "Journal",
                "Timetable",
                # Substitutions, moves and cancellations of single lessons, and their report.
                "TimetableChanges",
                "TimetableImport",
                "TimetableEditor",
                "Announcements",
                "RegulationEdit",
                "ReportJobs",
            },
        ),
        _spec(
            "teacher",
            "Учитель",
            _l("Teacher or class teacher"),
            "school",
            read=PUBLISHED_TO_SCHOOL
            | {
                "Students",
                "SchoolClasses",
                "Subjects",
                "Courses",
                "Lessons",
                "AssignmentTypes",
                "AttendanceCodes",
                "Timetable",
                # The template editor's pages, read only.
                "TimetableEditor",
                "Diary",
                "AbsenteeList",
                "ProgrammeReport",
                # The class teacher's circle of the social passport is checked per class.
                "PhysicalEducation",
                "SocialPassport",
                # The code limits a teacher to the record of their own employee row.
                "StaffRecords",
                # The code limits a teacher to their own courses and hours.
                "TeachingLoad",
            },
            # ReportJobs: class teachers queue their own class's reports. ClassLogins: class
            # teachers manage their own class's logins while the school setting allows it.
            write=COMMUNICATION_WRITE
            # TransferredMarks: class teachers enter marks from an extract for their own class.
            | {
                "Journal",
                "Announcements",
                "AbsenceNotes",
                "ReportJobs",
                "ClassLogins",
                "TransferredMarks",
            },
        ),
        _spec(
            "secretary",
            "Секретарь",
            _l("Secretary"),
            "school",
            read=COMMUNICATION_READ
            | PUBLISHED_TO_SCHOOL
            | {"SchoolClasses", "Employees", "AbsenceNotes", "AbsenteeList", "MealBenefits"},
            write=COMMUNICATION_WRITE
            | {
                "Students",
                "Guardians",
                "StudentDocuments",
                "PersonalDataConsents",
                "StudentImport",
                "StudentMovement",
                "Certificates",
                "CertificateRequests",
                "TransferredMarks",
            },
        ),
        _spec(
            "hr",
            "Специалист по кадрам",
            _l("HR specialist"),
            "school",
            read=COMMUNICATION_READ | PUBLISHED_TO_SCHOOL,
            write=COMMUNICATION_WRITE | {"Employees", "StaffRecords", "EmployeeImport"},
        ),
        _spec(
            "medical",
            "Медицинский работник",
            _l("Medical worker"),
            "school",
            read=COMMUNICATION_READ
            | PUBLISHED_TO_SCHOOL
            | {"Students", "SchoolClasses", "AbsenteeList", "PhysicalEducation"},
            write=COMMUNICATION_WRITE | {"HealthRecords"},
        ),
        _spec(
            "psychologist",
            "Психолог / социальный педагог",
            _l("Psychologist or social pedagogue"),
            "school",
            read=COMMUNICATION_READ
            | PUBLISHED_TO_SCHOOL
            | {"Students", "SchoolClasses", "Diary", "MealBenefits"},
            write=COMMUNICATION_WRITE | {"SocialPassport", "PsychologistNotes"},
        ),
        _spec(
            "technical_staff",
            "Технический персонал",
            _l("Technical staff"),
            "school",
            read=COMMUNICATION_READ | PUBLISHED_TO_SCHOOL | {"Timetable"},
            # Rooms: capacity and equipment of the classrooms they look after.
            write=COMMUNICATION_WRITE | {"Rooms"},
        ),
        _spec(
            "student",
            "Учащийся",
            _l("Student"),
            "school",
            read=COMMUNICATION_READ | PUBLISHED_TO_SCHOOL | {"Diary", "Timetable"},
            write=COMMUNICATION_WRITE,
        ),
        _spec(
            "parent",
            "Родитель",
            _l("Parent"),
            "school",
            read=COMMUNICATION_READ | PUBLISHED_TO_SCHOOL | {"Diary", "Timetable"},
            write=COMMUNICATION_WRITE | {"AbsenceNotes", "CertificateRequests"},
        ),
    ]
}

#: FAB role name → role code, for turning a session's roles back into codes.
CODE_BY_NAME = {spec.name: spec.code for spec in ROLES.values()}

#: Roles that see every student of their school in lists; a teacher alone sees only
#: the students they teach.
ALL_STUDENTS_ROLES = frozenset(
    {"server_admin", "school_admin", "principal", "secretary", "medical", "psychologist"}
)


def role_name(code: str) -> str:
    return ROLES[code].name


def school_role_codes() -> list[str]:
    """Codes a school administrator may grant: the school-level ones."""
    return [code for code, spec in ROLES.items() if spec.level == "school"]


#: FAB's pages of the signed-in user's own profile, open to every role: the profile, its
#: edit form and the password change. FAB names these permissions itself.
OWN_PROFILE = frozenset(
    {
        ("can_userinfo", "UserDBModelView"),
        ("userinfoedit", "UserDBModelView"),
        ("resetmypassword", "UserDBModelView"),
        ("can_this_form_get", "UserInfoEditView"),
        ("can_this_form_post", "UserInfoEditView"),
        ("can_this_form_get", "ResetMyPasswordView"),
        ("can_this_form_post", "ResetMyPasswordView"),
    }
)


def baseline_permissions(code: str) -> set[tuple[str, str]]:
    """(permission, view) pairs of a role's baseline, before menu entries are added."""
    spec = ROLES[code]
    pairs = set(OWN_PROFILE)
    pairs |= {(READ, view) for view in spec.read}
    pairs |= {(WRITE, view) for view in spec.write}
    return pairs
