"""From "which rule holds" to a decision that explains itself, in Chinese and English.

A cycle asks, for one employee, the pack's rules of that cycle kind in *decision order*
(demotion, then keep/band, then promotion — so demotion beats promotion). The first rule
that holds decides; a rule whose answer depends on a missing fact, met before any rule
that holds, makes the decision ``pending``; when none holds the grade is unchanged.

:func:`plain_verdict` walks the rules in plain Python. The durable_rules adapter
(``promoflow.engine.rules_engine``) reaches the same :class:`Verdict` through the engine;
:func:`decide` turns either into a :class:`DecisionResult`. Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from promoflow.rules.conditions import (
    SYMBOL,
    Compare,
    compare,
    comparisons,
    deciding,
    evaluate,
    facts_of,
    missing_facts,
)
from promoflow.rules.periods import parse_period

if TYPE_CHECKING:
    from promoflow.rules.packs import Pack, PackRule

REVIEW_TEXT = {
    "elimination": ("淘汰评审", "elimination review"),
    "dismissal": ("劝退评审", "dismissal review"),
    "below_standard": ("低于标准，人力资源复核", "below standard, HR review"),
}


@dataclass(frozen=True)
class Verdict:
    """Which rule settled the case: ``status`` is ``holds``, ``unknown`` or ``none``.

    ``also`` names a promotion rule that held too when a demotion won.
    """

    status: str
    rule: str | None = None
    also: str | None = None


@dataclass
class DecisionResult:
    """One employee's decision with everything it read (values as strings)."""

    employee_id: str
    outcome: str
    from_grade: str
    to_grade: str
    rule: str | None
    pack_id: str
    pack_version: str
    period_id: str
    probation: bool = False
    review: str | None = None
    facts: dict[str, str | None] = field(default_factory=dict)
    thresholds: dict[str, list[str]] = field(default_factory=dict)
    reasons_zh: list[str] = field(default_factory=list)
    reasons_en: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: the absent inputs behind the missing facts, when the facts say ("2026Q2 score")
    missing_inputs: list[str] = field(default_factory=list)
    needs_vacancy: bool = False
    overridden: list[str] = field(default_factory=list)


def plain_verdict(rules: tuple[PackRule, ...], facts: Mapping[str, object]) -> Verdict:
    """Walk the rules (already in decision order) in plain Python."""
    for i, rule in enumerate(rules):
        status = evaluate(rule.node, facts)
        if status is None:
            return Verdict("unknown", rule.id)
        if status:
            also = None
            if rule.then == "demote":
                later = (r for r in rules[i + 1 :] if r.then == "promote")
                also = next((r.id for r in later if evaluate(r.node, facts) is True), None)
            return Verdict("holds", rule.id, also)
    return Verdict("none")


@lru_cache(maxsize=256)
def period_labels(period_id: str) -> dict[str, str]:
    """Placeholders of fact labels: {period}, {q} (last quarter), {prev_q} (the one before)."""
    period = parse_period(period_id)
    if period.kind == "month":
        return {"period": period.id, "q": period.id, "prev_q": period.previous().id}
    last = period.quarters[-1]
    return {"period": period.id, "q": last.id, "prev_q": last.previous().id}


#: decimal places shown in reasons; longer values are rounded and marked with ≈
SHOWN_PLACES = 4


