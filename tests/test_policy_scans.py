"""Policies acting on what a DXA scan shows: measurement error, variability, grouping by start, bad input."""

import math

import numpy as np
import pytest

import bmdsim
from bmdsim import _data
from bmdsim.cohort import Variability, default_population
from bmdsim.measurement import ERROR_BLOCK_PATIENTS, dxa_precision, scan_error_normals
from bmdsim.policy import (
    Policy,
    at_threshold_regimen,
    compare_policies,
    simulate_policy,
    simulate_policy_by_events,
)

AI = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
YEARS = 10.0
N = 600
SITES3 = ("lumbar_spine", "femoral_neck", "total_hip")


@pytest.fixture(scope="module")
def patients():
    rng = np.random.default_rng(11)
    age = rng.uniform(50, 75, N)
    t = {s: rng.uniform(-2.8, 0.5, N) for s in SITES3}
    return bmdsim.Patient(age=age, t_score=t)


@pytest.fixture(scope="module")
def smoking():
    return np.arange(N) % 4 == 0


def per_patient_years_below(result, patient, multiplier=None, idx=None):
    """Years below -2.5 at the femoral neck, simulating each patient alone with her own fixed start."""
    reference = bmdsim.load_reference()
    cells = int(np.floor(YEARS / result.grid_step + 1e-6))
    mid = (np.arange(cells) + 0.5) * (YEARS / cells)
    idx = np.arange(patient.n) if idx is None else idx
    out = []
    for i in idx:  # a test oracle: one patient at a time on purpose
        one = bmdsim.Patient(age=patient.age[i], t_score={s: v[i] for s, v in patient.t_score.items()})
        regimen = AI
        if np.isfinite(result.start[i]):
            course = bmdsim.Exposure(result.policy.agent, float(result.start[i]), duration=result.policy.duration)
            regimen = bmdsim.Regimen([*AI, course])
        m = {s: 1.0 if multiplier is None else float(multiplier[s][i]) for s in one.sites}
        traj = bmdsim.simulate(one, regimen, years=YEARS, step=YEARS, params="consensus", loss_multiplier=m)
        t = reference.t_score("femoral_neck", traj.bmd_at("femoral_neck", mid))
        out.append((t <= -2.5).mean() * YEARS)
    return np.array(out)


# -- data ----------------------------------------------------------------------------------------------


def test_shipped_precision_is_documented_and_typical():
    doc = _data.read_json("dxa_precision.json")
    citations = _data.read_json("citations.json")
    cv = dxa_precision()
    assert cv == pytest.approx({"lumbar_spine": 0.012, "total_hip": 0.013, "femoral_neck": 0.0197})
    iscd = doc["iscd_minimum_acceptable_precision"]
    for site, entry in doc["sites"].items():
        assert entry["cv_percent"] == doc["default_cv_percent"][site]
        assert entry["citation"] in citations and entry["where"].strip()
        # Typical precision is better than the (unverified) ISCD maximum acceptable one.
        assert entry["cv_percent"] < iscd["cv_percent"][site]
    assert iscd["verification"] == "unverified"
    # LSC = 2.77 x precision error (ISCD glossary), as the recorded LSC values say.
    factor = doc["least_significant_change_factor"]["value"]
    for site, lsc in iscd["least_significant_change_percent"].items():
        assert lsc == pytest.approx(factor * iscd["cv_percent"][site], abs=0.05)
    for entry in doc["supporting"]:
        assert entry["citation"] in citations


# -- exact scans ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", [1.0, 2.0, 0.5])
def test_exact_scans_reproduce_the_at_threshold_path(patients, smoking, interval):
    """The grouped scan matrix gives the starts the engine's per-patient AtThreshold search gives."""
    policy = Policy("p", scan_interval=interval)
    res = simulate_policy(policy, patients, AI, YEARS, {"smoking": smoking}, measurement_error=None, params="consensus")
    start, below = simulate_policy_by_events(policy, patients, AI, YEARS, {"smoking": smoking}, params="consensus")
    assert np.array_equal(res.start, start)
    assert np.max(np.abs(res.years_below - below)) <= res.grid_step
    assert not res.false_positive.any()
    d = res.detection_delay[np.isfinite(res.detection_delay)]
    assert d.size > N // 10 and np.all((d >= 0) & (d < interval))


