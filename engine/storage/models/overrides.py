"""HR overrides: a person overruling what the rules decided, with a reason and an approval.

The rule's own decision is copied beside the override (``rule_decision``) and never
changed, so exports and auditors always see both what the rules said and what HR did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base


class Override(Base):
    """One proposed, approved or rejected override of one employee's decision or grade."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[str | None] = mapped_column(ForeignKey("cycles.cycle_id"), index=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    #: force_promotion | block_promotion | cancel_demotion | change_demotion |
    #: record_result | end_probation | set_grade
    kind: Mapped[str] = mapped_column(String(32))
    #: what the override asks for, e.g. {"to_grade": "S7"} or {"stage": "interview", …}
    params: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    #: grade-changing overrides need an approver other than the proposer (four eyes)
    changes_grade: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16), index=True)  # proposed|approved|rejected
    #: the rule's decision as it stood when the override was proposed (outcome, grades, rule)
    rule_decision: Mapped[dict[str, Any] | None]
    #: what the override made effective once approved (outcome, to_grade, …)
    effect: Mapped[dict[str, Any] | None]
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
