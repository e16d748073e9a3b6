"""The role × permission matrix: what each of the twelve roles holds, and the role sync.

The baseline is written twice on purpose, in ``app.security.roles`` and as a literal
table below, so that a change to a role's rights is made consciously in both places.
"""

import pytest
from sqlalchemy import select

from app.models import db
from app.security.roles import READ, ROLES, WRITE
from app.security.sync import MENU_ACCESS, role_matrix, sync_roles

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
EDUCATION = {
    "Subjects",
    "SchoolClasses",
    "StudyGroups",
    "CurriculumHours",
    "Courses",
    "TimetableEntries",
    "Lessons",
    "SubjectDifficulty",
}
JOURNAL_RECORDS = {"Assignments", "Marks", "Attendances", "FinalMarks"}
PUBLISHED_TO_SCHOOL = {"AssessmentSchedule", "Regulation"}

#: Role code → (features read only, features written). Writing a feature implies
#: reading it. The server administrator holds every permission and is checked apart.
BASELINE = {
    "authority": ({"SchoolCards", "AuthorityReports"}, {"AuthorityAnnouncements", "ReportJobs"}),
    "school_admin": (
        PUBLISHED_TO_SCHOOL
        | {
            "Employees",
            "Students",
            "Guardians",
            "SchoolClasses",
            "Subjects",
            "Timetable",
            "PersonalDataLog",
            "TeachingLoad",
            "SubjectDifficulty",
        },
        SCHOOL_SETTINGS
        | {
            "SchoolUsers",
            "ClassLogins",
            "StudentDocuments",
            "SchoolSettings",
            "RegulationEdit",
            "Announcements",
            "Messages",
            "Notifications",
            "SchoolCard",
            "TimetableEditor",
            "StaffRecords",
            "StudentImport",
            "EmployeeImport",
            "StudentMovement",
            "TimetableImport",
        },
    ),
    "principal": (
        SCHOOL_SETTINGS
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
        EDUCATION
        | {
            "Journal",
            "Timetable",
            "TimetableChanges",
            "TimetableImport",
            "TimetableEditor",
            "Announcements",
            "Messages",
            "Notifications",
            "RegulationEdit",
            "ReportJobs",
        },
    ),
    "teacher": (
        PUBLISHED_TO_SCHOOL
        | {
            "Students",
            "SchoolClasses",
            "Subjects",
            "Courses",
            "Lessons",
            "AssignmentTypes",
            "AttendanceCodes",
            "Timetable",
            "TimetableEditor",
            "Diary",
            "AbsenteeList",
            "ProgrammeReport",
            "PhysicalEducation",
            "SocialPassport",
            "StaffRecords",
            "TeachingLoad",
        },
        {
            "Journal",
            "Announcements",
            "AbsenceNotes",
            "Messages",
            "Notifications",
            "ReportJobs",
            "ClassLogins",
            "TransferredMarks",
        },
    ),
    "secretary": (
        PUBLISHED_TO_SCHOOL
        | {
            "SchoolClasses",
            "Employees",
            "AbsenceNotes",
            "Announcements",
            "AbsenteeList",
            "MealBenefits",
        },
        {
            "Students",
            "Guardians",
            "StudentDocuments",
            "Messages",
            "Notifications",
            "PersonalDataConsents",
            "StudentImport",
            "StudentMovement",
            "Certificates",
            "CertificateRequests",
            "TransferredMarks",
        },
    ),
    "hr": (
        PUBLISHED_TO_SCHOOL | {"Announcements"},
        {"Employees", "StaffRecords", "Messages", "Notifications", "EmployeeImport"},
    ),
    "medical": (
        PUBLISHED_TO_SCHOOL
        | {"Students", "SchoolClasses", "Announcements", "AbsenteeList", "PhysicalEducation"},
        {"Messages", "Notifications", "HealthRecords"},
    ),
    "psychologist": (
        PUBLISHED_TO_SCHOOL
        | {"Students", "SchoolClasses", "Diary", "Announcements", "MealBenefits"},
        {"Messages", "Notifications", "SocialPassport", "PsychologistNotes"},
    ),
    "technical_staff": (
        PUBLISHED_TO_SCHOOL | {"Timetable", "Announcements"},
        {"Rooms", "Messages", "Notifications"},
    ),
    "student": (
        PUBLISHED_TO_SCHOOL | {"Diary", "Timetable", "Announcements"},
        {"Messages", "Notifications"},
    ),
    "parent": (
        PUBLISHED_TO_SCHOOL | {"Diary", "Timetable", "Announcements"},
        {"Messages", "Notifications", "AbsenceNotes", "CertificateRequests"},
    ),
}

ROLE_CODES = {
    "authority",
    "server_admin",
    "school_admin",
    "principal",
    "teacher",
    "secretary",
    "hr",
    "medical",
    "psychologist",
    "technical_staff",
    "student",
    "parent",
}


@pytest.fixture()
def appbuilder(app):
    with app.app_context():
        yield app.appbuilder
        db.session.rollback()


