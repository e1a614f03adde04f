"""Shared fixtures for the bmdsim test suite."""

from __future__ import annotations

import numpy as np
import pytest

import bmdsim

#: Age-dependent natural loss at the femoral neck (bands below 60, 60-70, from 70).
AGE_BANDS = {
    "natural.femoral_neck.age_edges_years": [60, 70],
    "natural.femoral_neck.rates_pct_per_year": [2.0, 1.0, 0.5],
    "natural.femoral_neck.age_slope_per_year": 0.0,  # bands replace a smooth age slope
}

#: One day, in years.
ONE_DAY = 1.0 / 365.25


@pytest.fixture
def ai_then_stop() -> bmdsim.Regimen:
    """Five years of aromatase inhibitor from baseline, then stop."""
    return bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])


@pytest.fixture
def age_set() -> bmdsim.ParameterSet:
    """Consensus set with age-dependent natural loss at the femoral neck."""
    return bmdsim.load_parameters("consensus").with_values(AGE_BANDS)


def brute_force_crossing(traj: bmdsim.Trajectory, site: str, threshold: float, spacing: float = 0.05 * ONE_DAY):
    """First time on a dense grid at which the exact T-score is at or below ``threshold`` (scalar patient)."""
    t = np.linspace(0.0, traj.years, int(np.ceil(traj.years / spacing)) + 1)
    t_score = traj.reference.t_score(site, traj.bmd_at(site, t))
    below = np.nonzero(t_score <= threshold)[0]
    return float(t[below[0]]) if below.size else np.inf
