"""Benchmark: exact crossing times for a cohort of 1,000,000 patients x 3 sites x 3 thresholds.

Prints, for ``bmdsim.simulate_cohort`` (default population with the default
between-patient spread, an AI for 5 years, 20-year horizon, chunks of 100,000):

* wall time of the exact crossing times of every patient at every site for
  thresholds -1.0, -2.0 and -2.5 (drawing the patients included), on one
  thread (the best of ``--repeat`` runs, every run listed) and on the default
  number of threads;
* peak memory: the process's maximum resident set size (``getrusage``) and,
  in a separate run, the peak of memory allocated during the call
  (``tracemalloc``; numpy reports its arrays to it);
* the speed-up over a per-patient Python loop (one scalar ``simulate`` per
  patient, with her loss multipliers), timed on a subset of the same patients
  in the same run and scaled per patient; the two must agree to 1e-9 years.

Run: ``python benchmarks/bench_cohort.py [--n 1000000] [--loop-n 200] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc

import numpy as np

import bmdsim

THRESHOLDS = (-1.0, -2.0, -2.5)
YEARS = 20.0


def timed_cohort(n: int, regimen: bmdsim.Regimen, workers: int | None) -> tuple[float, dict]:
    start = time.perf_counter()
    result = bmdsim.simulate_cohort(n=n, regimen=regimen, years=YEARS, seed=1, chunk_size=100_000, workers=workers)
    times = result.crossing_times(THRESHOLDS)
    return time.perf_counter() - start, times


def looped(patient: bmdsim.Patient, multiplier: dict, regimen: bmdsim.Regimen) -> tuple[float, dict]:
    out = {(s, t): np.empty(patient.n) for s in bmdsim.SITES for t in THRESHOLDS}
    start = time.perf_counter()
    for i in range(patient.n):
        one = bmdsim.Patient(age=patient.age[i], t_score={s: v[i] for s, v in patient.t_score.items()})
        traj = bmdsim.simulate(one, regimen, years=YEARS, loss_multiplier={s: m[i] for s, m in multiplier.items()})
        for s, t in out:
            out[s, t][i] = traj.crossing_time(s, t)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="patients in the cohort")
    parser.add_argument("--loop-n", type=int, default=200, help="patients in the timed Python loop")
    parser.add_argument("--repeat", type=int, default=3, help="one-thread runs; the best is reported, all are listed")
    args = parser.parse_args()

    regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    pairs = len(bmdsim.SITES) * len(THRESHOLDS)
    print(
        f"bmdsim {bmdsim.__version__}: exact crossing times, {args.n:,} patients x {len(bmdsim.SITES)} sites x "
        f"thresholds {', '.join(f'{t:g}' for t in THRESHOLDS)}, {YEARS:g}-year horizon, chunks of 100,000"
    )
    timed_cohort(20_000, regimen, 1)  # warm-up (imports, data files)

    ones = [timed_cohort(args.n, regimen, workers=1) for _ in range(args.repeat)]
    t_one, res = min(ones, key=lambda run: run[0])
    for _, other in ones:
        for key in res:
            assert np.array_equal(res[key], other[key]), "a repeated run changed a result"
    t_default, res2 = timed_cohort(args.n, regimen, workers=None)
    for key in res:
        assert np.array_equal(res[key], res2[key]), "thread count changed a result"
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    if sys.platform == "darwin":
        rss_mb /= 1024  # bytes on macOS

    tracemalloc.start()
    timed_cohort(args.n, regimen, workers=None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    sub = bmdsim.simulate_cohort(n=args.n, regimen=regimen, years=YEARS, seed=1)
    patient, multiplier = sub.patients(0, args.loop_n)
    t_loop, res_loop = looped(patient, multiplier, regimen)
    with np.errstate(invalid="ignore"):  # inf - inf where neither crosses
        worst = max(float(np.max(np.abs(np.nan_to_num(res_loop[k] - res[k][: args.loop_n])))) for k in res)
    assert worst <= 1e-9, f"loop and cohort disagree by {worst:g} years"
    per_patient_loop = t_loop / args.loop_n
    scaled_loop = per_patient_loop * args.n

    runs = ", ".join(f"{t:.2f}" for t, _ in ones)
    print(
        f"  crossing times, 1 thread          : {t_one:7.2f} s  ({args.n * pairs / t_one / 1e6:.1f} M crossings/s; "
        f"best of {args.repeat}: {runs} s)"
    )
    workers = sub.workers
    print(f"  crossing times, {workers} threads (default): {t_default:7.2f} s")
    print(f"  peak resident memory (maxrss)     : {rss_mb:7.0f} MB  (whole process)")
    print(f"  peak traced allocation (one call) : {peak / 2**20:7.0f} MB  (tracemalloc)")
    print(f"  output held (9 arrays of n floats): {pairs * args.n * 8 / 2**20:7.0f} MB")
    print(
        f"  Python loop, {args.loop_n} patients        : {t_loop:7.2f} s  = {per_patient_loop * 1e3:.1f} ms/patient, "
        f"{scaled_loop:,.0f} s scaled to {args.n:,}"
    )
    print(
        f"  speed-up over the loop            : {scaled_loop / t_one:7.0f} x (1 thread), "
        f"{scaled_loop / t_default:.0f} x ({workers} threads); largest difference {worst:.1e} years"
    )


if __name__ == "__main__":
    main()
