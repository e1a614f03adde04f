"""``python -m bmdsim``: the default scenario, its crossing times and its figure.

A 63-year-old woman with T-scores of -1.2 (lumbar spine), -1.5 (femoral neck)
and -1.3 (total hip) takes an aromatase inhibitor for 5 years and stops; the
consensus parameter set is simulated for 15 years. The command prints the
first time each site's T-score reaches -1.0, -2.0 and -2.5, the BMD change
over the AI course and over the 5 years after it, and writes the figure.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from . import Exposure, Patient, Regimen, available_parameter_sets, simulate
from .simulation import DEFAULT_THRESHOLDS
from .sites import SITE_LABELS

DEFAULT_PATIENT = {"age": 63, "t_score": {"lumbar_spine": -1.2, "femoral_neck": -1.5, "total_hip": -1.3}}
DEFAULT_AI_YEARS = (0.0, 5.0)
DEFAULT_HORIZON_YEARS = 15.0


def _fmt(t: float) -> str:
    if t == 0:
        return "at baseline"
    return "not reached" if not np.isfinite(t) else f"{t:6.2f} y"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bmdsim", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bmdsim-output", help="folder for the figure (default: bmdsim-output)")
    parser.add_argument("--params", default="consensus", choices=available_parameter_sets(), help="parameter set")
    parser.add_argument("--no-figure", action="store_true", help="print the numbers only")
    args = parser.parse_args(argv)

    patient = Patient(**DEFAULT_PATIENT)
    regimen = Regimen([Exposure("aromatase_inhibitor", start=DEFAULT_AI_YEARS[0], stop=DEFAULT_AI_YEARS[1])])
    traj = simulate(patient, regimen, years=DEFAULT_HORIZON_YEARS, step=1 / 12, params=args.params)

    print(
        f"bmdsim default scenario: age 63, AI for years 0-5 then stopped, {DEFAULT_HORIZON_YEARS:g} years, "
        f"parameter set '{args.params}'"
    )
    print("First time the T-score is at or below each threshold:")
    print(f"  {'site':<14}" + "".join(f"{'T <= ' + format(t, 'g'):>14}" for t in DEFAULT_THRESHOLDS))
    for site in traj.sites:
        cells = "".join(f"{_fmt(float(traj.crossing_time(site, t))):>14}" for t in DEFAULT_THRESHOLDS)
        print(f"  {SITE_LABELS[site]:<14}{cells}")
    print("BMD change, per cent:")
    for site in traj.sites:
        on = float(traj.percent_change(site, 0, 5))
        after = float(traj.percent_change(site, 5, 10))
        print(f"  {SITE_LABELS[site]:<14} years 0-5 (on AI) {on:+6.2f}   years 5-10 (after) {after:+6.2f}")

    if not args.no_figure:
        os.environ.setdefault("MPLBACKEND", "Agg")
        import matplotlib.pyplot as plt

        from .plot import plot_trajectory, save_figure

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        ax = plot_trajectory(traj)
        ax.set_title("T-score on 5 years of an aromatase inhibitor, then withdrawal (consensus rates)")
        path = out / "default_scenario.png"
        save_figure(ax.figure, str(path))
        plt.close(ax.figure)
        print(f"figure written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