@pytest.mark.parametrize(
    "policy",
    [
        Policy("2025", rule="hadji_2025", scan_interval=2.0),
        Policy("neck", scan_interval=1.5, site="femoral_neck", agent="denosumab", duration=3.0),
        Policy("all", rule="treat_all", scan_interval=None),
        Policy("none", rule="none", scan_interval=None),
    ],
)
def test_exact_scans_reproduce_the_at_threshold_path_with_variability(policy):
    pop, rf = default_population(), {"previous_vertebral_fracture": np.arange(700) % 5 == 0}
    kwargs = {"n": 700, "seed": 3, "variability": Variability(cv=0.3), "params": "consensus"}
    res = simulate_policy(policy, pop, AI, YEARS, rf, measurement_error=None, **kwargs)
    start, below = simulate_policy_by_events(policy, pop, AI, YEARS, rf, **kwargs)
    assert np.array_equal(res.start, start)
    assert np.max(np.abs(res.years_below - below)) <= res.grid_step
    assert np.isfinite(start).any() == (policy.rule != "none")


def test_the_event_path_refuses_what_it_cannot_do(patients):
    with pytest.raises(TypeError, match="measurement_error"):
        simulate_policy_by_events(Policy("p"), patients, AI, YEARS, measurement_error=None)
    with pytest.raises(ValueError, match="no scans"):
        at_threshold_regimen(Policy("all", rule="treat_all", scan_interval=None), AI, "femoral_neck", -2.0)


def test_exact_scans_miss_crossings_after_the_last_scan(patients):
    res = simulate_policy(
        Policy("p", scan_interval=3.0), patients, AI, YEARS, measurement_error=None, params="consensus"
    )
    assert res.scan_times.tolist() == [0.0, 3.0, 6.0, 9.0]
    late = res.true_crosser & (res.crossing > 9.0)
    assert late.any()
    assert np.array_equal(res.undetected, late)
    row = res.summary()
    assert row["n_true_crossers"] == int(res.true_crosser.sum())
    assert row["fraction_crossers_undetected"] == pytest.approx(late.sum() / res.true_crosser.sum())
    assert row["fraction_false_positive"] == 0.0


# -- measurement error ---------------------------------------------------------------------------------


def test_error_gives_false_positives_and_late_detections(patients):
    exact = simulate_policy(Policy("p"), patients, AI, YEARS, measurement_error=None, params="consensus")
    noisy = simulate_policy(Policy("p"), patients, AI, YEARS, seed=3, params="consensus")
    assert noisy.measurement_error == pytest.approx({s: dxa_precision()[s] for s in SITES3})
    assert noisy.false_positive.sum() > 5
    assert np.any(noisy.start > exact.start)  # a true crossing seen at a later scan
    # A false positive is a scan at which the true T-score is above her threshold at every watched site.
    untreated = bmdsim.simulate(patients, AI, years=YEARS, params="consensus")
    on_scan = np.flatnonzero(noisy.trigger_scan >= 0)
    t_scans = np.stack([untreated.reference.t_score(s, untreated.bmd_at(s, noisy.scan_times)) for s in SITES3])
    t_true = t_scans.min(axis=0)[on_scan, noisy.trigger_scan[on_scan]]
    thr = noisy.treatment_threshold[on_scan]
    assert np.array_equal(noisy.false_positive[on_scan], t_true > thr + 1e-12)
    # Delays: negative exactly for false positives among true crossers treated on a scan.
    d = noisy.detection_delay
    ok = np.isfinite(d)
    assert np.any(d[ok] < 0)
    assert np.array_equal(d[ok] < 0, noisy.false_positive[ok])


def test_error_converges_to_exact_scans_as_cv_goes_to_zero(patients, smoking):
    rf = {"smoking": smoking}
    exact = simulate_policy(Policy("p"), patients, AI, YEARS, rf, measurement_error=None, params="consensus")
    differing = []
    for cv in (0.05, 0.02, 0.005, 0.001, 1e-4, 1e-7, 0.0):
        res = simulate_policy(
            Policy("p"),
            patients,
            AI,
            YEARS,
            rf,
            seed=5,
            measurement_error=dict.fromkeys(SITES3, cv),
            params="consensus",
        )
        differing.append(int(np.sum(res.start != exact.start)))
        if cv == 0.0:
            assert np.array_equal(res.start, exact.start)
            assert np.array_equal(res.years_below, exact.years_below)
            assert not res.false_positive.any()
    # With the same draws, a smaller CV changes the decision of fewer patients, and none in the limit.
    assert differing[0] > 20
    assert differing == sorted(differing, reverse=True)
    assert differing[-2] == 0


