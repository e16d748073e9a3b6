"""The school's regulation on assessment (Положение о текущем контроле и промежуточной
аттестации): the settings the journal suggests period marks by, per school and year."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Rules for a year mark when the mean of the term marks lies exactly between two marks.
YEAR_TIE_RULES = {
    "student": _l("In the student's favour"),
    "last_term": _l("By the last term mark"),
    "annual_test": _l("By the annual test mark"),
}


class Regulation(SchoolOwned, db.Model):
    """One school year's assessment settings; a school without a row uses the defaults.

    ``thresholds`` lists only the boundaries that differ from the default «.5», as
    ``mark:lowest average`` pairs, for example ``3:2.6,4:3.6,5:4.6``.
    """

    __tablename__ = "regulation"
    __table_args__ = (
        UniqueConstraint("school_id", "year_id", name="uq_regulation_year"),
        CheckConstraint("min_marks >= 0", name="ck_regulation_min_marks"),
        CheckConstraint("min_marks_per_extra_hour >= 0", name="ck_regulation_min_marks_extra"),
        CheckConstraint(
            "max_missed_share > 0 AND max_missed_share <= 1", name="ck_regulation_missed_share"
        ),
        CheckConstraint(
            "year_tie_rule IN ('student','last_term','annual_test')", name="ck_regulation_tie_rule"
        ),
        CheckConstraint("grade2_marks_from_term >= 1", name="ck_regulation_grade2_term"),
    )

    id = Column(Integer, primary_key=True)
    year_id = Column(Integer, ForeignKey("academic_year.id", ondelete="CASCADE"), nullable=False)
    thresholds = Column(String(200), nullable=False, default="")
    #: Marks a period mark needs in a subject of one hour a week; «н/а» is proposed below it.
    min_marks = Column(Integer, nullable=False, default=3)
    #: Marks added to ``min_marks`` for each further weekly hour of the subject.
    min_marks_per_extra_hour = Column(Integer, nullable=False, default=1)
    #: «н/а» is proposed when the student missed more than this share of the lessons.
    max_missed_share = Column(Numeric(3, 2), nullable=False, default=0.5)
    #: Optional rule: no top mark for a period that contains a «2» (or lower).
    no_top_mark_with_fail = Column(Boolean, nullable=False, default=False)
    year_tie_rule = Column(
        String(20), nullable=False, default="student", info={"choices": YEAR_TIE_RULES}
    )
    #: The term from which second-graders get marks (usually the second).
    grade2_marks_from_term = Column(Integer, nullable=False, default=2)
    #: Free text of the regulation or a link to it, shown to parents.
    note = Column(String(2000))

    year = relationship("AcademicYear")

    def __str__(self) -> str:
        return str(self.year) if self.year is not None else ""
