"""The dashboard's milestone timeline: the one clock's times, marked done, next or later."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from promoflow.console.web import timeline
from promoflow.engine.setup import initialise

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def cs_cycle(milestone: str | None) -> dict:
    return {"cycle_id": "cs-2026Q3", "track": "cs", "period_id": "2026Q3", "milestone": milestone}


def marks(rt, milestone: str | None, now: str) -> list[tuple[str, str, bool]]:
    with rt.sessions() as session:
        rows = timeline.of_cycle(session, cs_cycle(milestone), at(now))
    return [(r["milestone"], r["status"], r["due"]) for r in rows]


def test_a_cycle_timeline_marks_every_step_up_to_the_last_one_done(rt):
    initialise(rt, at("2026-10-01T00:00"))
    assert marks(rt, "announce", "2026-10-20T10:00") == [
        ("open", "done", True),
        ("announce", "done", True),
        ("effective", "next", False),
        ("probation_review", "later", False),
    ]
    # after the grades took effect the timeline goes on to the probation review
    assert marks(rt, "effective", "2026-11-01T00:00") == [
        ("open", "done", True),
        ("announce", "done", True),
        ("effective", "done", True),
        ("probation_review", "next", False),
    ]
    assert [status for _, status, _ in marks(rt, None, "2026-10-01T00:00")] == [
        "next",
        "later",
        "later",
        "later",
    ]


def test_the_timeline_shows_the_scheduler_s_times(rt):
    initialise(rt, at("2026-10-01T00:00"))
    with rt.sessions() as session:
        rows = timeline.of_cycle(session, cs_cycle("open"), at("2026-10-08T09:00"))
        coming = timeline.upcoming(session, at("2026-10-08T09:00"), days=30)
    assert [r["at"] for r in rows] == [
        at("2026-10-08T09:00"),
        at("2026-10-20T09:00"),
        at("2026-11-01T00:00"),
        at("2026-12-08T09:00"),
    ]
    assert {(c["cycle_id"], c["milestone"], c["at"]) for c in coming} >= {
        ("cs-2026Q3", "announce", at("2026-10-20T09:00")),
        ("sales-2026Q3", "test_due", at("2026-10-11T18:00")),
    }
