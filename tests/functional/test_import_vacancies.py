"""Importing vacancies: positions by any of their names, headcounts upserted, refusals."""

from __future__ import annotations

from sqlalchemy import select

from promoflow.engine.storage.models import AuditEvent, Vacancy
from tests.functional.import_files import do_import, messages, refused, write_csv

HEADER = ["org_unit", "position", "open"]


def _stored(rt) -> dict[tuple[str, str], int]:
    with rt.sessions() as session:
        return {(v.org_unit, v.position): v.open for v in session.scalars(select(Vacancy))}


def test_vacancies_are_stored_by_position_id_whatever_name_the_file_used(rt, tmp_path):
    rows = [["east", "销售主管", "1"], ["west", "sales manager", "0"], ["east", "sales_rep", "2"]]
    report = do_import(rt, "vacancies", write_csv(tmp_path / "v.csv", HEADER, rows))
    assert report.changed == 3
    assert _stored(rt) == {
        ("east", "sales_supervisor"): 1,
        ("west", "sales_manager"): 0,
        ("east", "sales_rep"): 2,
    }


def test_a_reimport_updates_changed_headcounts_only_and_audits_each_change(rt, tmp_path):
    do_import(rt, "vacancies", write_csv(tmp_path / "a.csv", HEADER, [["east", "销售主管", "1"]]))
    rows = [["east", "销售主管", "3"], ["north", "销售经理", "1"]]
    report = do_import(rt, "vacancies", write_csv(tmp_path / "b.csv", HEADER, rows))
    assert (report.changed, report.details) == (2, {"inserted": 1, "updated": 1})
    assert _stored(rt)[("east", "sales_supervisor")] == 3
    assert do_import(rt, "vacancies", tmp_path / "b.csv").changed == 0
    with rt.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "vacancy_upsert").order_by(AuditEvent.seq)
        ).all()
    assert [(e.subject, e.before, e.after["open"]) for e in events] == [
        ("east/sales_supervisor", None, 1),
        ("east/sales_supervisor", {"open": 1}, 3),
        ("north/sales_manager", None, 1),
    ]


def test_a_negative_vacancy_is_refused(rt, tmp_path):
    rows = [["east", "销售主管", "1"], ["west", "销售主管", "-1"]]
    error = refused(rt, "vacancies", write_csv(tmp_path / "v.csv", HEADER, rows))
    assert messages(error) == ["v.csv, line 3, column open: negative vacancy -1: open must be ≥ 0"]


def test_bad_vacancy_rows_are_each_listed(rt, tmp_path):
    rows = [
        ["east", "chief happiness officer", "1"],
        ["east", "销售主管", "two"],
        ["", "销售主管", "1"],
        ["east", "sales_supervisor", "1"],
        ["east", "销售主管", "2"],
    ]
    error = refused(rt, "vacancies", write_csv(tmp_path / "v.csv", HEADER, rows))
    assert [(p.line, p.column) for p in error.problems] == [
        (2, "position"),
        (3, "open"),
        (4, "org_unit"),
        (5, "position"),  # the same unit and position as line 3, spelt by its id
        (6, "position"),
    ]
    assert messages(error)[1] == (
        "v.csv, line 3, column open: non-numeric value 'two': open must be a whole number"
    )
    assert messages(error)[4] == (
        "v.csv, line 6, column position: duplicate vacancy for east sales_supervisor "
        "(first at line 3)"
    )


def test_a_headcount_past_any_integer_column_is_a_bad_row_not_a_crash(rt, tmp_path):
    rows = [["east", "销售主管", "9223372036854775808"], ["west", "销售主管", "2147483648"]]
    error = refused(rt, "vacancies", write_csv(tmp_path / "v.csv", HEADER, rows))
    assert messages(error) == [
        "v.csv, line 2, column open: vacancy 9223372036854775808 too large: open must be ≤ 100,000",
        "v.csv, line 3, column open: vacancy 2147483648 too large: open must be ≤ 100,000",
    ]
    assert _stored(rt) == {}
