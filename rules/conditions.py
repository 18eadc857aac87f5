"""The condition language of rule packs: ``score_q >= 80 and attainment_q > 80%``.

HR reads and edits conditions, so they look like the policy. They are parsed by a small
hand-written recursive-descent parser (never ``eval``) into a tree of comparisons joined by
``and`` / ``or``; ``not`` is pushed down into the comparisons at parse time, so the tree the
engines see has no negation. Every comparison is *fact OP number* (or *fact == true/false*),
type-checked against the facts the pack declares, with a "did you mean" suggestion.

Evaluation is three-valued (Kleene): a missing fact makes its comparison *unknown*;
``false and unknown`` is false, ``true or unknown`` is true. So a rule needs only the facts
it actually reaches, and a decision waits (pending) only when the answer truly depends on
a missing fact.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: the decimal places a threshold may have (scaled-integer exactness depends on it)
MAX_PLACES = 6
#: thresholds stay below this (the engine compares 64-bit integers of value × 2·10⁶)
MAX_MAGNITUDE = Decimal(10) ** 12

NUMERIC_TYPES = frozenset({"int", "decimal", "percent"})
FACT_TYPES = NUMERIC_TYPES | {"bool"}

_OPS = {"≥": ">=", "≤": "<=", "≠": "!=", "=": "=="}
_FLIP = {">=": "<=", "<=": ">=", ">": "<", "<": ">", "==": "==", "!=": "!="}
_NEGATE = {">=": "<", "<": ">=", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}
SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?%?)|(?P<op>>=|<=|==|!=|≥|≤|≠|>|<|=)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<paren>[()]))"
)


class ConditionSyntaxError(ValueError):
    """A condition that does not parse or type-check; ``column`` is 1-based."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Compare:
    """``fact OP value``: value is a Decimal for numeric facts, a bool for flags."""

    fact: str
    op: str
    value: Decimal | bool

    def __str__(self) -> str:
        return f"{self.fact} {self.op} {_literal(self.value)}"


