"""Read-side queries for the console pages and the API: counts, case tables, case detail.

Nothing here changes data. Listings page in SQL (LIMIT/OFFSET over an indexed order), so
a cycle of 100k employees renders one page at a time; counts are single GROUP BY queries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from promoflow.engine.read.outcomes import (
    OUTCOME_COLUMNS,
    CycleOutcomes,
    cycle_outcomes,
    outcome_counts,
    outcome_groups,
)
from promoflow.engine.storage.models import (
    AuditEvent,
    Case,
    Cycle,
    Decision,
    Employee,
    GradeHistory,
    ImportRun,
    Notice,
    StageResult,
)
from promoflow.errors import NotFoundError

OUTCOMES = ("promoted", "demoted", "unchanged", "pending")
#: the columns a case table may be sorted by, and what they sort on
CASE_SORTS = {
    "employee_id": Decision.employee_id,
    "name": Employee.name,
    "org_unit": Employee.org_unit,
    "from_grade": Decision.from_grade,
    "to_grade": Decision.to_grade,
    "outcome": Decision.outcome,
    "state": Case.state,
    "rule": Decision.rule,
}
MAX_PER_PAGE = 500
#: the highest page number a listing accepts: beyond any real table, and small enough that
#: ``(page - 1) * per_page`` is a valid SQL offset on SQLite and PostgreSQL
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class CaseFilter:
    """What a case table shows: a search text and exact-match filters (None = any)."""

    q: str | None = None
    outcome: str | None = None
    state: str | None = None
    grade: str | None = None
    org_unit: str | None = None
    flagged: bool | None = None
    review: str | None = None


@dataclass
class Page:
    """One page of a listing and enough to draw the pager."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """How many pages the listing has (at least one, even when empty)."""
        return max(1, -(-self.total // self.per_page))


def _clamp_page(page: int, per_page: int) -> tuple[int, int]:
    return min(max(1, page), MAX_PAGE), min(max(1, per_page), MAX_PER_PAGE)


def get_cycle(session: Session, cycle_id: str) -> Cycle:
    """The cycle row; NotFoundError when the cycle was never opened."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFoundError(f"no cycle {cycle_id!r}")
    return cycle


def cycle_row(cycle: Cycle) -> dict[str, Any]:
    """A cycle as plain data for pages and JSON."""
    return {
        "cycle_id": cycle.cycle_id,
        "track": cycle.track,
        "period_id": cycle.period_id,
        "milestone": cycle.milestone,
        "pack_id": cycle.pack_id,
        "pack_version": cycle.pack_version,
        "opened_at": cycle.opened_at,
        "updated_at": cycle.updated_at,
    }


def list_cycles(session: Session) -> list[dict[str, Any]]:
    """Every cycle, newest period first, with how many employees end in each outcome (the
    one outcome: :mod:`promoflow.engine.read.outcomes`)."""
    rows = []
    for cycle in session.scalars(select(Cycle).order_by(Cycle.period_id.desc(), Cycle.cycle_id)):
        row = cycle_row(cycle)
        c = outcome_counts(session, cycle)
        row["outcomes"] = {o: c.get(o, 0) for o in OUTCOMES}
        row["decisions"] = sum(c.values())
        rows.append(row)
    return rows


def state_counts(session: Session, cycle_id: str | None = None) -> dict[str, int]:
    """How many cases sit in each workflow state (in one cycle, or in all)."""
    query = select(Case.state, func.count()).group_by(Case.state)
    if cycle_id:
        query = query.where(Case.cycle_id == cycle_id)
    return dict(sorted(session.execute(query).all()))


