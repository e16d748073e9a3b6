"""Demo announcements, a message thread and an absence note of one school.

They involve the people listed in the demo logins file, so that a newcomer signing in as
the parent or the class teacher finds something in every communication page.
"""

import datetime as dt

from app.models import (
    AbsenceNote,
    Announcement,
    AnnouncementClass,
    Message,
    MessageRecipient,
    db,
)


def fill_communication(builder) -> None:
    """Add the school's demo announcements, one parent's thread and one absence note."""
    today = builder.demo.today
    principal_id = builder.staff_people[0][2].user_id
    teacher_id = builder.teacher_people[builder.login_teacher.key].user_id
    parent_id = builder.login_family.guardians[0][0].user_id
    school_class = builder.classes[builder.login_teacher.class_key]

    _add_announcements(builder.school_id, today, principal_id, teacher_id, school_class)
    _add_thread(builder.school_id, today, parent_id, teacher_id, builder.login_student)
    _add_absence_note(builder.school_id, today, parent_id, builder.login_student)


def _add_announcements(school_id, today, principal_id, teacher_id, school_class) -> None:
    whole_school = Announcement(
        school_id=school_id,
        title="Родительские собрания по итогам четверти",
        body=(
            "Уважаемые родители! Собрания по итогам четверти пройдут в классах "
            "в четверг в 18:30. Классные руководители пришлют повестку в сообщениях."
        ),
        audience="school",
        display_from=today - dt.timedelta(days=3),
        display_to=today + dt.timedelta(days=14),
        author_id=principal_id,
    )
    staff = Announcement(
        school_id=school_id,
        title="Педагогический совет",
        body="Педсовет состоится в понедельник в 15:00 в актовом зале.",
        audience="roles",
        audience_roles="teacher,principal",
        display_from=today - dt.timedelta(days=1),
        display_to=today + dt.timedelta(days=7),
        author_id=principal_id,
    )
    one_class = Announcement(
        school_id=school_id,
        title=f"Экскурсия {school_class.name} класса",
        body="В субботу едем в Политехнический музей. Сбор у школы в 9:30, нужна сменная обувь.",
        audience="classes",
        display_from=today - dt.timedelta(days=2),
        display_to=today + dt.timedelta(days=5),
        author_id=teacher_id,
    )
    db.session.add_all([whole_school, staff, one_class])
    db.session.flush()
    db.session.add(
        AnnouncementClass(
            school_id=school_id, announcement_id=one_class.id, class_id=school_class.id
        )
    )


def _add_thread(school_id, today, parent_id, teacher_id, student) -> None:
    asked_at = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(19, 12))
    question = Message(
        school_id=school_id,
        sender_id=parent_id,
        subject="Домашнее задание по математике",
        body=(
            "Здравствуйте! Ребёнок болел в понедельник. Подскажите, пожалуйста, "
            "какие номера нужно решить к пятнице?"
        ),
        created_at=asked_at,
        sent_at=asked_at,
    )
    db.session.add(question)
    db.session.flush()
    answered_at = asked_at + dt.timedelta(hours=14)
    answer = Message(
        school_id=school_id,
        sender_id=teacher_id,
        thread_id=question.id,
        reply_to_id=question.id,
        subject="Re: Домашнее задание по математике",
        body="Добрый день! Номера 214 и 215, задание также есть в дневнике.",
        created_at=answered_at,
        sent_at=answered_at,
    )
    db.session.add(answer)
    db.session.flush()
    db.session.add_all(
        [
            MessageRecipient(
                school_id=school_id, message_id=question.id, user_id=teacher_id, read_at=answered_at
            ),
            MessageRecipient(school_id=school_id, message_id=answer.id, user_id=parent_id),
        ]
    )


def _add_absence_note(school_id, today, parent_id, student) -> None:
    day = _next_weekday(today)
    db.session.add(
        AbsenceNote(
            school_id=school_id,
            student_id=student.student_id,
            author_id=parent_id,
            date_from=day,
            date_to=day,
            reason_text="Плановый приём у стоматолога, вернёмся к третьему уроку.",
        )
    )


def _next_weekday(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day
