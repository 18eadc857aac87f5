"""Which module imports which kind of file: a plain table, so a misspelt importer fails at
import time rather than when HR first uploads that kind."""

from __future__ import annotations

from types import ModuleType

import promoflow.engine.imports.employees as employees
import promoflow.engine.imports.metrics as metrics
import promoflow.engine.imports.results as results
import promoflow.engine.imports.vacancies as vacancies
from promoflow.errors import InputError

IMPORTERS: dict[str, ModuleType] = {
    "employees": employees,
    "metrics": metrics,
    "vacancies": vacancies,
    "results": results,
}


def importer(kind: str) -> ModuleType:
    """The importer module for ``kind``; InputError naming the kinds when it is unknown."""
    module = IMPORTERS.get(kind)
    if module is None:
        raise InputError(f"unknown import kind {kind!r}: use one of {', '.join(IMPORTERS)}")
    return module
