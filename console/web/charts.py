"""Server-drawn SVG charts (no JavaScript): grades before/after a cycle and the stage funnel.

The SVG is built here and marked safe for the template, so every label is escaped here.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

BEFORE = "#8aa4c8"
AFTER = "#2f5d9e"


def grade_bars(rows: list[dict], before_label: str, after_label: str) -> Markup:
    """Grouped columns: employees per grade before (light) and after (dark) the cycle."""
    if not rows:
        return Markup("")
    top = max(max(r["before"], r["after"]) for r in rows) or 1
    group, bar, height, base = 56, 20, 160, 180
    width = 40 + group * len(rows)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} 230" width="{width}" height="230"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(before_label)} / '
        f"{escape(after_label)}</title>"
    ]
    for i, row in enumerate(rows):
        x = 30 + i * group
        for j, (key, colour) in enumerate((("before", BEFORE), ("after", AFTER))):
            h = round(height * row[key] / top)
            parts.append(
                f'<rect x="{x + j * bar}" y="{base - h}" width="{bar - 2}" height="{h}"'
                f' fill="{colour}"><title>{escape(str(row["grade"]))}: {row[key]}</title></rect>'
                f'<text x="{x + j * bar + bar / 2 - 1}" y="{base - h - 3}" font-size="9"'
                f' text-anchor="middle">{row[key]}</text>'
            )
        parts.append(
            f'<text x="{x + bar}" y="{base + 14}" font-size="10" text-anchor="middle">'
            f"{escape(str(row['grade']))}</text>"
        )
    parts.append(
        f'<rect x="30" y="208" width="10" height="10" fill="{BEFORE}"/>'
        f'<text x="44" y="217" font-size="10">{escape(before_label)}</text>'
        f'<rect x="120" y="208" width="10" height="10" fill="{AFTER}"/>'
        f'<text x="134" y="217" font-size="10">{escape(after_label)}</text></svg>'
    )
    return Markup("".join(parts))


def funnel(steps: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per step, widths proportional to the first step."""
    if not steps:
        return Markup("")
    top = max(n for _, n in steps) or 1
    row_h, label_w, bar_w = 26, 150, 300
    height = row_h * len(steps) + 10
    width = label_w + bar_w + 60
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, n) in enumerate(steps):
        y = 5 + i * row_h
        w = round(bar_w * n / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" font-size="11" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{row_h - 6}" fill="{AFTER}"/>'
            f'<text x="{label_w + w + 4}" y="{y + 15}" font-size="11">{n}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
