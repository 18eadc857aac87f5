"""From "which rule holds" to a decision that explains itself, in Chinese and English.

A cycle asks, for one employee, the pack's rules of that cycle kind in *decision order*
(demotion, then keep/band, then promotion — so demotion beats promotion). The first rule
that holds decides; a rule whose answer depends on a missing fact, met before any rule
that holds, makes the decision ``pending``; when none holds the grade is unchanged.

:func:`plain_verdict` walks the rules in plain Python. The durable_rules adapter
(``promoflow.engine.rules_engine``) reaches the same :class:`Verdict` through the engine;
:func:`decide` turns either into a :class:`DecisionResult`. Pure: no database, no clock.

A cycle calls :func:`decide` once per employee, so everything that does not depend on the
employee's values — rules, fact labels, thresholds as text, the words after the arrow, a
function that settles each condition — is worked out once per pack, cycle kind, grade and
period (``_Plan``, kept in ``pack.memo``); a call then reads the facts, writes each value
once and joins prepared pieces. The conditions are settled by the one evaluator of the
condition language, :func:`promoflow.rules.conditions.settler`, compiled once per plan.
``tests/unit/test_decide_golden.py`` holds decide() to the exact decisions of the plain
per-call implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache, partial
from typing import TYPE_CHECKING

from promoflow.rules.conditions import (
    SYMBOL,
    Compare,
    comparisons,
    evaluate,
    facts_of,
    settler,
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
_SHOWN = Decimal(1).scaleb(-SHOWN_PLACES)
#: a value whose plain text is no longer than this has fewer digits than any context's
#: precision worth the name, so stripping its trailing zeros is exactly ``normalize()``
_PLAIN_CHARS = 20


def fmt(value: object, ftype: str = "decimal") -> str:
    """A fact value or threshold as HR writes it: 79.5, 80, 80.01%."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if ftype == "percent" and isinstance(value, Decimal | int):
        return fmt(Decimal(value) * 100) + "%"
    if isinstance(value, Decimal):
        if value.__class__ is Decimal and value.is_finite():
            return _decimal(value)
        if value.as_tuple().exponent < -SHOWN_PLACES:
            # a mean of three months can run to 28 digits: show it rounded, and say so;
            # the decision's stored facts keep every digit
            shown = value.quantize(_SHOWN)
            return "≈" + format(shown.normalize(), "f")
        return format(value.normalize(), "f")
    return str(value)


def _decimal(value: Decimal, text: str | None = None) -> str:
    """:func:`fmt` of a finite Decimal, read off its text instead of ``as_tuple()``.

    ``text`` is ``str(value)`` when the caller has it. Unless it is scientific (``1E+2``),
    that is the plain text, with exactly ``-exponent`` decimal places: so it tells whether
    the value has more than SHOWN_PLACES, and dropping its trailing zeros (and a bare
    point) is what ``normalize()`` then ``"f"`` gives as long as nothing is rounded.
    """
    if text is None:
        text = str(value)
    if "E" in text:
        text = format(value, "f")
    point = text.find(".")
    if point >= 0 and len(text) - point - 1 > SHOWN_PLACES:
        # a mean of three months can run to 28 digits: show it rounded, and say so;
        # the quantized value has 4 places, so its str() is plain
        return "≈" + str(value.quantize(_SHOWN)).rstrip("0").rstrip(".")
    if len(text) > _PLAIN_CHARS:
        return format(value.normalize(), "f")
    if point >= 0:
        return text.rstrip("0").rstrip(".")
    return text


def _show(value: object, ftype: str, text: str) -> str:
    """:func:`fmt` of a fact value in a reason, common cases first; ``text`` is the
    value's ``str()`` (a decision's stored fact), so a decimal is not printed twice."""
    cls = value.__class__
    if cls is Decimal:
        if ftype == "percent":
            value = value * 100
            if value.is_finite():
                return _decimal(value) + "%"
            return fmt(value) + "%"
        if ftype != "bool" and value.is_finite():
            return _decimal(value, text)
    elif cls is int and ftype != "percent":
        return text
    return fmt(value, ftype)


def _apart(value: Decimal, ftype: str, threshold: str) -> str:
    """A rounded value that would read as its threshold (``≈80 < 80``) shown with as many
    places as it takes to read apart from it (``≈79.99999 < 80``), or exactly."""
    suffix = "%" if ftype == "percent" else ""
    value = value * 100 if suffix else value
    for places in range(SHOWN_PLACES + 1, 29):
        rounded = value.quantize(Decimal(1).scaleb(-places))
        text = format(rounded.normalize(), "f") + suffix
        if rounded == value:
            return text
        if text != threshold:
            return "≈" + text
    return format(value.normalize(), "f") + suffix


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


_NEGATED = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!="}


