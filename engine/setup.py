"""``promoflow init``: create or upgrade the schema, record go-live, load the rule packs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from promoflow.engine.bootstrap import Runtime
from promoflow.engine.packs.store import load_bundled
from promoflow.engine.storage.db import upgrade
from promoflow.engine.storage.models import SystemSetting

GO_LIVE = "go_live"


def initialise(rt: Runtime, start: datetime) -> dict[str, str]:
    """Bring the database to the newest schema and record go-live (kept if already set)."""
    upgrade(rt.engine)
    with rt.unit_of_work() as session:
        setting = session.get(SystemSetting, GO_LIVE)
        if setting is None:
            setting = SystemSetting(key=GO_LIVE, value=start.isoformat())
            session.add(setting)
        go_live = setting.value
        load_bundled(session, rt.now(), rt.actor)
    return {"go_live": go_live}


def go_live(session) -> datetime | None:
    """The go-live time ``promoflow init`` recorded, or None before init."""
    value = session.scalar(select(SystemSetting.value).where(SystemSetting.key == GO_LIVE))
    return datetime.fromisoformat(value) if value else None
