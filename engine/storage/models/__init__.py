"""All tables; importing this module registers every one on ``Base.metadata``.

Each feature owns one module; add a new module's import here.
"""

from promoflow.engine.storage.models import console_indexes  # noqa: F401  (read-side indexes)
from promoflow.engine.storage.models.audit import AuditEvent, AuditHead
from promoflow.engine.storage.models.base import Base
from promoflow.engine.storage.models.cycles import Case, Cycle, Decision, StageResult
from promoflow.engine.storage.models.metrics import ImportRun, Metric, MetricRevision, Period
from promoflow.engine.storage.models.overrides import Override
from promoflow.engine.storage.models.packs import PackVersion
from promoflow.engine.storage.models.people import Employee, GradeHistory, Vacancy
from promoflow.engine.storage.models.scheduling import MilestoneFiring
from promoflow.engine.storage.models.system import SystemSetting
from promoflow.engine.storage.models.users import ApiToken, LoginSession, User, UserRole
from promoflow.engine.storage.models.workflow import CycleMilestone, Notice

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Case",
    "Cycle",
    "CycleMilestone",
    "Decision",
    "Employee",
    "GradeHistory",
    "ImportRun",
    "LoginSession",
    "Metric",
    "MetricRevision",
    "MilestoneFiring",
    "Notice",
    "Override",
    "PackVersion",
    "Period",
    "StageResult",
    "SystemSetting",
    "User",
    "UserRole",
    "Vacancy",
]
