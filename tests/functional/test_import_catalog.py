"""The import catalog: the bundled packs while they are what is active, else the stored ones."""

from __future__ import annotations

from datetime import UTC, datetime

from promoflow.engine.imports.catalog import Catalog
from promoflow.engine.packs.store import load_bundled, store_pack
from promoflow.rules.packs import bundled_packs, load_pack_text

NOW = datetime(2026, 10, 1, tzinfo=UTC)


def test_the_catalog_uses_the_bundled_pack_while_its_text_is_the_active_one(session):
    load_bundled(session, NOW)
    catalog = Catalog.for_session(session)
    assert catalog.packs["sales"] is bundled_packs()["sales"]
    assert set(catalog.tracks) == set(bundled_packs())


def test_the_catalog_reads_a_stored_pack_that_differs_from_the_bundled_one(session):
    load_bundled(session, NOW)
    bundled = bundled_packs()["sales"]
    changed = load_pack_text(bundled.source + "\n# reworded by HR\n", "sales.yaml")
    store_pack(session, changed, NOW, "tester")
    catalog = Catalog.for_session(session)
    assert catalog.packs["sales"].version == changed.version != bundled.version
    assert catalog.packs["cs"] is bundled_packs()["cs"]
