"""Patient profiles (bmdsim.profiles): ovarian suppression or failure in premenopausal women, glucocorticoids."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bmdsim
from bmdsim import Exposure, Patient, Regimen, calibration, validation
from bmdsim.model import SiteModel

PARAMS = bmdsim.load_parameters("trials")
OFS = Exposure("ovarian_suppression", 0, 3)
FAILURE = Exposure("ovarian_suppression", 0)
GC = Exposure("glucocorticoid", 0)


def change_pct(regimen: Regimen, site: str, t: float, age: float = 43.0, params=PARAMS) -> float:
    loss = SiteModel(params, regimen, site).log_loss(np.array([0.0, t]), age)
    return float(100.0 * np.expm1(-(loss[1] - loss[0])))


def test_a_premenopausal_regimen_has_no_natural_loss():
    """With ovarian suppression in the regimen, the only loss is the agent's: natural loss is zero at every age."""
    for site in bmdsim.SITES:
        model = SiteModel(PARAMS, Regimen([OFS]), site)
        assert model.natural.rate(np.array([40.0, 70.0])).tolist() == [0.0, 0.0]
        p = PARAMS.agent_values("ovarian_suppression", site)
        t = np.array([0.5, 1.0, 2.0, 3.0])
        tau = p["early_time_constant_years"]
        early = p["early_excess_pct_per_year"] / 100 * tau * -np.expm1(-t / tau)
        expected = p["late_excess_pct_per_year"] / 100 * t + early
        np.testing.assert_allclose(model.log_loss(t, 43.0), expected, rtol=1e-12)
    # An AI alone keeps natural loss; with ovarian suppression added, the AI's excess adds to the agent's loss.
    ai = Exposure("aromatase_inhibitor", 0, 3)
    t = np.array([3.0])
    ai_only = SiteModel(PARAMS, Regimen([ai]), "lumbar_spine")
    assert ai_only.natural.rate(np.array([43.0]))[0] > 0
    excess = ai_only.log_loss(t, 43.0)[0] - SiteModel(PARAMS, Regimen([]), "lumbar_spine").log_loss(t, 43.0)[0]
    both = SiteModel(PARAMS, Regimen([OFS, ai]), "lumbar_spine").log_loss(t, 43.0)[0]
    ofs = SiteModel(PARAMS, Regimen([OFS]), "lumbar_spine").log_loss(t, 43.0)[0]
    assert excess > 0
    assert both - ofs == pytest.approx(excess, rel=1e-12)


def test_the_fit_reproduces_its_calibrating_figures():
    """Shapiro 2001 (ovarian failure) and ZEBRA (goserelin, 2 years) within 0.3 points; ZIPP's recovery exactly."""
    failure, goserelin = Regimen([FAILURE]), Regimen([Exposure("ovarian_suppression", 0, 2)])
    assert change_pct(failure, "lumbar_spine", 0.5) == pytest.approx(-4.0, abs=0.3)
    assert change_pct(goserelin, "lumbar_spine", 2.0) == pytest.approx(-10.5, abs=0.3)
    assert change_pct(goserelin, "femoral_neck", 2.0) == pytest.approx(-6.4, abs=0.05)
    # ZIPP: the share of the 2-year course's log-loss regained in the first year off is ln(1.015) / -ln(0.95).
    model = SiteModel(PARAMS, goserelin, "lumbar_spine")
    loss = model.log_loss(np.array([2.0, 3.0]), 43.0)
    share = (loss[0] - loss[1]) / loss[0]
    assert share == pytest.approx(math.log1p(0.015) / -math.log1p(-0.05), rel=1e-6)
    f = calibration.ovarian_recovery_fraction(PARAMS["aromatase_inhibitor.recovery_time_constant_years"])
    assert PARAMS["ovarian_suppression.lumbar_spine.recovery_fraction"] == pytest.approx(f, rel=1e-9)


