"""Which module imports which kind of file.

``results`` belongs to the case workflow (``promoflow.engine.imports.results``, written
with the cycles); it is imported only when asked for, so the other kinds work — and
``import results`` says plainly that it is unavailable — until that module exists.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from promoflow.errors import InputError

IMPORTERS: dict[str, str] = {
    "employees": "promoflow.engine.imports.employees",
    "metrics": "promoflow.engine.imports.metrics",
    "vacancies": "promoflow.engine.imports.vacancies",
    "results": "promoflow.engine.imports.results",
}


def importer(kind: str) -> ModuleType:
    """The importer module for ``kind``; InputError when the kind is unknown or unavailable."""
    module_name = IMPORTERS.get(kind)
    if module_name is None:
        raise InputError(f"unknown import kind {kind!r}: use one of {', '.join(IMPORTERS)}")
    try:
        return import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the importer exists but something it needs is missing: a real bug
        raise InputError(
            f"importing {kind} is not available yet in this version of promoflow "
            f"({module_name} is not installed); nothing was imported"
        ) from exc


def available(kind: str) -> bool:
    """Whether ``kind`` can be imported by this installation."""
    try:
        importer(kind)
    except InputError:
        return False
    return True
