"""Benchmark: cohorts whose bone-protective therapy starts on an event, against the shared-curve path.

Prints, for ``bmdsim.simulate_cohort`` (default population, an AI for 5 years,
20-year horizon, chunks of 100,000, exact crossing times at every site for
thresholds -1.0, -2.0 and -2.5, drawing the patients included), in one run:

* the shared-curve baseline: the AI alone, every woman of one age group on one
  curve (as ``bench_cohort.py``);
* zoledronic acid for 3 years from the first DXA scan showing a femoral-neck
  T-score at or below -2.0, with scans every 0.25, 1 and 2 years;
* zoledronic acid from the crossing itself (no scan interval: a start at any
  time, per patient);

each as wall time and as a ratio to the baseline, best of ``--repeat`` runs
(the baseline is timed before and after the others, so that load on the
machine shows in it too). Then, on the first ``--per-patient-n`` patients, the
largest difference of every event-started case from the per-patient search
(``crossing.SPLIT_AT_START = False`` and ``crossing.MAX_SCAN_GROUPS = 0``),
which must be at most 1e-10 years, and the per-patient search's time scaled
to ``--n`` patients.

Run: ``python benchmarks/bench_event_starts.py [--n 1000000] [--per-patient-n 2000] [--repeat 2] [--workers 1]``
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
INTERVALS = (0.25, 1.0, 2.0, None)  # None: started at the crossing itself
AI = bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)
BASELINE = bmdsim.Regimen([AI])
TOLERANCE_YEARS = 1e-10


def event_regimen(interval: float | None) -> bmdsim.Regimen:
    """The AI plus zoledronic acid for 3 years from the femoral-neck T-score -2.0, seen at scans every ``interval``."""
    trigger = bmdsim.AtThreshold("femoral_neck", -2.0, scan_interval=interval)
    return bmdsim.Regimen([AI, bmdsim.Exposure("zoledronic_acid", start=trigger, duration=3)])


def label(interval: float | None) -> str:
    if interval is None:
        return "zoledronic acid from the crossing (no scans)"
    return f"zoledronic acid from a scan every {interval:g} years"


def timed(n: int, regimen: bmdsim.Regimen, workers: int) -> tuple[float, dict]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        result = bmdsim.simulate_cohort(n=n, regimen=regimen, years=YEARS, seed=1, chunk_size=100_000, workers=workers)
    times = result.crossing_times(THRESHOLDS)
    return time.perf_counter() - start, times


def per_patient(n: int, regimen: bmdsim.Regimen, workers: int) -> tuple[float, dict]:
    """The per-patient search on every patient: no split at the start, no scan groups."""
    split, groups = crossing.SPLIT_AT_START, crossing.MAX_SCAN_GROUPS
    crossing.SPLIT_AT_START, crossing.MAX_SCAN_GROUPS = False, 0
    try:
        return timed(n, regimen, workers)
    finally:
        crossing.SPLIT_AT_START, crossing.MAX_SCAN_GROUPS = split, groups


def largest_difference(got: dict, ref: dict) -> float:
    worst = 0.0
    for key, value in ref.items():
        if not np.array_equal(np.isfinite(got[key]), np.isfinite(value)):
            raise SystemExit(f"{key}: the fast path and the per-patient search disagree on who crosses")
        fin = np.isfinite(value)
        worst = max(worst, float(np.abs(got[key][fin] - value[fin]).max(initial=0.0)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="patients in the timed runs")
    parser.add_argument("--per-patient-n", type=int, default=2000, help="patients compared with the per-patient search")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each case (the best is shown)")
    parser.add_argument("--workers", type=int, default=1, help="threads of every run")
    args = parser.parse_args()
    pairs = len(bmdsim.SITES) * len(THRESHOLDS)
    print(
        f"bmdsim {bmdsim.__version__}: exact crossing times, {args.n:,} patients x {len(bmdsim.SITES)} sites x "
        f"thresholds {', '.join(f'{t:g}' for t in THRESHOLDS)}, {YEARS:g}-year horizon, "
        f"{args.workers} thread(s), best of {args.repeat}"
    )
    for interval in INTERVALS:  # warm-up: imports, data files, tables
        timed(20_000, event_regimen(interval), args.workers)
    timed(20_000, BASELINE, args.workers)

    base = [timed(args.n, BASELINE, args.workers)[0] for _ in range(args.repeat)]
    cases = {i: min(timed(args.n, event_regimen(i), args.workers)[0] for _ in range(args.repeat)) for i in INTERVALS}
    base += [timed(args.n, BASELINE, args.workers)[0] for _ in range(args.repeat)]
    baseline = min(base)

    worst, slow = 0.0, {}
    for interval in INTERVALS:
        regimen = event_regimen(interval)
        _, fast = timed(args.per_patient_n, regimen, args.workers)
        slow[interval], ref = per_patient(args.per_patient_n, regimen, args.workers)
        worst = max(worst, largest_difference(fast, ref))

    width = max(len(label(i)) for i in INTERVALS)
    print(
        f"  {'shared-curve baseline (the AI alone)':<{width}} : {baseline:7.2f} s   1.00 x  "
        f"({args.n * pairs / baseline / 1e6:.1f} M crossings/s; runs {', '.join(f'{b:.2f}' for b in base)} s)"
    )
    for interval in INTERVALS:
        scaled = slow[interval] / args.per_patient_n * args.n
        print(
            f"  {label(interval):<{width}} : {cases[interval]:7.2f} s  {cases[interval] / baseline:5.2f} x  "
            f"(per-patient search: {scaled:,.0f} s scaled from {args.per_patient_n:,} patients, "
            f"{scaled / baseline:,.0f} x)"
        )
    print(
        f"  largest difference from the per-patient search on {args.per_patient_n:,} patients, every case: "
        f"{worst:.1e} years"
    )
    if worst > TOLERANCE_YEARS:
        raise SystemExit(f"the fast paths differ from the per-patient search by {worst:.1e} years")


if __name__ == "__main__":
    main()
