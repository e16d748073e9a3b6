"""Parents' absence notes: the list, the note form, and the class teacher's decision."""

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import db
from app.models.communication import ABSENCE_NOTE_STATUSES
from app.security.scope import current_scope
from app.services.absence_notes import (
    MAX_COMMENT_LENGTH,
    MAX_REASON_TEXT_LENGTH,
    NoteForm,
    NoteInputError,
    accept_note,
    default_reason,
    get_note_or_404,
    may_decide,
    may_submit,
    may_withdraw,
    note_absence_rows,
    note_access,
    note_summaries,
    own_children,
    reason_codes,
    reject_note,
    school_days,
    status_label,
    submit_note,
    visible_notes,
    withdraw_note,
)
from app.services.notifications import mark_read_for_links

PERMISSION = "AbsenceNotes"


class AbsenceNoteView(BaseView):
    """Notes a session may open, written by parents and decided by class teachers."""

    route_base = "/absence-notes"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {
        "index": "read",
        "show": "read",
        "new": "write",
        "create": "write",
        "accept": "write",
        "reject": "write",
        "withdraw": "write",
    }

    def _access(self):
        may_write = self.appbuilder.sm.has_access("can_write", PERMISSION)
        return note_access(current_scope(), may_write)

    @expose("/")
    @has_access
    def index(self):
        access = self._access()
        status = request.args.get("status", "")
        if status not in ABSENCE_NOTE_STATUSES:
            status = ""
        page_text = request.args.get("page", "1")
        page = int(page_text) if page_text.isdigit() else 1
        notes = visible_notes(access, status or None, page)
        return self.render_template(
            "absence_notes.html",
            notes=notes,
            summaries=note_summaries(notes.notes),
            status=status,
            statuses=ABSENCE_NOTE_STATUSES,
            status_label=status_label,
            may_submit=may_submit(access),
            access=access,
        )

    @expose("/new", methods=["GET"])
    @has_access
    def new(self):
        access = self._access()
        children = own_children(access)
        form = NoteForm(student_id=str(children[0].id) if len(children) == 1 else "")
        return self._render_form(access, children, form, errors=[])

    @expose("/new", methods=["POST"])
    @has_access
    def create(self):
        access = self._access()
        data = request.form
        form = NoteForm(
            student_id=data.get("student_id", ""),
            date_from=data.get("date_from", ""),
            date_to=data.get("date_to", ""),
            reason_text=data.get("reason_text", ""),
        )
        try:
            note = submit_note(access, form)
        except NoteInputError as error:
            db.session.rollback()
            return self._render_form(access, own_children(access), form, error.messages), 400
        flash(_("The note is sent to the class teacher."), "success")
        return redirect(url_for("AbsenceNoteView.show", note_id=note.id))

    @expose("/<int:note_id>", methods=["GET"])
    @has_access
    def show(self, note_id):
        access = self._access()
        note = get_note_or_404(access, note_id)
        # Notices of this note (a new note, a decision) are answered by opening it.
        mark_read_for_links(note.school_id, access.scope.user_id, [request.path])
        db.session.commit()
        return self._render_note(access, note, errors=[], decision={})

    @expose("/<int:note_id>/accept", methods=["POST"])
    @has_access
    def accept(self, note_id):
        access = self._access()
        note = get_note_or_404(access, note_id)
        decision = {
            "reason_id": request.form.get("reason_id", ""),
            "comment": request.form.get("comment", ""),
        }
        try:
            result = accept_note(access, note, decision["reason_id"], decision["comment"])
        except NoteInputError as error:
            db.session.rollback()
            return self._render_note(access, note, error.messages, decision), 400
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("AbsenceNoteView.show", note_id=note_id))
        _flash_applied(result)
        return redirect(url_for("AbsenceNoteView.show", note_id=note_id))

    @expose("/<int:note_id>/reject", methods=["POST"])
    @has_access
    def reject(self, note_id):
        access = self._access()
        note = get_note_or_404(access, note_id)
        decision = {"comment": request.form.get("reject_comment", ""), "rejecting": True}
        try:
            reject_note(access, note, decision["comment"])
        except NoteInputError as error:
            db.session.rollback()
            return self._render_note(access, note, error.messages, decision), 400
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("AbsenceNoteView.show", note_id=note_id))
        flash(_("The note is rejected and the parent is notified."), "success")
        return redirect(url_for("AbsenceNoteView.show", note_id=note_id))

    @expose("/<int:note_id>/withdraw", methods=["POST"])
    @has_access
    def withdraw(self, note_id):
        access = self._access()
        note = get_note_or_404(access, note_id)
        try:
            withdraw_note(access, note)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("AbsenceNoteView.show", note_id=note_id))
        flash(_("The note is withdrawn."), "success")
        return redirect(url_for("AbsenceNoteView.index"))

    def _render_form(self, access, children, form, errors):
        if not access.is_parent or not children:
            return self.render_template("absence_notes_new.html", children=[], form=form, errors=[])
        school = children[0].school
        return self.render_template(
            "absence_notes_new.html",
            children=children,
            form=form,
            errors=errors,
            max_days=school.absence_note_max_days,
            max_length=MAX_REASON_TEXT_LENGTH,
        )

    def _render_note(self, access, note, errors, decision):
        deciding = may_decide(access, note) and note.status == "pending"
        codes = reason_codes(note.school_id) if deciding else []
        proposed = default_reason(codes)
        chosen_reason = decision.get("reason_id") or (str(proposed.id) if proposed else "")
        return self.render_template(
            "absence_notes_show.html",
            note=note,
            status_label=status_label,
            school_day_count=len(
                school_days(note.school, note.student, note.date_from, note.date_to)
            ),
            rows=note_absence_rows(note),
            summary=note_summaries([note])[note.id],
            deciding=deciding,
            may_withdraw=may_withdraw(access, note),
            codes=codes,
            chosen_reason=chosen_reason,
            decision=decision,
            errors=errors,
            max_comment=MAX_COMMENT_LENGTH,
        )


def _flash_applied(result) -> None:
    """Report what accepting did to the absences, one sentence per kind of outcome."""
    parts = [_("The note is accepted and the parent is notified.")]
    if result.applied:
        parts.append(_("Absences that got the reason: %(count)s.", count=result.applied))
    if result.kept:
        parts.append(_("Absences with a reason set by staff, kept: %(count)s.", count=result.kept))
    if result.locked:
        parts.append(_("Absences in a closed period, not changed: %(count)s.", count=result.locked))
    if not (result.applied or result.kept or result.locked):
        parts.append(
            _("There are no absences in these dates yet: the reason is set when they are marked.")
        )
    flash(" ".join(parts), "success")


def register(appbuilder) -> None:
    # The menu item's name differs from the permission name "AbsenceNotes": FAB's permission
    # update deletes menu_access from a view menu that is also a view's permission name.
    appbuilder.add_view(
        AbsenceNoteView,
        "Absence notes",
        label=_l("Absence notes"),
        category="Communication",
        category_label=_l("Communication"),
    )