def stored_permissions(appbuilder, code: str) -> set[tuple[str, str]]:
    """The (permission, view) pairs a role holds in the database now."""
    db.session.expire_all()
    role = appbuilder.sm.find_role(ROLES[code].name)
    assert role is not None, f"role {code} is missing"
    return {(pvm.permission.name, pvm.view_menu.name) for pvm in role.permissions}


def all_permissions(appbuilder) -> set[tuple[str, str]]:
    sm = appbuilder.sm
    rows = db.session.scalars(select(sm.permissionview_model))
    return {(pvm.permission.name, pvm.view_menu.name) for pvm in rows}


def test_role_codes_are_the_twelve_user_types():
    assert set(ROLES) == ROLE_CODES


def test_baseline_table_matches_roles_module():
    for code, (reads, writes) in BASELINE.items():
        spec = ROLES[code]
        assert spec.write == writes, code
        assert spec.read == reads | writes, code
    assert set(BASELINE) | {"server_admin"} == set(ROLES)
    assert ROLES["server_admin"].read == set()
    assert ROLES["server_admin"].write == set()


@pytest.mark.parametrize("code", sorted(ROLE_CODES - {"server_admin"}))
def test_stored_role_equals_matrix(appbuilder, code):
    assert stored_permissions(appbuilder, code) == role_matrix(code, appbuilder)


def test_role_matrix_derives_menu_access_from_read(appbuilder):
    pairs = role_matrix("secretary", appbuilder)
    reads, writes = BASELINE["secretary"]
    assert {(READ, view) for view in reads | writes} <= pairs
    assert {(WRITE, view) for view in writes} <= pairs
    menu_entries = {view for permission, view in pairs if permission == MENU_ACCESS}
    assert "Students list" in menu_entries
    assert "People" in menu_entries
    assert "Rooms list" not in menu_entries


def test_server_admin_holds_every_permission(appbuilder):
    assert stored_permissions(appbuilder, "server_admin") == all_permissions(appbuilder)


def test_every_view_permission_is_recorded(appbuilder):
    """FAB must record each registered view's permissions, or no role can be given them."""
    recorded = all_permissions(appbuilder)
    missing = []
    for view in appbuilder.baseviews:
        for permission in view.base_permissions:
            if (permission, view.class_permission_name) not in recorded:
                missing.append((permission, view.class_permission_name))
    assert missing == []


def _pvm(appbuilder, permission: str, view: str):
    pvm = appbuilder.sm.find_permission_view_menu(permission, view)
    assert pvm is not None, f"{permission} on {view} is not recorded"
    return pvm


@pytest.fixture()
def restore_baseline(appbuilder):
    """Put every role back to its baseline after a test that edits roles by hand."""
    yield appbuilder
    db.session.rollback()
    sync_roles(reset=True)


def test_sync_keeps_permission_added_by_hand(restore_baseline):
    appbuilder = restore_baseline
    sm = appbuilder.sm
    extra = (READ, "Rooms")
    assert extra not in stored_permissions(appbuilder, "hr")

    sm.add_permission_role(sm.find_role(ROLES["hr"].name), _pvm(appbuilder, *extra))
    sync_roles()

    assert extra in stored_permissions(appbuilder, "hr")


def test_sync_reset_removes_permission_added_by_hand(restore_baseline):
    appbuilder = restore_baseline
    sm = appbuilder.sm
    extra = (READ, "Rooms")
    sm.add_permission_role(sm.find_role(ROLES["hr"].name), _pvm(appbuilder, *extra))

    sync_roles(reset=True)

    held = stored_permissions(appbuilder, "hr")
    assert extra not in held
    assert held == role_matrix("hr", appbuilder)


def test_sync_restores_deleted_baseline_permission(restore_baseline):
    appbuilder = restore_baseline
    sm = appbuilder.sm
    baseline = (WRITE, "Employees")
    sm.del_permission_role(sm.find_role(ROLES["hr"].name), _pvm(appbuilder, *baseline))
    assert baseline not in stored_permissions(appbuilder, "hr")

    added = sync_roles()

    assert baseline in stored_permissions(appbuilder, "hr")
    assert added["hr"] == 1


def test_sync_of_baseline_changes_nothing(restore_baseline):
    appbuilder = restore_baseline
    before = {code: stored_permissions(appbuilder, code) for code in ROLES}

    added = sync_roles()

    assert all(count == 0 for count in added.values())
    assert {code: stored_permissions(appbuilder, code) for code in ROLES} == before


def test_shared_permission_name_keeps_write(restore_baseline, caplog):
    """Views sharing "Journal" agree on its permissions, so FAB tries no deletion."""
    appbuilder = restore_baseline
    journal_views = [v for v in appbuilder.baseviews if v.class_permission_name == "Journal"]
    assert len({tuple(v.base_permissions) for v in journal_views}) == 1

    with caplog.at_level("WARNING", logger="flask_appbuilder"):
        appbuilder.add_permissions(update_perms=True)

    assert not [r for r in caplog.records if "Refused to delete" in r.getMessage()]
    assert (WRITE, "Journal") in stored_permissions(appbuilder, "teacher")
