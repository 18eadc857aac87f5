"""The durable_rules adapter: the only module that imports durable_rules.

Pattern (see docs/rules.md, "How packs run on durable_rules"):

- One ruleset per (pack version, cycle kind), named ``<pack id>_<hash prefix>_<kind>``,
  compiled once per process and kept for the life of the process.
- The adapter drives the C engine (``durable_rules_engine``) itself and owns its ruleset
  handles; it never creates a ``durable.engine.Host``. A ``Host`` starts background
  ``threading.Timer`` loops that call ``start_action`` on every ruleset about every 0.2 s:
  they race with a synchronous ``post`` and can take the action of the event just asserted
  (reproduced: ``start_action_for_state`` returned None because the timer thread had it),
  which would surface as "fired 0 rules" or a verdict for the wrong employee, at random.
  Without a ``Host`` nothing else in the process touches our handles.
- Each employee is one *event* (JSON text built here): ``assert_event`` →
  ``start_action_for_state`` (its message's only key is the name of the engine rule that
  fired, which maps to the verdict) → ``complete_and_start_action`` (must return nothing:
  exactly one rule per event, and the event is consumed by it). Measured (100k synthetic
  employees, verdicts only, CPU time): 35–38 µs per employee through ``Host.post`` →
  13–14 µs, identical verdicts; about 7.5 µs of it is the C engine. ``assert_events`` over
  chunks of 2 or more employees segfaults (reproduced): not used.
- One session (``sid``) per call, not per employee, deleted when the call ends (also when
  it fails). A new ``sid`` costs the engine a session node (zeroing its frame pools) and a
  state fact; since every event is consumed as its verdict is read, the session holds
  nothing of one employee when the next is posted (only its own state fact, which a new
  session would hold too), so the verdicts are the same: measured at 100k, 2.1 s → 1.4 s
  of CPU, 900k events through one session at a constant speed and memory, every verdict
  equal to a session per employee. A session left holding an unhandled event is never
  deleted (that segfaults) and never posted to again: the call moves on to a new one.
- Engine rules, by salience (``pri``), mirror the decision order of
  :func:`promoflow.rules.decide.plain_verdict`: for each pack rule, first its conflict
  rules (a demotion holding together with a promotion), then ``holds`` (definitely true),
  then ``unknown`` (true unless a missing fact says otherwise); last, at the lowest
  salience, an ``otherwise`` rule on the always-present grade index. So every event is
  handled by exactly one rule. Measured here: an *unhandled* event (result code 1) leaves
  a session that ``delete_state`` cannot remove (it segfaults the process); after 1,024 of
  them every assert raises MemoryError, so at 100k employees "no rule fired" must not
  happen, and an unhandled sid is never passed to ``delete_state``. Every other session is
  deleted when its call ends (at most 1,024 live sessions per ruleset). The
  hang reported for catch-all rules comes from the ``$ex``/``$nex`` operators
  (reproduced); a plain comparison on a property every event carries does not hang.
- Exact decimals travel as scaled integers: a value x is posted as
  ``2·floor(x·10⁶) + (1 if x·10⁶ is not whole)`` and a threshold c (at most 6 decimals)
  as ``2·c·10⁶``; every comparison <, ≤, >, ≥, = on these integers gives the same answer
  as on the exact decimals (proof in docs/rules.md; tested with hypothesis). The value is
  computed from the exact fraction (``as_integer_ratio``), never rounded to the decimal
  context's 28 digits.
- Missing facts are absent properties (durable_rules never matches a comparison on an
  absent property), plus a ``<fact>__k: 0`` flag for the ``unknown`` rules (which test
  ``<fact>__k == 0``); a known fact carries no flag (absent, so that test is false).
- One evaluation at a time (a lock): the C engine's thread safety is undocumented.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from json.encoder import encode_basestring as _json_str

import durable_rules_engine as _dre

from promoflow.errors import PromoflowError
from promoflow.rules.conditions import All, Compare, Node, facts_of
from promoflow.rules.decide import Verdict
from promoflow.rules.packs import Pack, PackRule

SCALE_PLACES = 6
#: |x| must stay below this so 2·x·10⁶ fits a signed 64-bit integer with room to spare
LIMIT = Decimal(2) ** 61 / (2 * 10**SCALE_PLACES)
GRADE = "g__"

_SCALE = 10**SCALE_PLACES
#: the largest integer below LIMIT (LIMIT itself is not whole)
_INT_LIMIT = int(LIMIT)
_NEG_LIMIT = -LIMIT
#: below this magnitude x·10⁶ lies strictly between -1 and 1 (only 0 is whole there)
_TINY_ADJUSTED = -SCALE_PLACES - 1

#: assert_event result codes (durable/engine.py ``_handle_result``)
_HANDLED, _NOT_HANDLED = 0, 1
#: per call and fact, at most this many distinct encoded values are remembered
_CACHE_LIMIT = 1 << 16

_OP = {">=": "$gte", ">": "$gt", "<=": "$lte", "<": "$lt", "==": "$eq"}

_lock = threading.Lock()
_compiled: dict[str, CompiledRuleset] = {}
#: numbers the sessions of this process (see :func:`verdicts`)
_sessions = itertools.count(1)
_NONE = Verdict("none")


class EngineError(PromoflowError):
    """durable_rules could not evaluate a case (a value out of range, an engine failure)."""


def encode(value: object) -> int | bool:
    """A fact value as the engine sees it (see the module docstring)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_INT_LIMIT <= value <= _INT_LIMIT:
            return 2 * _SCALE * int(value)
        raise EngineError(f"fact value {value} is too large for the rule engine")
    if not isinstance(value, Decimal):
        raise EngineError(f"fact value {value!r} is not a number or true/false")
    if not value.is_finite() or not _NEG_LIMIT < value < LIMIT:
        raise EngineError(f"fact value {value} is too large for the rule engine")
    if value.adjusted() < _TINY_ADJUSTED:
        # |x| < 10⁻⁷: floor(x·10⁶) is 0 or -1, whole only for 0 (also keeps the fraction
        # below from building 10^huge for a value like 1E-999999999)
        return 0 if not value else (1 if value > 0 else -1)
    numerator, denominator = value.as_integer_ratio()
    floor, rest = divmod(numerator * _SCALE, denominator)
    return 2 * floor + (1 if rest else 0)


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
    """One pack version's rules of one cycle kind, as a durable_rules ruleset definition.

    :func:`compiled` creates the engine ruleset (``handle``) from ``definition``.
    """

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
        #: engine rule name → the verdict it stands for
        self.verdicts: dict[str, Verdict] = {}
        self.definition = self._define()
        self.handle: int | None = None
        # Message pieces, precomputed: the JSON text of an event is
        # '{"sid": <id>' + ', "g__": <index>' + one piece per fact + '}'.
        self._grade_piece = {g: f', "{GRADE}": {i}' for i, g in enumerate(pack.grades)}
        self._fact_pieces = []
        for name in self.facts:
            key, flag = _json_str(name), _json_str(_known(name))
            self._fact_pieces.append(
                (name, f", {flag}: 0", f", {key}: ", f", {key}: true", f", {key}: false")
            )

    def _define(self) -> dict:
        grades = self.pack.grades
        definition: dict[str, dict] = {}
        pri = 0

        def add(label: str, condition: dict, verdict: Verdict) -> None:
            nonlocal pri
            pri += 1
            name = f"r{pri:03d}_{label}"
            definition[name] = {"pri": pri, "all": [{"m": condition}]}
            self.verdicts[name] = verdict

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
        add("otherwise", {"$gte": {GRADE: 0}}, _NONE)
        return definition

    def message(
        self,
        employee_id: str,
        grade: str,
        facts: Mapping[str, object],
        cache: list[dict] | None = None,
        session: str | None = None,
    ) -> str:
        """The event posted for one employee, as JSON text: grade index, facts, missing flags.

        ``cache`` (one dict per fact, from :meth:`new_cache`) remembers encoded values
        across the employees of one call. ``session`` is the ``sid`` posted to, as JSON
        text (default: the employee id).
        """
        piece = self._grade_piece.get(grade)
        if piece is None:
            piece = f', "{GRADE}": {self.pack.index(grade)}'  # ValueError if unknown
        if session is None:
            session = (
                _json_str(employee_id) if isinstance(employee_id, str) else json.dumps(employee_id)
            )
        parts = ['{"sid": ', session, piece]
        append = parts.append
        if cache is None:
            cache = self.new_cache()
        for (name, missing, before, true, false), seen in zip(
            self._fact_pieces, cache, strict=True
        ):
            value = facts.get(name)
            if value is None:
                append(missing)
            elif value is True:
                append(true)
            elif value is False:
                append(false)
            else:
                # bool is excluded above, so 1 and True never share an entry; only exact
                # int/Decimal types are remembered (a float equal to a Decimal must still
                # be refused)
                exact = type(value) is Decimal or type(value) is int
                try:
                    text = seen.get(value) if exact else None
                except TypeError:  # a signalling NaN cannot be hashed; encode refuses it
                    text = exact = None
                if text is None:
                    try:
                        encoded = encode(value)
                    except EngineError as exc:
                        raise EngineError(f"employee {employee_id}, fact {name}: {exc}") from exc
                    text = f"{before}{encoded}"
                    if exact and len(seen) < _CACHE_LIMIT:
                        seen[value] = text
                append(text)
        append("}")
        return "".join(parts)

    def new_cache(self) -> list[dict]:
        """Empty per-fact caches for :meth:`message`."""
        return [{} for _ in self.facts]


