"""The scheduler: fires each cycle milestone on its date, exactly once (docs/scheduler.md).

``calendar`` is pure milestone arithmetic, ``firing`` the run-due machinery shared by cron
and the service, ``service`` the long-running APScheduler process.
"""

import logging

# the service configures output; as a library, stay quiet unless the host logs
logging.getLogger("promoflow.scheduler").addHandler(logging.NullHandler())
