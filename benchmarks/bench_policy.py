"""Benchmark: a guideline policy on 20,000 patients, grouped by start v. the engine's per-patient event path.

Prints, for the Hadji 2017 rule with DXA every 12 months (zoledronic acid for
5 years, an AI for 5 years, 10-year horizon, default population, illustrative
risk factors):

* the wall time of :func:`bmdsim.simulate_policy` with exact scans
  (``measurement_error=None``) and with the shipped DXA precision;
* the wall time of the same policy as event-started exposures
  (:func:`bmdsim.policy.simulate_policy_by_events`): one
  :class:`bmdsim.AtThreshold` regimen per treatment threshold and watched
  site, each start resolved per patient by the cohort engine's event search
  (:class:`bmdsim.cohort.PatientSet`), time below -2.5 counted on the same
  weekly midpoint grid;
* the ratio, and a check that the exact-scan starts agree and the years below
  -2.5 agree to within one grid step per patient.

Each time is the best of ``--repeat`` runs (the machine may be shared).

Run: ``python benchmarks/bench_policy.py [--n 20000] [--interval 1.0]``
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import bmdsim
from bmdsim.policy import simulate_policy_by_events

YEARS = 10.0
SEED = 2026
PREVALENCE = {"smoking": 0.15, "family_history_hip_fracture": 0.10}  # illustrative, not calibrated


def best_of(repeat: int, func: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Shortest wall time [s] of ``repeat`` calls, and the last result."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="patients")
    parser.add_argument("--interval", type=float, default=1.0, help="years between scans")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (the best is printed)")
    args = parser.parse_args()

    ai = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    patient, _ = bmdsim.simulate_cohort(args.n, ai, YEARS, seed=SEED).patients()
    rng = np.random.default_rng(SEED)
    rf = {name: rng.random(args.n) < p for name, p in PREVALENCE.items()}
    policy = bmdsim.Policy("scan", scan_interval=args.interval)
    print(
        f"bmdsim {bmdsim.__version__}: Hadji 2017 rule, scans every {args.interval:g} years, {args.n:,} patients, "
        f"{YEARS:g}-year horizon, weekly grid for time below -2.5"
    )
    bmdsim.simulate_policy(policy, patient, ai, YEARS, rf, measurement_error=None)  # warm-up (data files)

    t_exact, exact = best_of(
        args.repeat, bmdsim.simulate_policy, policy, patient, ai, YEARS, rf, measurement_error=None
    )
    t_noisy, noisy = best_of(args.repeat, bmdsim.simulate_policy, policy, patient, ai, YEARS, rf, seed=SEED)
    t_old, (old_start, old_below) = best_of(args.repeat, simulate_policy_by_events, policy, patient, ai, YEARS, rf)

    same_start = np.array_equal(old_start, exact.start)
    worst = float(np.max(np.abs(old_below - exact.years_below)))
    print(f"event-started exposures (AtThreshold path): {t_old:8.3f} s")
    print(f"grouped, exact scans:                       {t_exact:8.3f} s   speed-up x{t_old / t_exact:,.0f}")
    print(f"grouped, DXA precision error (shipped):     {t_noisy:8.3f} s   speed-up x{t_old / t_noisy:,.0f}")
    print(
        f"exact scans v. event path: identical starts {same_start}; largest difference in years below "
        f"{worst:.2e} years (grid step {exact.grid_step:.4f})"
    )
    row = noisy.summary()
    print(
        f"with error: treated {row['fraction_treated']:.3f}, "
        f"false-positive starts {row['fraction_false_positive']:.3f}, "
        f"true crossers undetected {row['fraction_crossers_undetected']:.3f}"
    )
    assert same_start and worst <= exact.grid_step + 1e-12


if __name__ == "__main__":
    main()
