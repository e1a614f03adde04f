"""Tests of exact threshold-crossing times."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import AGE_BANDS, ONE_DAY, brute_force_crossing

import bmdsim
from bmdsim.crossing import (
    ROOT_TOLERANCE_YEARS,
    _first_crossing_per_patient,
    canonical_state,
    checkpoint_times,
    first_crossing,
)
from bmdsim.model import PatientState, SiteModel

#: Consensus, but the femoral-neck T-score dips on the AI and recovers after it: strong AI excess, full recovery.
DIP_AND_RECOVER = {
    "natural.femoral_neck.rates_pct_per_year": [1.0],
    "aromatase_inhibitor.femoral_neck.late_excess_pct_per_year": 4.0,
    "aromatase_inhibitor.femoral_neck.early_excess_pct_per_year": 5.0,
    "aromatase_inhibitor.early_time_constant_years": 0.5,
    "aromatase_inhibitor.femoral_neck.recovery_fraction": 1.0,
}


def dip_set() -> bmdsim.ParameterSet:
    """Parameter set whose femoral-neck trajectory falls on the AI, recovers, then declines again."""
    return bmdsim.load_parameters("consensus").with_values(DIP_AND_RECOVER)


@pytest.mark.parametrize(("rate", "t0", "threshold"), [(1.5, -1.0, -2.5), (0.7, 0.5, -1.0), (3.0, -2.0, -2.1)])
def test_natural_loss_crossing_matches_closed_form(rate, t0, threshold):
    """Constant loss r %/yr: t = ln(B0 / B*) / (r / 100)."""
    params = bmdsim.load_parameters("consensus").with_values({"natural.femoral_neck.rates_pct_per_year": [rate]})
    p = bmdsim.Patient(age=60, t_score={"femoral_neck": t0})
    traj = bmdsim.simulate(p, years=60, params=params)
    ref = traj.reference
    expected = math.log(ref.bmd("femoral_neck", t0) / ref.bmd("femoral_neck", threshold)) / (rate / 100)
    assert traj.crossing_time("femoral_neck", threshold) == pytest.approx(expected, abs=1e-8)


def test_ai_phase_crossing_matches_closed_form():
    """On the AI under consensus (2.5 %/yr in total), a crossing before the stop is ln(B0/B*)/0.025."""
    p = bmdsim.Patient(age=63, bmd={"femoral_neck": 0.7})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    traj = bmdsim.simulate(p, r, years=15, params="consensus")
    threshold = -2.0  # BMD* = 0.618 g/cm2, reached at 4.98 years
    expected = math.log(0.7 / traj.reference.bmd("femoral_neck", threshold)) / 0.025
    assert expected < 5
    assert traj.crossing_time("femoral_neck", threshold) == pytest.approx(expected, abs=1e-8)


def test_crossing_time_puts_t_score_on_the_threshold():
    """At the crossing time the exact T-score is the threshold, and just before it is above."""
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5})
    traj = bmdsim.simulate(
        p, bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)]), years=15, params="consensus"
    )
    t = traj.crossing_time("femoral_neck", -2.5)
    ref = traj.reference
    assert ref.t_score("femoral_neck", traj.bmd_at("femoral_neck", t)) == pytest.approx(-2.5, abs=1e-10)
    assert ref.t_score("femoral_neck", traj.bmd_at("femoral_neck", t - 1e-6)) > -2.5


def assert_matches_brute_force(traj, site, threshold):
    """The exact crossing agrees with a dense grid within one day (both inf when never reached)."""
    exact = traj.crossing_time(site, threshold)
    brute = brute_force_crossing(traj, site, threshold)
    if math.isinf(brute):
        assert math.isinf(exact)
    else:
        assert abs(exact - brute) < ONE_DAY


@pytest.mark.parametrize("threshold", [-1.6, -2.0, -2.3, -2.45, -2.55, -2.6, -2.65])
def test_non_monotone_trajectory_matches_brute_force(threshold):
    """Dip on the AI, recovery, later decline: the first crossing agrees with a dense grid within one day."""
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.0})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    traj = bmdsim.simulate(p, r, years=40, params=dip_set())
    assert_matches_brute_force(traj, "femoral_neck", threshold)


def test_dip_then_recovery_finds_first_not_last_crossing():
    """A threshold reached during the dip and again decades later is reported at the dip."""
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.0})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    traj = bmdsim.simulate(p, r, years=40, params=dip_set())
    t_score = traj.t_score("femoral_neck")
    at_stop = t_score[np.searchsorted(traj.time, 5.0)]
    assert t_score[traj.time > 8].max() > at_stop + 0.5  # the trajectory does recover
    assert t_score[-1] < at_stop  # and later falls below the dip
    early = traj.crossing_time("femoral_neck", at_stop + 0.05)
    late = traj.crossing_time("femoral_neck", at_stop - 0.05)
    assert early < 5
    assert late > 20


def test_threshold_reached_only_at_an_interior_minimum_of_bmd():
    """BMD with a minimum strictly inside a checkpoint cell: thresholds just above and below it are resolved.

    A front-loaded AI course with tamoxifen alongside: the loss rate early + exp(-tau / T) - net changes sign
    from + to - at tau = T ln(early / net), about 1.1 years, away from every breakpoint.
    """
    params = bmdsim.load_parameters("consensus").with_values(
        {
            "aromatase_inhibitor.lumbar_spine.late_excess_pct_per_year": 0.0,
            "aromatase_inhibitor.lumbar_spine.early_excess_pct_per_year": 5.0,
            "aromatase_inhibitor.early_time_constant_years": 0.5,
        }
    )
    net = params["tamoxifen.lumbar_spine.net_change_pct_per_year"]
    t_min = 0.5 * math.log(5.0 / net)
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5), bmdsim.Exposure("tamoxifen", 0, 10)])
    traj = bmdsim.simulate(bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.0}), r, years=10, params=params)
    low = float(traj.reference.t_score("lumbar_spine", traj.bmd_at("lumbar_spine", t_min)))
    t = np.linspace(0, 10, 200_001)
    assert traj.reference.t_score("lumbar_spine", traj.bmd_at("lumbar_spine", t)).min() >= low - 1e-12
    assert not np.any(np.isclose(t_min, traj.time)) and 0.5 < t_min < 2
    assert math.isinf(traj.crossing_time("lumbar_spine", low - 1e-6))
    just_above = traj.crossing_time("lumbar_spine", low + 1e-9)
    assert abs(just_above - t_min) < 0.01
    for threshold in (low + 1e-4, low + 0.01):
        exact = traj.crossing_time("lumbar_spine", threshold)
        assert exact < t_min
        assert abs(exact - brute_force_crossing(traj, "lumbar_spine", threshold)) < ONE_DAY


@pytest.mark.parametrize("age", [55.0, 59.5, 62.0, 68.0, 75.0])
@pytest.mark.parametrize("threshold", [-1.8, -2.0, -2.5])
def test_age_dependent_natural_loss_matches_brute_force(age_set, age, threshold):
    """With natural loss changing at ages 60 and 70, crossings agree with a dense grid within one day."""
    p = bmdsim.Patient(age=age, t_score={"femoral_neck": -1.5})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    traj = bmdsim.simulate(p, r, years=30, params=age_set)
    assert_matches_brute_force(traj, "femoral_neck", threshold)


def test_age_dependent_natural_loss_closed_form():
    """Natural loss only, 2 %/yr before 60 and 1 %/yr from 60: crossing after the edge has a closed form."""
    params = bmdsim.load_parameters("consensus").with_values(AGE_BANDS)
    p = bmdsim.Patient(age=58, bmd={"femoral_neck": 0.75})
    traj = bmdsim.simulate(p, years=10, params=params)
    target = math.log(0.75 / traj.reference.bmd("femoral_neck", -1.5))  # 0.0817 log-loss
    expected = 2 + (target - 0.04) / 0.01
    assert 2 < expected < 12
    assert traj.crossing_time("femoral_neck", -1.5) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("params_name", ["consensus", "brex", "dip", "age"])
def test_crossing_time_does_not_depend_on_step(params_name):
    """The same patient simulated with different output steps gives identical crossing times."""
    params = {"dip": dip_set(), "age": bmdsim.load_parameters("consensus").with_values(AGE_BANDS)}.get(
        params_name, params_name
    )
    p = bmdsim.Patient(age=[58.0, 63.0, 71.0], t_score={"femoral_neck": [-1.0, -1.5, -2.0]})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    results = [
        bmdsim.simulate(p, r, years=25, step=step, params=params).crossing_time("femoral_neck", -2.4)
        for step in (1 / 365, 1 / 12, 0.7, 5.0, 25.0)
    ]
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


@pytest.mark.parametrize("site", bmdsim.SITES)
@pytest.mark.parametrize("threshold", [-2.5, -2.0, -1.5, -1.2, -1.0, 0.3])
def test_zero_when_at_threshold_at_baseline(site, threshold):
    """A patient whose baseline T-score equals the threshold has crossed at 0.0 exactly.

    Guards against round-off in the T-score -> BMD -> T-score round trip (-2.5 came back as
    -2.4999999999999996 and gave a crossing at 7.8e-11 years instead of 0.0).
    """
    p = bmdsim.Patient(age=63, t_score={site: threshold})
    traj = bmdsim.simulate(p, bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)]), years=15)
    assert traj.crossing_time(site, threshold) == 0.0


def test_zero_when_below_threshold_at_baseline():
    """Already below the threshold at baseline (and recovering afterwards) gives 0.0."""
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": [-2.6, -3.5, -2.5000001]})
    traj = bmdsim.simulate(p, bmdsim.Regimen([bmdsim.Exposure("tamoxifen", 0, 5)]), years=15)
    np.testing.assert_array_equal(traj.crossing_time("femoral_neck", -2.5), [0.0, 0.0, 0.0])
    traj_scalar = bmdsim.simulate(bmdsim.Patient(age=63, bmd={"femoral_neck": 0.5}), years=15)
    assert traj_scalar.crossing_time("femoral_neck", -2.5) == 0.0


def test_inf_when_not_reached():
    """A threshold not reached within the horizon gives inf; a longer horizon then reaches it."""
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.0})
    short = bmdsim.simulate(p, years=5, params="consensus").crossing_time("femoral_neck", -2.5)
    assert short == math.inf
    long = bmdsim.simulate(p, years=40, params="consensus").crossing_time("femoral_neck", -2.5)
    assert 5 < long < 40


def test_inf_when_bmd_threshold_is_not_positive():
    """A threshold whose BMD is <= 0 (T = -20 at the femoral neck) can never be reached."""
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": [-1.0, -5.9]})
    traj = bmdsim.simulate(p, years=60)
    np.testing.assert_array_equal(traj.crossing_time("femoral_neck", -20), [np.inf, np.inf])
    mean, sd = traj.reference.mean["femoral_neck"], traj.reference.sd["femoral_neck"]
    assert np.all(traj.crossing_time("femoral_neck", -mean / sd) == math.inf)  # BMD* == 0, or nearly
    np.testing.assert_array_equal(traj.crossing_time("femoral_neck", 1.0), [0.0, 0.0])


def test_shared_curve_and_per_patient_paths_agree(ai_then_stop):
    """The per-patient path (called directly on an equal-rate banded set) agrees with the shared-curve path.

    Equal rates on both sides of an edge do not by themselves leave the shared path (is_shared compares rates),
    so the per-patient routine is called directly here; test_vectorised_equals_scalar_calls covers it via simulate.
    """
    rng = np.random.default_rng(1)
    ages = rng.uniform(40, 90, 300)
    t_scores = rng.uniform(-2.45, 0.5, 300)
    p = bmdsim.Patient(age=ages, t_score={"femoral_neck": t_scores})
    flat_bands = bmdsim.load_parameters("consensus").with_values(
        {"natural.femoral_neck.age_edges_years": [60], "natural.femoral_neck.rates_pct_per_year": [1.5, 1.5]}
    )
    shared_model = SiteModel(bmdsim.load_parameters("consensus"), ai_then_stop, "femoral_neck")
    banded_model = SiteModel(flat_bands, ai_then_stop, "femoral_neck")
    assert shared_model.is_shared(PatientState(np.array([40.0, 90.0])), 40)
    shared = bmdsim.simulate(p, ai_then_stop, years=40, params="consensus").crossing_time("femoral_neck", -2.5)
    ref = bmdsim.load_reference()
    b0 = ref.bmd("femoral_neck", t_scores)
    target = np.log(b0 / ref.bmd("femoral_neck", -2.5))
    per_patient = _first_crossing_per_patient(banded_model, PatientState(ages), target, 40.0)
    assert np.isfinite(shared).sum() > 100
    np.testing.assert_array_equal(np.isinf(shared), np.isinf(per_patient))
    finite = np.isfinite(shared)
    np.testing.assert_allclose(per_patient[finite], shared[finite], rtol=0, atol=1e-8)


def test_vectorised_equals_scalar_calls(age_set, ai_then_stop):
    """Many patients at once give the same crossing times as one call per patient (age bands: per-patient path)."""
    assert not SiteModel(age_set, ai_then_stop, "femoral_neck").is_shared(PatientState(np.array([45.0, 85.0])), 30)
    rng = np.random.default_rng(2)
    ages = rng.uniform(45, 85, 25)
    t_scores = rng.uniform(-2.4, 0.0, 25)
    for params in ("consensus", age_set):
        many = bmdsim.Patient(age=ages, t_score={"femoral_neck": t_scores})
        vector = bmdsim.simulate(many, ai_then_stop, years=30, params=params).crossing_time("femoral_neck", -2.5)
        single = [
            bmdsim.simulate(
                bmdsim.Patient(age=a, t_score={"femoral_neck": t}), ai_then_stop, years=30, params=params
            ).crossing_time("femoral_neck", -2.5)
            for a, t in zip(ages, t_scores, strict=True)
        ]
        assert np.isfinite(vector).any()
        np.testing.assert_allclose(vector, single, rtol=0, atol=1e-9)


def test_first_crossing_function_conventions(ai_then_stop):
    """first_crossing: 0 for target <= 0, inf for an infinite or unreached target, a root in between."""
    model = SiteModel(bmdsim.load_parameters("consensus"), ai_then_stop, "femoral_neck")
    out = first_crossing(model, np.full(5, 60.0), np.array([-0.1, 0.0, np.inf, 10.0, 0.05]), 15.0)
    assert out[0] == 0.0 and out[1] == 0.0
    assert out[2] == math.inf and out[3] == math.inf
    assert out[4] == pytest.approx(2.0, abs=ROOT_TOLERANCE_YEARS * 10)  # 0.05 log-loss at 2.5 %/yr


def test_checkpoints_cover_breakpoints_and_horizon():
    """Checkpoints start at 0, end at the horizon, include every breakpoint and are at most a month apart."""
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0.013, 5.377), bmdsim.Exposure("tamoxifen", 6.1, 9)])
    model = SiteModel(bmdsim.load_parameters("consensus"), r, "femoral_neck")
    times = checkpoint_times(model, 12.0)
    assert times[0] == 0.0 and times[-1] == 12.0
    assert {0.013, 5.377, 6.1, 9.0} <= set(times.tolist())
    assert np.diff(times).max() <= 1 / 12 + 1e-12


FLAT_BANDS = {"natural.femoral_neck.age_edges_years": [60], "natural.femoral_neck.rates_pct_per_year": [1.5, 1.5]}


@pytest.mark.parametrize("name", ["consensus", "trials", "age_bands", "flat_bands"])
def test_a_patients_crossing_does_not_depend_on_the_other_patients(name, ai_then_stop):
    """Bit for bit: alone, in another order or with other patients, a patient's crossing time is the same.

    This is what makes cohort results independent of chunk_size: the curve a patient shares (one per age
    group, or per run of equal-rate age bands) is chosen and evaluated from her own inputs only.
    """
    params = {
        "age_bands": bmdsim.load_parameters("consensus").with_values(AGE_BANDS),
        "flat_bands": bmdsim.load_parameters("consensus").with_values(FLAT_BANDS),
    }.get(name) or bmdsim.load_parameters(name)
    model = SiteModel(params, ai_then_stop, "femoral_neck")
    rng = np.random.default_rng(5)
    n = 700
    ages = rng.uniform(45, 85, n)
    target = rng.uniform(0.01, 0.4, n)
    whole = first_crossing(model, PatientState(ages), target, 20.0)
    assert np.isfinite(whole).sum() > 100
    alone = [first_crossing(model, PatientState(ages[i : i + 1]), target[i : i + 1], 20.0)[0] for i in range(0, n, 9)]
    assert np.array_equal(alone, whole[::9])
    order = rng.permutation(n)
    shuffled = np.empty(n)
    shuffled[order] = first_crossing(model, PatientState(ages[order]), target[order], 20.0)
    assert np.array_equal(shuffled, whole)
    parts = [first_crossing(model, PatientState(ages[a : a + 97]), target[a : a + 97], 20.0) for a in range(0, n, 97)]
    assert np.array_equal(np.concatenate(parts), whole)


def test_canonical_state_stands_for_the_whole_curve(age_set, ai_then_stop):
    """Patients sharing a curve share one canonical patient, whose horizon lies in the same run of rates."""
    model = SiteModel(age_set, ai_then_stop, "femoral_neck")  # bands: below 60, 60-70, from 70
    young = {float(canonical_state(model, PatientState(a), 10.0).age) for a in (30.0, 41.5, 49.9)}
    assert len(young) == 1 and young.pop() + 10.0 <= 60.0
    old = float(canonical_state(model, PatientState(75.3), 10.0).age)
    assert old == 70.0
    trials = SiteModel(bmdsim.load_parameters("trials"), ai_then_stop, "femoral_neck")  # smooth in age
    assert float(canonical_state(trials, PatientState(63.2), 10.0).age) == 63.5


def test_bucketed_lookup_equals_searchsorted():
    """The lookup that replaced np.searchsorted gives its index for every target: plateaus, ties, ends."""
    from bmdsim.crossing import _lookup, _table_lookup

    rng = np.random.default_rng(0)
    steps = np.where(rng.random(5000) < 0.3, 0.0, rng.exponential(1e-4, 5000))  # plateaus of the running maximum
    for running in (np.cumsum(steps), np.zeros(7), np.array([0.0, 0.0, 1.0]), np.linspace(0.0, 1.0, 3)):
        table = _table_lookup(running)
        lo, hi = running[0], running[-1]
        targets = np.concatenate(
            (
                rng.uniform(lo - 0.1, hi + 0.1, 20_000),
                running,  # exactly on table values (ties: the first index)
                np.nextafter(running, np.inf),
                np.nextafter(running, -np.inf),
                [np.finfo(float).tiny, 1e300, hi, lo],
            )
        )
        np.testing.assert_array_equal(_lookup(table, targets), np.searchsorted(running, targets, side="left"))


@pytest.mark.parametrize("params_name", ["consensus", "trials"])
def test_several_targets_at_once_equal_one_call_each(params_name):
    """first_crossings (one grouping for all thresholds of a site) gives first_crossing's bits, target by target."""
    from bmdsim.crossing import crossing_target, first_crossings

    params = bmdsim.load_parameters(params_name)
    regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    model = SiteModel(params, regimen, "femoral_neck")
    rng = np.random.default_rng(4)
    age = rng.uniform(45, 90, 3000)
    b0 = rng.uniform(0.5, 1.0, 3000)
    m = rng.lognormal(0.0, 0.3, 3000)
    targets = [crossing_target(b0, b, m) for b in (0.9, 0.7, 0.6, 0.0)]
    state = PatientState(age)
    together = first_crossings(model, state, targets, 20.0)
    for got, target in zip(together, targets, strict=True):
        np.testing.assert_array_equal(got, first_crossing(model, state, target, 20.0))
