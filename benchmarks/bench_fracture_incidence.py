"""Benchmark: absolute fracture incidence for a cohort of 1,000,000 patients x 3 outcomes.

Prints the wall time of :func:`bmdsim.fracture_incidence.cohort_incidence` for
hip, clinical vertebral and major osteoporotic fractures (default population,
an AI for 5 years, 5-year horizon, quarter-year integration step (the default), death competing;
T-scores at the total hip and lumbar spine simulated on the fly, patients
drawn in the call), on one thread, without and with the gradient band (three
gradients instead of one). Also prints the cumulative incidence per 1,000 at
5 years, so a speed change that changes a result is seen.

Run: ``python benchmarks/bench_fracture_incidence.py [--n 1000000]``
"""

from __future__ import annotations

import argparse
import time

import bmdsim
from bmdsim.fracture_incidence import cohort_incidence

OUTCOMES = ("hip", "clinical_vertebral", "major_osteoporotic")
YEARS = 5.0


def timed(n: int, gradient_band: bool) -> tuple[float, dict]:
    regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    start = time.perf_counter()
    result = bmdsim.simulate_cohort(n=n, regimen=regimen, years=YEARS, seed=1, chunk_size=100_000, workers=1)
    inc = cohort_incidence(result, [1.0, 3.0, 5.0], OUTCOMES, draws=False, gradient_band=gradient_band)
    return time.perf_counter() - start, inc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="patients in the cohort")
    args = parser.parse_args()
    print(
        f"bmdsim {bmdsim.__version__}: fracture incidence, {args.n:,} patients x {len(OUTCOMES)} outcomes, "
        f"{YEARS:g}-year horizon, quarter-year step, 1 thread"
    )
    timed(10_000, False)  # warm-up (imports, data files)
    t_point, inc = timed(args.n, False)
    t_band, _ = timed(args.n, True)
    print(f"  incidence, point estimate          : {t_point:7.2f} s  (target < 5 s)")
    print(f"  incidence, with the gradient band  : {t_band:7.2f} s")
    for o in OUTCOMES:
        print(f"  {o:<20} per 1,000 at 1/3/5 y: " + " / ".join(f"{v:.2f}" for v in inc["per_1000"][o]))


if __name__ == "__main__":
    main()
