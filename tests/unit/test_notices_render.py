"""Every notice template renders the same text through ``render``'s shortcuts as through
Jinja's own ``template.new_context`` and block functions, in both languages."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from promoflow.engine.notices.outbox import KINDS, LANGS, _env, _plain_blocks, render

PARAMS = {
    "cycle_id": "sales-2026Q3",
    "employee_id": "E00042",
    "name": "张三 <O'Brien> & {{ not a tag }}",
    "from_grade": "S4",
    "to_grade": "S5",
    "deadline": "2026-08-20 18:00",
    "pass_mark": "60",
    "interview_at": "2026-09-02 10:00",
    "interview_place": "人力资源部会议室 / HR meeting room",
    "effective_on": "2026-11-01",
    "reasons": ["销售额达标 ≥ 100%", "attainment 1.2 ≥ 1.0"],
    "probation_month": "2026-11",
    "score": "58",
}


def _jinja(kind: str, lang: str, params: dict) -> tuple[str, str]:
    """How notices were rendered before: a full template context per notice."""
    template = _env().get_template(f"{kind}.{lang}.j2")
    context = template.new_context(params)
    subject = "".join(template.blocks["subject"](context)).strip()
    body = "".join(template.blocks["body"](context)).strip() + "\n"
    return subject, body


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_render_matches_jinja(kind, lang):
    expected = _jinja(kind, lang, PARAMS)
    assert render(kind, lang, PARAMS) == expected
    assert render(kind, lang, {**PARAMS, "name": None}) == _jinja(
        kind, lang, {**PARAMS, "name": None}
    )
    assert PARAMS["employee_id"] in expected[1]


def test_simple_templates_take_the_shortcut_and_loops_do_not():
    assert _plain_blocks("interview", "zh") is not None
    assert _plain_blocks("test", "en") is not None
    assert _plain_blocks("promotion", "zh") is not None
    assert _plain_blocks("demotion", "zh") is None  # loops over the reasons


@pytest.mark.parametrize("kind", ["interview", "demotion"])
def test_a_missing_field_still_fails_loudly(kind):
    params = {k: v for k, v in PARAMS.items() if k != "from_grade"}
    with pytest.raises(UndefinedError, match="'from_grade' is undefined"):
        render(kind, "zh", params)


def test_a_prepared_notice_encodes_its_event_alike_with_a_milestone_encoder():
    from datetime import datetime, timedelta, timezone

    from promoflow.engine.audit.trail import EventEncoder
    from promoflow.engine.notices.outbox import Outgoing, prepare

    now = datetime(2026, 10, 8, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    params = {"cycle_id": "sales-2026Q3", "employee_id": "E1", "name": '吕佳 "q" \\ x',
              "from_grade": "S5", "to_grade": "S6", "deadline": "2026-10-11 18:00",
              "pass_mark": "60"}  # fmt: skip
    encode = EventEncoder("notice", "bench", now, "sales-2026Q3")
    for case_id in (None, 7):
        n = Outgoing("sales-2026Q3", "E1", case_id, "test", params)
        assert prepare(n, "zh", now, "bench", encode) == prepare(n, "zh", now, "bench")
    other = Outgoing("sales-2026Q4", "E1", None, "test", params)
    with pytest.raises(ValueError, match="another cycle"):
        prepare(other, "zh", now, "bench", encode)
