"""The data model; importing this package registers every table in one metadata."""

from app.models.accounts import InviteCode, LoginState
from app.models.attendance_docs import AbsenceDocument
from app.models.audit import JournalAudit, PersonalDataAudit
from app.models.base import SchoolOwned, db, is_school_owned
from app.models.care import (
    HealthExemption,
    HealthRecord,
    PersonalDataConsent,
    PsychologistNote,
    PsychologyConsent,
    SocialStatus,
)
from app.models.certificates import CertificateRequest, IssuedCertificate, TransferredMark
from app.models.communication import (
    AbsenceNote,
    Announcement,
    AnnouncementClass,
    AnnouncementRead,
    Attachment,
    AuthorityAnnouncement,
    CalendarFeed,
    Message,
    MessageRecipient,
    Notification,
    NotificationSetting,
    OutgoingMail,
)
from app.models.curriculum import (
    Course,
    CurriculumHours,
    Room,
    SchoolClass,
    StudyGroup,
    Subject,
    SubjectDifficulty,
    course_teacher,
    study_group_student,
)
from app.models.enrollment import Enrollment
from app.models.journal import (
    Assignment,
    AssignmentType,
    Attendance,
    AttendanceCode,
    CertificateMark,
    FinalMark,
    Mark,
)
from app.models.org import EducationAuthority, Membership, School, membership_role
from app.models.people import Employee, Guardian, Student
from app.models.personal_file import StudentDocument
from app.models.plan import PlanItem
from app.models.regulation import Regulation
from app.models.report_jobs import ReportJob
from app.models.schoolyear import (
    AcademicYear,
    BellPeriod,
    BellSchedule,
    Holiday,
    Term,
    Vacation,
)
from app.models.staff import StaffEducation, StaffPosition, StaffRecord, TrainingCourse
from app.models.timetable import Lesson, TimetableEntry

__all__ = [
    "SocialStatus",
    "PsychologyConsent",
    "PsychologistNote",
    "PersonalDataConsent",
    "PersonalDataAudit",
    "HealthRecord",
    "HealthExemption",
    "AbsenceDocument",
    "AbsenceNote",
    "Announcement",
    "AnnouncementClass",
    "AnnouncementRead",
    "Attachment",
    "AuthorityAnnouncement",
    "CalendarFeed",
    "Message",
    "MessageRecipient",
    "Notification",
    "NotificationSetting",
    "OutgoingMail",
    "AcademicYear",
    "Assignment",
    "AssignmentType",
    "Attendance",
    "AttendanceCode",
    "BellPeriod",
    "BellSchedule",
    "CertificateMark",
    "CertificateRequest",
    "IssuedCertificate",
    "TransferredMark",
    "Course",
    "CurriculumHours",
    "EducationAuthority",
    "Enrollment",
    "Employee",
    "FinalMark",
    "Guardian",
    "StudentDocument",
    "Holiday",
    "JournalAudit",
    "Lesson",
    "InviteCode",
    "LoginState",
    "Mark",
    "PlanItem",
    "Regulation",
    "ReportJob",
    "Membership",
    "Room",
    "StaffEducation",
    "StaffPosition",
    "StaffRecord",
    "TrainingCourse",
    "School",
    "SchoolClass",
    "SchoolOwned",
    "Student",
    "StudyGroup",
    "Subject",
    "SubjectDifficulty",
    "Term",
    "TimetableEntry",
    "Vacation",
    "db",
    "is_school_owned",
    "course_teacher",
    "membership_role",
    "study_group_student",
]
