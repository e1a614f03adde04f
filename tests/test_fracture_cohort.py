"""Cohort summaries of relative fracture risk: exact against simulate, chunking, invariants, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bmdsim
from bmdsim import fracture
from bmdsim.cohort import TruncatedNormal, Variability

AI = bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)
ZOL = bmdsim.Exposure("zoledronic_acid", start=0, stop=5)
AI_ALONE = bmdsim.Regimen([AI])
AI_ZOL = bmdsim.Regimen([AI, ZOL])
#: An AI started per patient on an event, so the multiplier's on-times differ between women.
AI_ON_EVENT = bmdsim.Regimen(
    [bmdsim.Exposure("aromatase_inhibitor", start=bmdsim.AtThreshold("total_hip", -1.5, scan_interval=1.0), duration=3)]
)
YEARS = 12.0
TIMES = np.arange(0.0, YEARS + 1)
Q = (0.0, 10.0, 50.0, 90.0, 100.0)
#: Percentiles are read from histograms of ln(RR) with bins of 0.001: within one bin of an order statistic.
PERCENTILE_RTOL = math.expm1(fracture.LOG_RR_BIN) * (1 + 1e-9)


def cohort(n=400, regimen=AI_ALONE, years=YEARS, **kwargs):
    kwargs.setdefault("seed", 11)
    kwargs.setdefault("variability", bmdsim.Variability())  # the mean patient's loss, as bmdsim.simulate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        return bmdsim.simulate_cohort(n=n, regimen=regimen, years=years, **kwargs)


def per_patient(result, site, outcome, reference, bound, ai_multiplier):
    """The same women simulated with bmdsim.simulate, at TIMES: (rr of each woman, relative incidence)."""
    patient, _ = result.patients()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        traj = bmdsim.simulate(patient, result.regimen, years=result.years, step=1.0)
    assert np.array_equal(traj.time, TIMES)
    ref = None if reference == "baseline" else reference
    rr = fracture.relative_risk(traj, site, outcome, ref, bound, ai_multiplier)
    against_baseline = fracture.relative_risk(traj, site, outcome, None, bound, ai_multiplier)
    t0 = traj.t_score(site)[:, 0]
    g = fracture.gradient(outcome, site, bound)
    # R(t) = sum_i m_i(t) g^-T_i(t) / sum_i g^-T_i(0) = weighted mean of RR against baseline, weights g^-T_i(0)
    weights = g**-t0
    incidence = (weights[:, None] * against_baseline).sum(axis=0) / weights.sum()
    return rr, incidence


@pytest.mark.parametrize(
    "regimen, site, outcome, reference, bound, ai_multiplier",
    [
        (AI_ALONE, "total_hip", "hip", "baseline", "estimate", False),
        (AI_ZOL, "lumbar_spine", "vertebral", "baseline", "low", True),
        (AI_ON_EVENT, "femoral_neck", "any", -1.0, "high", True),
        (AI_ON_EVENT, "total_hip", "hip", 0.0, "estimate", False),
    ],
)
def test_cohort_summaries_equal_the_per_patient_relative_risk(regimen, site, outcome, reference, bound, ai_multiplier):
    """Mean and relative incidence match relative_risk on the same women to round-off; percentiles to one bin."""
    result = cohort(regimen=regimen, chunk_size=150)
    out = fracture.cohort_relative_risk(result, site, TIMES, outcome, reference, bound, ai_multiplier, q=Q)
    rr, incidence = per_patient(result, site, outcome, reference, bound, ai_multiplier)
    np.testing.assert_allclose(out["mean"], rr.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(out["relative_incidence"], incidence, rtol=1e-12)
    exact = np.percentile(rr, Q, axis=0, method="inverted_cdf")
    np.testing.assert_allclose(out["percentiles"], exact, rtol=PERCENTILE_RTOL)
    np.testing.assert_allclose(out["percentiles"][[0, -1]], [rr.min(axis=0), rr.max(axis=0)], rtol=1e-12)
    for k, b in enumerate(("low", "high")):
        rr_b, incidence_b = per_patient(result, site, outcome, reference, b, ai_multiplier)
        np.testing.assert_allclose(out["mean_ci"][k], rr_b.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(out["relative_incidence_ci"][k], incidence_b, rtol=1e-12)
    assert out["gradient"] == fracture.gradient(outcome, site, bound)
    assert (out["site"], out["outcome"], out["bound"], out["reference"]) == (site, outcome, bound, reference)


def test_the_ai_multiplier_follows_each_womans_own_course():
    """With an event-started AI, women on it at a time carry 1.17 and the others not: the mean lies between."""
    result = cohort(regimen=AI_ON_EVENT)
    plain = fracture.cohort_relative_risk(result, "total_hip", TIMES, "hip")
    with_ai = fracture.cohort_relative_risk(result, "total_hip", TIMES, "hip", ai_multiplier=True)
    ratio = with_ai["mean"] / plain["mean"]
    assert np.all(ratio >= 1 - 1e-12) and np.all(ratio <= 1.17 + 1e-12)
    assert np.any((ratio > 1.001) & (ratio < 1.169))  # some women on it, some not, at the same time


@pytest.mark.parametrize("variability", [None, Variability(cv=0.3, correlation=0.5)])
def test_results_do_not_depend_on_chunk_size(variability):
    runs = [
        fracture.cohort_relative_risk(
            cohort(3000, AI_ZOL, chunk_size=size, variability=variability), "lumbar_spine", TIMES, "vertebral", q=Q
        )
        for size in (100_000, 997, 64)
    ]
    for other in runs[1:]:
        for key in ("mean", "mean_ci", "relative_incidence", "relative_incidence_ci"):
            np.testing.assert_allclose(other[key], runs[0][key], rtol=1e-13)
        # Same histograms up to a value on a bin edge moving by round-off (numpy SIMD paths differ by batch).
        np.testing.assert_allclose(other["percentiles"], runs[0]["percentiles"], rtol=1e-12)


def test_relative_risk_is_one_at_baseline_and_incidence_does_not_depend_on_the_reference():
    result = cohort(regimen=AI_ZOL)
    out = fracture.cohort_relative_risk(result, "total_hip", [0.0, 3.0, 7.5], "hip", q=Q)
    assert out["mean"][0] == 1.0 and out["relative_incidence"][0] == 1.0
    assert np.all(out["percentiles"][:, 0] == 1.0)
    assert np.all(out["mean_ci"][:, 0] == 1.0) and np.all(out["relative_incidence_ci"][:, 0] == 1.0)
    fixed = fracture.cohort_relative_risk(result, "total_hip", [0.0, 3.0, 7.5], "hip", reference=0.0)
    np.testing.assert_array_equal(fixed["relative_incidence"], out["relative_incidence"])
    # Against the young-adult mean, each woman's RR is g^(-T): above 1 at baseline for this cohort (mean T < 0).
    patient, _ = result.patients()
    expected = np.mean(2.6 ** -result._chunk(0, result.n).scaled_t_score("total_hip", np.array([0.0]))[:, 0])
    assert fixed["mean"][0] == pytest.approx(expected, rel=1e-12)
    assert fixed["mean"][0] > 1


def test_gradient_ci_orders_the_band_where_t_scores_fall_and_reverses_it_where_they_rise():
    """Falling T (AI alone): low <= estimate <= high. Rising T (zoledronic acid, first year): the reverse."""
    falling = cohort(regimen=AI_ALONE)
    out = fracture.cohort_relative_risk(falling, "total_hip", TIMES[1:], "hip")
    for key in ("mean", "relative_incidence"):
        low, high = out[f"{key}_ci"]
        assert np.all((low < out[key]) & (out[key] < high)), key
    rising = cohort(regimen=AI_ZOL)
    out = fracture.cohort_relative_risk(rising, "total_hip", [0.5, 1.0], "hip")
    assert np.all(out["mean"] < 1)  # the gain lowers the risk
    for key in ("mean", "relative_incidence"):
        low, high = out[f"{key}_ci"]
        assert np.all((high < out[key]) & (out[key] < low)), key
    pct = {
        b: fracture.cohort_relative_risk(falling, "total_hip", TIMES, "hip", bound=b)["percentiles"]
        for b in ("low", "estimate", "high")
    }
    assert np.all(pct["low"] <= pct["estimate"]) and np.all(pct["estimate"] <= pct["high"])


SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, database=None)
OUTCOME_SITES = st.sampled_from(
    [("hip", "total_hip"), ("hip", "femoral_neck"), ("vertebral", "lumbar_spine"), ("any", "femoral_neck")]
)


def _summaries(regimen, outcome_site, ai_multiplier, params="consensus"):
    outcome, site = outcome_site
    result = cohort(200, regimen, params=params)
    return fracture.cohort_relative_risk(result, site, TIMES, outcome, ai_multiplier=ai_multiplier, q=Q)


def _no_higher(a, b):
    """Every summary of ``a`` is at most that of ``b`` (round-off allowed)."""
    for key in ("mean", "mean_ci", "relative_incidence", "relative_incidence_ci", "percentiles"):
        assert np.all(a[key] <= b[key] * (1 + 1e-12)), key


@SETTINGS
@given(
    agent=st.sampled_from(["zoledronic_acid", "oral_bisphosphonate", "denosumab"]),
    start=st.floats(0, 8),
    length=st.floats(0.25, 5),
    on_event=st.booleans(),
    outcome_site=OUTCOME_SITES,
    ai_multiplier=st.booleans(),
)
def test_a_bone_protective_therapy_never_raises_the_risk(agent, start, length, on_event, outcome_site, ai_multiplier):
    """Adding a course started at or after baseline never raises any summary, on the same women."""
    therapy_start = bmdsim.AtThreshold("total_hip", -2.0, scan_interval=1.0) if on_event else start
    therapy = (
        bmdsim.Exposure(agent, start=therapy_start, duration=length)
        if on_event
        else bmdsim.Exposure(agent, start=start, stop=start + length)
    )
    without = _summaries(AI_ALONE, outcome_site, ai_multiplier)
    with_it = _summaries(bmdsim.Regimen([AI, therapy]), outcome_site, ai_multiplier)
    _no_higher(with_it, without)
    if not on_event and agent != "denosumab":  # a bisphosphonate's gain wears off over years: still lower at the end
        assert with_it["relative_incidence"][-1] < without["relative_incidence"][-1]


@SETTINGS
@given(extra=st.floats(0.05, 3.0), outcome_site=OUTCOME_SITES, ai_multiplier=st.booleans())
def test_more_loss_means_higher_relative_risk(extra, outcome_site, ai_multiplier):
    """A larger AI late excess at every site never lowers any summary and raises the relative incidence."""
    base = bmdsim.load_parameters("consensus")
    faster = base.with_values(
        {
            f"aromatase_inhibitor.{s}.late_excess_pct_per_year": base.values[
                f"aromatase_inhibitor.{s}.late_excess_pct_per_year"
            ]
            + extra
            for s in bmdsim.SITES
        }
    )
    slow = _summaries(AI_ALONE, outcome_site, ai_multiplier, params=base)
    fast = _summaries(AI_ALONE, outcome_site, ai_multiplier, params=faster)
    _no_higher(slow, fast)
    assert np.all(fast["relative_incidence"][1:] > slow["relative_incidence"][1:])


def test_compare_fracture_risk_uses_the_same_women_for_every_regimen():
    regimens = {"AI alone": AI_ALONE, "AI + zoledronic acid": AI_ZOL}
    table = fracture.compare_fracture_risk(regimens, n=500, years=YEARS, seed=5, at_years=(5, 10))
    assert list(table) == [
        "regimen",
        "relative_incidence_5y",
        "relative_incidence_5y_gradient_low",
        "relative_incidence_5y_gradient_high",
        "median_rr_5y",
        "relative_incidence_10y",
        "relative_incidence_10y_gradient_low",
        "relative_incidence_10y_gradient_high",
        "median_rr_10y",
    ]
    assert table["regimen"] == list(regimens)
    for row, regimen in enumerate(regimens.values()):
        women = cohort(500, regimen, seed=5, variability=None)  # the default spread, as compare_fracture_risk
        out = fracture.cohort_relative_risk(women, "total_hip", [5, 10], "hip", q=(50,))
        assert table["relative_incidence_10y"][row] == out["relative_incidence"][1]
        assert table["relative_incidence_5y_gradient_high"][row] == out["relative_incidence_ci"][1, 0]
        assert table["median_rr_5y"][row] == out["percentiles"][0, 0]
    assert table["relative_incidence_10y"][1] < table["relative_incidence_10y"][0]


def one_site_population():
    return bmdsim.Population(
        age=TruncatedNormal(64, 9, 45, 90), t_score={"total_hip": TruncatedNormal(-1, 1, -4, 2)}, name="hip only"
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"outcome": "wrist"}, ValueError, r"unknown outcome 'wrist'; valid values are: any, vertebral, hip"),
        ({"outcome": "vertebral"}, ValueError, r"site 'total_hip' does not predict 'vertebral'.*lumbar_spine"),
        ({"site": "lumbar_spine", "outcome": "vertebral"}, ValueError, r"site 'lumbar_spine' was not simulated"),
        ({"site": "hip"}, ValueError, r"unknown site 'hip'"),
        ({"times": [0, 5, 16]}, ValueError, r"times must lie in \[0, 12\] years, got 16 years"),
        ({"times": [-1]}, ValueError, r"times must lie in \[0, 12\] years, got -1 years"),
        ({"times": [float("nan")]}, ValueError, r"times must be finite"),
        ({"reference": "base"}, ValueError, r"reference must be 'baseline' or a T-score \[SD\], got 'base'"),
        ({"reference": float("nan")}, ValueError, r"reference must be a finite number, got nan"),
        ({"reference": 9.0}, ValueError, r"reference must lie in \[-6, 4\] SD, got 9 SD"),
        ({"reference": True}, TypeError, r"reference must be 'baseline' or a T-score \[SD\], got True"),
        ({"reference": None}, TypeError, r"reference must be 'baseline' or a T-score \[SD\], got None"),
        ({"bound": "upper"}, ValueError, r"unknown bound 'upper'; valid values are: estimate, low, high"),
        ({"q": (50, 101)}, ValueError, r"q must be percentiles in \[0, 100\]"),
        ({"ai_multiplier": "yes"}, TypeError, r"ai_multiplier must be True or False, got 'yes'"),
    ],
)
def test_bad_requests_name_the_field(kwargs, error, match):
    result = cohort(50, population=one_site_population())
    args = {"site": "total_hip", "times": [0, 5], "outcome": "hip"} | kwargs
    with pytest.raises(error, match=match):
        fracture.cohort_relative_risk(result, **args)


def test_bad_table_requests_are_refused_before_simulating():
    with pytest.raises(TypeError, match=r"result must be a bmdsim.CohortResult, got Trajectory"):
        traj = bmdsim.simulate(bmdsim.Patient(age=60, t_score={"total_hip": -1.0}), AI_ALONE, years=5)
        fracture.cohort_relative_risk(traj, "total_hip", [0, 5], "hip")
    with pytest.raises(ValueError, match=r"regimens must be a non-empty mapping"):
        fracture.compare_fracture_risk({}, n=10, years=5, seed=1)
    with pytest.raises(ValueError, match=r"site 'lumbar_spine' does not predict 'hip'"):
        fracture.compare_fracture_risk({"AI": AI_ALONE}, n=10, years=5, seed=1, site="lumbar_spine")
    with pytest.raises(ValueError, match=r"times must lie in \[0, 5\] years, got 10 years"):
        fracture.compare_fracture_risk({"AI": AI_ALONE}, n=10, years=5, seed=1, at_years=(10,))
