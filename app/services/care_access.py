"""Who may see a student's confidential records: the circles of confidentiality.

The whole health record is open to the medical worker. Its PE part (PE group, exemptions,
ОВЗ status) is also open to the principal and to the teachers who teach or lead the
student's class. The social passport belongs to the psychologist, the principal and the
student's class teacher. Its benefit categories are also open to the role that runs
school meals.
Psychologist notes belong to the psychologist alone.
"""

from flask import abort
from sqlalchemy import or_, select

from app.models import Course, Employee, SchoolClass, Student, course_teacher, db
from app.security.scope import Scope, apply_scope, scoped_get_or_404

#: Roles that keep school meals. NOTE: no meals role exists yet, and the secretary keeps
#: meals by default, so a school whose meals are run by someone else gives them this role.
MEALS_ROLES = ("secretary",)


def may_edit_health(scope: Scope) -> bool:
    return scope.level == "school" and scope.has_role("medical")


def may_see_pe(scope: Scope) -> bool:
    return scope.level == "school" and scope.has_role("medical", "principal", "teacher")


def may_edit_social_passport(scope: Scope) -> bool:
    return scope.level == "school" and scope.has_role("psychologist")


def may_see_meal_benefits(scope: Scope) -> bool:
    return scope.level == "school" and scope.has_role("psychologist", "principal", *MEALS_ROLES)


def _employee_ids(scope: Scope):
    return select(Employee.id).where(
        Employee.school_id == scope.school_id, Employee.user_id == scope.user_id
    )


def led_class_ids(scope: Scope) -> set[int]:
    """Ids of the classes whose class teacher is the current user."""
    statement = select(SchoolClass.id).where(
        SchoolClass.school_id == scope.school_id,
        SchoolClass.class_teacher_id.in_(_employee_ids(scope)),
    )
    return set(db.session.scalars(statement))


def taught_or_led_class_ids(scope: Scope) -> set[int]:
    """Ids of the classes the current user teaches a course in or leads."""
    taught = (
        select(Course.class_id)
        .join(course_teacher, course_teacher.c.course_id == Course.id)
        .where(Course.school_id == scope.school_id)
        .where(course_teacher.c.employee_id.in_(_employee_ids(scope)))
    )
    led = select(SchoolClass.id).where(SchoolClass.class_teacher_id.in_(_employee_ids(scope)))
    statement = select(SchoolClass.id).where(
        SchoolClass.school_id == scope.school_id,
        or_(SchoolClass.id.in_(taught), SchoolClass.id.in_(led)),
    )
    return set(db.session.scalars(statement))


def pe_class_ids(scope: Scope) -> set[int] | None:
    """Classes whose PE list the user may read; None for every class of the school."""
    if scope.has_role("medical", "principal"):
        return None
    return taught_or_led_class_ids(scope)


def social_class_ids(scope: Scope) -> set[int] | None:
    """Classes whose social passport the user may read; None for every class."""
    if scope.has_role("psychologist", "principal"):
        return None
    return led_class_ids(scope)


def class_in_circle(scope: Scope, class_id, allowed: set[int] | None) -> SchoolClass:
    """Load a class of the school that the user's circle covers; otherwise 404."""
    school_class = scoped_get_or_404(SchoolClass, class_id, scope)
    if allowed is not None and school_class.id not in allowed:
        abort(404)
    return school_class


def student_in_circle(scope: Scope, student_id, allowed: set[int] | None) -> Student:
    """Load a student of the school whose class the user's circle covers; otherwise 404."""
    student = scoped_get_or_404(Student, student_id, scope)
    if allowed is not None and student.class_id not in allowed:
        abort(404)
    return student


def classes_in_circle(scope: Scope, allowed: set[int] | None) -> list[SchoolClass]:
    statement = apply_scope(select(SchoolClass), SchoolClass, scope).order_by(
        SchoolClass.grade, SchoolClass.letter, SchoolClass.id
    )
    if allowed is not None:
        statement = statement.where(SchoolClass.id.in_(allowed or [-1]))
    return list(db.session.scalars(statement))


def class_students(scope: Scope, school_class: SchoolClass) -> list[Student]:
    statement = (
        apply_scope(select(Student), Student, scope)
        .where(Student.class_id == school_class.id, Student.is_active.is_(True))
        .order_by(Student.last_name, Student.first_name, Student.id)
    )
    return list(db.session.scalars(statement))