def waiting_on_hr(session: Session, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
    """Cases flagged for HR (missing results, reviews, no vacancy …): total and the first few."""
    where = Case.flagged.is_not(None)
    total = session.scalar(select(func.count()).select_from(Case).where(where)) or 0
    rows = session.execute(
        select(Case.cycle_id, Case.employee_id, Case.state, Case.flagged, Employee.name)
        .join(Employee, Employee.employee_id == Case.employee_id)
        .where(where)
        .order_by(Case.updated_at.desc(), Case.id)
        .limit(limit)
    ).all()
    return total, [r._asdict() for r in rows]


def grade_distribution(
    session: Session, cycle_id: str, grade_order: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Employees per grade before the cycle and after it (the grade the outcome gives)."""
    before: Counter = Counter()
    after: Counter = Counter()
    for result, from_grade, n in outcome_groups(session, get_cycle(session, cycle_id))[1]:
        before[from_grade] += n
        after[result.to_grade] += n
    grades = [g for g in grade_order if g in before or g in after]
    grades += sorted((set(before) | set(after)) - set(grades))
    return [{"grade": g, "before": before.get(g, 0), "after": after.get(g, 0)} for g in grades]


def stage_funnel(session: Session, cycle_id: str) -> list[dict[str, Any]]:
    """How many employees reached each step: evaluated → nominated → test → interview → up."""
    outcomes = dict(
        session.execute(
            select(Decision.outcome, func.count())
            .where(Decision.cycle_id == cycle_id)
            .group_by(Decision.outcome)
        ).all()
    )
    stages: dict[str, dict[bool | None, int]] = {}
    for stage, passed, n in session.execute(
        select(StageResult.stage, StageResult.passed, func.count())
        .where(StageResult.cycle_id == cycle_id)
        .group_by(StageResult.stage, StageResult.passed)
    ):
        stages.setdefault(stage, {})[passed] = n
    funnel = [
        {"step": "evaluated", "count": sum(outcomes.values())},
        {"step": "nominated", "count": outcomes.get("promoted", 0)},
    ]
    for stage in ("written_test", "interview"):
        if stage in stages:
            funnel.append({"step": f"{stage}_passed", "count": stages[stage].get(True, 0)})
    changed = session.scalar(
        select(func.count(func.distinct(GradeHistory.employee_id))).where(
            GradeHistory.cycle_id == cycle_id, GradeHistory.source.in_(("cycle", "override"))
        )
    )
    funnel.append({"step": "grade_changed", "count": changed or 0})
    return funnel


def _with_outcome(row: dict[str, Any], outcomes: CycleOutcomes) -> dict[str, Any]:
    """A case-table row with the one outcome in ``outcome``/``to_grade``, the rules' own
    verdict beside it."""
    result = outcomes.of(SimpleNamespace(**row))
    row["rule_outcome"], row["rule_to_grade"] = row["outcome"], row["to_grade"]
    row["outcome"], row["to_grade"] = result.outcome, result.to_grade
    row["review"] = result.review
    row["review_decision"] = result.review_decision
    row["overrides"] = list(result.overrides)
    row["effective_from"] = result.effective_from
    return row


def _case_query(cycle_id: str, flt: CaseFilter):
    query = (
        select(
            Decision.id.label("decision_id"),
            Decision.employee_id,
            Employee.name,
            Employee.org_unit,
            Decision.from_grade,
            Decision.to_grade,
            Decision.outcome,
            Decision.rule,
            Decision.review,
            Decision.probation,
            Case.id.label("case_id"),
            Case.state,
            Case.kind,
            Case.flagged,
        )
        .join(Employee, Employee.employee_id == Decision.employee_id)
        .outerjoin(
            Case, and_(Case.cycle_id == Decision.cycle_id, Case.employee_id == Decision.employee_id)
        )
        .where(Decision.cycle_id == cycle_id)
    )
    return _filtered(query, flt)


def _filtered(query, flt: CaseFilter):
    if flt.q:
        text = flt.q.strip()
        like = f"%{text.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Decision.employee_id == text, Employee.name.like(like)))
    if flt.state:
        query = query.where(Case.state == flt.state)
    if flt.grade:
        query = query.where(or_(Decision.from_grade == flt.grade, Decision.to_grade == flt.grade))
    if flt.org_unit:
        query = query.where(Employee.org_unit == flt.org_unit)
    if flt.review:
        query = query.where(Decision.review == flt.review)
    if flt.flagged is True:
        query = query.where(Case.flagged.is_not(None))
    elif flt.flagged is False:
        query = query.where(Case.flagged.is_(None))
    return query


def count_cases(session: Session, cycle_id: str, flt: CaseFilter) -> int:
    """How many cases match; joins only the tables the filters need (a bare count is an
    index-only scan of the decisions of one cycle)."""
    query = select(func.count()).select_from(Decision).where(Decision.cycle_id == cycle_id)
    if flt.q or flt.org_unit:
        query = query.join(Employee, Employee.employee_id == Decision.employee_id)
    if flt.state or flt.flagged is not None:
        query = query.outerjoin(
            Case, and_(Case.cycle_id == Decision.cycle_id, Case.employee_id == Decision.employee_id)
        )
    return session.scalar(_filtered(query, flt)) or 0


def list_cases(
    session: Session,
    cycle_id: str,
    flt: CaseFilter | None = None,
    sort: str = "employee_id",
    descending: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """One page of a cycle's case table: filtered, sorted, counted.

    Filtering and sorting run in SQL, one page at a time; the outcome is computed per row
    by the one outcome. Filtering or sorting *by* outcome or resulting grade reads the
    cycle's matching rows once and pages them here (the outcome is not a column).
    """
    flt = flt or CaseFilter()
    page, per_page = _clamp_page(page, per_page)
    outcomes = cycle_outcomes(session, get_cycle(session, cycle_id))
    if flt.outcome or sort in ("outcome", "to_grade"):
        return _paged_by_outcome(session, cycle_id, flt, sort, descending, page, per_page)
    total = count_cases(session, cycle_id, flt)
    column = CASE_SORTS.get(sort, Decision.employee_id)
    order = [column.desc() if descending else column.asc()]
    if column is not Decision.employee_id:
        order.append(Decision.employee_id.asc())
    rows = session.execute(
        _case_query(cycle_id, flt).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page([_with_outcome(r._asdict(), outcomes) for r in rows], total, page, per_page)


def _paged_by_outcome(
    session: Session,
    cycle_id: str,
    flt: CaseFilter,
    sort: str,
    descending: bool,
    page: int,
    per_page: int,
) -> Page:
    """A case table filtered or sorted by the one outcome: the matching rows' outcomes
    computed from lean rows (each distinct input once), then one page read in full."""
    outcomes = cycle_outcomes(session, get_cycle(session, cycle_id))
    of = outcomes.memoised()
    column = CASE_SORTS.get(sort, Decision.employee_id)
    order = [Decision.employee_id.asc()]
    if sort not in ("outcome", "to_grade") and column is not Decision.employee_id:
        order.insert(0, column.desc() if descending else column.asc())
    elif column is Decision.employee_id and descending:
        order = [Decision.employee_id.desc()]
    lean = _filtered(
        select(Decision.employee_id, *OUTCOME_COLUMNS)
        .select_from(Decision)
        .join(Employee, Employee.employee_id == Decision.employee_id)
        .outerjoin(
            Case, and_(Case.cycle_id == Decision.cycle_id, Case.employee_id == Decision.employee_id)
        )
        .where(Decision.cycle_id == cycle_id),
        flt,
    ).order_by(*order)
    found = [(row.employee_id, of(row)) for row in session.execute(lean)]
    if flt.outcome:
        found = [(e, r) for e, r in found if r.outcome == flt.outcome]
    if sort in ("outcome", "to_grade"):
        found.sort(key=lambda item: getattr(item[1], sort), reverse=descending)
    start = (page - 1) * per_page
    ids = [e for e, _ in found[start : start + per_page]]
    rows = {
        r.employee_id: _with_outcome(r._asdict(), outcomes)
        for r in session.execute(_case_query(cycle_id, flt).where(Decision.employee_id.in_(ids)))
    }
    return Page([rows[e] for e in ids], len(found), page, per_page)


def iter_cases(session: Session, cycle_id: str, flt: CaseFilter | None = None, chunk: int = 5000):
    """Every row of a case table in employee order, fetched in chunks (for exports), each
    with the one outcome."""
    flt = flt or CaseFilter()
    outcomes = cycle_outcomes(session, get_cycle(session, cycle_id))
    base = _case_query(cycle_id, flt).order_by(Decision.employee_id)
    last = None
    while True:
        query = base if last is None else base.where(Decision.employee_id > last)
        rows = session.execute(query.limit(chunk)).all()
        if not rows:
            return
        for row in rows:
            found = _with_outcome(row._asdict(), outcomes)
            if not flt.outcome or found["outcome"] == flt.outcome:
                yield found
        last = rows[-1].employee_id


def employees_in_state(session: Session, cycle_id: str, state: str) -> list[str]:
    """Who has a case of ``cycle_id`` in ``state`` (e.g. invited to a test, result awaited)."""
    query = select(Case.employee_id).where(Case.cycle_id == cycle_id, Case.state == state)
    return list(session.scalars(query))


def filter_choices(
    session: Session, cycle: Cycle, states: dict[str, int] | None = None
) -> dict[str, list[str]]:
    """The values a cycle's case table can be filtered by (states, grades, org units);
    ``states`` may pass in :func:`state_counts` already computed for the page."""
    if states is None:
        states = state_counts(session, cycle.cycle_id)
    grades = session.scalars(
        select(Decision.from_grade).where(Decision.cycle_id == cycle.cycle_id).distinct()
    ).all()
    units = session.scalars(
        select(Employee.org_unit)
        .where(Employee.track == cycle.track, Employee.org_unit.is_not(None))
        .distinct()
        .order_by(Employee.org_unit)
    ).all()
    return {"states": sorted(states), "grades": sorted(grades), "org_units": list(units)}


def case_detail(session: Session, cycle_id: str, employee_id: str) -> dict[str, Any]:
    """Everything the case page shows: the decision with its facts and reasons, the case,
    stage results, notices and the audit timeline of this employee in this cycle."""
    decision = session.scalar(
        select(Decision).where(Decision.cycle_id == cycle_id, Decision.employee_id == employee_id)
    )
    employee = session.get(Employee, employee_id)
    if decision is None or employee is None:
        raise NotFoundError(f"no case for {employee_id!r} in {cycle_id!r}")
    case = session.scalar(
        select(Case).where(Case.cycle_id == cycle_id, Case.employee_id == employee_id)
    )
    stages = session.scalars(
        select(StageResult)
        .where(StageResult.cycle_id == cycle_id, StageResult.employee_id == employee_id)
        .order_by(StageResult.recorded_at)
    ).all()
    timeline = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.employee_id == employee_id, AuditEvent.cycle_id == cycle_id)
        .order_by(AuditEvent.seq)
    ).all()
    result = cycle_outcomes(session, get_cycle(session, cycle_id)).of(
        SimpleNamespace(
            from_grade=decision.from_grade,
            to_grade=decision.to_grade,
            outcome=decision.outcome,
            probation=decision.probation,
            review=decision.review,
            kind=case.kind if case else None,
            state=case.state if case else None,
            flagged=case.flagged if case else None,
        ),
        employee_id,
    )
    return {
        "employee": {
            "employee_id": employee.employee_id,
            "name": employee.name,
            "track": employee.track,
            "grade": employee.grade,
            "grade_since": employee.grade_since,
            "org_unit": employee.org_unit,
            "position": employee.position,
        },
        "decision": {
            "id": decision.id,
            # the one outcome (what the cycle does), the rules' verdict beside it
            "outcome": result.outcome,
            "from_grade": decision.from_grade,
            "to_grade": result.to_grade,
            "rule_outcome": decision.outcome,
            "rule_to_grade": decision.to_grade,
            "review_decision": result.review_decision,
            "overrides": list(result.overrides),
            "effective_from": result.effective_from,
            "outcome_why_zh": result.why_zh,
            "outcome_why_en": result.why_en,
            "rule": decision.rule,
            "probation": decision.probation,
            "review": result.review,
            "facts": decision.facts or {},
            "thresholds": decision.thresholds or {},
            "reasons_zh": decision.reasons_zh or [],
            "reasons_en": decision.reasons_en or [],
            "missing": decision.missing or [],
            "pack_id": decision.pack_id,
            "pack_version": decision.pack_version,
            "decided_at": decision.decided_at,
        },
        "case": None
        if case is None
        else {
            "id": case.id,
            "kind": case.kind,
            "state": case.state,
            "flagged": case.flagged,
            "updated_at": case.updated_at,
        },
        "stages": [
            {
                "stage": s.stage,
                "value": s.value,
                "score": s.score,
                "passed": s.passed,
                "recorded_at": s.recorded_at,
            }
            for s in stages
        ],
        "notices": notices_of(session, cycle_id, employee_id),
        "timeline": [audit_row(e) for e in timeline],
    }


def notices_of(session: Session, cycle_id: str, employee_id: str) -> list[dict[str, Any]]:
    """The notices of one case from the outbox: kind, subject, delivery state, when."""
    rows = session.scalars(
        select(Notice)
        .where(Notice.cycle_id == cycle_id, Notice.employee_id == employee_id)
        .order_by(Notice.id)
    ).all()
    return [
        {
            "kind": n.kind,
            "lang": n.lang,
            "subject": n.subject,
            "state": n.state,
            "created_at": n.created_at,
            "sent_at": n.sent_at,
        }
        for n in rows
    ]


def audit_row(event: AuditEvent) -> dict[str, Any]:
    """An audit event as plain data (what the audit page and API show)."""
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "kind": event.kind,
        "subject": event.subject,
        "employee_id": event.employee_id,
        "cycle_id": event.cycle_id,
        "case_id": event.case_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "hash": event.hash,
        "via": event.via,
    }


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events to list (None = any); times are inclusive bounds."""

    kind: str | None = None
    actor: str | None = None
    employee_id: str | None = None
    cycle_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _audit_query(flt: AuditFilter):
    query = select(AuditEvent)
    if flt.kind:
        query = query.where(AuditEvent.kind == flt.kind)
    if flt.actor:
        query = query.where(AuditEvent.actor == flt.actor)
    if flt.employee_id:
        query = query.where(AuditEvent.employee_id == flt.employee_id)
    if flt.cycle_id:
        query = query.where(AuditEvent.cycle_id == flt.cycle_id)
    if flt.since:
        query = query.where(AuditEvent.at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.at <= flt.until)
    return query


def list_audit(
    session: Session, flt: AuditFilter | None = None, page: int = 1, per_page: int = 50
) -> Page:
    """One page of audit events, newest first."""
    flt = flt or AuditFilter()
    page, per_page = _clamp_page(page, per_page)
    query = _audit_query(flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    events = session.scalars(
        query.order_by(AuditEvent.seq.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page([audit_row(e) for e in events], total, page, per_page)


def iter_audit(session: Session, flt: AuditFilter | None = None, chunk: int = 5000):
    """Every matching audit event, oldest first, in chunks (for exports)."""
    base = _audit_query(flt or AuditFilter()).order_by(AuditEvent.seq)
    last = 0
    while True:
        events = session.scalars(base.where(AuditEvent.seq > last).limit(chunk)).all()
        if not events:
            return
        for event in events:
            yield audit_row(event)
        last = events[-1].seq


def audit_kinds(session: Session) -> list[str]:
    """Event kinds present in the trail (for the filter menu)."""
    return list(session.scalars(select(AuditEvent.kind).distinct().order_by(AuditEvent.kind)))


def list_imports(session: Session, limit: int = 100) -> list[dict[str, Any]]:
    """Accepted import files, newest first."""
    runs = session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)).all()
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "file_name": r.file_name,
            "sha256": r.sha256,
            "rows": r.rows,
            "changed": r.changed,
            "actor": r.actor,
            "at": r.at,
        }
        for r in runs
    ]


def dashboard(session: Session) -> dict[str, Any]:
    """The dashboard's numbers: cycles, cases per state, what waits on HR."""
    waiting_total, waiting = waiting_on_hr(session)
    employees = session.scalar(
        select(func.count()).select_from(Employee).where(Employee.active.is_(True))
    )
    return {
        "cycles": list_cycles(session),
        "states": state_counts(session),
        "waiting_total": waiting_total,
        "waiting": waiting,
        "employees": employees or 0,
    }