def test_recovery_after_goserelin_and_none_after_permanent_failure():
    """BMD rises after goserelin stops (ovarian function returns) and never after permanent ovarian failure."""
    t = np.linspace(0.0, 10.0, 201)
    stopped = SiteModel(PARAMS, Regimen([OFS]), "lumbar_spine").log_loss(t, 43.0)
    permanent = SiteModel(PARAMS, Regimen([FAILURE]), "lumbar_spine").log_loss(t, 43.0)
    after = t >= 3.0
    assert np.all(np.diff(stopped[after]) < 0)  # regaining after the stop
    assert np.all(np.diff(permanent) >= 0)  # never regaining while ovarian failure lasts
    assert stopped[-1] > 0  # part of the loss is not yet regained at 10 years (f < 1 and T = 2.8 years)


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(-3.0, 2.0),
    length=st.floats(0.1, 5.0),
    t=st.floats(0.0, 10.0),
    site=st.sampled_from(bmdsim.SITES),
)
def test_rate_is_the_derivative_of_the_log_loss(start, length, t, site):
    """For any course (also one started before baseline) the rate is dL/dt, and L never falls while on."""
    for agent in ("ovarian_suppression", "glucocorticoid"):
        model = SiteModel(PARAMS, Regimen([Exposure(agent, start, start + length)]), site)
        h = 1e-6
        if any(abs(t - b) < 1e-4 for b in (start, start + length)):
            continue  # the rate jumps there
        numeric = (model.log_loss(np.array([t + h]), 50.0)[0] - model.log_loss(np.array([t - h]), 50.0)[0]) / (2 * h)
        assert model.rate(np.array([t]), 50.0)[0] == pytest.approx(numeric, rel=1e-5, abs=1e-9)
        on = np.linspace(max(start, 0.0), start + length, 20)
        if agent == "ovarian_suppression" and on[-1] > on[0]:
            assert np.all(np.diff(model.log_loss(on, 50.0)) >= -1e-15)


def test_chemotherapy_induced_failure_before_baseline_slows_the_loss_after_it():
    """Ovarian failure a year before baseline: less loss from baseline on than failure at baseline (front-loading)."""
    before = change_pct(Regimen([Exposure("ovarian_suppression", -1.0)]), "lumbar_spine", 2.0)
    at_baseline = change_pct(Regimen([FAILURE]), "lumbar_spine", 2.0)
    assert at_baseline < before < 0


def test_exact_crossing_times_of_a_cohort_on_the_fast_path():
    """A premenopausal cohort shares one loss curve (no natural loss by age): crossings equal single simulations."""
    pop = bmdsim.Population(
        age=bmdsim.TruncatedNormal(43.0, 4.0, 30.0, 55.0),
        t_score={"lumbar_spine": bmdsim.TruncatedNormal(0.0, 1.0, -4.0, 4.0)},
    )
    regimen = Regimen([OFS, Exposure("aromatase_inhibitor", 0, 3)])
    result = bmdsim.simulate_cohort(n=3000, regimen=regimen, years=10.0, seed=4, population=pop, params="trials")
    times = result.crossing_time("lumbar_spine", -2.0)
    assert 0.05 < np.mean(np.isfinite(times) & (times > 0)) < 0.6
    chosen = np.flatnonzero(np.isfinite(times) & (times > 0))[:5]
    patients, multiplier = result.patients(0, 3000)
    for i in chosen:
        single = bmdsim.simulate(
            Patient(age=patients.age[i], t_score={"lumbar_spine": patients.t_score["lumbar_spine"][i]}),
            regimen,
            years=10.0,
            params="trials",
            loss_multiplier={"lumbar_spine": multiplier["lumbar_spine"][i]},
        )
        assert single.crossing_time("lumbar_spine", -2.0) == pytest.approx(times[i], abs=1e-9)


