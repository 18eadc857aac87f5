"""Notices: rendered in Chinese or English, queued once per key, delivered by real SMTP."""

from __future__ import annotations

import email
import socket
from datetime import UTC, date, datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.notices.mailer import deliver, message_id
from promoflow.engine.notices.outbox import (
    Outgoing,
    prepare,
    queue,
    queue_prepared,
    render,
    row_binder,
    with_case,
)
from promoflow.engine.storage.models import AuditEvent, Cycle, Employee, Notice
from promoflow.settings import SmtpSettings

NOW = datetime(2026, 10, 8, 1, 0, tzinfo=UTC)


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 try again later"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, SmtpSettings(host="127.0.0.1", port=port, sender="hr@example.test")
    controller.stop()


def _seed(session):
    session.add(
        Employee(
            employee_id="E1",
            name="张三",
            track="sales",
            grade="S5",
            grade_since=date(2026, 1, 1),
            updated_at=NOW,
        )
    )
    session.add(
        Cycle(
            cycle_id="sales-2026Q3",
            track="sales",
            period_id="2026Q3",
            milestone="open",
            pack_id="sales",
            pack_version="x" * 64,
            updated_at=NOW,
        )
    )
    session.flush()


def _test_notice():
    return Outgoing(
        "sales-2026Q3",
        "E1",
        None,
        "test",
        {
            "cycle_id": "sales-2026Q3",
            "employee_id": "E1",
            "name": "张三",
            "from_grade": "S5",
            "to_grade": "S6",
            "deadline": "2026-10-11 18:00",
            "pass_mark": "60",
        },
    )


def test_a_test_notice_speaks_chinese_by_default_and_english_on_request():
    params = _test_notice().params
    subject_zh, body_zh = render("test", "zh", params)
    subject_en, body_en = render("test", "en", params)
    assert "笔试通知" in subject_zh and "2026-10-11 18:00" in body_zh
    assert "Written test" in subject_en and "pass mark is 60" in body_en


def test_a_template_missing_a_field_fails_loudly():
    with pytest.raises(Exception, match="is undefined"):
        render("test", "zh", {"cycle_id": "c", "employee_id": "E1", "name": "n"})


def test_queueing_the_same_notice_twice_keeps_one(session):
    _seed(session)
    assert queue(session, [_test_notice()], NOW, "tester") == 1
    assert queue(session, [_test_notice(), _test_notice()], NOW, "tester") == 0
    session.commit()
    assert session.scalar(select(func.count()).select_from(Notice)) == 1
    assert session.scalar(select(func.count()).where(AuditEvent.kind == "notice")) == 1


def _stored(session) -> list[tuple]:
    columns = [c for c in Notice.__table__.c if c.key != "id"]
    return [tuple(row) for row in session.execute(select(*columns))]


def test_a_notice_bound_in_a_worker_is_stored_as_the_dict_row_would_be(rt):
    """Opening a cycle binds each notice's row where it is rendered (a worker) and writes
    the tuple; what lands in the outbox is what the row as a dict stores."""
    stored = []
    for bound in (False, True):
        with rt.sessions() as session, session.begin():
            if not bound:
                _seed(session)
            prepared = prepare(_test_notice(), "zh", NOW, "tester")
            if bound:  # as a worker sends it back: bound, and as plain tuples
                bind = row_binder(session.get_bind().dialect)
                prepared = prepared._replace(row=bind(prepared.row)).plain()
            assert queue_prepared(session, [with_case(prepared, None)]) == 1
            stored.append(_stored(session))
            session.execute(Notice.__table__.delete())  # the outbox empty again for the next
    assert stored[0] == stored[1] and len(stored[0]) == 1
    assert stored[0][0][Notice.__table__.c.keys().index("params") - 1]["name"] == "张三"


def test_delivery_sends_each_pending_notice_once_and_never_again(rt, smtp):
    inbox, settings = smtp
    with rt.sessions() as session, session.begin():
        _seed(session)
        queue(session, [_test_notice()], NOW, "tester")
    report = deliver(rt.sessions, settings, NOW, "tester")
    assert report.sent == ["sales-2026Q3:E1:test"]
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["To"] == "E1@localhost"
    assert "笔试通知" in str(email.header.make_header(email.header.decode_header(msg["Subject"])))
    again = deliver(rt.sessions, settings, NOW, "tester")
    assert again.sent == [] and len(inbox.messages) == 1
    with rt.sessions() as session:
        notice = session.scalars(select(Notice)).one()
        assert notice.state == "sent" and notice.attempts == 1 and notice.sent_at is not None


def test_a_refused_notice_stays_in_the_outbox_and_goes_out_on_the_next_run(rt, smtp):
    inbox, settings = smtp
    with rt.sessions() as session, session.begin():
        _seed(session)
        queue(session, [_test_notice()], NOW, "tester")
    inbox.refuse = True
    first = deliver(rt.sessions, settings, NOW, "tester")
    assert first.sent == [] and list(first.failed) == ["sales-2026Q3:E1:test"]
    inbox.refuse = False
    second = deliver(rt.sessions, settings, NOW, "tester")
    assert second.sent == ["sales-2026Q3:E1:test"]
    assert len(inbox.messages) == 1
    with rt.sessions() as session:
        assert session.scalars(select(Notice.attempts)).one() == 2


def test_the_message_id_is_the_same_for_a_resent_notice():
    assert message_id("a:b:c") == message_id("a:b:c") != message_id("a:b:d")


def test_cycle_open_mails_its_test_notices_when_smtp_is_configured(
    db_url, smtp, monkeypatch, tmp_path
):
    inbox, settings = smtp
    monkeypatch.setenv("PROMOFLOW_SMTP_HOST", settings.host)
    monkeypatch.setenv("PROMOFLOW_SMTP_PORT", str(settings.port))
    monkeypatch.setenv("PROMOFLOW_NOTICE_LANG", "en")
    employees = tmp_path / "employees.csv"
    employees.write_text(
        "employee_id,name,track,grade,grade_since,hire_date,org_unit\n"
        "E1,Zhang San,sales,S5,2025-01-01,2024-01-01,east\n",
        encoding="utf-8",
    )
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "employee_id,period,metric,value\n"
        + "".join(
            f"E1,{p},score,90\nE1,{p},sales_actual,90\nE1,{p},sales_target,100\n"
            for p in ("2026Q2", "2026Q3")
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    for args in (
        ["init", "--start", "2026-01-01T00:00+08:00"],
        ["import", "employees", str(employees)],
        ["import", "metrics", str(metrics)],
    ):
        assert runner.invoke(app, ["--db", db_url, *args]).exit_code == 0
    result = runner.invoke(
        app, ["--db", db_url, "cycle", "open", "sales-2026Q3", "--now", "2026-10-08T09:00+08:00"]
    )
    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0" in result.output
    assert [m["Subject"] for m in inbox.messages] == ["Written test notice: sales-2026Q3"]
    assert "Dear Zhang San (E1)" in inbox.messages[0].get_payload(decode=True).decode()
    again = runner.invoke(app, ["--db", db_url, "notices", "send"])
    assert "sent 0, failed 0" in again.output and len(inbox.messages) == 1
