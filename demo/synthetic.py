"""A realistic synthetic organisation, for the demo, benchmarks and tests.

Real HR data cannot leave HR, so the demo and the benchmark run on an org generated here:
N employees on the given tracks, their grades and tenure, two quarters of metrics and the
vacancies of each sales unit. It is deterministic for a seed, and it deliberately puts
people on both sides of every threshold of POLICY.md — scores of exactly 80, attainment
of exactly 80 %, 3 months vs 2 months in grade, customer-service averages of exactly 80,
70 and 50 (including the weighted composite 66.8/79.0/68.3/83.1/29.9 → 70) — plus a few
new hires to entry-grade and a few with missing data, so every rule has work to do.

Rows are plain dicts of strings with the INTERCHANGE.md columns: write them as CSV with
:meth:`SyntheticOrg.write_csv`, or hand them to the importer with :meth:`SyntheticOrg.table`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from promoflow.csvcell import csv_cell
from promoflow.engine.imports.catalog import Catalog
from promoflow.engine.imports.reader import Table, build_table
from promoflow.rules.periods import Period, parse_period

COLUMNS = {
    "employees": [
        "employee_id",
        "name",
        "track",
        "grade",
        "grade_since",
        "hire_date",
        "org_unit",
        "position",
    ],
    "metrics": ["employee_id", "period", "metric", "value"],
    "vacancies": ["org_unit", "position", "open"],
    "results": ["employee_id", "cycle", "stage", "value"],
}

#: monthly components per track, as INTERCHANGE.md names them
COMPONENTS = {
    "cs": ("return_visit", "satisfaction", "handling", "training", "attendance"),
    "support": ("handling", "training_feedback", "skills", "attendance"),
}
#: the weighted composite of issue 4 whose exact value sits on the 70 boundary (cs weights)
COMPOSITE_EXACTLY_70 = ("66.8", "79.0", "68.3", "83.1", "29.9")

UNITS = {"sales": ("east", "west", "north", "south"), "cs": ("cs-shanghai", "cs-beijing")}
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩"
    "凯健俊帆帅旭宁龙林欣佳雪婷琳晨阳"
)

SALES_PROFILES = (
    ("star", 40),
    ("steady", 22),
    ("weak", 10),
    ("score_exactly_80", 4),
    ("score_79_99", 4),
    ("attainment_exactly_80", 4),
    ("attainment_80_01", 4),
    ("attainment_79_99", 4),
    ("missing_previous_quarter", 4),
    ("missing_target", 4),
)
CS_PROFILES = (
    ("up", 30),
    ("average_exactly_80", 5),
    ("unchanged", 20),
    ("average_exactly_70", 4),
    ("composite_exactly_70", 4),
    ("down", 15),
    ("average_exactly_50", 4),
    ("average_49_99", 4),
    ("probation", 6),
    ("monthly_score_rows", 4),
    ("missing_month", 4),
)
TENURES = (("long", 80), ("exactly_3_months", 8), ("2_months", 7), ("new_hire", 5))


@dataclass
class SyntheticOrg:
    """Generated rows per file kind, and the profile each employee was drawn from."""

    period: Period
    previous: Period
    employees: list[dict[str, str]] = field(default_factory=list)
    metrics: list[dict[str, str]] = field(default_factory=list)
    vacancies: list[dict[str, str]] = field(default_factory=list)
    #: employee_id → (tenure profile, metric profile): what the data was made to show
    profiles: dict[str, tuple[str, str]] = field(default_factory=dict)

    def rows(self, kind: str) -> list[dict[str, str]]:
        """The rows of one file kind: ``employees``, ``metrics`` or ``vacancies``."""
        return getattr(self, kind)

    def csv_text(self, kind: str) -> str:
        """One file kind as CSV text (header first)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS[kind], lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in self.rows(kind))
        return out.getvalue()

    def write_csv(self, folder: str | Path) -> dict[str, Path]:
        """Write ``employees.csv``, ``metrics.csv`` and ``vacancies.csv`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for kind in ("employees", "metrics", "vacancies"):
            paths[kind] = folder / f"{kind}.csv"
            paths[kind].write_text(self.csv_text(kind), encoding="utf-8")
        return paths

    def table(self, kind: str) -> Table:
        """One file kind as a read :class:`Table`, to import without writing a file."""
        text = self.csv_text(kind)
        records = list(csv.reader(io.StringIO(text)))
        digest = hashlib.sha256(text.encode()).hexdigest()
        return build_table(f"synthetic-{kind}.csv", digest, records[0], records[1:])


def generate_org(
    n: int,
    tracks: tuple[str, ...] = ("sales", "cs"),
    *,
    seed: int = 0,
    period: str = "2026Q3",
    catalog: Catalog | None = None,
) -> SyntheticOrg:
    """N employees spread over ``tracks`` with metrics for ``period`` and the quarter before."""
    catalog = catalog or Catalog.bundled()
    rng = random.Random(seed)
    current = parse_period(period)
    org = SyntheticOrg(period=current, previous=current.previous())
    for index in range(n):
        track = tracks[index % len(tracks)]
        employee_id = f"E{index + 1:06d}"
        _employee(org, rng, catalog, track, employee_id)
    _vacancies(org, rng, catalog, tracks)
    return org


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights)[0]


def _employee(org, rng, catalog: Catalog, track: str, employee_id: str) -> None:
    grades = catalog.grades(track)
    pack = catalog.packs[track]
    quarter_start = org.period.starts
    tenure = _pick(rng, TENURES)
    # quarterly ladders promote S3–S9 by quarter: keep most people there, a few above
    evaluable = grades[:-4] if track == "sales" and len(grades) > 4 else grades
    grade = rng.choice(evaluable) if rng.random() < 0.9 else rng.choice(grades)
    position = ""
    if tenure == "long":
        months_before = rng.randint(3, 48)
        since = _add_months(quarter_start, -months_before)
    elif tenure == "exactly_3_months":
        since = quarter_start
    elif tenure == "2_months":
        since = quarter_start + timedelta(days=1)
    else:
        since = quarter_start + timedelta(days=rng.randint(0, 20))
        positions = list(pack.positions)[:-1] or list(pack.positions)
        if positions:
            position = rng.choice(positions).zh
            grade = ""
        else:
            tenure = "2_months"
    hire = min(since, _add_months(since, -rng.randint(0, 24)))
    unit = rng.choice(UNITS.get(track, UNITS["cs"] if track != "sales" else UNITS["sales"]))
    org.employees.append(
        {
            "employee_id": employee_id,
            "name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
            "track": track,
            "grade": grade,
            "grade_since": since.isoformat(),
            "hire_date": hire.isoformat(),
            "org_unit": unit,
            "position": position,
        }
    )
    if track == "sales":
        profile = _pick(rng, SALES_PROFILES)
        _sales_metrics(org, rng, employee_id, profile)
    elif track in COMPONENTS:
        profile = _pick(rng, CS_PROFILES)
        if profile == "composite_exactly_70" and track != "cs":
            profile = "average_exactly_70"
        _monthly_metrics(org, rng, employee_id, track, profile)
    elif track == "cs_rating":
        profile = _pick(rng, RATING_PROFILES)
        _rating_metrics(org, rng, employee_id, profile)
    elif track == "cs_assistant":
        profile = _pick(rng, ASSISTANT_PROFILES)
        _assistant_metrics(org, rng, employee_id, profile)
    else:
        profile = "no_metrics"
    org.profiles[employee_id] = (tenure, profile)


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def _d(rng: random.Random, low: float, high: float, places: int = 1) -> Decimal:
    """A random Decimal in [low, high] with ``places`` decimals (exact, never a float)."""
    scale = 10**places
    return Decimal(rng.randint(round(low * scale), round(high * scale))) / scale


def _metric(org, employee_id: str, period: str, metric: str, value: Decimal) -> None:
    org.metrics.append(
        {"employee_id": employee_id, "period": period, "metric": metric, "value": _fmt(value)}
    )


def _fmt(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _sales_metrics(org, rng, employee_id: str, profile: str) -> None:
    for quarter in (org.previous, org.period):
        current = quarter is org.period
        if profile == "missing_previous_quarter" and not current:
            continue
        score, attainment = _sales_quarter(rng, profile, current)
        target = Decimal(rng.randint(10, 60) * 10000)
        _metric(org, employee_id, quarter.id, "score", score)
        if not (profile == "missing_target" and current):
            _metric(org, employee_id, quarter.id, "sales_target", target)
        _metric(
            org,
            employee_id,
            quarter.id,
            "sales_actual",
            (target * attainment).quantize(Decimal("0.01")),
        )


def _sales_quarter(rng, profile: str, current: bool) -> tuple[Decimal, Decimal]:
    """(score, attainment) for one quarter; boundary profiles sit exactly on the threshold."""
    good = (_d(rng, 82, 98), _d(rng, 0.85, 1.3, 4))
    if profile == "star" or (profile.startswith("missing") and not current):
        return good
    if profile in ("missing_previous_quarter", "missing_target"):
        return good
    if profile == "steady":
        return _d(rng, 75, 92), _d(rng, 0.75, 1.05, 4)
    if profile == "weak":
        return _d(rng, 55, 79.9), _d(rng, 0.5, 0.79, 4)
    if profile == "score_exactly_80":
        return Decimal(80), good[1]
    if profile == "score_79_99":
        return (Decimal("79.99") if current else good[0]), good[1]
    edge = {
        "attainment_exactly_80": Decimal("0.8"),
        "attainment_80_01": Decimal("0.8001"),
        "attainment_79_99": Decimal("0.7999"),
    }[profile]
    return good[0], (edge if current else good[1])


CS_CENTRES = {
    "up": (84, 95),
    "unchanged": (73.5, 76.5),
    "down": (53.5, 66.5),
    "probation": (20, 46),
    "monthly_score_rows": (40, 95),
    "missing_month": (60, 90),
}
CS_EXACT = {
    "average_exactly_80": Decimal(80),
    "average_exactly_70": Decimal(70),
    "average_exactly_50": Decimal(50),
    "average_49_99": Decimal("49.99"),
}


def _monthly_metrics(org, rng, employee_id: str, track: str, profile: str) -> None:
    components = COMPONENTS[track]
    for quarter in (org.previous, org.period):
        current = quarter is org.period
        centre = CS_CENTRES.get(profile, (72, 90)) if current else (65, 92)
        drop = rng.randrange(3) if profile == "missing_month" and current else None
        for i, month in enumerate(quarter.months):
            if current and profile == "composite_exactly_70":
                for name, text in zip(components, COMPOSITE_EXACTLY_70, strict=True):
                    _metric(org, employee_id, month.id, name, Decimal(text))
                continue
            if current and profile in CS_EXACT:
                for name in components:
                    _metric(org, employee_id, month.id, name, CS_EXACT[profile])
                continue
            target = _d(rng, *centre)
            if profile == "monthly_score_rows":
                _metric(org, employee_id, month.id, "score", target)
                continue
            for name in components:
                if i == drop and name == components[-1]:
                    continue  # a month without attendance: the case must wait
                value = min(max(target + _d(rng, -3, 3), Decimal(0)), Decimal(100))
                _metric(org, employee_id, month.id, name, value)


def _vacancies(org, rng, catalog: Catalog, tracks: tuple[str, ...]) -> None:
    if "sales" not in tracks:
        return
    positions = list(catalog.packs["sales"].positions)[1:]
    for unit in UNITS["sales"]:
        for position in positions:
            org.vacancies.append(
                {
                    "org_unit": unit,
                    "position": position.zh,
                    "open": str(rng.choice((0, 0, 1, 1, 2))),
                }
            )


def stage_results(
    cycle: str, employee_ids: list[str], stages: tuple[str, ...], *, seed: int = 0
) -> list[dict[str, str]]:
    """``results.csv`` rows for the invited employees of a cycle, one per stage.

    Written tests sit on both sides of the pass mark (exactly 60, 59.99, and spread
    40–100); interviews are scores the same way, or ``pass``/``fail`` for some. A few
    employees get no row for the last stage, so the case must wait for HR.
    """
    rng = random.Random(f"{seed}:{cycle}")
    rows = []
    for employee_id in employee_ids:
        missing_last = rng.random() < 0.05
        for index, stage in enumerate(stages):
            if missing_last and index == len(stages) - 1:
                continue
            roll = rng.random()
            if roll < 0.08:
                value = "60"
            elif roll < 0.14:
                value = "59.99"
            elif stage == "interview" and roll < 0.3:
                value = rng.choice(("pass", "pass", "fail"))
            else:
                value = _fmt(_d(rng, 40, 100))
            rows.append(
                {"employee_id": employee_id, "cycle": cycle, "stage": stage, "value": value}
            )
    return rows


def results_csv_text(rows: list[dict[str, str]]) -> str:
    """Stage result rows as ``results.csv`` text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS["results"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


#: cs_rating half-year components (POLICY.md §3); equal components weigh exactly their value
RATING_COMPONENTS = ("knowledge", "communication", "teamwork", "efficiency", "satisfaction")
RATING_PROFILES = (
    ("spread", 60),
    ("composite_exactly_60", 5),
    ("composite_exactly_70", 5),
    ("composite_69_99", 5),
    ("composite_exactly_80", 5),
    ("composite_exactly_90", 5),
    ("below_60", 10),
    ("missing_component", 5),
)


def _rating_metrics(org, rng, employee_id: str, profile: str) -> None:
    half = org.period.id[:4] + ("H1" if org.period.starts.month <= 6 else "H2")
    exact = {
        "composite_exactly_60": Decimal(60),
        "composite_exactly_70": Decimal(70),
        "composite_69_99": Decimal("69.99"),
        "composite_exactly_80": Decimal(80),
        "composite_exactly_90": Decimal(90),
    }
    centre = (30, 58) if profile == "below_60" else (55, 98)
    target = _d(rng, *centre)
    for name in RATING_COMPONENTS:
        if profile == "missing_component" and name == "efficiency":
            continue
        if profile in exact:
            value = exact[profile]
        else:
            value = min(max(target + _d(rng, -4, 4), Decimal(0)), Decimal(100))
        _metric(org, employee_id, half, name, value)


#: cs_assistant inputs (POLICY.md §4): score = items 1–5 + 0.75 × appraisal
ASSISTANT_PROFILES = (
    ("spread", 70),
    ("score_exactly_60", 6),
    ("score_exactly_63", 6),
    ("score_exactly_96", 6),
    ("below_60", 6),
    ("missing_appraisal", 6),
)


def _assistant_metrics(org, rng, employee_id: str, profile: str) -> None:
    half = org.period.id[:4] + ("H1" if org.period.starts.month <= 6 else "H2")
    # hard items chosen so that hard + 0.75 × appraisal lands where the profile says
    fixed = {
        "score_exactly_60": ((1, 3, 2, 4, 5), Decimal(60)),  # 15 + 45
        "score_exactly_63": ((3, 4, 2, 4, 5), Decimal(60)),  # 18 + 45
        "score_exactly_96": ((5, 5, 5, 5, 4), Decimal(96)),  # 24 + 72
        "below_60": ((0, 1, 1, 2, 0), Decimal(40)),  # 4 + 30
    }
    if profile in fixed:
        items, appraisal = fixed[profile]
    else:
        items = (
            rng.choice((0, 1, 3, 5)),
            rng.randint(0, 5),
            rng.randint(1, 5),
            rng.choice((2, 4, 5)),
            rng.randint(0, 5),
        )
        appraisal = _d(rng, 50, 100, 0)
    names = ("education", "presentation", "experience", "posts", "certificates")
    for name, value in zip(names, items, strict=True):
        _metric(org, employee_id, half, name, Decimal(value))
    if profile != "missing_appraisal":
        _metric(org, employee_id, half, "appraisal", appraisal)
