"""Rule packs in the database: loaded at init, versioned by content hash, audited."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from promoflow.engine.packs.store import active_pack, load_bundled, pack_by_version, store_pack
from promoflow.engine.storage.models import AuditEvent, PackVersion
from promoflow.rules.packs import bundled_packs, load_pack_text

NOW = datetime(2026, 10, 1, tzinfo=UTC)


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_loading_the_bundled_packs_twice_stores_and_audits_them_once(session):
    load_bundled(session, NOW)
    load_bundled(session, NOW)
    session.commit()
    assert count(session, PackVersion) == 5
    assert count(session, AuditEvent, AuditEvent.kind == "pack_load") == 5
    for track, pack in bundled_packs().items():
        assert active_pack(session, track).version == pack.version


def test_a_changed_pack_is_a_new_active_version_and_the_old_one_stays_readable(session):
    load_bundled(session, NOW)
    old = bundled_packs()["cs"]
    changed = load_pack_text(old.source.replace("monthly_score_avg > 80", "monthly_score_avg > 85"))
    store_pack(session, changed, NOW, "hr")
    session.commit()
    assert active_pack(session, "cs").version == changed.version
    assert pack_by_version(session, "cs", old.version).source == old.source
    assert count(session, PackVersion, PackVersion.pack_id == "cs") == 2
    assert count(session, PackVersion, PackVersion.pack_id == "cs", PackVersion.active) == 1


def test_initialise_loads_the_bundled_packs(rt):
    from promoflow.engine.setup import initialise

    initialise(rt, NOW)
    with rt.sessions() as session:
        assert count(session, PackVersion, PackVersion.active) == 5
