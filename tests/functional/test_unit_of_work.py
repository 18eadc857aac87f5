"""The unit of work every entry point uses: one action, one transaction, one place to commit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from promoflow.engine.bootstrap import attempt
from promoflow.engine.storage.models import SystemSetting
from promoflow.errors import InputError


def stored(rt, key: str) -> str | None:
    with rt.unit_of_work() as session:
        return session.scalar(select(SystemSetting.value).where(SystemSetting.key == key))


def test_a_unit_of_work_commits_when_its_block_ends(rt):
    with rt.unit_of_work() as session:
        session.add(SystemSetting(key="uow.kept", value="yes"))
    assert stored(rt, "uow.kept") == "yes"


def test_a_unit_of_work_that_raises_writes_nothing_and_raises_again(rt):
    with pytest.raises(InputError, match="refused on purpose"), rt.unit_of_work() as session:
        session.add(SystemSetting(key="uow.gone", value="no"))
        session.flush()
        raise InputError("refused on purpose")
    assert stored(rt, "uow.gone") is None


def test_an_attempt_that_raises_undoes_only_its_own_writes(rt):
    with rt.unit_of_work() as session:
        session.add(SystemSetting(key="uow.before", value="kept"))
        session.flush()
        with pytest.raises(InputError, match="refused"), attempt(session):
            session.add(SystemSetting(key="uow.refused", value="undone"))
            session.flush()
            raise InputError("refused")
        session.add(SystemSetting(key="uow.after", value="kept"))
    assert stored(rt, "uow.before") == "kept"
    assert stored(rt, "uow.refused") is None
    assert stored(rt, "uow.after") == "kept"


def test_an_attempt_that_succeeds_is_committed_with_its_unit(rt):
    with rt.unit_of_work() as session, attempt(session):
        session.add(SystemSetting(key="uow.attempted", value="yes"))
    assert stored(rt, "uow.attempted") == "yes"
