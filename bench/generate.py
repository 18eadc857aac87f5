"""Write a synthetic org's CSV files, in a process of its own.

The files stand for what an HR system hands over, so making them is no part of the cycle
being measured: running the generator apart keeps its memory (every row of the org as a
dict) out of the measured process's peak RSS.

    python -m bench.generate N FOLDER PERIOD
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench import pipeline


def main(argv: list[str] | None = None) -> int:
    n, folder, period = argv if argv is not None else sys.argv[1:]
    for kind, path in pipeline.write_org(int(n), Path(folder), period).items():
        print(f"{kind}\t{path}")
    return 0


if __name__ == "__main__":  # pragma: no cover - command line
    raise SystemExit(main())
