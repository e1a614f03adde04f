"""Benchmark: exact crossing times for 100,000 patients x 3 sites.

Prints the wall time of the vectorised call (``Trajectory.crossing_time`` on
arrays of patients) and of the same work done patient by patient in a Python
loop (scalar ``Patient`` objects, one ``simulate`` each), measured on a subset
in the same process and scaled per patient, and their ratio. Two parameter
sets are timed: ``consensus`` (natural loss constant in age, so patients
share one loss curve) and an age-banded variant (the per-patient path).

Run: ``python benchmarks/bench_crossing.py [--n 100000] [--loop-n 300]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import bmdsim

SITES = bmdsim.SITES
THRESHOLD = -2.5


def cohort(n: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Ages 50-80 and T-scores around -1.5 (benchmark inputs, not a calibrated population)."""
    rng = np.random.default_rng(seed)
    ages = rng.uniform(50, 80, n)
    t = {s: np.clip(rng.normal(-1.5, 0.8, n), -5.5, 3.5) for s in SITES}
    return ages, t


def vectorised(ages, t, regimen, params) -> tuple[float, dict[str, np.ndarray]]:
    start = time.perf_counter()
    traj = bmdsim.simulate(bmdsim.Patient(age=ages, t_score=t), regimen, years=15, params=params)
    out = {s: traj.crossing_time(s, THRESHOLD) for s in SITES}
    return time.perf_counter() - start, out


def looped(ages, t, regimen, params) -> tuple[float, dict[str, np.ndarray]]:
    start = time.perf_counter()
    out = {s: np.empty(ages.size) for s in SITES}
    for i in range(ages.size):
        traj = bmdsim.simulate(
            bmdsim.Patient(age=ages[i], t_score={s: t[s][i] for s in SITES}), regimen, years=15, params=params
        )
        for s in SITES:
            out[s][i] = traj.crossing_time(s, THRESHOLD)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="patients in the vectorised run")
    parser.add_argument("--loop-n", type=int, default=300, help="patients in the timed Python loop")
    args = parser.parse_args()

    regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    banded = bmdsim.load_parameters("consensus").with_values(
        {f"natural.{s}.age_edges_years": [65.0] for s in SITES}
        | {f"natural.{s}.rates_pct_per_year": [1.8, 1.2] for s in SITES}
    )
    ages, t = cohort(args.n, seed=1)
    print(f"bmdsim {bmdsim.__version__}: crossing times of T <= {THRESHOLD} at {len(SITES)} sites, 15-year horizon")
    header = ("parameter set", "patients", "vectorised s", "loop s/patient", "loop s (scaled)", "ratio")
    print(f"{header[0]:<28}" + "".join(f"{h:>{w}}" for h, w in zip(header[1:], (10, 14, 16, 17, 9), strict=True)))
    for label, params in (("consensus (shared curve)", "consensus"), ("age-banded (per patient)", banded)):
        vectorised(ages[:100], {s: v[:100] for s, v in t.items()}, regimen, params)  # warm-up
        t_vec, res = vectorised(ages, t, regimen, params)
        sub = slice(0, args.loop_n)
        t_loop, res_loop = looped(ages[sub], {s: v[sub] for s, v in t.items()}, regimen, params)
        for s in SITES:  # the two ways must agree
            np.testing.assert_allclose(res_loop[s], res[s][sub], rtol=0, atol=1e-8)
        per_patient = t_loop / args.loop_n
        scaled = per_patient * args.n
        print(f"{label:<28}{args.n:>10d}{t_vec:>14.3f}{per_patient:>16.2e}{scaled:>17.1f}{scaled / t_vec:>9.0f}")


if __name__ == "__main__":
    main()
