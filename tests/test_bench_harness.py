"""The benchmarks' verdicts: a target missed by more than the tolerance fails `make bench`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import harness


def test_a_ratio_within_its_target_is_met():
    assert harness.at_most(2.9, 3.0).word == "MET"
    assert harness.at_least(0.2, 0.15).word == "MET"


def test_a_small_miss_is_reported_but_passes_and_a_large_one_fails():
    near = harness.at_most(3.0 * (1 + harness.TOLERANCE / 2), 3.0)
    assert (near.word, near.fails) == ("NOT MET (within tolerance)", False)
    far = harness.at_most(3.0 * (1 + harness.TOLERANCE * 2), 3.0)
    assert (far.word, far.fails) == ("NOT MET", True)
    slow = harness.at_least(0.15 * (1 - harness.TOLERANCE * 2), 0.15)
    assert slow.fails


def test_counts_and_facts_have_no_tolerance():
    assert harness.exactly(False).fails
    assert not harness.exactly(True).fails


def test_the_verdict_goes_by_the_best_samples(capsys):
    # The figure's median is 6x the floor's (a loaded moment), its best 2x: met at 3x.
    verdict = harness.ratio_to_floor("figure", [2.0, 6.0, 6.0], [1.0, 1.0, 1.0], 3.0)
    assert verdict.met
    printed = capsys.readouterr().out
    assert "2.00x floor (best)" in printed and "6.00x (median)" in printed


def test_the_race_benchmark_still_drives_every_pair_through_the_site():
    """bench.races posts the site's own forms; when a form changes, the benchmark must follow.

    One round of every pair on a scratch PostgreSQL database (the races are PostgreSQL's:
    the exclusion constraint and row locks). It broke once unnoticed, when a course
    session came to be booked from a review page with its safety questions.
    """
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the race benchmark runs on PostgreSQL (run on the PostgreSQL pass)")
    result = subprocess.run(
        [sys.executable, "-m", "bench.races", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BENCH_DATABASE_URL": url},
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "target met: 0 inconsistencies, 0 server errors" in result.stdout
    assert "two bookings for the last credit" in result.stdout
