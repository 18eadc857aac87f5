"""The case machines: declared states only, guards that follow the pass marks, no shortcuts."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoflow.errors import TransitionError
from promoflow.workflow import guards
from promoflow.workflow.machines import fire
from promoflow.workflow.specs import (
    DEMOTION,
    PROBATION,
    all_specs,
    kind_for_decision,
    promotion_spec,
    spec_for,
    waits_on,
)

SALES = promotion_spec(("written_test", "interview"))
SPECS = all_specs()


def _walk(spec, steps):
    state = spec.initial
    for trigger, value in steps:
        verdict = guards.judge("written_test", value) if trigger.startswith("record_") else None
        kwargs = {"verdict": verdict} if verdict else {}
        if trigger in spec.allowed(state):
            state = fire(spec, state, trigger, **kwargs)
        else:
            refused = rf"^{re.escape(spec.name)}: (unknown trigger|'{trigger}' is not allowed in)"
            with pytest.raises(TransitionError, match=refused):
                fire(spec, state, trigger, **kwargs)
        assert state in spec.states
    return state


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_random_trigger_sequences_never_leave_the_declared_states(spec, data):
    triggers = st.sampled_from([*spec.triggers(), "no_such_trigger"])
    values = st.sampled_from(["pass", "fail", "59.99", "60", "100", "0"])
    steps = data.draw(st.lists(st.tuples(triggers, values), max_size=25))
    _walk(spec, steps)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_state_is_reachable_from_the_initial_state(spec):
    reached, frontier = {spec.initial}, [spec.initial]
    while frontier:
        state = frontier.pop()
        for t in spec.transitions:
            if t.source == state and t.dest not in reached:
                reached.add(t.dest)
                frontier.append(t.dest)
    assert reached == set(spec.states)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_final_states_allow_no_trigger(spec):
    for state in spec.final:
        if spec.name == "below_standard":
            continue
        assert spec.allowed(state) == ()


def test_a_sales_nomination_walks_test_interview_approval_and_effect():
    state = SALES.initial
    state = fire(SALES, state, "notify_test")
    state = fire(SALES, state, "record_test", verdict=guards.judge("written_test", "60"))
    assert state == "test_passed"
    state = fire(SALES, state, "notify_interview")
    state = fire(SALES, state, "record_interview", verdict=guards.judge("interview", "pass"))
    for trigger in ("approve", "announce", "take_effect"):
        state = fire(SALES, state, trigger)
    assert state == "effective"


def test_a_written_test_of_59_99_fails_and_60_passes():
    notified = fire(SALES, "nominated", "notify_test")
    low = guards.judge("written_test", "59.99", {"written_test": Decimal(60)})
    assert fire(SALES, notified, "record_test", verdict=low) == "test_failed"
    exact = guards.judge("written_test", "60", {"written_test": Decimal(60)})
    assert fire(SALES, notified, "record_test", verdict=exact) == "test_passed"


def test_a_missing_test_result_waits_and_a_late_result_still_counts():
    missing = fire(SALES, "test_notified", "deadline_test")
    assert missing == "test_missing" and missing in SALES.waiting
    assert fire(SALES, missing, "record_test", verdict=guards.judge("written_test", "75")) == (
        "test_passed"
    )


def test_a_trigger_the_state_does_not_allow_is_refused_with_what_is_allowed():
    with pytest.raises(TransitionError, match="allowed: notify_test"):
        fire(SALES, "nominated", "approve")


def test_a_record_trigger_without_a_result_is_refused():
    with pytest.raises(TransitionError, match="needs a recorded result"):
        fire(SALES, "test_notified", "record_test")


def test_probation_score_of_exactly_50_clears_and_49_99_goes_to_dismissal_review():
    assert (
        fire(
            PROBATION,
            "on_probation",
            "record_probation",
            verdict=guards.judge("probation_review", "50"),
        )
        == "cleared"
    )
    assert (
        fire(
            PROBATION,
            "on_probation",
            "record_probation",
            verdict=guards.judge("probation_review", "49.99"),
        )
        == "dismissal_review"
    )


def test_dismissal_is_never_automatic_only_a_department_trigger_reaches_it():
    arrows_in = [t for t in PROBATION.transitions if t.dest == "dismissed"]
    assert [t.trigger for t in arrows_in] == ["dismiss"]
    assert [t.source for t in arrows_in] == ["dismissal_review"]


def test_customer_service_promotions_have_no_test_or_interview():
    spec = promotion_spec(())
    assert spec.initial == "nominated"
    assert fire(spec, "nominated", "approve") == "approved"
    assert not any("test" in s or "interview" in s for s in spec.states)


def test_demotion_goes_decided_announced_effective():
    assert fire(DEMOTION, fire(DEMOTION, "decided", "announce"), "take_effect") == "effective"


@pytest.mark.parametrize(
    ("outcome", "probation", "review", "kind"),
    [
        ("promoted", False, None, "promotion"),
        ("demoted", False, None, "demotion"),
        ("demoted", True, None, "probation"),
        ("unchanged", False, None, "evaluation"),
        ("unchanged", False, "elimination", "elimination"),
        ("unchanged", False, "below_standard", "below_standard"),
        ("pending", False, None, "pending"),
    ],
)
def test_each_decision_opens_the_case_kind_that_carries_it_out(outcome, probation, review, kind):
    assert kind_for_decision(outcome, probation, review) == kind
    assert spec_for(kind, ("written_test", "interview"))


def test_a_spec_allows_what_its_machine_fires():
    assert "record_test" in SALES.allowed("test_notified")
    assert "announce" not in SALES.allowed("nominated")
    passed = guards.judge("written_test", "90")
    assert fire(SALES, "test_notified", "record_test", verdict=passed) == "test_passed"


def test_waiting_states_name_who_they_wait_on_and_finished_ones_none():
    assert waits_on("promotion", "test_missing").startswith("HR")
    assert waits_on("probation", "dismissal_review") == "department decision"
    assert waits_on("promotion", "effective") is None
