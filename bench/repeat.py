"""One more open, or one more floor, on a copy of an imported database, in a fresh process.

``bench.cycle`` runs this for the repeated open/floor pairs, each side in a process of its
own: a fresh interpreter pays the same one-off costs (imports, rule compilation,
templates) as a ``promoflow cycle open`` would, so a repeated open is never cheaper than
the real thing, and the floor never runs in a process the open has just left behind (its
first run after an open took 1.9 s against 1.5-1.6 s). The floor only reads, so it runs
first on the same copy. Prints one JSON line: ``{"open_s": …}`` or ``{"floor_open_s": …}``.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime


def main(argv: list[str]) -> int:
    url, when, what = argv[0], datetime.fromisoformat(argv[1]), argv[2]
    from bench import pipeline
    from bench.cycle import CYCLE, PERIOD
    from bench.floor import floor_open
    from promoflow.engine.bootstrap import bootstrap

    if what not in ("open", "floor"):
        raise SystemExit(f"bench.repeat: measure 'open' or 'floor', not {what!r}")
    rt = bootstrap(url, actor="bench")
    try:
        start = time.perf_counter()
        if what == "open":
            pipeline.run_milestone(rt, CYCLE, "open", when)
        else:
            floor_open(rt.engine, PERIOD)
        seconds = round(time.perf_counter() - start, 3)
    finally:
        rt.engine.dispose()
    print(json.dumps({"open_s" if what == "open" else "floor_open_s": seconds}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
