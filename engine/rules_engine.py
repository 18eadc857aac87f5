"""The durable_rules adapter: the only module that imports durable_rules.

Pattern (see docs/rules.md, "How packs run on durable_rules"):

- One ruleset per (pack version, cycle kind), named ``<pack id>_<hash prefix>_<kind>``,
  compiled once per process (durable_rules' registry is process-global, with no delete).
- Each employee is one *event* posted with ``sid`` = employee id; exactly one engine rule
  fires per event (events are consumed), the state of that sid is deleted right after.
- Engine rules, by salience (``pri``), mirror the decision order of
  :func:`promoflow.rules.decide.plain_verdict`: for each pack rule, first its conflict
  rules (a demotion holding together with a promotion), then ``holds`` (definitely true),
  then ``unknown`` (true unless a missing fact says otherwise); last, at the lowest
  salience, an ``otherwise`` rule on the always-present grade index. So every event is
  handled by exactly one rule. Measured here: an *unhandled* event
  (``MessageNotHandledException``) leaves a session that ``delete_state`` cannot remove
  (it segfaults the process); after 1,024 of them every ``post`` raises MemoryError, so at
  100k employees "no rule fired" must not be an exception. The hang reported for catch-all
  rules comes from the ``$ex``/``$nex`` operators (reproduced); a plain comparison on a
  property every event carries does not hang.
- Exact decimals travel as scaled integers: a value x is posted as
  ``2·floor(x·10⁶) + (1 if x·10⁶ is not whole)`` and a threshold c (at most 6 decimals)
  as ``2·c·10⁶``; every comparison <, ≤, >, ≥, = on these integers gives the same answer
  as on the exact decimals (proof in docs/rules.md; tested with hypothesis).
- Missing facts are absent properties (durable_rules never matches a comparison on an
  absent property), plus a ``<fact>__k`` flag (1 known, 0 missing) for the ``unknown`` rules.
- One evaluation at a time (a lock): durable_rules' thread safety is undocumented.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from decimal import ROUND_FLOOR, Decimal

from durable import engine as _dr

from promoflow.errors import PromoflowError
from promoflow.rules.conditions import All, Compare, Node, facts_of
from promoflow.rules.decide import Verdict
from promoflow.rules.packs import Pack, PackRule

SCALE_PLACES = 6
#: |x| must stay below this so 2·x·10⁶ fits a signed 64-bit integer with room to spare
LIMIT = Decimal(2) ** 61 / (2 * 10**SCALE_PLACES)
GRADE = "g__"

_OP = {">=": "$gte", ">": "$gt", "<=": "$lte", "<": "$lt", "==": "$eq"}

_lock = threading.Lock()
_host: _dr.Host | None = None
_compiled: dict[str, CompiledRuleset] = {}


class EngineError(PromoflowError):
    """durable_rules could not evaluate a case (a value out of range, an engine failure)."""


def encode(value: object) -> int | bool:
    """A fact value as the engine sees it (see the module docstring)."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, int | Decimal):
        raise EngineError(f"fact value {value!r} is not a number or true/false")
    x = Decimal(value)
    if not x.is_finite() or abs(x) >= LIMIT:
        raise EngineError(f"fact value {value} is too large for the rule engine")
    scaled = x.scaleb(SCALE_PLACES)
    floor = scaled.to_integral_value(rounding=ROUND_FLOOR)
    return 2 * int(floor) + (0 if floor == scaled else 1)


def encode_threshold(value: Decimal | bool) -> int | bool:
    """A threshold (at most 6 decimal places, checked at pack load) as an even integer."""
    if isinstance(value, bool):
        return value
    return 2 * int(value.scaleb(SCALE_PLACES))


def _known(fact: str) -> str:
    return f"{fact}__k"


def _holds(node: Node) -> dict:
    if isinstance(node, Compare):
        return {_OP[node.op]: {node.fact: encode_threshold(node.value)}}
    key = "$and" if isinstance(node, All) else "$or"
    return {key: [_holds(p) for p in node.parts]}


def _possible(node: Node) -> dict:
    if isinstance(node, Compare):
        return {"$or": [{"$eq": {_known(node.fact): 0}}, _holds(node)]}
    key = "$and" if isinstance(node, All) else "$or"
    return {key: [_possible(p) for p in node.parts]}


def _applies(indices: list[int]) -> dict:
    lo, hi = min(indices), max(indices)
    if indices == list(range(lo, hi + 1)):
        return {"$and": [{"$gte": {GRADE: lo}}, {"$lte": {GRADE: hi}}]}
    return {"$or": [{"$eq": {GRADE: i}} for i in indices]}


