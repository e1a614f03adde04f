"""Between-patient spread (bmdsim.spread) and what a cohort's DXA scans show (measured outputs, transitions)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import ndtri

import bmdsim
from bmdsim import _data, spread
from bmdsim.cohort import WHO_CATEGORIES, Variability
from bmdsim.measurement import dxa_precision, scan_error_normals

AI = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
DOC = _data.read_json(spread.SPREAD_FILE)


def cohort(n=4000, regimen=AI, **kwargs):
    kwargs.setdefault("years", 10)
    kwargs.setdefault("seed", 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        return bmdsim.simulate_cohort(n=n, regimen=regimen, **kwargs)


# -- the estimate --------------------------------------------------------------------------------------------------
def test_refit_reproduces_the_shipped_spread():
    """fit_spread on the data file gives the stored 'fitted' values back (rel 1e-9)."""
    fit = spread.fit_spread()
    stored = DOC["fitted"]
    assert fit["cv"] == pytest.approx(stored["cv"], rel=1e-9)
    corr = {k: v for k, v in fit["correlation"].items()}
    assert corr == pytest.approx(stored["correlation_of_log_multipliers"], rel=1e-9)
    assert spread.fitted_document()["fitted"]["cv"] == stored["cv"]


def test_sd_rules_by_hand():
    """Each rule turns the published figures into the SD a hand calculation gives."""
    rows = {r.id: r for r in spread.spread_rows()}
    pou = rows["pouilles_1993_ls"]
    assert (pou.mean_pct, pou.measured_sd) == pytest.approx((-1.5 * 1.75, 2.1 * 1.75), rel=1e-12)
    able = rows["b_able_fn_36m"]
    assert able.measured_sd == pytest.approx((3.0 + 2.79) / ndtri(1 - 0.108), rel=1e-12)
    aribon = rows["aribon_normal_th_24m"]
    assert aribon.measured_sd == pytest.approx((1.3 + 15.9) / 4, rel=1e-12)  # Hozo 2005: range / 4
    cv = dxa_precision()
    for r in rows.values():
        assert r.true_sd == pytest.approx(math.sqrt(r.measured_sd**2 - 2 * (100 * cv[r.site]) ** 2), rel=1e-12)
        assert 0 < r.true_sd < r.measured_sd


def test_fit_is_the_weighted_least_squares_solution():
    """Moving a site's CV either way makes the weighted sum of squares worse."""
    fit = spread.fit_spread()
    rows = spread.spread_rows()
    for site, cv in fit["cv"].items():
        mine = [r for r in rows if r.site == site]

        def sse(c, mine=mine):
            return sum(r.n * (r.true_sd - c * r.size) ** 2 for r in mine)

        assert sse(cv) < sse(cv * 1.01) and sse(cv) < sse(cv * 0.99)
        assert 0.5 < cv < 2.0  # the rows' ratios of true SD to mean change lie between 0.76 and 1.31


def test_a_wrong_rule_in_the_data_is_a_clear_error():
    doc = dict(DOC, rows=[dict(DOC["rows"][0], rule="median")])
    with pytest.raises(ValueError, match="unknown rule 'median'"):
        spread.spread_rows(doc)


# -- the default in cohorts ----------------------------------------------------------------------------------------
def test_cohorts_use_the_estimated_spread_by_default():
    result = cohort(200_000, years=1)
    assert result.variability == spread.default_variability()
    _, m = result.patients()
    fit = spread.fit_spread()
    for s in bmdsim.SITES:
        assert m[s].mean() == pytest.approx(1.0, abs=0.02)
        assert m[s].std() == pytest.approx(fit["cv"][s], rel=0.05)
    logs = np.log(np.stack([m[s] for s in bmdsim.SITES]))
    r = np.corrcoef(logs)
    assert r[0, 1] == pytest.approx(fit["correlation"]["lumbar_spine|femoral_neck"], abs=0.01)


def test_default_spread_follows_the_population_sites():
    pop = bmdsim.cohort.default_population()
    only_hip = bmdsim.Population(age=pop.age, t_score={"femoral_neck": pop.t_score["femoral_neck"]})
    result = cohort(100, population=only_hip)
    assert result.variability.cv == {"femoral_neck": pytest.approx(spread.fit_spread()["cv"]["femoral_neck"])}
    assert result.variability.correlation == {}


