"""Mermaid diagrams generated from the machine specs, so docs/workflow.md cannot drift.

``python -m tools.diagrams docs/workflow.md`` rewrites every block between
``<!-- machine:NAME -->`` and ``<!-- /machine:NAME -->`` with the fresh diagram; a test
checks the committed page already holds exactly what this module generates.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from promoflow.workflow.specs import MachineSpec, all_specs


def mermaid(spec: MachineSpec) -> str:
    """A ``stateDiagram-v2`` of ``spec``: guards in brackets, waiting states noted."""
    lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {spec.initial}"]
    seen = set()
    for t in spec.transitions:
        label = t.trigger
        if t.conditions:
            label += " [" + " and ".join(t.conditions) + "]"
        if t.unless:
            label += " [not " + " and not ".join(t.unless) + "]"
        key = (t.source, t.dest, label)
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"    {t.source} --> {t.dest}: {label}")
    for state in spec.states:
        if state in spec.final:
            lines.append(f"    {state} --> [*]")
    for state in spec.states:
        if state in spec.waiting:
            lines.append(f"    note right of {state}: waits for HR")
    lines.append("```")
    return "\n".join(lines)


def block(spec: MachineSpec) -> str:
    """The marked block for ``spec`` as it appears in the docs page."""
    return f"<!-- machine:{spec.name} -->\n{mermaid(spec)}\n<!-- /machine:{spec.name} -->"


def render_into(text: str, specs: list[MachineSpec] | None = None) -> str:
    """``text`` with every machine block replaced by its freshly generated diagram."""
    for spec in specs or all_specs():
        pattern = re.compile(
            rf"<!-- machine:{re.escape(spec.name)} -->.*?<!-- /machine:{re.escape(spec.name)} -->",
            re.S,
        )
        text = pattern.sub(lambda _m, s=spec: block(s), text)
    return text


def main(argv: list[str] | None = None) -> None:
    """Rewrite the diagrams in the given markdown file(s)."""
    for name in argv if argv is not None else sys.argv[1:]:
        path = Path(name)
        path.write_text(render_into(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