def test_outside_the_validated_ages_or_length_a_simulation_warns():
    """Ovarian suppression at 70, or glucocorticoids beyond their trials' length, emit ExtrapolationWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bmdsim.simulate(Patient(age=43, t_score={"lumbar_spine": 0.0}), Regimen([OFS]), years=5.0)
    with pytest.warns(bmdsim.ExtrapolationWarning, match="ovarian_suppression was studied in patients aged 25 to 55"):
        bmdsim.simulate(Patient(age=70, t_score={"lumbar_spine": 0.0}), Regimen([OFS]), years=5.0)
    with pytest.warns(bmdsim.ExtrapolationWarning, match="glucocorticoid is given for 10 years"):
        bmdsim.simulate(Patient(age=60, t_score={"lumbar_spine": 0.0}), Regimen([GC]), years=10.0)
    with pytest.warns(bmdsim.ExtrapolationWarning, match="ovarian_suppression was studied"):
        bmdsim.simulate_cohort(n=100, regimen=Regimen([OFS]), years=5.0, seed=1)  # the default ages reach 85


def test_profiles_are_validated_apart_from_the_postmenopausal_trials():
    """The headline report has no profile row; the profile report has every profile row, held out unless fitted."""
    main = validation.validation_report(["trials"])
    profiles = validation.validation_report(["trials"], profiles=True)
    assert not any(k.split(":")[0] in ("ovarian_suppression", "glucocorticoid", "men") for k in main.keys)
    files = {k.split(":")[0] for k in profiles.keys}
    assert files == {"ovarian_suppression", "glucocorticoid", "men"}
    held = ~profiles.fitted["trials"]
    assert held.sum() >= 10
    assert all(r == "validation" for r, h in zip(profiles.roles, held, strict=True) if h)
    # The calibrating rows are reproduced within 0.7 points (the two medians of Shapiro 2001 pull apart).
    assert np.max(np.abs(profiles.error("trials")[~held])) < 0.7


def test_long_term_glucocorticoids_in_the_regimen_are_a_guideline_risk_factor():
    """A glucocorticoid course running for 6 months or more at baseline counts oral_corticosteroids_over_6_months."""
    pop = bmdsim.cohort.default_population()
    ai = Exposure("aromatase_inhibitor", 0, 5)
    plain = bmdsim.simulate_policy(bmdsim.Policy("p"), pop, Regimen([ai]), 5.0, n=400, seed=2)
    long_term = Regimen([ai, Exposure("glucocorticoid", -1.0, 3.0)])
    on = bmdsim.simulate_policy(bmdsim.Policy("p"), pop, long_term, 5.0, n=400, seed=2)
    np.testing.assert_array_equal(on.risk_factors, plain.risk_factors + 1)
    started = bmdsim.simulate_policy(  # started at baseline: not yet 6 months
        bmdsim.Policy("p"), pop, Regimen([ai, Exposure("glucocorticoid", 0.0, 3.0)]), 5.0, n=400, seed=2
    )
    np.testing.assert_array_equal(started.risk_factors, plain.risk_factors)
    given = {"oral_corticosteroids_over_6_months": np.zeros(400, dtype=bool)}
    with pytest.raises(ValueError, match=r"risk_factors\['oral_corticosteroids_over_6_months'\] is False"):
        bmdsim.simulate_policy(bmdsim.Policy("p"), pop, long_term, 5.0, risk_factors=given, n=400, seed=2)


def test_men_have_their_own_natural_loss_and_ai_excess():
    """A man: natural loss from MrOS (none at the spine), the AI's excess from Burnett-Bowie 2009, constant."""
    man = Patient(age=73, t_score={"lumbar_spine": 0.0, "femoral_neck": 0.0}, sex="male")
    untreated = bmdsim.simulate(man, Regimen([]), years=5.0)
    assert untreated.percent_change("lumbar_spine", start=0, stop=5) == 0.0
    fn = PARAMS.natural("femoral_neck", "male")
    assert fn.rate(np.array([73.5]))[0] == pytest.approx(
        PARAMS["natural_male.femoral_neck.rates_pct_per_year"][0] / 100 * math.exp(math.log(2.5) / 20 * 8.5)
    )
    # Burnett-Bowie's contrast at 12 months is reproduced, and the excess is constant on the drug.
    model = SiteModel(PARAMS, Regimen([Exposure("aromatase_inhibitor", 0, None)]), "lumbar_spine", "male")
    assert float(100 * np.expm1(-model.log_loss(np.array([1.0]), 68.0)[0])) == pytest.approx(-2.45, abs=1e-6)
    assert model.rate(np.array([0.1]), 68.0)[0] == pytest.approx(model.rate(np.array([0.9]), 68.0)[0])
    # A woman with the same regimen is unchanged by men's values.
    woman = SiteModel(PARAMS, Regimen([Exposure("aromatase_inhibitor", 0, None)]), "lumbar_spine")
    assert woman.log_loss(np.array([1.0]), 68.0)[0] != model.log_loss(np.array([1.0]), 68.0)[0]


