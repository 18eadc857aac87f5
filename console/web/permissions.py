"""Which roles may do what, in one table shared by the pages and the API.

Reading cycles and cases is open to every role; acting is split so that no one both
proposes and approves an override (four-eyes), and user administration stays apart from
HR decisions.
"""

from __future__ import annotations

EVERYONE = frozenset({"viewer", "hr_officer", "hr_manager", "auditor", "admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "read": EVERYONE,
    "export": frozenset({"hr_officer", "hr_manager", "auditor", "admin"}),
    "override_propose": frozenset({"hr_officer", "hr_manager"}),
    "override_decide": frozenset({"hr_manager"}),
    "audit_read": frozenset({"auditor", "hr_manager", "admin"}),
    "results_upload": frozenset({"hr_officer", "hr_manager"}),
    "cycle_run": frozenset({"hr_manager"}),
    "whatif": frozenset({"hr_officer", "hr_manager", "auditor"}),
    "users_admin": frozenset({"admin"}),
}


def allowed(roles: set[str] | frozenset[str], permission: str) -> bool:
    """Whether any of ``roles`` grants ``permission`` (unknown permissions grant nothing)."""
    return bool(set(roles) & PERMISSIONS.get(permission, frozenset()))
