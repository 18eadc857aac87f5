"""The console's words in Chinese and English, and how a request picks its language.

A signed-in user's saved preference wins; before sign-in the ``pf_lang`` cookie, then the
browser's Accept-Language, then Chinese (the HR team's language). A key missing from the
catalog shows as itself, and a test checks every key the templates use exists in both.
"""

from __future__ import annotations

from collections.abc import Callable

from promoflow.limits import TooLong

LANGUAGES = ("zh", "en")
DEFAULT = "zh"

MESSAGES: dict[str, dict[str, str]] = {
    "app.title": {"zh": "晋升流程控制台", "en": "promoflow console"},
    "nav.dashboard": {"zh": "总览", "en": "Dashboard"},
    "nav.cycles": {"zh": "考核周期", "en": "Cycles"},
    "nav.overrides": {"zh": "人工调整审批", "en": "Approvals"},
    "nav.audit": {"zh": "审计记录", "en": "Audit trail"},
    "nav.packs": {"zh": "规则包", "en": "Rule packs"},
    "nav.results": {"zh": "结果录入", "en": "Results entry"},
    "nav.logout": {"zh": "退出", "en": "Log out"},
    "nav.language": {"zh": "English", "en": "中文"},
    "login.title": {"zh": "登录", "en": "Sign in"},
    "login.username": {"zh": "用户名", "en": "Username"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Sign in"},
    "login.failed": {"zh": "用户名或密码错误。", "en": "Wrong username or password."},
    "login.limited": {
        "zh": "登录失败次数过多，请稍后再试。",
        "en": "Too many failed sign-ins; try again later.",
    },
    "error.title": {"zh": "出错了", "en": "Something went wrong"},
    "error.too_long": {
        "zh": "{field}过长：{length} 个字符，最多 {limit} 个。未保存任何内容。",
        "en": "The {field} is too long: {length} characters, at most {limit}. Nothing was saved.",
    },
    "error.forbidden": {
        "zh": "您的角色无权执行此操作。",
        "en": "Your role does not allow this.",
    },
    "error.csrf": {
        "zh": "表单已过期，请刷新页面后重试。",
        "en": "The form has expired; reload the page and try again.",
    },
    "error.not_found": {"zh": "未找到。", "en": "Not found."},
    "error.unknown": {
        "zh": "操作未能完成，请重试。",
        "en": "The action could not be completed; try again.",
    },
    "common.back": {"zh": "返回", "en": "Back"},
    "common.filter": {"zh": "筛选", "en": "Filter"},
    "common.any": {"zh": "全部", "en": "Any"},
    "common.search": {"zh": "工号或姓名", "en": "Employee id or name"},
    "common.page": {
        "zh": "第 {page} / {pages} 页，共 {total} 条",
        "en": "Page {page} of {pages}, {total} rows",
    },
    "common.prev": {"zh": "上一页", "en": "Previous"},
    "common.next": {"zh": "下一页", "en": "Next"},
    "common.none": {"zh": "无", "en": "None"},
    "common.export_csv": {"zh": "导出 CSV", "en": "Export CSV"},
    "common.export_xlsx": {"zh": "导出 Excel", "en": "Export XLSX"},
    "common.yes": {"zh": "是", "en": "yes"},
    "common.no": {"zh": "否", "en": "no"},
    "common.unavailable": {
        "zh": "此功能的服务尚未安装。",
        "en": "The service behind this page is not available yet.",
    },
    "dash.title": {"zh": "总览", "en": "Dashboard"},
    "dash.employees": {"zh": "在职员工", "en": "Active employees"},
    "dash.cycles": {"zh": "考核周期", "en": "Cycles"},
    "dash.no_cycles": {"zh": "尚无考核周期。", "en": "No cycle has been opened yet."},
    "dash.states": {"zh": "各状态案件数", "en": "Cases per state"},
    "dash.waiting": {"zh": "待人事处理", "en": "Waiting on HR"},
    "dash.next_due": {"zh": "下一个节点", "en": "Next milestone"},
    "dash.timeline": {"zh": "节点时间表", "en": "Milestone timeline"},
    "dash.pending_overrides": {"zh": "待审批的人工调整", "en": "Overrides awaiting approval"},
    "dash.charts": {"zh": "图表", "en": "Charts"},
    "cycle.title": {"zh": "考核周期 {cycle}", "en": "Cycle {cycle}"},
    "cycle.milestone": {"zh": "已完成节点", "en": "Last milestone"},
    "cycle.pack": {"zh": "规则包版本", "en": "Rule pack version"},
    "cycle.decisions": {"zh": "决定数", "en": "Decisions"},
    "cycle.grades_chart": {"zh": "周期前后职级分布", "en": "Grades before and after"},
    "cycle.funnel_chart": {"zh": "阶段漏斗", "en": "Stage funnel"},
    "cycle.before": {"zh": "周期前", "en": "before"},
    "cycle.after": {"zh": "周期后", "en": "after"},
    "cycle.flagged_only": {"zh": "仅待处理", "en": "Flagged only"},
    "cycle.advance": {"zh": "执行下一个节点", "en": "Run the next milestone"},
    "cycle.force_reason": {
        "zh": "提前执行的原因（仅在未到日程时间时需要）",
        "en": "Reason to run before its calendar time (only when early)",
    },
    "col.cycle": {"zh": "周期", "en": "Cycle"},
    "col.track": {"zh": "序列", "en": "Track"},
    "col.period": {"zh": "期间", "en": "Period"},
    "col.employee_id": {"zh": "工号", "en": "Employee id"},
    "col.name": {"zh": "姓名", "en": "Name"},
    "col.org_unit": {"zh": "部门", "en": "Org unit"},
    "col.from_grade": {"zh": "原职级", "en": "From"},
    "col.to_grade": {"zh": "新职级", "en": "To"},
    "col.grade": {"zh": "职级", "en": "Grade"},
    "col.outcome": {"zh": "结果", "en": "Outcome"},
    "col.state": {"zh": "状态", "en": "State"},
    "col.rule": {"zh": "规则", "en": "Rule"},
    "col.review": {"zh": "复核", "en": "Review"},
    "col.flagged": {"zh": "待处理原因", "en": "Flagged"},
    "col.at": {"zh": "时间", "en": "Time"},
    "col.actor": {"zh": "操作人", "en": "Actor"},
    "col.via": {"zh": "身份来源", "en": "Identified by"},
    "via.cli-asserted": {"zh": "命令行（自称）", "en": "command line (asserted)"},
    "via.token": {"zh": "API 令牌", "en": "API token"},
    "via.session": {"zh": "登录会话", "en": "signed-in session"},
    "via.password": {"zh": "密码登录", "en": "password sign-in"},
    "via.system": {"zh": "系统", "en": "system"},
    "col.kind": {"zh": "类型", "en": "Kind"},
    "col.subject": {"zh": "对象", "en": "Subject"},
    "col.reason": {"zh": "原因", "en": "Reason"},
    "col.details": {"zh": "详情", "en": "Details"},
    "col.count": {"zh": "数量", "en": "Count"},
    "col.stage": {"zh": "阶段", "en": "Stage"},
    "col.value": {"zh": "结果值", "en": "Value"},
    "col.passed": {"zh": "通过", "en": "Passed"},
    "col.version": {"zh": "版本", "en": "Version"},
    "col.loaded_at": {"zh": "载入时间", "en": "Loaded"},
    "col.active": {"zh": "生效", "en": "Active"},
    "col.file": {"zh": "文件", "en": "File"},
    "col.rows": {"zh": "行数", "en": "Rows"},
    "col.changed": {"zh": "变更", "en": "Changed"},
    "col.line": {"zh": "行", "en": "Line"},
    "col.column": {"zh": "列", "en": "Column"},
    "col.message": {"zh": "问题", "en": "Problem"},
    "col.proposed_by": {"zh": "提出人", "en": "Proposed by"},
    "col.to_outcome": {"zh": "调整为", "en": "Change to"},
    "outcome.promoted": {"zh": "晋升", "en": "promoted"},
    "outcome.demoted": {"zh": "降级", "en": "demoted"},
    "outcome.unchanged": {"zh": "不变", "en": "unchanged"},
    "outcome.pending": {"zh": "待定", "en": "pending"},
    "funnel.evaluated": {"zh": "参评", "en": "evaluated"},
    "funnel.nominated": {"zh": "提名/晋升", "en": "nominated"},
    "funnel.written_test_passed": {"zh": "笔试通过", "en": "written test passed"},
    "funnel.interview_passed": {"zh": "面试通过", "en": "interview passed"},
    "funnel.grade_changed": {"zh": "职级已变更", "en": "grade changed"},
    "case.title": {
        "zh": "{name}（{employee_id}）· {cycle}",
        "en": "{name} ({employee_id}) · {cycle}",
    },
    "case.decision": {"zh": "决定", "en": "Decision"},
    "case.reasons": {"zh": "理由", "en": "Reasons"},
    "case.facts": {"zh": "读取的事实", "en": "Facts read"},
    "case.thresholds": {"zh": "比较的阈值", "en": "Thresholds compared"},
    "case.missing": {"zh": "缺少的数据", "en": "Missing data"},
    "case.stages": {"zh": "阶段结果", "en": "Stage results"},
    "case.notices": {"zh": "通知", "en": "Notices"},
    "case.timeline": {"zh": "时间线（审计记录）", "en": "Timeline (audit trail)"},
    "case.probation": {"zh": "试用期", "en": "Probation"},
    "case.override": {"zh": "人工调整", "en": "Override"},
    "override.title": {"zh": "提出人工调整", "en": "Propose an override"},
    "override.reason": {"zh": "原因（必填）", "en": "Reason (required)"},
    "override.submit": {"zh": "提交审批", "en": "Submit for approval"},
    "override.reason_required": {"zh": "必须填写原因。", "en": "A reason is required."},
    "override.unknown_kind": {"zh": "未知的调整类型。", "en": "Unknown override kind."},
    "override.proposed": {
        "zh": "已提交，等待另一位经理审批。",
        "en": "Proposed; a second manager must approve it.",
    },
    "override.applied": {
        "zh": "已批准并生效（无需第二位审批人）。",
        "en": "Approved and applied (no second approver needed).",
    },
    "override.note": {
        "zh": "审批意见（驳回时必填）",
        "en": "Note (required to reject)",
    },
    "override.queue": {"zh": "待审批的人工调整", "en": "Overrides awaiting approval"},
    "override.approve": {"zh": "批准", "en": "Approve"},
    "override.reject": {"zh": "驳回", "en": "Reject"},
    "override.empty": {"zh": "没有待审批的调整。", "en": "Nothing is waiting for approval."},
    "override.decided": {"zh": "已处理。", "en": "Done."},
    "override.history": {"zh": "调整记录", "en": "Override history"},
    "audit.title": {"zh": "审计记录", "en": "Audit trail"},
    "audit.verify_ok": {
        "zh": "审计链校验通过（{count} 条）",
        "en": "Audit trail verified ({count} events)",
    },
    "audit.verify_bad": {
        "zh": "审计链校验失败：{detail}",
        "en": "Audit trail does NOT verify: {detail}",
    },
    "audit.since": {"zh": "起始", "en": "From"},
    "audit.until": {"zh": "截止", "en": "Until"},
    "packs.title": {"zh": "规则包", "en": "Rule packs"},
    "packs.versions": {"zh": "版本历史", "en": "Version history"},
    "packs.diff": {"zh": "版本对比", "en": "Compare versions"},
    "packs.compare": {"zh": "对比", "en": "Compare"},
    "packs.grades": {"zh": "职级（由低到高）", "en": "Grades (low to high)"},
    "packs.positions": {"zh": "岗位", "en": "Positions"},
    "packs.calendar": {"zh": "日程", "en": "Calendar"},
    "packs.source": {"zh": "规则原文", "en": "Pack text"},
    "packs.whatif": {
        "zh": "假设分析：用此版本重算历史周期",
        "en": "What-if: re-evaluate a past cycle with this version",
    },
    "packs.whatif_run": {"zh": "重算", "en": "Re-evaluate"},
    "packs.whatif_changed": {
        "zh": "{changed} / {total} 人结果会改变",
        "en": "{changed} of {total} outcomes would change",
    },
    "packs.pass_marks": {"zh": "及格线", "en": "Pass marks"},
    "packs.stages": {"zh": "阶段", "en": "Stages"},
    "results.title": {"zh": "上传结果文件", "en": "Upload a results file"},
    "results.kind": {"zh": "文件类型", "en": "File kind"},
    "results.file": {"zh": "文件（CSV 或 XLSX）", "en": "File (CSV or XLSX)"},
    "results.submit": {"zh": "上传", "en": "Upload"},
    "results.ok": {
        "zh": "已导入 {rows} 行，变更 {changed} 行。",
        "en": "Imported {rows} rows, {changed} changed.",
    },
    "results.errors": {
        "zh": "文件有错误，未导入任何内容：",
        "en": "The file has errors; nothing was imported:",
    },
    "results.history": {"zh": "已导入的文件", "en": "Imported files"},
    "case.effective_from": {"zh": "生效日", "en": "effective"},
    "case.why": {"zh": "说明", "en": "Why"},
    "case.rule_verdict": {"zh": "规则原判", "en": "The rules' verdict"},
    "case.review_decision": {"zh": "人力资源决定", "en": "HR decided"},
    "review_decision.retained": {"zh": "保留", "en": "retained"},
    "review_decision.dismissed": {"zh": "解除", "en": "dismissed"},
    "review_decision.eliminated": {"zh": "淘汰", "en": "eliminated"},
    "review_decision.closed": {"zh": "复核结束", "en": "review closed"},
    "dash.closed_col": {"zh": "是否结束", "en": "Closed"},
    "dash.closed": {"zh": "已结束", "en": "closed"},
    "dash.still_open": {"zh": "进行中（{n} 项待处理）", "en": "open ({n} waiting)"},
    "milestone.open": {"zh": "开启", "en": "open"},
    "milestone.test_due": {"zh": "笔试截止", "en": "test due"},
    "milestone.interview_notice": {"zh": "面试通知", "en": "interview notice"},
    "milestone.interview_due": {"zh": "面试截止", "en": "interview due"},
    "milestone.announce": {"zh": "公布", "en": "announce"},
    "milestone.probation_review": {"zh": "试用期考核", "en": "probation review"},
    "milestone.effective": {"zh": "生效", "en": "effective"},
}


#: the fields a refusal may name (:class:`promoflow.limits.TooLong`), in both languages
FIELDS: dict[str, dict[str, str]] = {
    "reason": {"zh": "原因", "en": "reason"},
    "note": {"zh": "备注", "en": "note"},
    "to_grade": {"zh": "目标职级", "en": "to_grade"},
    "stage": {"zh": "阶段", "en": "stage"},
    "value": {"zh": "结果", "en": "value"},
    "effective": {"zh": "生效日期", "en": "effective"},
}


def error_text(error: Exception, language: str) -> str:
    """What a refused action shows on a page: an over-long field in the page's language,
    any other refusal as the service worded it."""
    if isinstance(error, TooLong):
        field = FIELDS.get(error.field, {}).get(language, error.field)
        return translate(
            "error.too_long", language, field=field, length=f"{error.length:,}",
            limit=f"{error.limit:,}",
        )  # fmt: skip
    return str(error)


#: the errors a link may name (``/overrides?error=CODE``): code → catalogue key. A page
#: shows only these messages, never text taken from the URL, so a crafted link cannot put
#: words of its own on a page of ours.
ERROR_CODES: dict[str, str] = {
    "forbidden": "error.forbidden",
    "csrf": "error.csrf",
    "not_found": "error.not_found",
    "reason_required": "override.reason_required",
}


def error_key(code: str | None) -> str | None:
    """The catalogue key for an error code from a URL: None without one, the generic
    message for a code we do not know."""
    if not code:
        return None
    return ERROR_CODES.get(code, "error.unknown")


def translate(key: str, language: str, **values: object) -> str:
    """The message ``key`` in ``language`` with ``{placeholders}`` filled in."""
    entry = MESSAGES.get(key)
    text = key if entry is None else entry.get(language) or entry.get(DEFAULT) or key
    if values:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def label(prefix: str, value: str | None, language: str) -> str:
    """``prefix.value`` translated when the catalog has it, else the value itself
    (workflow states and milestone ids that have no entry show as they are)."""
    if value is None:
        return ""
    entry = MESSAGES.get(f"{prefix}.{value}")
    return entry.get(language, value) if entry else value


def translator(language: str) -> Callable[..., str]:
    """A ``t(key, **values)`` bound to one language, for templates."""

    def t(key: str, **values: object) -> str:
        return translate(key, language, **values)

    return t


def pick(preferred: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language for a request: saved preference, then cookie, then the browser."""
    for choice in (preferred, cookie):
        if choice in LANGUAGES:
            return choice
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT
