"""Benchmark: a guideline policy on 20,000 patients, grouped by start v. the per-patient AtThreshold path.

Prints, for the Hadji 2017 rule with DXA every 12 months (zoledronic acid for
5 years, an AI for 5 years, 10-year horizon, default population, illustrative
risk factors):

* the wall time of :func:`bmdsim.simulate_policy` with exact scans
  (``measurement_error=None``) and with the shipped DXA precision;
* the wall time of the implementation it replaces, in the same process: one
  :class:`bmdsim.AtThreshold` regimen per treatment threshold and triggering
  site, each simulated with per-patient event starts (:func:`bmdsim.simulate`),
  time below -2.5 counted on the same weekly midpoint grid;
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
from bmdsim.policy import DEFAULT_GRID_STEP, hadji_2017, risk_factor_count

YEARS = 10.0
SEED = 2026
PREVALENCE = {"smoking": 0.15, "family_history_hip_fracture": 0.10}  # illustrative, not calibrated


def at_threshold_path(
    policy: bmdsim.Policy, patient: bmdsim.Patient, ai: bmdsim.Regimen, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Starts and years below -2.5 at the femoral neck, the way simulate_policy computed them before grouping."""
    rule = hadji_2017()
    cells = int(np.floor(YEARS / DEFAULT_GRID_STEP + 1e-9))
    mid = (np.arange(cells) + 0.5) * (YEARS / cells)
    start = np.full(patient.n, np.inf)
    below = np.empty(patient.n)
    groups = []
    base = count >= rule.treat_all_count
    course = bmdsim.Exposure(policy.agent, 0.0, duration=policy.duration)
    groups.append((np.flatnonzero(base), bmdsim.Regimen([*ai, course])))
    untreated = bmdsim.simulate(patient, ai, years=YEARS, step=YEARS)
    for k, thr in enumerate(rule.threshold_by_count):
        mask = count == k
        times = np.stack([untreated.crossing_time(s, thr) for s in patient.sites])
        first_site = np.argmin(times, axis=0)
        for j, s in enumerate(patient.sites):
            idx = np.flatnonzero(mask & (first_site == j))
            trigger = bmdsim.AtThreshold(s, thr, scan_interval=policy.scan_interval)
            event = bmdsim.Exposure(policy.agent, trigger, duration=policy.duration)
            groups.append((idx, bmdsim.Regimen([*ai, event])))
    for idx, regimen in groups:
        if not idx.size:
            continue
        sub = bmdsim.Patient(age=patient.age[idx], t_score={s: v[idx] for s, v in patient.t_score.items()})
        traj = bmdsim.simulate(sub, regimen, years=YEARS, step=YEARS)
        t = traj.reference.t_score("femoral_neck", np.atleast_2d(traj.bmd_at("femoral_neck", mid)))
        below[idx] = (t <= -2.5).mean(axis=1) * YEARS
        s, _ = traj.exposure_times([e for e in regimen if e.agent == policy.agent][-1])
        start[idx] = np.broadcast_to(np.asarray(s, dtype=float), idx.shape)
    start[start > YEARS + 1e-9] = np.inf
    return start, below


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
    count = risk_factor_count(rf, patient.age)
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
    t_old, (old_start, old_below) = best_of(args.repeat, at_threshold_path, policy, patient, ai, count)

    same_start = np.array_equal(old_start, exact.start)
    worst = float(np.max(np.abs(old_below - exact.years_below)))
    print(f"per-patient AtThreshold path (before):      {t_old:8.3f} s")
    print(f"grouped, exact scans:                       {t_exact:8.3f} s   speed-up x{t_old / t_exact:,.0f}")
    print(f"grouped, DXA precision error (shipped):     {t_noisy:8.3f} s   speed-up x{t_old / t_noisy:,.0f}")
    print(
        f"exact scans v. before: identical starts {same_start}; largest difference in years below "
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
