"""Benchmark: a cohort whose bone-protective therapy starts at the DXA scan that sees a threshold.

Prints, for ``bmdsim.simulate_cohort`` (default population, an AI for 5 years
and zoledronic acid for 3 years from the first yearly scan showing a
femoral-neck T-score at or below -2.0, 20-year horizon):

* wall time of the exact crossing times at every site for thresholds -1.0,
  -2.0 and -2.5, with patients grouped by scan time (the default path, see
  :mod:`bmdsim.crossing`), for ``--n`` patients;
* the same for a subset of ``--per-patient-n`` patients with grouping turned
  off (``crossing.MAX_SCAN_GROUPS = 0``: the per-patient search), scaled per
  patient, and the speed-up; both paths must agree to 1e-9 years on the subset.

Run: ``python benchmarks/bench_event_starts.py [--n 1000000] [--per-patient-n 20000]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import bmdsim
from bmdsim import crossing

THRESHOLDS = (-1.0, -2.0, -2.5)
YEARS = 20.0
REGIMEN = bmdsim.Regimen(
    [
        bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5),
        bmdsim.Exposure(
            "zoledronic_acid", start=bmdsim.AtThreshold("femoral_neck", -2.0, scan_interval=1.0), duration=3
        ),
    ]
)


def timed(n: int) -> tuple[float, dict]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        result = bmdsim.simulate_cohort(n=n, regimen=REGIMEN, years=YEARS, seed=1, chunk_size=100_000)
    times = result.crossing_times(THRESHOLDS)
    return time.perf_counter() - start, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="patients in the grouped run")
    parser.add_argument("--per-patient-n", type=int, default=20_000, help="patients in the per-patient run")
    args = parser.parse_args()
    pairs = len(bmdsim.SITES) * len(THRESHOLDS)
    print(
        f"bmdsim {bmdsim.__version__}: zoledronic acid from the first yearly scan at T <= -2.0 (femoral neck), "
        f"exact crossing times, {len(bmdsim.SITES)} sites x thresholds -1, -2, -2.5, {YEARS:g}-year horizon"
    )
    small, small_times = timed(args.per_patient_n)
    grouped, _ = timed(args.n)
    limit = crossing.MAX_SCAN_GROUPS
    crossing.MAX_SCAN_GROUPS = 0
    try:
        slow, slow_times = timed(args.per_patient_n)
    finally:
        crossing.MAX_SCAN_GROUPS = limit
    diff = 0.0
    for key, ref in slow_times.items():
        got = small_times[key]
        if not np.array_equal(np.isfinite(got), np.isfinite(ref)):
            raise SystemExit(f"{key}: the paths disagree on who crosses")
        fin = np.isfinite(ref)
        diff = max(diff, float(np.abs(got[fin] - ref[fin]).max(initial=0.0)))
    if diff > 1e-9:
        raise SystemExit(f"the paths differ by {diff:.1e} years")
    scaled = slow / args.per_patient_n * args.n
    print(
        f"  grouped by scan time, {args.n:>9,} patients : {grouped:8.2f} s  "
        f"({args.n * pairs / grouped / 1e6:.1f} M crossings/s)"
    )
    print(f"  grouped by scan time, {args.per_patient_n:>9,} patients : {small:8.2f} s")
    print(
        f"  per-patient search,   {args.per_patient_n:>9,} patients : {slow:8.2f} s  "
        f"= {scaled:,.0f} s scaled to {args.n:,}"
    )
    print(f"  speed-up: {slow / small:.0f} x on {args.per_patient_n:,} patients; largest difference {diff:.1e} years")


if __name__ == "__main__":
    main()
