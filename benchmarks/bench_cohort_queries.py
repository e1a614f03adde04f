"""Benchmark: repeated and per-draw queries on one cohort result reuse what it already knows.

Prints, for ``bmdsim.simulate_cohort`` (default population with the default
between-patient spread, an AI for 5 years, chunks of 100,000, one thread
unless ``--workers`` says otherwise):

* nine single ``crossing_time(site, threshold)`` calls (3 sites x thresholds
  -1.0, -2.0 and -2.5, 1,000,000 patients, 20-year horizon) against one
  ``crossing_times(...)`` call for the same nine pairs, each on a fresh
  result, and their ratio; the nine answers must equal the batch's bit for
  bit;
* ``fraction_below("femoral_neck", -2.5, monthly times)`` with 100
  parameter draws on 100,000 women (15-year horizon): the first call, a
  second call, and the time to draw the patients once (and what drawing
  them again for the point curve and each draw would cost).

Run: ``python benchmarks/bench_cohort_queries.py [--n 1000000] [--draw-n 100000] [--draws 100] [--workers 1]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import bmdsim

THRESHOLDS = (-1.0, -2.0, -2.5)
YEARS = 20.0
DRAW_YEARS = 15.0
REGIMEN = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])


def cohort(n: int, years: float, workers: int, draws: int = 0) -> bmdsim.CohortResult:
    return bmdsim.simulate_cohort(
        n=n, regimen=REGIMEN, years=years, seed=1, chunk_size=100_000, workers=workers, parameter_draws=draws
    )


def single_calls(n: int, workers: int) -> tuple[float, float]:
    """Seconds of nine single calls and of one batch call, each on a fresh result; answers compared."""
    fresh = cohort(n, YEARS, workers)
    start = time.perf_counter()
    singles = {(s, t): fresh.crossing_time(s, t) for s in fresh.sites for t in THRESHOLDS}
    t_single = time.perf_counter() - start
    fresh = cohort(n, YEARS, workers)
    start = time.perf_counter()
    batch = fresh.crossing_times(THRESHOLDS)
    t_batch = time.perf_counter() - start
    for key, values in batch.items():
        assert np.array_equal(values, singles[key]), f"single call and batch differ at {key}"
    return t_single, t_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="patients for the single-call comparison")
    parser.add_argument("--draw-n", type=int, default=100_000, help="patients for the parameter-draw query")
    parser.add_argument("--draws", type=int, default=100, help="parameter draws (at most the 100 shipped)")
    parser.add_argument("--workers", type=int, default=1, help="threads working on chunks")
    args = parser.parse_args()

    print(f"bmdsim {bmdsim.__version__}: repeated queries on one cohort, {args.workers} thread(s), chunks of 100,000")
    cohort(20_000, YEARS, 1, draws=2).fraction_below("femoral_neck", -2.5, 5.0)  # warm-up (imports, data files)

    t_single, t_batch = single_calls(args.n, args.workers)
    print(f"  {args.n:,} patients x 3 sites x thresholds {', '.join(f'{t:g}' for t in THRESHOLDS)}, {YEARS:g} years")
    print(f"  9 single crossing_time calls      : {t_single:7.2f} s")
    print(f"  1 crossing_times call (9 pairs)   : {t_batch:7.2f} s")
    print(f"  ratio single / batch              : {t_single / t_batch:7.2f} x")

    times = np.linspace(0.0, DRAW_YEARS, int(12 * DRAW_YEARS) + 1)
    result = cohort(args.draw_n, DRAW_YEARS, args.workers, draws=args.draws)
    start = time.perf_counter()
    result.fraction_below("femoral_neck", -2.5, times)
    first = time.perf_counter() - start
    start = time.perf_counter()
    result.fraction_below("femoral_neck", -2.5, times)
    again = time.perf_counter() - start
    fresh = cohort(args.draw_n, DRAW_YEARS, args.workers)
    start = time.perf_counter()
    for a, b in fresh.chunks():
        fresh.patients(a, b)
    drawing = time.perf_counter() - start
    print(
        f"  fraction_below with {args.draws} draws x {args.draw_n:,} women, {times.size} monthly times, "
        f"{DRAW_YEARS:g} years"
    )
    print(f"  first call                        : {first:7.2f} s  = {first / args.draws * 1e3:.0f} ms per draw")
    print(f"  second call                       : {again:7.2f} s  ({again / first:.2f} x the first)")
    print(
        f"  drawing the patients once         : {drawing:7.2f} s  (redrawn for the point curve and each draw, "
        f"{args.draws + 1} times: {drawing * (args.draws + 1):.2f} s)"
    )


if __name__ == "__main__":
    main()
