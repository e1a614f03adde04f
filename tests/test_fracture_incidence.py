"""Absolute fracture incidence (bmdsim.fracture_incidence): invariants, exact cases, cohorts, validation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bmdsim
from bmdsim import _data
from bmdsim import fracture_incidence as fi
from bmdsim.fracture import gradient
from bmdsim.validation import trial_files

AI = bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)
AI_ONLY = bmdsim.Regimen([AI])
AI_ZOL = bmdsim.Regimen([AI, bmdsim.Exposure("zoledronic_acid", start=0, stop=5)])
SITES = {"lumbar_spine": -1.0, "femoral_neck": -1.0, "total_hip": -1.0}


def _patient(age=65.0, t=-1.0):
    return bmdsim.Patient(age=age, t_score={s: t for s in SITES})


def _traj(age=65.0, t=-1.0, regimen=AI_ONLY, years=10.0):
    return bmdsim.simulate(_patient(age, t), regimen, years=years)


def _cohort(n=300, regimen=AI_ONLY, years=6.0, seed=3, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bmdsim.simulate_cohort(n, regimen, years, seed, workers=1, **kw)


# -- data --------------------------------------------------------------------------------------------
def test_every_block_cites_a_known_source_and_says_how_it_was_read():
    citations = _data.read_json("citations.json")
    doc = _data.read_json("fracture_incidence.json")
    blocks = list(doc["outcomes"].values()) + [doc["reference_t_score"][k] for k in ("lumbar_spine", "hip")]
    blocks.append(doc["mortality"])
    for block in blocks:
        assert block["citation"] in citations
        assert block["where"].strip()
        assert block["verification"] in {"primary", "secondary", "derived", "fitted", "assumption"}
    for row in fi.validation_rows():
        assert row["citation"] in citations and row["role"] in {"calibrate", "validate", "context"}


def test_fracture_targets_are_not_a_bmd_trial_file():
    assert "fracture_rates" not in trial_files()


def test_hip_reference_distribution_reproduces_the_prevalences():
    from scipy.special import ndtr

    mean, sd = fi.hip_reference_distribution()
    assert ndtr((-2.5 - mean) / sd) == pytest.approx(0.10)
    assert ndtr((-1.0 - mean) / sd) == pytest.approx(0.59)


def test_baseline_rates_match_the_published_table_at_band_midpoints():
    doc = _data.read_json("fracture_incidence.json")["outcomes"]["hip"]
    got = fi.baseline_incidence("hip", doc["age_midpoints_years"])
    np.testing.assert_allclose(got, np.array(doc["rate_per_1000_per_year"]) / 1000, rtol=1e-12)


def test_mean_hazard_of_women_of_an_age_equals_the_published_rate():
    """c = exp(-(sd ln g)^2/2) makes E[h] over T ~ N(mean, sd) equal b(age)."""
    for outcome in ("hip", "clinical_vertebral"):
        site = fi.default_site(outcome)
        mean, sd = fi.reference_t_score(site, 70.0)
        z = np.linspace(-8, 8, 20001)
        w = np.exp(-0.5 * z**2)
        h = fi.hazard(outcome, 70.0, float(mean) + float(sd) * z)
        assert np.sum(h * w) / np.sum(w) == pytest.approx(float(fi.baseline_incidence(outcome, 70.0)), rel=1e-6)


def test_mortality_is_the_recorded_female_life_table():
    """mu = -ln(1 - q_x) within each year of age x; spot-check ages against the numbers recorded from NVSR 64(11)."""
    m = _data.read_json("fracture_incidence.json")["mortality"]
    q = dict(zip(m["ages_years"], m["q_x"], strict=True))
    assert m["law"] == "life_table" and m["citation"] == "arias_2015_life_tables_2011"
    assert (q[50], q[65], q[70], q[85], q[99]) == (0.003245, 0.009953, 0.015718, 0.075391, 0.300271)
    for age in (50, 57, 65, 70, 78, 85, 92, 99):
        got = fi.mortality([age, age + 0.5, age + 0.999])
        np.testing.assert_allclose(got, -math.log(1 - q[age]), rtol=1e-12)
    assert float(fi.mortality(100.0)) == pytest.approx(m["open_l_x"] / m["open_T_x"], rel=1e-14)
    assert float(fi.mortality(107.3)) == pytest.approx(2672 / 6146, rel=1e-14)
    assert float(fi.mortality(30.0)) == pytest.approx(-math.log(1 - q[40]), rel=1e-12)


def test_mortality_is_non_decreasing_in_age_and_a_step_per_year():
    ages = np.linspace(30.0, 110.0, 8001)
    mu = fi.mortality(ages)
    assert np.all(np.diff(mu) >= 0) and np.all(mu > 0)
    # survival over one whole year of age is the table's 1 - q_x
    m = _data.read_json("fracture_incidence.json")["mortality"]
    x = np.arange(45.0, 100.0)
    np.testing.assert_allclose(np.exp(-fi.mortality(x + 0.5)), 1 - np.array(m["q_x"])[5:], rtol=1e-13)


def test_bad_life_table_names_the_field(monkeypatch):
    doc = _data.read_json("fracture_incidence.json")
    bad = {**doc, "mortality": {**doc["mortality"], "q_x": [1.5] + doc["mortality"]["q_x"][1:]}}
    monkeypatch.setattr(fi, "_doc", lambda: bad)
    with pytest.raises(ValueError, match="mortality.q_x"):
        fi.mortality(60.0)


def test_t_score_incidence_equals_trajectory_incidence():
    ages = np.array([55.0, 68.0, 81.0])
    pat = bmdsim.Patient(age=ages, t_score={s: np.array([-0.5, -1.8, -2.6]) for s in SITES})
    traj = bmdsim.simulate(pat, AI_ZOL, years=7.0)
    mid, dt = fi.integration_grid(7.0)
    for outcome in ("hip", "clinical_vertebral", "any_clinical"):
        site = fi.default_site(outcome)
        t_mid = traj.reference.t_score(site, traj.bmd_at(site, mid))
        got = fi.t_score_incidence(outcome, ages, mid, dt, t_mid)
        np.testing.assert_allclose(got, fi.trajectory_incidence(traj, outcome, [7.0])[:, 0], rtol=1e-13)
    with pytest.raises(ValueError, match="t_scores"):
        fi.t_score_incidence("hip", ages, mid, dt, np.zeros((2, mid.size)))


# -- exact small cases ----------------------------------------------------------------------------------
def test_constant_hazards_give_the_competing_risk_formula():
    """One step with constant h and mu: F = h/(h+mu) (1 - exp(-(h+mu) t)), by hand."""
    h, mu, t = 0.02, 0.01, 3.0
    log_h = np.full((1, 1), math.log(h))
    out = fi._integrate(log_h, np.full((1, 1), mu), np.array([t]), np.array([0, 1]), total=False)
    assert out[1, 0] == pytest.approx(h / (h + mu) * (1 - math.exp(-(h + mu) * t)), rel=1e-14)
    # two steps of different hazards, no death: 1 - exp(-(h1 t1 + h2 t2))
    log_h = np.log(np.array([[0.01], [0.05]]))
    out = fi._integrate(log_h, None, np.array([1.0, 2.0]), np.array([2]), total=False)
    assert out[0, 0] == pytest.approx(1 - math.exp(-(0.01 + 0.10)), rel=1e-14)


def test_hazard_formula_by_hand():
    """h = b(age) c g^-(T - mean(age)) for the hip at 67.5 years (a band midpoint)."""
    g = gradient("hip", "total_hip")
    mean, sd = fi.reference_t_score("total_hip", 67.5)
    by_hand = 2.03e-3 * math.exp(-((float(sd) * math.log(g)) ** 2) / 2) * g ** (-(-2.0 - float(mean)))
    assert fi.hazard("hip", 67.5, -2.0)[()] == pytest.approx(by_hand, rel=1e-12)


def test_trajectory_incidence_matches_hand_integration_on_a_fine_grid():
    traj = _traj(age=70.0, t=-1.5)
    step = 0.01
    mid = np.arange(step / 2, 5.0, step)
    t_mid = traj.reference.t_score("total_hip", traj.bmd_at("total_hip", mid))
    h = fi.hazard("hip", 70.0 + mid, t_mid)
    mu = fi.mortality(70.0 + mid)
    surv = np.exp(-np.concatenate(([0.0], np.cumsum((h + mu) * step))))
    by_hand = np.sum(h / (h + mu) * (surv[:-1] - surv[1:]))
    got = fi.trajectory_incidence(traj, "hip", [5.0], step=step)
    assert got[0] == pytest.approx(by_hand, rel=1e-10)


# -- invariants ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("outcome", ["hip", "clinical_vertebral", "major_osteoporotic", "any_clinical"])
def test_incidence_is_a_non_decreasing_fraction_starting_at_zero(outcome):
    traj = _traj()
    f = fi.trajectory_incidence(traj, outcome, np.linspace(0, 10, 41))
    assert f[0] == 0.0
    assert np.all((f >= 0) & (f <= 1))
    assert np.all(np.diff(f) >= 0)


def test_lower_t_score_gives_higher_incidence():
    low, high = (fi.trajectory_incidence(_traj(t=t), "hip", [5.0])[0] for t in (-2.5, -0.5))
    assert low > high


def test_zero_length_horizon_gives_zero():
    assert fi.trajectory_incidence(_traj(), "hip", [0.0]).tolist() == [0.0]
    assert fi.cohort_incidence(_cohort(50), [0.0], "hip", draws=False)["mean"]["hip"].tolist() == [0.0]


def test_death_competing_lowers_incidence():
    traj = _traj(age=80.0)
    with_death = fi.trajectory_incidence(traj, "hip", [10.0])[0]
    without = fi.trajectory_incidence(traj, "hip", [10.0], death=False)[0]
    assert 0 < with_death < without


def test_bone_protection_lowers_incidence_on_the_same_patient():
    plain = fi.trajectory_incidence(_traj(regimen=AI_ONLY), "clinical_vertebral", [5.0])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        protected = fi.trajectory_incidence(_traj(regimen=AI_ZOL), "clinical_vertebral", [5.0])[0]
    assert protected < plain


@settings(max_examples=25, derandomize=True, deadline=None)
@given(
    age=st.floats(45, 90),
    t0=st.floats(-4, 2),
    shift=st.floats(0.1, 2),
    outcome=st.sampled_from(["hip", "clinical_vertebral", "major_osteoporotic", "any_clinical"]),
)
def test_property_bounds_monotone_in_time_and_in_t_score(age, t0, shift, outcome):
    times = [0.0, 1.0, 4.0, 8.0]
    f_high = fi.trajectory_incidence(_traj(age, t0, years=8.0), outcome, times)
    f_low = fi.trajectory_incidence(_traj(age, t0 - shift, years=8.0), outcome, times)
    for f in (f_high, f_low):
        assert np.all((f >= 0) & (f <= 1)) and np.all(np.diff(f) >= 0)
    assert np.all(f_low[1:] > f_high[1:])


# -- cohorts ------------------------------------------------------------------------------------------
def test_cohort_is_the_mean_of_per_patient_results():
    result = _cohort(40)
    times = [1.0, 3.0, 6.0]
    got = fi.cohort_incidence(result, times, ("hip", "clinical_vertebral"), draws=False)
    patient, mult = result.patients(0, 40)
    traj = bmdsim.simulate(patient, AI_ONLY, years=6.0, loss_multiplier=mult)
    for o in ("hip", "clinical_vertebral"):
        per = fi.trajectory_incidence(traj, o, times)
        np.testing.assert_allclose(got["mean"][o], per.mean(axis=0), rtol=1e-10)


def test_chunk_size_does_not_change_the_result():
    a = fi.cohort_incidence(_cohort(300, chunk_size=300), [2.0, 6.0], "hip", draws=False)
    b = fi.cohort_incidence(_cohort(300, chunk_size=70), [2.0, 6.0], "hip", draws=False)
    np.testing.assert_allclose(a["mean"]["hip"], b["mean"]["hip"], rtol=1e-12)


def test_parameter_band_from_draws_and_gradient_band_bracket_sensibly():
    res = fi.cohort_incidence(_cohort(200, parameter_draws=5), [5.0], "hip")
    low, high = res["parameter_band"]["hip"]
    assert low[0] <= high[0] and res["draw_means"]["hip"].shape == (5, 1)
    glow, ghigh = res["gradient_band"]["hip"]
    assert glow[0] < ghigh[0]
    assert set(res.to_frame().columns) >= {"per_1000", "parameter_low", "gradient_high"}


def test_fractures_prevented_is_positive_and_nnt_its_inverse():
    cmp = fi.compare_incidence(_cohort(300, AI_ONLY), _cohort(300, AI_ZOL), [5.0], ("hip", "any_clinical"))
    for o in ("hip", "any_clinical"):
        prevented = cmp["prevented_per_1000"][o][0]
        assert prevented > 0
        assert cmp["nnt"][o][0] == pytest.approx(1000 / prevented)
    # swapped arms: harm, a negative NNT
    swapped = fi.compare_incidence(_cohort(300, AI_ZOL), _cohort(300, AI_ONLY), [5.0], "hip")
    assert swapped["nnt"]["hip"][0] < 0
    assert fi.number_needed_to_treat(0.0) == np.inf


def test_compare_refuses_different_women():
    with pytest.raises(ValueError, match="seed"):
        fi.compare_incidence(_cohort(100, seed=1), _cohort(100, AI_ZOL, seed=2), [5.0], "hip")


# -- bad input -----------------------------------------------------------------------------------------
def test_bad_inputs_name_the_field():
    traj = _traj()
    with pytest.raises(ValueError, match="outcome"):
        fi.trajectory_incidence(traj, "wrist", [1.0])
    with pytest.raises(TypeError, match="outcome"):
        fi.baseline_incidence(3, 60)
    with pytest.raises(ValueError, match="times"):
        fi.trajectory_incidence(traj, "hip", [11.0])
    with pytest.raises(ValueError, match="times"):
        fi.trajectory_incidence(traj, "hip", [-1.0])
    with pytest.raises(ValueError, match="step"):
        fi.trajectory_incidence(traj, "hip", [1.0], step=0.0)
    with pytest.raises(TypeError, match="death"):
        fi.trajectory_incidence(traj, "hip", [1.0], death=1)
    with pytest.raises(ValueError, match="site"):
        fi.trajectory_incidence(traj, "hip", [1.0], site="lumbar_spine")
    with pytest.raises(ValueError, match="age"):
        fi.baseline_incidence("hip", -5.0)
    with pytest.raises(ValueError, match="bound"):
        fi.hazard("hip", 60, -1, bound="middle")
    with pytest.raises(TypeError, match="result"):
        fi.cohort_incidence(traj, [1.0])
    with pytest.raises(ValueError, match="outcome"):
        fi.cohort_incidence(_cohort(20), [1.0], ("hip", "knee"))


def test_a_negative_rate_in_the_data_is_refused_naming_the_field(monkeypatch):
    doc = _data.read_json("fracture_incidence.json")
    doc["outcomes"]["hip"]["rate_per_1000_per_year"][0] = -0.29
    monkeypatch.setattr(fi, "_doc", lambda: doc)
    with pytest.raises(ValueError, match="rate_per_1000_per_year"):
        fi.baseline_incidence("hip", 60.0)


# -- validation ----------------------------------------------------------------------------------------
def test_validation_rows_agree_within_the_stated_factor():
    table = fi.fracture_validation(n=5_000)
    factor = fi.agreement_factor()
    for i, role in enumerate(table["role"]):
        ratio = table["ratio"][i]
        if role == "calibrate":
            assert ratio == pytest.approx(1.0, abs=0.06), table["id"][i]
        elif role == "validate":
            assert 1 / factor <= ratio <= factor, (table["id"][i], ratio)
    assert "within x2" in table.to_text()
    assert len(table.to_frame()) == len(fi.validation_rows())
