"""Regenerate migration 0001 from the models (allowed until the first release ships).

Until promoflow is released, the schema lives in one initial migration; run this after
changing a model (``make migration``). After the release, write new revisions instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from promoflow.engine.storage.db import MIGRATIONS, alembic_config, make_engine

TARGET = MIGRATIONS / "versions" / "0001_initial.py"


def main() -> None:
    TARGET.unlink(missing_ok=True)
    versions = MIGRATIONS / "versions"
    with tempfile.TemporaryDirectory() as tmp:
        # hand-written follow-ups (0002_audit_guard, …) revise 0001: set them aside while
        # 0001 is regenerated, or Alembic cannot resolve their down_revision
        aside = [p for p in versions.glob("*.py") if not p.name.startswith("0001")]
        for path in aside:
            path.rename(Path(tmp) / path.name)
        try:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
            config = alembic_config(engine)
            command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
        finally:
            for path in aside:
                (Path(tmp) / path.name).rename(path)
    generated = next((MIGRATIONS / "versions").glob("0001_*.py"))
    if generated != TARGET:
        generated.rename(TARGET)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
