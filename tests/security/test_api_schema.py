"""The API against its own OpenAPI document, fuzzed by schemathesis (in process, ASGI).

Every operation of ``/api/openapi.json`` is called with examples schemathesis derives from
the schema — its "coverage" phase (boundary values, missing and malformed parameters, a
request without the bearer token) and a few random "fuzzing" examples — as a user holding
every role, on a throwaway seeded database. Each response must not be a server error, its
status must be one the schema documents for that operation, and its body must match the
documented schema. POSTs that change data are fuzzed too: the database is thrown away.

The run is seeded and derandomized (the same cases every time) and bounded to a few
examples per operation, so it takes seconds; it runs on PostgreSQL too when
``PROMOFLOW_TEST_DATABASE_URL`` is set (the doubled time stays far inside two minutes).
Random examples that few rarely reach the integers and dates that once broke the API, so
the values a longer run found are replayed below as plain requests.

schemathesis' pytest fixture loader (``schemathesis.pytest.from_fixture``) does not run on
pytest 9.2 (it sets a node attribute pytest no longer has), so the schema is loaded when
the module is collected, from the routes alone, and each case is sent to the app built by
the module's fixture.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi as schemathesis_asgi
from sqlalchemy import make_url, text

from promoflow.console.web.api import create_api
from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.storage.db import make_engine
from promoflow.engine.users import accounts as users
from tests.functional.web_client import make_app, token_for
from tests.functional.web_seed import NOW, PASSWORD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PG_URL = os.environ.get("PROMOFLOW_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
ALL_ROLES = {"viewer", "hr_officer", "hr_manager", "auditor", "admin"}

#: the document is built from the routes alone (the runtime is never read for it)
schema = schemathesis.openapi.from_dict(
    create_api(None).openapi(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 21,
            "generation": {"max-examples": 8, "deterministic": True},
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)


@pytest.fixture(scope="module", params=BACKENDS)
def module_db_url(request, tmp_path_factory):
    """A fresh migrated database for this module (SQLite, and PostgreSQL when configured)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("schema") / "promoflow.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"pf_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def api(module_db_url):
    """The console app over a seeded database, and a token of a user holding every role."""
    rt = bootstrap(module_db_url, actor="tester")
    app = make_app(rt)
    with rt.sessions() as session, session.begin():
        users.add_user(session, "root", PASSWORD, ALL_ROLES, NOW, "setup")
    yield app, token_for(rt, "root")
    rt.engine.dispose()
    # schemathesis keeps one event-loop thread for the whole process (stopped at exit);
    # stop it now, or every later test runs with a second thread alive and the parallel
    # open (which forks only a single-threaded process) quietly stays serial
    schemathesis_asgi._shutdown()


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(api, case):
    app, headers = api
    case.call_and_validate(
        app=app,
        headers=headers,
        checks=[
            schemathesis.checks.not_a_server_error,
            schemathesis.checks.status_code_conformance,
            schemathesis.checks.response_schema_conformance,
        ],
    )


def test_the_fuzzed_document_is_the_served_one(api):
    app, _headers = api
    assert TestClient(app).get("/api/openapi.json").json() == create_api(None).openapi()


#: what longer schemathesis runs found as 500s (integer and date overflow), now refused
OVERFLOWS = [
    ("POST", "/api/overrides/24573498571029348572093485720394857/approve"),
    ("POST", "/api/overrides/9223372036854775808/reject"),
    ("POST", f"/api/overrides/{2**31}/approve"),
    ("GET", "/api/audit/events?page=29569837459873459873459873"),
    ("GET", "/api/audit/events?page=92233720368547760"),
    ("GET", "/api/cycles/sales-2026Q3/cases?page=92233720368547760"),
    ("GET", "/api/audit/events?since=9999-12-31T23:59:59-14:00"),
    ("GET", "/api/audit/events?until=0001-01-01T00:00:00%2B14:00"),
    ("GET", "/api/audit/events?since=not-a-date"),
]


@pytest.mark.parametrize(("method", "url"), OVERFLOWS)
def test_out_of_range_values_are_refused_not_server_errors(api, method, url):
    app, headers = api
    response = TestClient(app).request(method, url, headers=headers, json={})
    assert response.status_code == 422, response.text


def test_the_largest_values_in_range_still_work(api):
    app, headers = api
    client = TestClient(app)
    largest = client.post(f"/api/overrides/{2**31 - 1}/approve", headers=headers, json={})
    assert largest.status_code == 404, largest.text
    last = client.get("/api/audit/events?page=1000000&since=9999-12-30", headers=headers)
    assert last.status_code == 200, last.text
    assert last.json()["rows"] == []