def test_spread_makes_women_cross_who_never_would_on_the_mean_loss():
    """0.1 SD above -2.5: on the mean loss nobody in a tight group crosses in 2 months; with the spread some do."""
    tight = bmdsim.Population(
        age=bmdsim.TruncatedNormal(64, 0, 45, 90),
        t_score={"femoral_neck": bmdsim.TruncatedNormal(-2.4, 0, -5, 4)},
    )
    mean = cohort(20_000, population=tight, variability=Variability(), years=2)
    spread_on = cohort(20_000, population=tight, years=2)
    t_mean = mean.crossing_time("femoral_neck", -2.5)
    assert np.unique(t_mean).size == 1
    first = spread_on.fraction_below("femoral_neck", -2.5, [t_mean[0] / 2])["fraction"][0]
    assert 0.05 < first < 0.5


@pytest.mark.parametrize("cv", [3.01, 1e200, -0.1, math.nan, math.inf])
def test_variability_outside_its_plausible_range_is_a_clear_error(cv):
    with pytest.raises(ValueError, match=r"variability.cv\['lumbar_spine'\]"):
        cohort(10, variability=Variability(cv=cv))


@pytest.mark.parametrize("cv", [0.2, -0.01, math.nan])
def test_measurement_error_outside_its_range_is_a_clear_error(cv):
    with pytest.raises(ValueError, match=r"measurement_error\['lumbar_spine'\]"):
        cohort(10, measurement_error={s: cv for s in bmdsim.SITES})


# -- what DXA shows ------------------------------------------------------------------------------------------------
def test_measured_t_scores_are_the_true_ones_seen_through_the_seeded_scan_errors():
    result = cohort(3000)
    times = np.array([0.0, 1.0, 2.5])
    true = result.t_scores("total_hip", times)
    seen = result.t_scores("total_hip", times, measured=True)
    ref = result.reference
    cv = dxa_precision()["total_hip"]
    z = scan_error_normals(result.seed, "total_hip", times, 0, result.n)
    np.testing.assert_allclose(ref.bmd("total_hip", seen), ref.bmd("total_hip", true) * (1 + cv * z), rtol=1e-12)
    ratio = ref.bmd("total_hip", seen) / ref.bmd("total_hip", true) - 1
    assert ratio.std() == pytest.approx(cv, rel=0.05)
    exact = cohort(3000, measurement_error=None)
    np.testing.assert_array_equal(exact.t_scores("total_hip", times, measured=True), true)


def test_lowest_site_is_the_minimum_over_sites():
    result = cohort(500)
    times = [0.0, 3.0]
    each = np.stack([result.t_scores(s, times, measured=True) for s in result.sites])
    np.testing.assert_array_equal(result.t_scores("lowest", times, measured=True), each.min(axis=0))


def test_transitions_add_up_and_match_category_shares():
    result = cohort(5000)
    tr = result.transitions(0.0, 2.0, measured=True)
    assert tr["categories"] == WHO_CATEGORIES
    assert tr["count"].sum() == result.n
    np.testing.assert_array_equal(tr["count"].sum(axis=1), tr["row_total"])
    np.testing.assert_allclose(np.nansum(tr["fraction_of_row"], axis=1)[tr["row_total"] > 0], 1.0)
    shares = result.category_shares([0.0, 2.0], measured=True)["fraction"]
    np.testing.assert_allclose(shares[:, 0], tr["row_total"] / result.n)
    np.testing.assert_allclose(shares[:, 1], tr["count"].sum(axis=0) / result.n)


def test_on_an_ai_nobody_truly_moves_up_but_scans_show_some_who_do():
    result = cohort(5000, measurement_error="shipped")
    truth = result.transitions(0.0, 2.0)["count"]
    assert np.triu(truth, 1).sum() == 0  # true T-scores only fall on an AI
    seen = result.transitions(0.0, 2.0, measured=True)["count"]
    assert np.triu(seen, 1).sum() > 0  # a scan can show a higher category


def test_category_shares_at_baseline_are_those_of_the_drawn_patients():
    result = cohort(3000)
    patient, _ = result.patients()
    t = np.minimum.reduce([patient.t_score[s] for s in result.sites])
    got = result.category_shares(0.0)["fraction"][:, 0]
    want = [np.mean(t <= -2.5), np.mean((t > -2.5) & (t <= -1.0)), np.mean(t > -1.0)]
    np.testing.assert_allclose(got, want)


