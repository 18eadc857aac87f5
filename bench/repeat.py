"""One more open and floor on a copy of an imported database, in a fresh process.

``bench.cycle`` runs this for the repeated open/floor pairs: a fresh interpreter pays the
same one-off costs (imports, rule compilation, templates) as the cycle's own open and as a
``promoflow cycle open`` would, so a repeat is never cheaper than the real thing.
Prints one JSON line: ``{"open_s": …, "floor_open_s": …}``.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime


def main(argv: list[str]) -> int:
    url, when = argv[0], datetime.fromisoformat(argv[1])
    from bench import pipeline
    from bench.cycle import CYCLE, PERIOD
    from bench.floor import floor_open
    from promoflow.engine.bootstrap import bootstrap

    rt = bootstrap(url, actor="bench")
    try:
        start = time.perf_counter()
        pipeline.run_milestone(rt, CYCLE, "open", when)
        open_s = time.perf_counter() - start
        start = time.perf_counter()
        floor_open(rt.engine, PERIOD)
        floor_s = time.perf_counter() - start
    finally:
        rt.engine.dispose()
    print(json.dumps({"open_s": round(open_s, 3), "floor_open_s": round(floor_s, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
