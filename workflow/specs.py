"""Every case state machine, written down as data: states and transitions in one place each.

A spec is immutable (SpiffWorkflow's "spec apart from instances"): a case stores only its
``kind`` and ``state``; the spec for that kind says which triggers the state allows. The
promotion spec is generated from the stages a track's rule pack lists (sales: written test
and interview; the customer-service tracks: none), so adding a stage to a pack adds its
states here without code changes.

Guards are named (``conditions``/``unless``) and resolved in :mod:`promoflow.workflow.guards`,
which compares results with the pack's pass marks; no ``if`` in a transition decides alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

#: short names used in state and trigger names (``test_notified``, ``record_test``)
STAGE_SHORT = {"written_test": "test", "interview": "interview"}


@dataclass(frozen=True)
class Transition:
    """One arrow: ``trigger`` moves ``source`` to ``dest`` when the named guards allow."""

    trigger: str
    source: str
    dest: str
    conditions: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """The form ``transitions.Machine`` takes."""
        out = {"trigger": self.trigger, "source": self.source, "dest": self.dest}
        if self.conditions:
            out["conditions"] = list(self.conditions)
        if self.unless:
            out["unless"] = list(self.unless)
        return out


@dataclass(frozen=True)
class MachineSpec:
    """A case kind's machine: its states (first = initial), arrows, and which states wait."""

    name: str
    title: str
    states: tuple[str, ...]
    transitions: tuple[Transition, ...]
    #: states in which a case waits for a person (HR, a department) rather than a milestone
    waiting: frozenset[str] = field(default_factory=frozenset)
    #: states after which nothing more happens
    final: frozenset[str] = field(default_factory=frozenset)

    @property
    def initial(self) -> str:
        return self.states[0]

    def triggers(self) -> tuple[str, ...]:
        """Every trigger name, in first-seen order."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def allowed(self, state: str) -> tuple[str, ...]:
        """Triggers that may fire from ``state`` (a guard may still refuse)."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions if t.source == state))


def stage_short(stage: str) -> str:
    """``written_test`` → ``test``: the word used in state and trigger names."""
    return STAGE_SHORT.get(stage, stage)


@cache
def promotion_spec(stages: tuple[str, ...]) -> MachineSpec:
    """Nominated → each stage notified/passed/failed/missing → approved or no vacancy →
    announced → effective. With no stages (cs, support, cs_rating) a nomination is approved
    at announcement after the HR confirmation window."""
    states = ["nominated"]
    arrows: list[Transition] = []
    waiting: set[str] = set()
    final: set[str] = {"effective", "no_vacancy"}
    ready = "nominated"
    for stage in stages:
        s = stage_short(stage)
        notified, passed, failed, missing = (
            f"{s}_notified",
            f"{s}_passed",
            f"{s}_failed",
            f"{s}_missing",
        )
        states += [notified, passed, failed, missing]
        waiting.add(missing)
        final.add(failed)
        arrows += [
            Transition(f"notify_{s}", ready, notified),
            Transition(f"record_{s}", notified, passed, conditions=("result_passed",)),
            Transition(f"record_{s}", notified, failed, unless=("result_passed",)),
            Transition(f"record_{s}", missing, passed, conditions=("result_passed",)),
            Transition(f"record_{s}", missing, failed, unless=("result_passed",)),
            Transition(f"deadline_{s}", notified, missing),
        ]
        ready = passed
    states += ["approved", "no_vacancy", "announced", "effective"]
    arrows += [
        Transition("approve", ready, "approved"),
        Transition("deny_vacancy", ready, "no_vacancy"),
        Transition("announce", "approved", "announced"),
        Transition("take_effect", "announced", "effective"),
    ]
    name = "promotion" if not stages else "promotion-" + "-".join(stage_short(s) for s in stages)
    title = "Promotion" + (
        " (" + ", ".join(stage_short(s) for s in stages) + ")" if stages else " (no stages)"
    )
    return MachineSpec(
        name=name,
        title=title,
        states=tuple(states),
        transitions=tuple(arrows),
        waiting=frozenset(waiting),
        final=frozenset(final),
    )


DEMOTION = MachineSpec(
    name="demotion",
    title="Demotion",
    states=("decided", "announced", "effective"),
    transitions=(
        Transition("announce", "decided", "announced"),
        Transition("take_effect", "announced", "effective"),
    ),
    final=frozenset({"effective"}),
)

