"""A synthetic org of every track imports cleanly, from files or straight from its rows."""

from __future__ import annotations

from promoflow.demo.synthetic import generate_org
from promoflow.engine.imports import import_table
from tests.functional.import_files import NOW, do_import

TRACKS = ("sales", "cs", "support", "cs_rating", "cs_assistant")


def test_a_synthetic_org_of_every_track_imports_from_csv_and_reimports_unchanged(rt, tmp_path):
    org = generate_org(150, TRACKS, seed=11)
    paths = org.write_csv(tmp_path)
    for kind in ("employees", "metrics", "vacancies"):
        report = do_import(rt, kind, paths[kind])
        assert report.changed == report.rows == len(org.rows(kind))
    for kind in ("employees", "metrics", "vacancies"):
        assert do_import(rt, kind, paths[kind]).changed == 0


def test_the_org_rows_import_without_a_file_with_the_same_result(rt):
    org = generate_org(40, ("sales", "cs"), seed=2)
    with rt.sessions() as session, session.begin():
        for kind in ("employees", "metrics", "vacancies"):
            report = import_table(session, kind, org.table(kind), NOW, "bench")
            assert report.changed == len(org.rows(kind))
            assert report.file == f"synthetic-{kind}.csv"