def test_impossible_or_unsupported_combinations_for_men_are_clear_errors():
    man = Patient(age=50, t_score={"lumbar_spine": 0.0, "femoral_neck": 0.0}, sex="male")
    with pytest.raises(ValueError, match="'ovarian_suppression' is for women only"):
        bmdsim.simulate(man, Regimen([OFS]), years=3.0)
    with pytest.raises(ValueError, match="sex must be one of 'female', 'male', got 'M'"):
        Patient(age=60, t_score={"lumbar_spine": 0.0}, sex="M")
    with pytest.raises(TypeError, match="population.sex must be one of"):
        bmdsim.Population(
            age=bmdsim.TruncatedNormal(60, 5, 45, 85),
            t_score={"femoral_neck": bmdsim.TruncatedNormal(0, 1, -4, 4)},
            sex=1,
        )
    men = bmdsim.Population(
        age=bmdsim.TruncatedNormal(68, 6, 50, 85),
        t_score={"femoral_neck": bmdsim.TruncatedNormal(-0.5, 1, -4, 4)},
        sex="male",
    )
    ai = Regimen([Exposure("aromatase_inhibitor", 0, 1)])
    with pytest.raises(ValueError, match="guideline rules .* are for women"):
        bmdsim.simulate_policy(bmdsim.Policy("p"), men, ai, 1.0, n=100, seed=1)
    result = bmdsim.simulate_cohort(n=200, regimen=ai, years=1.0, seed=1, population=men)
    from bmdsim.fracture_incidence import cohort_incidence

    with pytest.raises(ValueError, match="women only"):
        cohort_incidence(result, [1.0])
    with pytest.warns(bmdsim.ExtrapolationWarning, match="longer than the 1 years of its trials in men"):
        bmdsim.simulate_cohort(
            n=200, regimen=Regimen([Exposure("aromatase_inhibitor", 0, 5)]), years=5.0, seed=1, population=men
        )


def test_a_cohort_of_men_matches_single_simulations():
    men = bmdsim.Population(
        age=bmdsim.TruncatedNormal(68, 6, 50, 85),
        t_score={"femoral_neck": bmdsim.TruncatedNormal(-1.0, 1, -4, 4)},
        sex="male",
    )
    ai = Regimen([Exposure("aromatase_inhibitor", 0, 1)])
    result = bmdsim.simulate_cohort(n=2000, regimen=ai, years=10.0, seed=5, population=men, params="trials")
    times = result.crossing_time("femoral_neck", -2.0)
    patients, multiplier = result.patients(0, 2000)
    assert patients.sex == "male"
    for i in np.flatnonzero(np.isfinite(times) & (times > 0))[:4]:
        single = bmdsim.simulate(
            Patient(age=patients.age[i], t_score={"femoral_neck": patients.t_score["femoral_neck"][i]}, sex="male"),
            ai,
            years=10.0,
            params="trials",
            loss_multiplier={"femoral_neck": multiplier["femoral_neck"][i]},
        )
        assert single.crossing_time("femoral_neck", -2.0) == pytest.approx(times[i], abs=1e-9)
