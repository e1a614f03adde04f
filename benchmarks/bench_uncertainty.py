"""Benchmark: the fraction-below curve of a cohort with its band from parameter uncertainty.

Prints, for ``bmdsim.simulate_cohort`` (default population, an AI for 5
years, 15-year horizon, chunks of 100,000, the default threads) with
``parameter_draws=K``:

* wall time of ``fraction_below("femoral_neck", -2.5, monthly times)``: the
  point curve plus one pass over the cohort per draw (patients redrawn chunk
  by chunk, crossing times of one draw at a time); the first call builds
  each draw's crossing tables, a second call reuses them;
* the same per draw and per million patient-draws;
* the peak of memory allocated during the call (``tracemalloc``), against
  ``n x K`` floats (draws' crossing times are kept only within the cohort's
  bounded cache, ``bmdsim.cohort.KEPT_DRAW_BYTES``).

Run: ``python benchmarks/bench_uncertainty.py [--n 100000] [--draws 100]``
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import bmdsim

YEARS = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="patients in the cohort")
    parser.add_argument("--draws", type=int, default=100, help="parameter draws (at most the 100 shipped)")
    parser.add_argument("--params", default=bmdsim.parameters.DEFAULT_PARAMETER_SET, help="shipped parameter set")
    args = parser.parse_args()

    regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    times = np.linspace(0.0, YEARS, int(12 * YEARS) + 1)
    result = bmdsim.simulate_cohort(
        n=args.n,
        regimen=regimen,
        years=YEARS,
        seed=1,
        chunk_size=100_000,
        params=args.params,
        parameter_draws=args.draws,
    )
    print(
        f"bmdsim {bmdsim.__version__}: fraction below -2.5 at the femoral neck, {args.n:,} patients x "
        f"{args.draws} parameter draws ({args.params}), {times.size} monthly times over {YEARS:g} years, "
        f"{result.workers} threads"
    )
    bmdsim.simulate_cohort(n=1000, regimen=regimen, years=YEARS, seed=1).fraction_below("femoral_neck", -2.5, 5.0)

    start = time.perf_counter()
    out = result.fraction_below("femoral_neck", -2.5, times)  # first call: builds each draw's crossing tables
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    result.fraction_below("femoral_neck", -2.5, times)
    again = time.perf_counter() - start

    tracemalloc.start()
    result.fraction_below("femoral_neck", -2.5, times)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    five, ten = (int(np.argmin(np.abs(times - t))) for t in (5.0, 10.0))
    print(
        f"  fraction curve with parameter band : {seconds:7.2f} s  = {seconds / args.draws * 1e3:.0f} ms per draw, "
        f"{seconds / (args.n * args.draws) * 1e6:.2f} s per million patient-draws (first call)"
    )
    print(f"  the same, second call              : {again:7.2f} s  (crossing tables already built)")
    print(
        f"  peak traced allocation (one call)  : {peak / 2**20:7.1f} MB  (n x K floats would be "
        f"{args.n * args.draws * 8 / 2**20:.0f} MB)"
    )
    for label, i in (("5 years", five), ("10 years", ten)):
        print(
            f"  below -2.5 by {label:<8}: {100 * out['fraction'][i]:.1f} % "
            f"(parameter interval {100 * out['param_low'][i]:.1f}-{100 * out['param_high'][i]:.1f} %, "
            f"sampling {100 * out['low'][i]:.1f}-{100 * out['high'][i]:.1f} %)"
        )


if __name__ == "__main__":
    main()
