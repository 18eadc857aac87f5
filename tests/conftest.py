"""Database fixtures: every storage test runs on SQLite, and on PostgreSQL when
``PROMOFLOW_TEST_DATABASE_URL`` is set (``.ci/run`` sets it when the server answers).

Each test gets a fresh, fully migrated database of its own, so services may commit for
real and other processes may connect: SQLite copies a template file migrated once per
session; PostgreSQL clones a template database (``CREATE DATABASE … TEMPLATE``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import make_url, text

from promoflow.engine.bootstrap import Runtime, bootstrap
from promoflow.engine.storage.db import make_engine, upgrade

PG_URL = os.environ.get("PROMOFLOW_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_admin_engine():
    return make_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"pf_tmpl_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """URL of a fresh, migrated database for this test alone."""
    if request.param == "sqlite":
        path = tmp_path / "promoflow.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"pf_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """URL of an empty database (no schema), on SQLite; on PostgreSQL too when configured."""
    yield f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def rt(db_url) -> Iterator[Runtime]:
    """A runtime bound to this test's database."""
    runtime = bootstrap(db_url, actor="tester")
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def session(rt):
    """A session on this test's database (commit freely: the database is thrown away)."""
    with rt.sessions() as s:
        yield s