def fmt(value: object, ftype: str = "decimal") -> str:
    """A fact value or threshold as HR writes it: 79.5, 80, 80.01%."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if ftype == "percent" and isinstance(value, Decimal | int):
        return fmt(Decimal(value) * 100) + "%"
    if isinstance(value, Decimal):
        if value.as_tuple().exponent < -SHOWN_PLACES:
            # a mean of three months can run to 28 digits: show it rounded, and say so;
            # the decision's stored facts keep every digit
            shown = value.quantize(Decimal(1).scaleb(-SHOWN_PLACES))
            return "≈" + format(shown.normalize(), "f")
        return format(value.normalize(), "f")
    return str(value)


class _Words:
    """Renders facts and comparisons of one pack and period in both languages."""

    def __init__(self, pack: Pack, period_id: str):
        self.pack = pack
        self.labels = period_labels(period_id)

    def label(self, fact: str, lang: str) -> str:
        spec = self.pack.facts.get(fact)
        if spec is None:
            return fact
        return getattr(spec, lang).format(**self.labels)

    def ftype(self, fact: str) -> str:
        spec = self.pack.facts.get(fact)
        return spec.type if spec else "decimal"

    def atom(self, cmp: Compare, facts: Mapping[str, object], lang: str) -> str:
        value = facts.get(cmp.fact)
        ftype = self.ftype(cmp.fact)
        op = cmp.op
        if value is not None and not compare(value, op, cmp.value):
            op = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!="}[op]
        return (
            f"{self.label(cmp.fact, lang)} {fmt(value, ftype)} {SYMBOL[op]} {fmt(cmp.value, ftype)}"
        )

    def atoms(self, cmps: list[Compare], facts: Mapping[str, object], lang: str) -> str:
        sep = "，" if lang == "zh" else ", "
        return sep.join(self.atom(c, facts, lang) for c in cmps)


def decide(
    pack: Pack,
    cycle_kind: str,
    employee_id: str,
    grade: str,
    facts: Mapping[str, object],
    period_id: str,
    verdict: Verdict,
) -> DecisionResult:
    """Turn a verdict into the decision: outcome, target grade, review, reasons."""
    rules = pack.rules_for(cycle_kind, grade)
    words = pack.memo.get(("words", period_id))
    if words is None:
        words = pack.memo[("words", period_id)] = _Words(pack, period_id)
    reads, thresholds = _reads(pack, cycle_kind, grade)
    read = dict(reads)
    result = DecisionResult(
        employee_id=employee_id,
        outcome="unchanged",
        from_grade=grade,
        to_grade=grade,
        rule=verdict.rule,
        pack_id=pack.id,
        pack_version=pack.version,
        period_id=period_id,
        thresholds=thresholds,
    )
    by_id = {r.id: r for r in rules}
    if verdict.status == "unknown":
        rule = by_id[verdict.rule]
        result.outcome = "pending"
        result.missing = list(dict.fromkeys(missing_facts(rule.node, facts)))
        zh = "、".join(words.label(f, "zh") for f in result.missing)
        en = ", ".join(words.label(f, "en") for f in result.missing)
        result.reasons_zh.append(f"缺少 {zh}，无法判断 {rule.id} → 待定，交人力资源处理")
        result.reasons_en.append(
            f"missing {en}, so {rule.id} cannot be decided → pending, flagged for HR"
        )
    elif verdict.status == "none":
        for rule in rules:
            why = deciding(rule.node, facts)
            result.reasons_zh.append(f"{rule.id} 不满足：{words.atoms(why, facts, 'zh')}")
            result.reasons_en.append(f"{rule.id} not met: {words.atoms(why, facts, 'en')}")
        result.reasons_zh.append(f"→ 保持 {grade}")
        result.reasons_en.append(f"→ stays at {grade}")
    else:
        rule = by_id[verdict.rule]
        _apply(pack, cycle_kind, rule, result, facts, words, read)
        if verdict.also:
            result.overridden.append(verdict.also)
            result.reasons_zh.append(f"晋升规则 {verdict.also} 同时满足，降级优先")
            result.reasons_en.append(
                f"promotion rule {verdict.also} also matched; demotion takes precedence"
            )
    result.facts = {name: _text(facts.get(name)) for name in read}
    inputs = facts.get("missing_for")
    if result.missing and isinstance(inputs, Mapping):
        detail = [i for f in result.missing for i in inputs.get(f, ())]
        result.missing_inputs = list(dict.fromkeys(detail))
    return result


def _reads(pack: Pack, cycle_kind: str, grade: str) -> tuple[dict, dict]:
    """Facts the rules of a grade read and their comparisons as text (memoised per pack)."""
    key = ("reads", cycle_kind, grade)
    found = pack.memo.get(key)
    if found is None:
        rules = pack.rules_for(cycle_kind, grade)
        read = {name: None for rule in rules for name in facts_of(rule.node)}
        shown = {r.id: [str(c) for c in comparisons(r.node)] for r in rules}
        found = pack.memo[key] = (read, shown)
    read, shown = found
    return read, {k: list(v) for k, v in shown.items()}


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _apply(pack, cycle_kind, rule, result: DecisionResult, facts, words: _Words, read) -> None:
    grade = result.from_grade
    i = pack.index(grade)
    why = deciding(rule.node, facts)
    why_zh, why_en = words.atoms(why, facts, "zh"), words.atoms(why, facts, "en")
    zh, en = "", ""
    result.review = rule.review
    if rule.then == "demote":
        if i == 0:
            result.review = rule.at_bottom_review or rule.review
            rz, re_ = REVIEW_TEXT.get(result.review or "", ("人力资源处理", "HR to decide"))
            zh, en = f"已是最低职级 {grade}，转{rz}", f"already at the lowest grade {grade}; {re_}"
        else:
            target = pack.grades[max(i - rule.steps, 0)]
            result.outcome, result.to_grade, result.probation = "demoted", target, rule.probation
            n_zh = "一" if rule.steps == 1 else str(rule.steps)
            n_en = "one grade" if rule.steps == 1 else f"{rule.steps} grades"
            zh, en = f"降{n_zh}级（{grade} → {target}）", f"down {n_en} ({grade} → {target})"
            if rule.probation:
                zh, en = zh + "，并试用一个月", en + ", with a one-month probation"
    elif rule.then == "promote":
        if i == len(pack.grades) - 1:
            zh, en = f"已是最高职级，保持 {grade}", f"already at the top grade; stays at {grade}"
        else:
            target = pack.grades[min(i + rule.steps, len(pack.grades) - 1)]
            zh, en = _promotion(pack, cycle_kind, grade, target, result, facts, words, read)
    elif rule.then == "set":
        target = rule.target
        j = pack.index(target)
        result.to_grade = target
        if j > i:
            result.outcome = "promoted"
            zh, en = f"升至 {target}（原 {grade}）", f"up to {target} (from {grade})"
        elif j < i:
            result.outcome = "demoted"
            zh, en = f"降至 {target}（原 {grade}）", f"down to {target} (from {grade})"
        else:
            zh, en = f"保持 {grade}", f"stays at {grade}"
    else:
        zh, en = f"保持 {grade}", f"stays at {grade}"
        if result.review:
            rz, re_ = REVIEW_TEXT.get(result.review, (result.review, result.review))
            zh, en = f"{zh}，{rz}", f"{en}; {re_}"
    result.reasons_zh.insert(0, f"{why_zh} → {zh}")
    result.reasons_en.insert(0, f"{why_en} → {en}")


def _promotion(pack, cycle_kind, grade, target, result, facts, words, read) -> tuple[str, str]:
    here, there = pack.position_of(grade), pack.position_of(target)
    vacancy = pack.vacancy
    if vacancy and cycle_kind in vacancy.cycles and here.id != there.id:
        read.setdefault(vacancy.fact, None)
        open_ = facts.get(vacancy.fact)
        if open_ is None:
            result.outcome = "pending"
            result.missing = [vacancy.fact]
            return (
                f"缺少{there.zh}空缺数 → 待定",
                f"open headcount for {there.en} is missing → pending",
            )
        if open_ <= 0:
            return (
                f"{there.zh} 无空缺，不予提名，保持 {grade}",
                f"no vacancy for {there.en} in the org unit; not nominated, stays at {grade}",
            )
        result.needs_vacancy = True
    result.outcome, result.to_grade = "promoted", target
    if pack.stages:
        return (
            f"提名晋升（{grade} → {target}），须通过笔试和面试",
            f"nominated for promotion ({grade} → {target}); written test and interview follow",
        )
    return f"升一级（{grade} → {target}）", f"up one grade ({grade} → {target})"
