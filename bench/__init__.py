"""Benchmarks: each module runs with `python -m bench.NAME` and prints its figures."""


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `samples` (NaN when there are none)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