class _Atom:
    """One comparison of a rule, worded for one pack and period.

    A reason shows it as ``zh``/``en`` (the fact's label and a space), the value, then
    ``held`` (`` ≥ 80``) when it holds or the value is missing, else ``failed`` (`` < 80``).
    """

    __slots__ = ("en", "fact", "failed", "ftype", "held", "threshold", "zh")

    def __init__(self, cmp: Compare, words: _Words):
        self.fact = cmp.fact
        self.ftype = words.ftype(cmp.fact)
        self.zh = words.label(cmp.fact, "zh") + " "
        self.en = words.label(cmp.fact, "en") + " "
        threshold = self.threshold = fmt(cmp.value, self.ftype)
        self.held = f" {SYMBOL[cmp.op]} {threshold}"
        self.failed = f" {SYMBOL[_NEGATED[cmp.op]]} {threshold}"


def _atoms(why: list, facts: Mapping, texts: dict, shown: dict) -> tuple[str, str]:
    """The comparisons that settle a rule, in Chinese and in English. ``texts`` are the
    facts as stored (str), ``shown`` the values as reasons show them (filled on the way)."""
    zh, en = [], []
    for atom, held in why:
        fact = atom.fact
        text = shown.get(fact)
        if text is None:
            text = "—" if held is None else _show(facts.get(fact), atom.ftype, texts[fact])
            shown[fact] = text
        if text[:1] == "≈" and text[1:] == atom.threshold:
            text = _apart(facts.get(fact), atom.ftype, atom.threshold)
        tail = atom.failed if held is not None and not held else atom.held
        zh.append(atom.zh + text + tail)
        en.append(atom.en + text + tail)
    return "，".join(zh), ", ".join(en)


@dataclass
class _Then:
    """What a rule that holds does to one grade (texts after the reason's arrow).

    ``vacancy`` names the fact a promotion into another position reads; then ``none_*``
    is the text when there is no opening and ``missing_*`` when the count is missing.
    """

    outcome: str
    to_grade: str
    probation: bool
    review: str | None
    zh: str
    en: str
    vacancy: str | None = None
    none_zh: str = ""
    none_en: str = ""
    missing_zh: str = ""
    missing_en: str = ""


def _then(pack: Pack, cycle_kind: str, rule: PackRule, grade: str) -> _Then:
    """The fixed part of a holding rule's decision (as it was worked out per case)."""
    i = pack.index(grade)
    review, probation, outcome, target = rule.review, False, "unchanged", grade
    if rule.then == "demote":
        if i == 0:
            review = rule.at_bottom_review or rule.review
            rz, re_ = REVIEW_TEXT.get(review or "", ("人力资源处理", "HR to decide"))
            zh, en = f"已是最低职级 {grade}，转{rz}", f"already at the lowest grade {grade}; {re_}"
            # POLICY.md §2: the probation follows the score, not the move, so it starts at
            # the bottom grade too (the path to a dismissal review for the weakest)
            probation = rule.probation
            if probation:
                zh, en = zh + "，并试用一个月", en + ", with a one-month probation"
        else:
            target = pack.grades[max(i - rule.steps, 0)]
            outcome, probation = "demoted", rule.probation
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
            return _promotion(pack, cycle_kind, grade, target, review)
    elif rule.then == "set":
        target = rule.target
        j = pack.index(target)
        if j > i:
            outcome = "promoted"
            zh, en = f"升至 {target}（原 {grade}）", f"up to {target} (from {grade})"
        elif j < i:
            outcome = "demoted"
            zh, en = f"降至 {target}（原 {grade}）", f"down to {target} (from {grade})"
        else:
            zh, en = f"保持 {grade}", f"stays at {grade}"
    else:
        zh, en = f"保持 {grade}", f"stays at {grade}"
        if review:
            rz, re_ = REVIEW_TEXT.get(review, (review, review))
            zh, en = f"{zh}，{rz}", f"{en}; {re_}"
    return _Then(outcome, target, probation, review, zh, en)


def _promotion(pack: Pack, cycle_kind: str, grade: str, target: str, review) -> _Then:
    if pack.stages:
        zh = f"提名晋升（{grade} → {target}），须通过笔试和面试"
        en = f"nominated for promotion ({grade} → {target}); written test and interview follow"
    else:
        zh, en = f"升一级（{grade} → {target}）", f"up one grade ({grade} → {target})"
    then = _Then("promoted", target, False, review, zh, en)
    here, there = pack.position_of(grade), pack.position_of(target)
    vacancy = pack.vacancy
    if vacancy and cycle_kind in vacancy.cycles and here.id != there.id:
        then.vacancy = vacancy.fact
        then.missing_zh = f"缺少{there.zh}空缺数 → 待定"
        then.missing_en = f"open headcount for {there.en} is missing → pending"
        then.none_zh = f"{there.zh} 无空缺，不予提名，保持 {grade}"
        then.none_en = f"no vacancy for {there.en} in the org unit; not nominated, stays at {grade}"
    return then


