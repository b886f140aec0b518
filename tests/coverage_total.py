"""Print the line coverage over one or more SlipCover JSON reports, merged.

`make test` runs it on each backend's report (.coverage-sqlite.json,
.coverage-postgresql.json): a line counts as run when either run ran it.
Usage: python -m tests.coverage_total REPORT [REPORT ...]
"""

import json
import sys
from pathlib import Path

from slipcover import merge_coverage


def total(paths: list[Path]) -> float:
    """The percentage of lines covered over all the reports, merged."""
    merged = json.loads(paths[0].read_text())
    for path in paths[1:]:
        merge_coverage(merged, json.loads(path.read_text()))
    files = merged["files"].values()
    covered = sum(len(entry["executed_lines"]) for entry in files)
    missing = sum(len(entry["missing_lines"]) for entry in files)
    return 100.0 * covered / (covered + missing) if covered + missing else 0.0


def main(arguments: list[str]) -> int:
    paths = [Path(argument) for argument in arguments]
    absent = [str(path) for path in paths if not path.is_file()]
    if not paths or absent:
        print(f"no coverage report at {', '.join(absent) or '(none given)'}", file=sys.stderr)
        return 1
    print(f"{total(paths):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