def _applies_of(rule: PackRule, grades: tuple[str, ...]) -> dict:
    return _applies([grades.index(g) for g in rule.grades])


def compiled(pack: Pack, cycle_kind: str) -> CompiledRuleset:
    """The ruleset of a pack version and cycle kind (compiled once per process)."""
    key = f"{pack.id}_{pack.version[:16]}_{cycle_kind}"
    with _lock:
        found = _compiled.get(key)
        if found is None:
            found = CompiledRuleset(pack, cycle_kind)
            if found.rules:
                text = json.dumps(found.definition, ensure_ascii=False)
                try:
                    found.handle = _dre.create_ruleset(found.name, text)
                except Exception as exc:  # durable_rules_engine.error, MemoryError
                    raise EngineError(f"durable_rules refused ruleset {key}: {exc}") from exc
            _compiled[key] = found
        return found


def verdicts(
    pack: Pack, cycle_kind: str, cases: Iterable[tuple[str, str, Mapping[str, object]]]
) -> dict[str, Verdict]:
    """Post each (employee id, grade, facts) to durable_rules; the verdict per employee.

    All employees of a call go through one session, deleted when the call ends (see the
    module docstring): every event is consumed as its verdict is read.
    """
    ruleset = compiled(pack, cycle_kind)
    out: dict[str, Verdict] = {}
    if not ruleset.rules:
        for employee_id, _grade, _facts in cases:
            out[employee_id] = _NONE
        return out
    handle = ruleset.handle
    by_rule = ruleset.verdicts
    message = ruleset.message
    cache = ruleset.new_cache()
    assert_event = _dre.assert_event
    start_action = _dre.start_action_for_state
    complete = _dre.complete_and_start_action
    with _lock:
        sid, session = _new_session()
        live = False
        try:
            for employee_id, grade, facts in cases:
                text = message(employee_id, grade, facts, cache, session)
                try:
                    code, state = assert_event(handle, text)
                except Exception as exc:  # durable_rules_engine.error, MemoryError
                    live = False  # in an unknown state: never touched again
                    raise EngineError(
                        f"durable_rules failed on employee {employee_id}: {exc}"
                    ) from exc
                if code != _HANDLED:
                    if code == _NOT_HANDLED:
                        # Unreachable with the ``otherwise`` rule. The session now holds
                        # an unconsumed event and cannot be deleted (that segfaults):
                        # leave it, and go on in a new one.
                        out[employee_id] = _NONE
                        sid, session = _new_session()
                        live = False
                        continue
                    raise EngineError(
                        f"durable_rules answered code {code} for employee {employee_id}"
                    )
                live = True
                try:
                    action = start_action(handle, state)
                    more = None if action is None else complete(handle, state)
                except Exception as exc:
                    raise EngineError(
                        f"durable_rules failed on employee {employee_id}: {exc}"
                    ) from exc
                if action is None or more is not None:
                    count = "no rule" if action is None else "more than one rule"
                    raise EngineError(
                        f"durable_rules fired {count} for employee {employee_id}; expected 1"
                    )
                fired = action[1]  # '{"<rule name>":{"m":{...the event...}}}'
                verdict = by_rule.get(fired[2 : fired.find('"', 2)])
                if verdict is None:
                    raise EngineError(
                        f"durable_rules fired an unknown rule for employee {employee_id}: {fired}"
                    )
                out[employee_id] = verdict
        except BaseException:
            if live:
                _delete_quietly(handle, sid)
            raise
        if live:
            try:
                _dre.delete_state(handle, sid)
            except Exception as exc:
                raise EngineError(f"durable_rules could not end session {sid}: {exc}") from exc
    return out


def _new_session() -> tuple[str, str]:
    """A ``sid`` no call of this process has used, and its JSON text for the events."""
    sid = f"promoflow-{next(_sessions)}"
    return sid, _json_str(sid)


def _delete_quietly(handle: int, sid: str) -> None:
    """Best-effort cleanup of a handled session while an engine error is being raised."""
    with contextlib.suppress(Exception):  # the original engine error is worth reporting
        _dre.delete_state(handle, sid)