def test_same_errors_at_coinciding_scan_times_and_independent_of_n():
    z12 = scan_error_normals(9, "femoral_neck", np.arange(11) * 1.0, 0, 5000)
    z24 = scan_error_normals(9, "femoral_neck", np.arange(6) * 2.0, 0, 5000)
    assert np.array_equal(z12[:, ::2], z24)
    assert not np.array_equal(z12[:, 1], z12[:, 2])
    # A patient's draw does not depend on the range asked for (across an error block boundary).
    part = scan_error_normals(
        9, "femoral_neck", np.array([1.0, 3.0]), ERROR_BLOCK_PATIENTS - 7, ERROR_BLOCK_PATIENTS + 9
    )
    assert np.array_equal(part, z12[ERROR_BLOCK_PATIENTS - 7 : ERROR_BLOCK_PATIENTS + 9][:, [1, 3]])
    # Sites and seeds have their own streams; the draws are standard normal.
    other = scan_error_normals(9, "lumbar_spine", np.arange(11) * 1.0, 0, 5000)
    assert abs(np.corrcoef(z12.ravel(), other.ravel())[0, 1]) < 0.02
    assert not np.array_equal(z12, scan_error_normals(10, "femoral_neck", np.arange(11) * 1.0, 0, 5000))
    assert abs(z12.mean()) < 0.02 and abs(z12.std() - 1) < 0.02


def test_reproducible_with_a_seed_and_compare_sees_the_same_errors():
    pop = default_population()
    policies = [Policy("12", scan_interval=1.0), Policy("24", scan_interval=2.0)]
    a = compare_policies(policies, pop, AI, YEARS, n=1500, seed=4, params="consensus")
    b = compare_policies(policies, pop, AI, YEARS, n=1500, seed=4, params="consensus")
    c = compare_policies(policies, pop, AI, YEARS, n=1500, seed=8, params="consensus")
    assert a == b
    assert a["fraction_false_positive"] != c["fraction_false_positive"]
    # A woman triggered at the baseline scan under one schedule is triggered there under the other
    # (the same scan, the same error); the same holds at every scan time the schedules share.
    r12 = simulate_policy(policies[0], pop, AI, YEARS, n=1500, seed=4, params="consensus")
    r24 = simulate_policy(policies[1], pop, AI, YEARS, n=1500, seed=4, params="consensus")
    assert np.array_equal(r12.trigger_scan == 0, r24.trigger_scan == 0)
    both = np.isfinite(r24.start) & (r24.trigger_scan > 0)
    assert np.all(r12.start[both] <= r24.start[both])
    assert a["fraction_treated"][0] == pytest.approx(r12.summary()["fraction_treated"])


# -- grouping v. per patient ---------------------------------------------------------------------------


def test_grouped_years_below_equal_a_per_patient_simulation(patients, smoking):
    res = simulate_policy(
        Policy("p", scan_interval=2.0), patients, AI, YEARS, {"smoking": smoking}, seed=1, params="consensus"
    )
    groups = [np.flatnonzero(res.start == value)[:6] for value in np.unique(res.start)]
    idx = np.unique(np.concatenate([np.flatnonzero(res.years_below > 0)[:25], *groups]))
    assert len(groups) >= 5 and np.isinf(res.start[idx]).any()
    assert np.allclose(res.years_below[idx], per_patient_years_below(res, patients, idx=idx), rtol=0, atol=1e-12)


