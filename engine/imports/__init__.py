"""Imports of HR files (INTERCHANGE.md): employees, metrics, vacancies and stage results.

Every kind is all-or-nothing: the whole file is validated first and any bad row refuses
it with an :class:`~promoflow.errors.InputError` listing every bad row (line, column,
reason); an accepted file is written in bulk statements, recorded as an ``ImportRun`` and
audited, in the caller's transaction. Re-importing the same file changes nothing.

    run_import(session, kind, path, now, actor, progress=None) -> ImportReport

Layout: ``reader`` (CSV/XLSX → rows), ``problems`` (the bad-row collector), ``catalog``
(tracks, grades and positions from the rule packs), ``base`` (the importer interface),
``registry`` (kind → importer module), ``service`` (the transaction), and one module per
kind.
"""

from promoflow.engine.imports.registry import IMPORTERS, importer
from promoflow.engine.imports.service import ImportReport, import_table, run_import

__all__ = ["IMPORTERS", "ImportReport", "import_table", "importer", "run_import"]