class _Plan:
    """Everything decide() needs for one pack, cycle kind, grade and period that does not
    depend on the employee: rules, compiled conditions, words, facts read, thresholds."""

    def __init__(self, pack: Pack, cycle_kind: str, grade: str, period_id: str):
        words = pack.memo.get(("words", period_id))
        if words is None:
            words = pack.memo[("words", period_id)] = _Words(pack, period_id)
        self.cycle_kind, self.grade = cycle_kind, grade  # not the pack: it holds the plan
        self.rules = pack.rules_for(cycle_kind, grade)
        self.by_id = {r.id: r for r in self.rules}
        self.read = tuple({n: None for r in self.rules for n in facts_of(r.node)})
        shown = {r.id: [str(c) for c in comparisons(r.node)] for r in self.rules}
        self.thresholds = tuple(shown.items())
        # the comparisons that settle a rule come back as their worded atoms
        settles = [(r, settler(r.node, partial(_Atom, words=words))) for r in self.rules]
        self.settle = {r.id: settle for r, settle in settles}
        self.label_zh = {f: words.label(f, "zh") for f in pack.facts}
        self.label_en = {f: words.label(f, "en") for f in pack.facts}
        self.stays_zh, self.stays_en = f"→ 保持 {grade}", f"→ stays at {grade}"
        self.none = tuple(
            (settle, f"{r.id} 不满足：", f"{r.id} not met: ") for r, settle in settles
        )
        self.then: dict[str, _Then] = {}

    def then_of(self, pack: Pack, rule: PackRule) -> _Then:
        then = self.then.get(rule.id)
        if then is None:
            then = self.then[rule.id] = _then(pack, self.cycle_kind, rule, self.grade)
        return then


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
    key = ("decide", cycle_kind, grade, period_id)
    plan = pack.memo.get(key)
    if plan is None:
        plan = pack.memo[key] = _Plan(pack, cycle_kind, grade, period_id)
    get = facts.get
    texts: dict[str, str | None] = {}  # the facts read, as the decision stores them
    for name in plan.read:
        value = get(name)
        if value is None:
            texts[name] = None
        elif value.__class__ is bool:
            texts[name] = "true" if value else "false"
        else:
            texts[name] = str(value)
    outcome, to_grade, probation, review = "unchanged", grade, False, None
    missing: list[str] = []
    needs_vacancy = False
    overridden: list[str] = []
    status = verdict.status
    if status == "unknown":
        rule = plan.by_id[verdict.rule]
        outcome = "pending"
        value, why = plan.settle[rule.id](facts)
        if value is None:
            missing = list(dict.fromkeys([a.fact for a, held in why if held is None]))
        zh = "、".join([plan.label_zh.get(f, f) for f in missing])
        en = ", ".join([plan.label_en.get(f, f) for f in missing])
        reasons_zh = [f"缺少 {zh}，无法判断 {rule.id} → 待定，交人力资源处理"]
        reasons_en = [f"missing {en}, so {rule.id} cannot be decided → pending, flagged for HR"]
    elif status == "none":
        reasons_zh, reasons_en = [], []
        shown: dict[str, str] = {}
        for settle, head_zh, head_en in plan.none:
            why_zh, why_en = _atoms(settle(facts)[1], facts, texts, shown)
            reasons_zh.append(head_zh + why_zh)
            reasons_en.append(head_en + why_en)
        reasons_zh.append(plan.stays_zh)
        reasons_en.append(plan.stays_en)
    else:
        rule = plan.by_id[verdict.rule]
        why_zh, why_en = _atoms(plan.settle[rule.id](facts)[1], facts, texts, {})
        then = plan.then_of(pack, rule)
        review, probation = then.review, then.probation
        tail_zh, tail_en = then.zh, then.en
        if then.vacancy is None:
            outcome, to_grade = then.outcome, then.to_grade
        else:
            open_ = get(then.vacancy)
            if then.vacancy not in texts:
                texts[then.vacancy] = _text(open_)
            if open_ is None:
                outcome, missing = "pending", [then.vacancy]
                tail_zh, tail_en = then.missing_zh, then.missing_en
            elif open_ <= 0:
                tail_zh, tail_en = then.none_zh, then.none_en
            else:
                needs_vacancy = True
                outcome, to_grade = then.outcome, then.to_grade
        reasons_zh = [f"{why_zh} → {tail_zh}"]
        reasons_en = [f"{why_en} → {tail_en}"]
        if verdict.also:
            overridden.append(verdict.also)
            reasons_zh.append(f"晋升规则 {verdict.also} 同时满足，降级优先")
            reasons_en.append(
                f"promotion rule {verdict.also} also matched; demotion takes precedence"
            )
    missing_inputs: list[str] = []
    if missing:
        inputs = get("missing_for")
        if isinstance(inputs, Mapping):
            detail = [i for f in missing for i in inputs.get(f, ())]
            missing_inputs = list(dict.fromkeys(detail))
    return DecisionResult(
        employee_id,
        outcome,
        grade,
        to_grade,
        verdict.rule,
        pack.id,
        pack.version,
        period_id,
        probation,
        review,
        texts,
        {k: list(v) for k, v in plan.thresholds},
        reasons_zh,
        reasons_en,
        missing,
        missing_inputs,
        needs_vacancy,
        overridden,
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