def test_variability_uses_the_cohort_multipliers():
    pop = default_population()
    var = Variability(cv=0.3)
    n, seed = 800, 12
    cohort = bmdsim.simulate_cohort(n, AI, YEARS, seed, population=pop, variability=var, params="consensus")
    patient, multiplier = cohort.patients()
    none = simulate_policy(
        Policy("none", rule="none", scan_interval=None),
        pop,
        AI,
        YEARS,
        n=n,
        seed=seed,
        variability=var,
        params="consensus",
    )
    # Untreated on an AI the T-score only falls: time below -2.5 is the horizon minus the cohort's crossing time.
    cross = cohort.crossing_time("femoral_neck", -2.5)
    expected = np.where(np.isfinite(cross), YEARS - cross, 0.0)
    assert np.max(np.abs(none.years_below - expected)) <= none.grid_step
    plain = simulate_policy(
        Policy("none", rule="none", scan_interval=None), pop, AI, YEARS, n=n, seed=seed, params="consensus"
    )
    assert np.sum(plain.years_below != none.years_below) > n // 10
    # The threshold rule with variability: true crossings are the cohort's; years below match a per-patient run.
    res = simulate_policy(Policy("p"), pop, AI, YEARS, n=n, seed=seed, variability=var, params="consensus")
    has = np.isfinite(res.treatment_threshold)
    for thr in (-2.0, -1.5):
        mask = res.treatment_threshold == thr
        first = np.min([cohort.crossing_time(s, thr) for s in cohort.sites], axis=0)
        assert np.array_equal(res.crossing[mask], first[mask])
    assert has.sum() > n // 2
    idx = np.arange(0, n, 25)
    assert np.allclose(res.years_below[idx], per_patient_years_below(res, patient, multiplier, idx), atol=1e-12)


# -- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": 1, "measurement_error": {"femoral_neck": -0.01}}, ValueError, r"measurement_error\['femoral_neck'\]"),
        ({"seed": 1, "measurement_error": {"femoral_neck": 0.5}}, ValueError, r"in \[0, 0.1\].*got 0.5"),
        ({"seed": 1, "measurement_error": {"wrist": 0.01}}, ValueError, "measurement_error site.*wrist"),
        ({"seed": 1, "measurement_error": {"femoral_neck": 0.02}}, ValueError, "no coefficient.*lumbar_spine"),
        ({"seed": 1, "measurement_error": {"femoral_neck": "2%"}}, TypeError, "measurement_error"),
        ({"seed": 1, "measurement_error": "iscd"}, ValueError, "'shipped'"),
        ({"seed": 1, "measurement_error": 0.02}, TypeError, "mapping"),
        ({}, ValueError, "needs seed"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"seed": 1.5}, TypeError, "seed must be a non-negative integer"),
        ({"seed": True}, TypeError, "seed must be a non-negative integer"),
        ({"seed": 2**64}, ValueError, r"seed must be a non-negative integer, at most 2\*\*64 - 1"),
        ({"seed": 1, "variability": Variability(cv=0.2)}, ValueError, "variability needs patients drawn"),
        ({"seed": 1, "n": 10}, ValueError, "n is only for drawing"),
    ],
)
def test_bad_measurement_error_seed_and_variability(patients, kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_policy(Policy("p"), patients, AI, YEARS, **kwargs, params="consensus")


def test_no_seed_needed_without_error_or_without_scans(patients):
    simulate_policy(Policy("all", rule="treat_all", scan_interval=None), patients, AI, YEARS, params="consensus")
    simulate_policy(Policy("p"), patients, AI, YEARS, measurement_error=None, params="consensus")
    one_site = simulate_policy(
        Policy("p", site="femoral_neck"),
        patients,
        AI,
        YEARS,
        seed=2,
        measurement_error={"femoral_neck": 0.02},
        params="consensus",
    )
    assert one_site.measurement_error == {"femoral_neck": 0.02}
    assert math.isfinite(one_site.summary()["fraction_false_positive"])


def test_the_scan_matrix_is_bounded_before_it_is_allocated(patients, monkeypatch):
    """Patients x scans is checked against the memory limit (here a tiny one), naming scan_interval."""
    monkeypatch.setattr(bmdsim._validation, "MAX_ARRAY_BYTES", 8 * 11 * 10)  # the schedule fits, the matrix does not
    with pytest.raises(ValueError, match=r"the scans of \d+ patients x 11 scans .*Policy scan_interval 1\).*longer"):
        simulate_policy(Policy("p"), patients, AI, 10.0, seed=1, grid_step=10.0, params="consensus")