@dataclass(frozen=True)
class All:
    """Every part must hold (``and``)."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    """At least one part must hold (``or``)."""

    parts: tuple[Node, ...]


Node = Compare | All | Any_


def _literal(value: Decimal | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


@dataclass
class _Tok:
    kind: str
    text: str
    col: int


def _tokenise(text: str) -> list[_Tok]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            col = pos + (len(text[pos:]) - len(text[pos:].lstrip())) + 1
            raise ConditionSyntaxError(f"unexpected character {text[col - 1]!r}", col)
        kind = m.lastgroup or ""
        value = m.group(kind)
        tokens.append(_Tok(kind, value, m.start(kind) + 1))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str, facts: Mapping[str, str]):
        self.text = text
        self.facts = facts
        self.tokens = _tokenise(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "name" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.disjunction(negate=False)
        tok = self.peek()
        if tok.kind != "end":
            raise ConditionSyntaxError(f"unexpected {tok.text!r}; expected 'and' or 'or'", tok.col)
        return node

    # ``not`` is applied by De Morgan while parsing: negate=True builds the negated tree.
    def disjunction(self, negate: bool) -> Node:
        parts = [self.conjunction(negate)]
        while self.keyword("or"):
            parts.append(self.conjunction(negate))
        return _join(parts, conj=negate)

    def conjunction(self, negate: bool) -> Node:
        parts = [self.unary(negate)]
        while self.keyword("and"):
            parts.append(self.unary(negate))
        return _join(parts, conj=not negate)

    def unary(self, negate: bool) -> Node:
        if self.keyword("not"):
            return self.unary(not negate)
        tok = self.peek()
        if tok.kind == "paren" and tok.text == "(":
            self.take()
            node = self.disjunction(negate)
            close = self.take()
            if close.text != ")":
                raise ConditionSyntaxError("missing ')'", close.col)
            return node
        return self.comparison(negate)

    def operand(self) -> tuple[str, object, int]:
        tok = self.take()
        if tok.kind == "num":
            text = tok.text
            try:
                value = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
            except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
                raise ConditionSyntaxError(f"bad number {text!r}", tok.col) from exc
            return "num", value, tok.col
        if tok.kind == "name":
            low = tok.text.lower()
            if low in ("true", "false"):
                return "bool", low == "true", tok.col
            if low in ("and", "or", "not"):
                raise ConditionSyntaxError(f"expected a fact or a number, found {low!r}", tok.col)
            return "fact", tok.text, tok.col
        found = "the end" if tok.kind == "end" else repr(tok.text)
        raise ConditionSyntaxError(f"expected a fact or a number, found {found}", tok.col)

    def comparison(self, negate: bool) -> Node:
        lkind, left, lcol = self.operand()
        optok = self.take()
        if optok.kind != "op":
            found = "the end" if optok.kind == "end" else repr(optok.text)
            raise ConditionSyntaxError(
                f"expected a comparison (>=, >, <=, <, ==, !=) after {left}, found {found}",
                optok.col,
            )
        op = _OPS.get(optok.text, optok.text)
        rkind, right, rcol = self.operand()
        if lkind == "fact" and rkind != "fact":
            fact, value, kind, col = left, right, rkind, lcol
        elif rkind == "fact" and lkind != "fact":
            fact, value, kind, col, op = right, left, lkind, rcol, _FLIP[op]
        elif lkind == "fact":
            raise ConditionSyntaxError(
                f"compare a fact with a number, not two facts ({left} {op} {right})", lcol
            )
        else:
            raise ConditionSyntaxError("a comparison needs a fact on one side", lcol)
        return self.typed(str(fact), op, value, kind, col, negate)

    def typed(self, fact: str, op: str, value, kind: str, col: int, negate: bool) -> Node:
        ftype = self.facts.get(fact)
        if ftype is None:
            hint = difflib.get_close_matches(fact, list(self.facts), n=1)
            more = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConditionSyntaxError(f"unknown fact {fact!r}{more}", col)
        if negate:
            op = _NEGATE[op]
        if ftype == "bool":
            if kind != "bool" or op not in ("==", "!="):
                raise ConditionSyntaxError(
                    f"{fact} is true or false: compare it with == true or == false", col
                )
            return Compare(fact, "==", bool(value) if op == "==" else not value)
        if kind != "num":
            raise ConditionSyntaxError(f"{fact} is a number: compare it with a number", col)
        if abs(value) >= MAX_MAGNITUDE:
            raise ConditionSyntaxError(f"{_literal(value)} is too large for a threshold", col)
        if value.as_tuple().exponent < -MAX_PLACES:
            raise ConditionSyntaxError(
                f"{_literal(value)} has more than {MAX_PLACES} decimal places", col
            )
        if op == "!=":
            return Any_((Compare(fact, "<", value), Compare(fact, ">", value)))
        return Compare(fact, op, value)


def _join(parts: list[Node], conj: bool) -> Node:
    if len(parts) == 1:
        return parts[0]
    kind = All if conj else Any_
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, kind) else (part,))
    return kind(tuple(flat))


def parse_condition(text: str, facts: Mapping[str, str]) -> Node:
    """Parse ``text`` against the declared ``facts`` (name → type); raise ConditionSyntaxError."""
    if not text or not text.strip():
        raise ConditionSyntaxError("the condition is empty", 1)
    return _Parser(" ".join(text.split()), facts).parse()


def facts_of(node: Node) -> list[str]:
    """The fact names a condition reads, in order of first use."""
    seen: dict[str, None] = {}
    for cmp in comparisons(node):
        seen.setdefault(cmp.fact, None)
    return list(seen)


def comparisons(node: Node) -> list[Compare]:
    """Every comparison of the tree, left to right."""
    if isinstance(node, Compare):
        return [node]
    out: list[Compare] = []
    for part in node.parts:
        out.extend(comparisons(part))
    return out


def compare(value, op: str, threshold) -> bool:
    """One comparison in exact arithmetic (ints and Decimals compare exactly)."""
    if op == ">=":
        return value >= threshold
    if op == ">":
        return value > threshold
    if op == "<=":
        return value <= threshold
    if op == "<":
        return value < threshold
    return value == threshold


def evaluate(node: Node, facts: Mapping[str, object]) -> bool | None:
    """Kleene evaluation: True, False, or None when the answer depends on a missing fact."""
    if isinstance(node, Compare):
        value = facts.get(node.fact)
        if value is None:
            return None
        return compare(value, node.op, node.value)
    results = [evaluate(part, facts) for part in node.parts]
    if isinstance(node, All):
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def settle(node: Node, facts: Mapping[str, object]) -> tuple[bool | None, list[Compare]]:
    """The condition's value and the comparisons that settle it: why it is true, false or
    unknown (all parts of a true ``and`` / false ``or``, else the first deciding part, or
    every unknown part)."""
    if isinstance(node, Compare):
        value = facts.get(node.fact)
        return (None if value is None else compare(value, node.op, node.value)), [node]
    results = [settle(part, facts) for part in node.parts]
    values = [r[0] for r in results]
    if isinstance(node, All):
        result = False if False in values else (None if None in values else True)
        everything = result is True
    else:
        result = True if True in values else (None if None in values else False)
        everything = result is False
    out: list[Compare] = []
    for value, why in results:
        if everything or value is result:
            out.extend(why)
            if not everything and result is not None:
                break
    return result, out


def deciding(node: Node, facts: Mapping[str, object]) -> list[Compare]:
    """The comparisons that settle the condition's value (see :func:`settle`)."""
    return settle(node, facts)[1]


def missing_facts(node: Node, facts: Mapping[str, object]) -> list[str]:
    """The missing facts that leave the condition unknown (empty when it is decided)."""
    value, why = settle(node, facts)
    if value is not None:
        return []
    return [c.fact for c in why if facts.get(c.fact) is None]


def render(node: Node, top: bool = True) -> str:
    """The condition as text again (after ``not`` was pushed down)."""
    if isinstance(node, Compare):
        return str(node)
    word = " and " if isinstance(node, All) else " or "
    text = word.join(render(p, top=False) for p in node.parts)
    return text if top else f"({text})"