PROBATION = MachineSpec(
    name="probation",
    title="Demotion with a one-month probation",
    states=(
        "decided",
        "announced",
        "on_probation",
        "cleared",
        "dismissal_review",
        "dismissed",
        "retained",
    ),
    transitions=(
        Transition("announce", "decided", "announced"),
        Transition("take_effect", "announced", "on_probation"),
        Transition("record_probation", "on_probation", "cleared", conditions=("result_passed",)),
        Transition(
            "record_probation", "on_probation", "dismissal_review", unless=("result_passed",)
        ),
        Transition("dismiss", "dismissal_review", "dismissed"),
        Transition("retain", "dismissal_review", "retained"),
    ),
    waiting=frozenset({"on_probation", "dismissal_review"}),
    final=frozenset({"cleared", "dismissed", "retained"}),
)

ELIMINATION = MachineSpec(
    name="elimination",
    title="Elimination review (bottom of the sales ladder)",
    states=("review_opened", "eliminated", "retained"),
    transitions=(
        Transition("eliminate", "review_opened", "eliminated"),
        Transition("retain", "review_opened", "retained"),
    ),
    waiting=frozenset({"review_opened"}),
    final=frozenset({"eliminated", "retained"}),
)

BELOW_STANDARD = MachineSpec(
    name="below_standard",
    title="Below standard (grade kept, HR reviews)",
    states=("flagged", "announced", "reviewed"),
    transitions=(
        Transition("announce", "flagged", "announced"),
        Transition("close_review", "flagged", "reviewed"),
        Transition("close_review", "announced", "reviewed"),
    ),
    waiting=frozenset({"flagged", "announced"}),
    final=frozenset({"reviewed"}),
)

EVALUATION = MachineSpec(
    name="evaluation",
    title="Evaluated, grade unchanged",
    states=("decided", "announced"),
    transitions=(Transition("announce", "decided", "announced"),),
    final=frozenset({"announced"}),
)

PENDING = MachineSpec(
    name="pending",
    title="Decision pending (data missing)",
    states=("waiting_data", "resolved"),
    transitions=(Transition("resolve", "waiting_data", "resolved"),),
    waiting=frozenset({"waiting_data"}),
    final=frozenset({"resolved"}),
)

FIXED_SPECS = {
    s.name: s for s in (DEMOTION, PROBATION, ELIMINATION, BELOW_STANDARD, EVALUATION, PENDING)
}

#: case kinds (the ``cases.kind`` column) besides ``promotion``
CASE_KINDS = ("promotion", *FIXED_SPECS)


def spec_for(kind: str, stages: tuple[str, ...] = ()) -> MachineSpec:
    """The machine for a case kind; promotions depend on the track's stages."""
    if kind == "promotion":
        return promotion_spec(tuple(stages))
    try:
        return FIXED_SPECS[kind]
    except KeyError:
        raise KeyError(f"unknown case kind {kind!r}; known: {', '.join(CASE_KINDS)}") from None


def all_specs(stage_sets: tuple[tuple[str, ...], ...] = (("written_test", "interview"), ())):
    """Every machine the shipped tracks use, for docs and tests."""
    return [promotion_spec(s) for s in stage_sets] + list(FIXED_SPECS.values())


def kind_for_decision(outcome: str, probation: bool, review: str | None) -> str:
    """Which machine carries out a decision (see docs/workflow.md)."""
    if outcome == "pending":
        return "pending"
    if review == "elimination":
        return "elimination"
    if probation:  # before below_standard: a bottom-grade probation reads its month (§2)
        return "probation"
    if review == "below_standard":
        return "below_standard"
    if outcome == "promoted":
        return "promotion"
    if outcome == "demoted":
        return "demotion"
    return "evaluation"


#: who a case in a state is waiting on, for ``cycle status``
WAITS_ON = {
    "nominated": "announcement (HR confirmation window)",
    "decided": "announcement (HR confirmation window)",
    "test_notified": "written-test result (business school)",
    "test_missing": "HR: written-test result missing at deadline",
    "test_passed": "interview notice milestone",
    "interview_notified": "interview result (interviewers)",
    "interview_missing": "HR: interview result missing at deadline",
    "interview_passed": "announcement (vacancy ranking)",
    "approved": "announcement",
    "announced": "effective date",
    "on_probation": "probation month score",
    "dismissal_review": "department decision",
    "review_opened": "HR: elimination review",
    "flagged": "HR: below-standard review",
    "waiting_data": "HR: data missing for the decision",
}


def waits_on(kind: str, state: str) -> str | None:
    """Who or what a case waits on, or None when it is finished."""
    if state in spec_for_any(kind).final and kind != "below_standard":
        return None
    if kind == "below_standard" and state == "announced":
        return "HR: below-standard review"
    return WAITS_ON.get(state)


def spec_for_any(kind: str) -> MachineSpec:
    """The spec of ``kind`` for state-only questions (promotions: the sales stages)."""
    if kind.startswith("promotion"):
        return promotion_spec(("written_test", "interview"))
    return spec_for(kind)