class CompiledRuleset:
    """One pack version's rules of one cycle kind, registered with durable_rules."""

    def __init__(self, pack: Pack, cycle_kind: str):
        self.pack = pack
        self.cycle_kind = cycle_kind
        self.name = f"{pack.id}_{pack.version[:16]}_{cycle_kind}"
        self.rules: tuple[PackRule, ...] = pack.rules_for(cycle_kind)
        self.facts: list[str] = []
        for rule in self.rules:
            for name in facts_of(rule.node):
                if name not in self.facts:
                    self.facts.append(name)
        self.verdicts: list[Verdict] = []
        self.definition = self._define()

    def _action(self, verdict: Verdict):
        key = len(self.verdicts)
        self.verdicts.append(verdict)
        fired = self._fired_list

        def run(_closure):
            fired.append(key)

        return run

    def _define(self) -> dict:
        self._fired_list: list[int] = []
        grades = self.pack.grades
        definition: dict[str, dict] = {}
        pri = 0

        def add(label: str, condition: dict, verdict: Verdict) -> None:
            nonlocal pri
            pri += 1
            definition[f"r{pri:03d}_{label}"] = {
                "pri": pri,
                "all": [{"m": condition}],
                "run": self._action(verdict),
            }

        for i, rule in enumerate(self.rules):
            applies = _applies([grades.index(g) for g in rule.grades])
            if rule.then == "demote":
                for other in self.rules[i + 1 :]:
                    if other.then != "promote" or not set(other.grades) & set(rule.grades):
                        continue
                    both = [applies, _holds(rule.node), _applies_of(other, grades)]
                    both.append(_holds(other.node))
                    add("conflict", {"$and": both}, Verdict("holds", rule.id, other.id))
            add("holds", {"$and": [applies, _holds(rule.node)]}, Verdict("holds", rule.id))
            add("unknown", {"$and": [applies, _possible(rule.node)]}, Verdict("unknown", rule.id))
        # Lowest salience: reached only when every rule above is false or does not apply.
        add("otherwise", {"$gte": {GRADE: 0}}, Verdict("none"))
        return definition

    def message(self, employee_id: str, grade: str, facts: Mapping[str, object]) -> dict:
        """The event posted for one employee: grade index, facts, known flags."""
        msg: dict[str, object] = {"sid": employee_id, GRADE: self.pack.index(grade)}
        for name in self.facts:
            value = facts.get(name)
            if value is None:
                msg[_known(name)] = 0
            else:
                try:
                    msg[name] = encode(value)
                except EngineError as exc:
                    raise EngineError(f"employee {employee_id}, fact {name}: {exc}") from exc
                msg[_known(name)] = 1
        return msg


def _applies_of(rule: PackRule, grades: tuple[str, ...]) -> dict:
    return _applies([grades.index(g) for g in rule.grades])


def _get_host() -> _dr.Host:
    global _host
    if _host is None:
        _host = _dr.Host()
    return _host


def compiled(pack: Pack, cycle_kind: str) -> CompiledRuleset:
    """The registered ruleset of a pack version and cycle kind (compiled once per process)."""
    key = f"{pack.id}_{pack.version[:16]}_{cycle_kind}"
    with _lock:
        found = _compiled.get(key)
        if found is None:
            found = CompiledRuleset(pack, cycle_kind)
            if found.rules:
                try:
                    _get_host().register_rulesets({found.name: found.definition})
                except Exception as exc:  # durable_rules raises bare Exception
                    raise EngineError(f"durable_rules refused ruleset {key}: {exc}") from exc
            _compiled[key] = found
        return found


def verdicts(
    pack: Pack, cycle_kind: str, cases: Iterable[tuple[str, str, Mapping[str, object]]]
) -> dict[str, Verdict]:
    """Post each (employee id, grade, facts) to durable_rules; the verdict per employee."""
    ruleset = compiled(pack, cycle_kind)
    out: dict[str, Verdict] = {}
    if not ruleset.rules:
        for employee_id, _grade, _facts in cases:
            out[employee_id] = Verdict("none")
        return out
    host = _get_host()
    fired = ruleset._fired_list
    name = ruleset.name
    with _lock:
        for employee_id, grade, facts in cases:
            msg = ruleset.message(employee_id, grade, facts)
            fired.clear()
            try:
                host.post(name, msg)
            except _dr.MessageNotHandledException:
                # Unreachable with the ``otherwise`` rule; never delete_state an unhandled sid.
                out[employee_id] = Verdict("none")
                continue
            except Exception as exc:
                raise EngineError(f"durable_rules failed on employee {employee_id}: {exc}") from exc
            host.delete_state(name, employee_id)
            if len(fired) != 1:
                raise EngineError(
                    f"durable_rules fired {len(fired)} rules for employee {employee_id}; expected 1"
                )
            out[employee_id] = ruleset.verdicts[fired[0]]
    return out
