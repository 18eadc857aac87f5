"""``promoflow scheduler start``: the long-running service, on APScheduler 3.

APScheduler is the alarm clock; the ``milestone_firings`` table is the truth. The service
keeps one date job per upcoming milestone in a job store of its own, in memory, plus an
hourly re-plan (new cycles, pack changes) and a retry job after a failure. The jobs are
worked out from the calendars at every start, so nothing is lost with the process; and a
job store shared between services, as APScheduler 3 warns, is not safe: when two
schedulers ran the same one-off job, the second's ``remove_job`` raised JobLookupError
and killed its scheduling thread, so that service never woke again. Every job does the
same thing: one run-due pass at the current time
(:func:`promoflow.engine.scheduling.firing.run_due`), which fires whatever is due, oldest
first, exactly once. So a restart catches up on everything missed while down
(a pass runs at start-up), and a late or duplicated wake-up is harmless.

Stopping: SIGTERM or SIGINT ends the service after the firing in progress (each firing is
one transaction), shuts APScheduler down and releases the instance lock.

Several processes: on PostgreSQL any number may run; firings are serialised by an
advisory lock and recorded under a unique key. On SQLite only one may run: a second
refuses to start (:class:`~promoflow.engine.scheduling.instance_lock.InstanceLock`).

This module is an entry point: it owns the clock and the APScheduler jobs, and leaves
transactions, locks and retries to :mod:`promoflow.engine.scheduling.firing`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from promoflow.engine.bootstrap import Runtime
from promoflow.engine.scheduling.firing import Action, RunReport, backoff, run_due, upcoming
from promoflow.engine.scheduling.instance_lock import InstanceLock
from promoflow.rules.calendar import CalendarSpec

log = logging.getLogger("promoflow.scheduler")

MILESTONE_JOB = "milestone:"
#: date jobs cover this far ahead; the hourly re-plan extends them
HORIZON = timedelta(days=40)
REPLAN_EVERY = timedelta(hours=1)

_active: SchedulerService | None = None


def wake(reason: str) -> None:
    """What every job calls: one pass in this process's service."""
    if _active is not None:
        _active.tick(reason)


def replan_job() -> None:
    """The periodic job that schedules newly visible milestones."""
    if _active is not None:
        _active.replan()


class SchedulerService:
    """Fires milestones on their dates through APScheduler; see the module docstring."""

    def __init__(
        self,
        rt: Runtime,
        action: Action | None = None,
        calendars: Mapping[str, CalendarSpec] | None = None,
        clock_offset: timedelta = timedelta(0),
    ):
        self.rt = rt
        self.action = action
        self.calendars = calendars
        #: testing aid: the service's clock reads real time + offset (``--fake-now``)
        self.offset = clock_offset
        self.lock = InstanceLock(rt.url)
        self.stopping = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self._failed_passes = 0

    def now(self) -> datetime:
        """The service's clock."""
        return self.rt.now() + self.offset

    def _real(self, at: datetime) -> datetime:
        return at - self.offset

    def start(self) -> None:
        """Take the instance lock, start APScheduler, catch up, schedule what comes next."""
        global _active
        self.lock.acquire()
        _active = self
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=self.rt.tz,
        )
        self.scheduler.start()
        log.info("scheduler started (pid %s), clock %s", os.getpid(), self.now().isoformat())
        self.scheduler.add_job(
            wake,
            "date",
            args=["catch-up"],
            id="catch-up",
            replace_existing=True,
            run_date=self.rt.now(),
        )
        self.scheduler.add_job(
            replan_job,
            "interval",
            id="replan",
            replace_existing=True,
            seconds=REPLAN_EVERY.total_seconds(),
        )
        self.replan()

    def replan(self) -> None:
        """One date job per milestone of the coming weeks (HORIZON); drop jobs no longer planned.

        Best effort: a failure (database away, a job changed by another process) is logged
        and the hourly re-plan tries again; the run-due passes never depend on it.
        """
        try:
            self._replan()
        except Exception as exc:
            log.error("re-plan failed: %s; trying again within the hour", exc)

    def _replan(self) -> None:
        now = self.now()
        planned = {
            f"{MILESTONE_JOB}{m.cycle_id}:{m.milestone}": m
            for m in upcoming(self.rt.sessions, now, HORIZON, self.calendars)
        }
        existing = {job.id: job for job in self.scheduler.get_jobs()}
        for job_id, job in existing.items():
            if job_id.startswith(MILESTONE_JOB) and job_id not in planned:
                job.remove()
        for job_id, m in planned.items():
            job = existing.get(job_id)
            if job is not None and job.next_run_time == self._real(m.at):
                continue
            self.scheduler.add_job(
                wake,
                "date",
                args=[job_id],
                id=job_id,
                replace_existing=True,
                run_date=self._real(m.at),
            )
        if not planned:
            log.info("no milestone in the next %d days", HORIZON.days)
        else:
            first = min(planned.values(), key=lambda m: m.sort_key())
            log.info(
                "%d milestones planned; next %s %s at %s",
                len(planned),
                first.cycle_id,
                first.milestone,
                first.at.isoformat(),
            )

    def tick(self, reason: str) -> RunReport | None:
        """One run-due pass now; schedule a retry if anything failed."""
        if self.stopping.is_set():
            return None
        now = self.now()
        try:
            report = run_due(
                self.rt.sessions, now, self.action, self.calendars, stop=self.stopping.is_set
            )
        except Exception as exc:  # database down: try again with back-off
            self._failed_passes += 1
            retry = now + backoff(self._failed_passes)
            log.error("run-due pass (%s) failed: %s; retry at %s", reason, exc, retry.isoformat())
            self._schedule_retry(retry)
            return None
        self._failed_passes = 0
        for outcome in report.outcomes:
            m = outcome.milestone
            if outcome.result == "failed":
                log.warning(
                    "%s %s failed (attempt %s): %s; retry at %s",
                    m.cycle_id,
                    m.milestone,
                    outcome.attempts,
                    outcome.error,
                    outcome.retry_at,
                )
            elif outcome.result == "fired":
                note = f"; nothing to do: {outcome.note}" if outcome.note else ""
                log.info("%s: %s %s fired (due %s)%s", reason, m.cycle_id, m.milestone, m.at, note)
        if report.next_retry is not None:
            self._schedule_retry(report.next_retry)
        return report

    def _schedule_retry(self, at: datetime) -> None:
        if self.scheduler is not None and not self.stopping.is_set():
            self.scheduler.add_job(
                wake,
                "date",
                args=["retry"],
                id="retry",
                replace_existing=True,
                run_date=self._real(at),
            )

    def stop(self) -> None:
        """Finish the firing in progress, shut APScheduler down, release the lock."""
        global _active
        self.stopping.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        if _active is self:
            _active = None
        self.lock.release()
        log.info("scheduler stopped")

    def run_forever(self) -> None:
        """Start, then block until SIGTERM or SIGINT; stop cleanly."""
        requested = threading.Event()

        def _on_signal(signum, _frame):
            log.info("received %s: stopping", signal.Signals(signum).name)
            self.stopping.set()
            requested.set()

        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
        except BaseException:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            raise
        try:
            while not requested.wait(1.0):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
