"""Read-side indexes the console's listings need on tables other features own.

The cycle page groups and filters a cycle's decisions and cases by outcome, grade and
state; with these covering indexes those counts read the index alone instead of every
wide decision row (facts and reasons are JSON), which keeps a 100k-employee cycle fast.
"""

from __future__ import annotations

from sqlalchemy import Index

from promoflow.engine.storage.models.cycles import Case, Decision

DECISION_SUMMARY = Index(
    "ix_decisions_cycle_outcome_grades",
    Decision.cycle_id,
    Decision.outcome,
    Decision.from_grade,
    Decision.to_grade,
)
CASE_STATE = Index("ix_cases_cycle_state", Case.cycle_id, Case.state)
