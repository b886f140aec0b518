"""What the benchmarks share: a scratch database per backend, timing in turn, verdicts.

Every target is a ratio to a floor measured in the same run (a bare query, a bare Flask
hello-world), never an absolute time: machines differ by a factor of three, and a shared
machine's load changes from one second to the next.

Timing. The figure and its floor are timed in turn, sample by sample, so that they share
the machine's load. Two ratios are printed: of the medians, and of the best samples (the
fastest run of each, as `timeit` recommends: slower runs measure whatever else the
machine was doing). The verdict goes by the best samples; the medians are shown beside
them. BENCH_CPU=1 times this process's CPU seconds instead of the wall clock: steadier on
a crowded machine, but blind to the PostgreSQL server's share of the work.

Tolerance. A figure that misses its target by no more than BENCH_TOLERANCE (a fraction,
0.10 by default) prints "NOT MET (within tolerance)" and does not fail `make bench`; one
that misses it by more prints "NOT MET" and makes the benchmark exit 1.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import percentile

ROOT = Path(__file__).resolve().parent.parent
CLOCK = time.process_time if os.environ.get("BENCH_CPU") else time.perf_counter
TOLERANCE = float(os.environ.get("BENCH_TOLERANCE", "0.10"))


def interleaved(functions: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Samples of each function's duration (seconds), taken in turn so that they share the
    machine's load: on a busy machine the floor and the figure then rise and fall together."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(runs):
        for name, function in functions.items():
            began = CLOCK()
            function()
            samples[name].append(CLOCK() - began)
    return samples


def statements(function: Callable[[], object]) -> int:
    """The statements one call of `function` sends (after a warm-up call), in an app context."""
    from sqlalchemy import event

    from booking.extensions import db

    function()  # warm: statements compiled and cached, pages in the database's cache
    sent: list[int] = []

    def count(*_args):
        sent.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        function()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(sent)


@dataclass(frozen=True)
class Verdict:
    """A figure against its target: met, missed within the tolerance, or missed."""

    met: bool
    within_tolerance: bool

    @property
    def fails(self) -> bool:
        return not (self.met or self.within_tolerance)

    @property
    def word(self) -> str:
        if self.met:
            return "MET"
        return "NOT MET (within tolerance)" if self.within_tolerance else "NOT MET"


def at_most(ratio: float, target: float) -> Verdict:
    return Verdict(ratio <= target, ratio <= target * (1 + TOLERANCE))


def at_least(ratio: float, target: float) -> Verdict:
    return Verdict(ratio >= target, ratio >= target * (1 - TOLERANCE))


def exactly(met: bool) -> Verdict:
    """A count or a fact: no tolerance."""
    return Verdict(met, False)


def milliseconds(samples: list[float]) -> str:
    median = statistics.median(samples) * 1000
    return (
        f"median {median:7.2f} ms  best {min(samples) * 1000:7.2f} ms  "
        f"p95 {percentile(samples, 0.95) * 1000:7.2f} ms"
    )


def ratio_to_floor(
    label: str,
    samples: list[float],
    floor: list[float],
    target: float,
    *,
    width: int = 44,
    note: str = "",
) -> Verdict:
    """Print a figure beside its floor: both ratios, the target and the verdict (by the best
    samples); return the verdict."""
    by_median = statistics.median(samples) / statistics.median(floor)
    by_best = min(samples) / min(floor)
    verdict = at_most(by_best, target)
    print(f"  {label:<{width}} {milliseconds(samples)}{note}")
    print(
        f"  {'':<{width}} {by_best:5.2f}x floor (best), {by_median:5.2f}x (median); "
        f"target <= {target:g}x: {verdict.word}"
    )
    return verdict


def floor_line(label: str, samples: list[float], *, width: int = 44, note: str = "") -> None:
    print(f"  {label:<{width}} {milliseconds(samples)}{note}")


def backend_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="PostgreSQL is skipped, with the reason, when no server answers",
    )


@contextmanager
def sqlite_database(prefix: str) -> Iterator[str]:
    """A SQLAlchemy URL for a new empty SQLite file, removed on the way out."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{prefix}-") as directory:
        yield f"sqlite:///{Path(directory) / f'{prefix}.sqlite3'}"


def on_each_backend(backend: str, prefix: str, measure: Callable[[str, str], bool]) -> bool:
    """Run `measure(url, label)` on a scratch SQLite database, then on a scratch PostgreSQL
    database (perf_<prefix>_*, bench/postgres.py) when one answers; True when all passed."""
    sys.path.insert(0, str(ROOT))
    passed = True
    if backend in ("sqlite", "both"):
        with sqlite_database(prefix) as url:
            passed &= measure(url, "SQLite")
    if backend in ("postgresql", "both"):
        from bench.postgres import Unreachable, scratch_database, sqlalchemy_url

        try:
            with scratch_database(f"perf_{prefix}") as conninfo:
                passed &= measure(sqlalchemy_url(conninfo), "PostgreSQL")
        except Unreachable as error:
            print(f"PostgreSQL: skipped: {error}")
    return passed


@contextmanager
def migrated_app(url: str, **config: object) -> Iterator[Any]:
    """The clinic's app on the empty database at `url`, migrated, inside its app context;
    the engine is disposed of on the way out (so the scratch database can be dropped)."""
    from flask_migrate import upgrade

    from booking import create_app
    from booking.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, **config)
    with app.app_context():
        upgrade()
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def analyse() -> None:
    """Statistics for the planner: a live database has them (autovacuum keeps them on
    PostgreSQL); one loaded a moment ago has none until it is analysed."""
    from sqlalchemy import text

    from booking.extensions import db

    db.session.execute(text("ANALYZE"))
    db.session.commit()
