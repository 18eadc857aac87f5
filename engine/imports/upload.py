"""Importing an uploaded file: the bytes a browser or API client sent, as one import.

The console and the API receive a file's bytes, not a path: they are written to a private
temporary folder under a harmless name and imported from there by
:func:`~promoflow.engine.imports.service.run_import`, in the caller's unit of work.
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from promoflow.engine.imports.service import ImportReport, run_import
from promoflow.errors import InputError

#: what an upload may be, in the order the upload form offers them
KINDS = ("results", "metrics", "employees", "vacancies")
#: the largest upload accepted, bytes
MAX_UPLOAD = 50 * 1024 * 1024


def safe_name(name: str | None) -> str:
    """The uploaded file's base name, reduced to harmless characters."""
    base = Path(name or "upload.csv").name
    cleaned = re.sub(r"[^\w.\-]+", "_", base, flags=re.UNICODE).strip("._") or "upload.csv"
    return cleaned[:120]


def import_upload(
    session: Session,
    kind: str,
    name: str,
    data: bytes,
    now: datetime,
    actor: str,
) -> ImportReport:
    """Run the import service on uploaded bytes (written to a private temporary folder)."""
    if kind not in KINDS:
        raise InputError(f"unknown file kind {kind!r}: use {', '.join(KINDS)}")
    if len(data) > MAX_UPLOAD:
        raise InputError("file too large (at most 50 MB)")
    with tempfile.TemporaryDirectory(prefix="promoflow-upload-") as folder:
        path = Path(folder) / safe_name(name)
        path.write_bytes(data)
        return run_import(session, kind, path, now, actor)
