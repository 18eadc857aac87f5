"""The schema is created by the shipped migrations and matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from promoflow.engine.storage.db import make_engine, schema_exists, upgrade
from promoflow.engine.storage.models import Base


def test_upgrade_creates_every_table_from_an_empty_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert not schema_exists(engine)
    upgrade(engine)
    assert schema_exists(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_upgrade_twice_is_harmless(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    upgrade(engine)
    assert schema_exists(engine)


def test_models_and_migrations_do_not_drift(rt):
    with rt.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
