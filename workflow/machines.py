"""Running the specs with ``transitions``: one machine per spec serves every case.

A case is stored as ``(kind, state)``; to move it we put its state on a reusable token model,
fire the trigger, and read the new state back. That keeps the hot loop of a 100k-case
milestone free of per-case machine construction while every move still goes through the
library's guards and its refusal of triggers the state does not allow.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from transitions import Machine, MachineError

from promoflow.errors import TransitionError
from promoflow.workflow import guards
from promoflow.workflow.specs import MachineSpec


class _Token:
    """The model a machine moves; ``verdict`` is read by the ``result_passed`` guard."""

    def __init__(self, initial: str):
        self.state = initial

    def result_passed(self, event) -> bool:
        verdict = event.kwargs.get("verdict")
        if verdict is None:
            raise TransitionError(f"trigger {event.event.name!r} needs a recorded result")
        return guards.result_passed(verdict)


class Runner:
    """A built machine for one spec, with a token model reused for every case."""

    def __init__(self, spec: MachineSpec):
        self.spec = spec
        self.token = _Token(spec.initial)
        self._memo: dict[tuple, str] = {}
        self.machine = Machine(
            model=self.token,
            states=list(spec.states),
            transitions=[t.as_dict() for t in spec.transitions],
            initial=spec.initial,
            auto_transitions=False,
            send_event=True,
        )

    def fire(self, state: str, trigger: str, **kwargs: Any) -> str:
        """The state ``trigger`` leads to from ``state``; raises TransitionError if refused.

        Machines and guards are pure, so the answer depends only on (state, trigger, the
        verdict's pass/fail): it is computed by the machine once and then remembered, which
        keeps a 100k-case milestone fast.
        """
        verdict = kwargs.get("verdict")
        key = (state, trigger, None if verdict is None else bool(verdict.passed), len(kwargs))
        known = self._memo.get(key)
        if known is not None:
            return known
        dest = self._fire(state, trigger, **kwargs)
        self._memo[key] = dest
        return dest

    def _fire(self, state: str, trigger: str, **kwargs: Any) -> str:
        if state not in self.spec.states:
            raise TransitionError(f"{self.spec.name}: unknown state {state!r}")
        if trigger not in self.spec.triggers():
            raise TransitionError(f"{self.spec.name}: unknown trigger {trigger!r}")
        self.token.state = state
        try:
            moved = self.token.trigger(trigger, **kwargs)
        except MachineError as exc:
            allowed = ", ".join(self.spec.allowed(state)) or "none"
            raise TransitionError(
                f"{self.spec.name}: {trigger!r} is not allowed in state {state!r}"
                f" (allowed: {allowed})"
            ) from exc
        if not moved:
            raise TransitionError(f"{self.spec.name}: guards refused {trigger!r} in {state!r}")
        return self.token.state


@cache
def _runner_for(spec: MachineSpec) -> Runner:
    return Runner(spec)


#: id(spec) → (spec, runner); the spec is kept so its id is never reused
_BY_IDENTITY: dict[int, tuple[MachineSpec, Runner]] = {}


def runner(spec: MachineSpec) -> Runner:
    """The shared runner for ``spec`` (specs are frozen and hashable).

    Found by identity first: hashing a frozen spec walks every transition, and that hash
    per move was measurable at 100k cases; the specs come from cached factories, so a
    spec seen before is the same object.
    """
    known = _BY_IDENTITY.get(id(spec))
    if known is not None and known[0] is spec:
        return known[1]
    found = _runner_for(spec)
    _BY_IDENTITY[id(spec)] = (spec, found)
    return found


def fire(spec: MachineSpec, state: str, trigger: str, **kwargs: Any) -> str:
    """Move one case: the new state, or TransitionError naming what is allowed."""
    return runner(spec).fire(state, trigger, **kwargs)