def test_measured_outputs_do_not_depend_on_chunking():
    a = cohort(3000, chunk_size=3000).transitions(1.0, 4.0, site="femoral_neck", measured=True)["count"]
    b = cohort(3000, chunk_size=701).transitions(1.0, 4.0, site="femoral_neck", measured=True)["count"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.transitions(2.0, 1.0), ValueError, "start_time must be before stop_time"),
        (lambda c: c.transitions(0.0, 11.0), ValueError, "times"),
        (lambda c: c.category_shares(1.0, cuts=[-1.0, -2.5]), ValueError, "strictly increasing"),
        (lambda c: c.category_shares(1.0, cuts="-2.5"), TypeError, "cuts must be a sequence"),
        (lambda c: c.category_shares(1.0, cuts=[math.nan]), ValueError, r"cuts\[0\]"),
        (lambda c: c.category_shares(1.0, measured="yes"), TypeError, "measured must be True or False"),
        (lambda c: c.t_scores("hip", 1.0), ValueError, "hip"),
        (lambda c: c.t_scores("lowest", 1.0, start=5, stop=2), ValueError, "0 <= start < stop"),
        (lambda c: c.t_scores("lowest", 1.0, stop=2.5), TypeError, "stop must be an integer"),
    ],
)
def test_bad_arguments_name_the_field(call, error, match):
    with pytest.raises(error, match=match):
        call(cohort(50))


def test_t_scores_refuse_more_values_than_the_cap(monkeypatch):
    monkeypatch.setattr(bmdsim.cohort, "MAX_T_SCORE_CELLS", 100)
    with pytest.raises(ValueError, match="more than 100 values"):
        cohort(60).t_scores("lowest", [0.0, 1.0])


# -- one patient, with her multiplier ------------------------------------------------------------------------------
def test_simulate_with_the_cohort_multipliers_gives_the_cohort_crossings():
    trigger = bmdsim.AtThreshold("total_hip", -2.0, scan_interval=1)
    regimen = bmdsim.Regimen([AI.exposures[0], bmdsim.Exposure("zoledronic_acid", start=trigger, duration=3)])
    result = cohort(2000, regimen=regimen, chunk_size=700, years=12)
    patient, multiplier = result.patients()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        traj = bmdsim.simulate(patient, regimen, years=12, loss_multiplier=multiplier)
    for s in bmdsim.SITES:
        for t in (-1.0, -2.0, -2.5):
            np.testing.assert_allclose(result.crossing_time(s, t), traj.crossing_time(s, t), rtol=0, atol=1e-12)
    times = np.array([0.0, 3.0, 12.0])
    np.testing.assert_allclose(
        traj.bmd_at("femoral_neck", times), result._chunk(0, 2000).scaled_bmd("femoral_neck", times)
    )


def test_a_multiplier_scales_the_log_loss_of_one_patient():
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5, "lumbar_spine": -1.0})
    mean = bmdsim.simulate(p, AI, years=10)
    fast = bmdsim.simulate(p, AI, years=10, loss_multiplier={"femoral_neck": 2.0})
    change = [mean.percent_change("femoral_neck", 0, 5), fast.percent_change("femoral_neck", 0, 5)]
    assert math.log1p(change[1] / 100) == pytest.approx(2 * math.log1p(change[0] / 100), rel=1e-12)
    assert fast.percent_change("lumbar_spine", 0, 5) == mean.percent_change("lumbar_spine", 0, 5)
    assert fast.crossing_time("femoral_neck", -2.0) < mean.crossing_time("femoral_neck", -2.0)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ({"femoral_neck": 0.0}, ValueError, r"loss_multiplier\['femoral_neck'\] must lie in \(0, 10000\]"),
        ({"femoral_neck": math.nan}, ValueError, "must lie in"),
        ({"femoral_neck": 1e5}, ValueError, "must lie in"),
        ({"femoral_neck": [1.0, 2.0]}, ValueError, "one number or 1"),
        ({"femoral_neck": "2"}, TypeError, "a number or an array"),
        ({"total_hip": 1.0}, ValueError, "no baseline value"),
        ({"hip": 1.0}, ValueError, "hip"),
        ([1.0], TypeError, "loss_multiplier must be a mapping"),
    ],
)
def test_bad_loss_multiplier_names_the_field(value, error, match):
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5})
    with pytest.raises(error, match=match):
        bmdsim.simulate(p, AI, years=10, loss_multiplier=value)


def test_the_spread_report_runs_as_a_module_without_warnings():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "bmdsim.spread"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "cv of the loss multiplier" in result.stdout and result.stderr == ""
