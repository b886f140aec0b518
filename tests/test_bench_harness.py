"""The benchmarks' verdicts: a target missed by more than the tolerance fails `make bench`."""

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
