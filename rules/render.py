"""A pack as an HR officer reads it (``promoflow rules show TRACK``), in Chinese or English."""

from __future__ import annotations

from promoflow.rules.conditions import SYMBOL, All, Compare, Node
from promoflow.rules.decide import fmt
from promoflow.rules.packs import Pack

_PLACES = {
    "zh": {"period": "本期", "q": "本季度", "prev_q": "上季度"},
    "en": {"period": "the period", "q": "this quarter", "prev_q": "the previous quarter"},
}
_WORDS = {
    "zh": {
        "and": " 且 ",
        "or": " 或 ",
        "quarter": "每季度",
        "half": "每半年",
        "promote": "晋升",
        "demote": "降级",
        "keep": "保持",
        "set": "定级为",
        "grades": "职级（低 → 高）",
        "positions": "岗位",
        "cadence": "评定周期",
        "stages": "环节",
        "none": "无",
        "pass": "合格线",
        "calendar": "日程（期后第 N 个月）",
        "weights": "权重",
        "rules": "规则（按判定顺序：降级优先于晋升）",
        "when": "条件",
        "then": "结果",
        "competency": "面试胜任力模型",
        "steps": "级",
        "probation": "并试用一个月",
        "bottom": "最低职级时",
    },
    "en": {
        "and": " and ",
        "or": " or ",
        "quarter": "quarterly",
        "half": "half-yearly",
        "promote": "promote",
        "demote": "demote",
        "keep": "keep the grade",
        "set": "grade becomes",
        "grades": "Grades (low → high)",
        "positions": "Positions",
        "cadence": "Cadence",
        "stages": "Stages",
        "none": "none",
        "pass": "pass mark",
        "calendar": "Calendar (month N after the period)",
        "weights": "Weights",
        "rules": "Rules (in decision order: demotion beats promotion)",
        "when": "when",
        "then": "then",
        "competency": "Interview competency models",
        "steps": "grade(s)",
        "probation": "with a one-month probation",
        "bottom": "at the lowest grade",
    },
}


def condition_text(pack: Pack, node: Node, lang: str, top: bool = True) -> str:
    """A condition with fact labels and ≥/≤ symbols instead of names and operators."""
    if isinstance(node, Compare):
        spec = pack.facts.get(node.fact)
        label = getattr(spec, lang).format(**_PLACES[lang]) if spec else node.fact
        ftype = spec.type if spec else "decimal"
        return f"{label} {SYMBOL[node.op]} {fmt(node.value, ftype)}"
    word = _WORDS[lang]["and" if isinstance(node, All) else "or"]
    text = word.join(condition_text(pack, p, lang, top=False) for p in node.parts)
    return text if top else f"({text})"


def _grades(grades: tuple[str, ...]) -> str:
    return grades[0] if len(grades) == 1 else f"{grades[0]}–{grades[-1]}"


def render_pack(pack: Pack, lang: str = "zh") -> str:
    """The whole pack as plain text."""
    w = _WORDS[lang]
    out = [f"{pack.title[lang]}  ({pack.id}, {pack.version[:12]})", ""]
    out.append(f"{w['grades']}: {', '.join(pack.grades)}")
    out.append(f"{w['positions']}:")
    for p in pack.positions:
        out.append(f"  - {getattr(p, lang)}: {_grades(p.grades)}")
    out.append(f"{w['cadence']}:")
    for kind in pack.cycle_kinds:
        out.append(f"  - {w[kind]}: {_grades(pack.grades_for(kind))}")
    stages = ", ".join(f"{s} ({w['pass']} {fmt(pack.pass_marks.get(s))})" for s in pack.stages)
    out.append(f"{w['stages']}: {stages or w['none']}")
    if pack.vacancy:
        kinds = ", ".join(w[k] for k in pack.vacancy.cycles)
        out.append(
            f"空缺：{kinds}晋升如跨岗位，须有空缺（{pack.vacancy.fact} > 0）"
            if lang == "zh"
            else f"Vacancy: {kinds} promotions into another position need {pack.vacancy.fact} > 0"
        )
    out.append(f"{w['calendar']}:")
    for m in pack.calendar.milestones:
        out.append(f"  - {m.id}: {m.month} / {m.day} {m.time} ({pack.calendar.timezone})")
    for name, comp in pack.composites.items():
        parts = ", ".join(f"{k} {fmt(v)}" for k, v in comp.components.items())
        out.append(f"{w['weights']} {name} ({comp.period}): {parts}")
    out.append("")
    out.append(f"{w['rules']}:")
    for kind in pack.cycle_kinds:
        for rule in pack.rules_for(kind):
            out.append(f"  [{rule.id}] {w[kind]}, {_grades(rule.grades)}")
            out.append(f"    {w['when']}: {condition_text(pack, rule.node, lang)}")
            then = w[rule.then]
            if rule.then in ("promote", "demote"):
                then = f"{then} {rule.steps} {w['steps']}"
            if rule.then == "set":
                then = f"{then} {rule.target}"
            if rule.probation:
                then = f"{then}, {w['probation']}"
            if rule.review:
                then = f"{then}, review: {rule.review}"
            out.append(f"    {w['then']}: {then}")
            if rule.at_bottom_review:
                out.append(f"    {w['bottom']}: review: {rule.at_bottom_review}")
            if rule.note:
                out.append(f"    {rule.note[lang]}")
    if pack.competency_models:
        out.append("")
        out.append(f"{w['competency']}:")
        for model in pack.competency_models.values():
            comps = ", ".join(
                f"{getattr(c, lang)}×{fmt(c.weight)}" if c.weight != 1 else getattr(c, lang)
                for c in model.competencies
            )
            out.append(f"  - {getattr(model, lang)} ({w['pass']} {fmt(model.pass_mark)}): {comps}")
    return "\n".join(out)
