"""The scheduler: fires each cycle milestone on its date, exactly once (docs/scheduler.md).

Only the entry point lives here: ``service``, the long-running APScheduler process. The
milestone times are :mod:`promoflow.rules.calendar`; the run-due machinery it shares with
``promoflow scheduler run-due`` (transactions, locks, retries) is
:mod:`promoflow.engine.scheduling.firing`.
"""

import logging

# the service configures output; as a library, stay quiet unless the host logs
logging.getLogger("promoflow.scheduler").addHandler(logging.NullHandler())
