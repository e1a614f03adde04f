"""PatientSet: the cohort engine's patients under any regimen (what bmdsim.policy is computed with)."""

import numpy as np
import pytest

import bmdsim
from bmdsim.cohort import PatientSet, Variability, default_population, simulate_cohort

AI = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
YEARS = 10.0
N = 1500
CV = {"lumbar_spine": 0.012, "femoral_neck": 0.0197, "total_hip": 0.013}


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(
        N,
        AI,
        YEARS,
        8,
        chunk_size=600,
        population=default_population(),
        variability=Variability(cv=0.3),
        measurement_error=CV,
    )


@pytest.fixture(scope="module")
def patients(cohort):
    return PatientSet.from_cohort(cohort)


def course(start):
    return bmdsim.Regimen([*AI, bmdsim.Exposure("zoledronic_acid", start, duration=5.0)])


def test_the_set_holds_the_cohorts_patients(cohort, patients):
    patient, multiplier = cohort.patients()
    assert patients.n == N and patients.sites == cohort.sites and patients.first == 0
    assert np.array_equal(patients.patient.age, patient.age)
    assert all(np.array_equal(patients.multiplier[s], multiplier[s]) for s in cohort.sites)
    part = PatientSet.from_cohort(cohort, 700, 900)
    assert part.first == 700 and np.array_equal(part.patient.age, patient.age[700:900])


def test_crossings_are_the_cohorts_to_the_last_bit(cohort, patients):
    for site in cohort.sites:
        for thr in (-2.5, -1.5):
            assert np.array_equal(patients.crossing_time(AI, site, thr), cohort.crossing_time(site, thr))
    idx = np.arange(3, N, 7)
    sub = patients.take(idx)
    assert sub.first is None
    assert np.array_equal(sub.crossing_time(AI, "femoral_neck", -2.0), cohort.crossing_time("femoral_neck", -2.0)[idx])


def test_true_and_measured_bmd_are_the_cohorts(cohort, patients):
    times = np.array([0.0, 1.0, 2.5, 7.0, 10.0])
    for site in cohort.sites:
        true = patients.bmd_at(AI, site, times, 600, 1300)
        assert np.array_equal(true, cohort.trajectory(600, 1300).scaled_bmd(site, times))
        seen = patients.measured_bmd_at(AI, site, times, CV[site], cohort.seed, 600, 1300)
        shown = cohort.t_scores(site, times, 600, 1300, measured=True)
        assert np.array_equal(cohort.reference.t_score(site, seen), shown)
        assert not np.array_equal(seen, true)


def test_years_below_on_the_ai_is_the_horizon_minus_the_crossing(cohort, patients):
    cells = 520
    below = patients.years_below(AI, "total_hip", -2.5, cells)
    cross = cohort.crossing_time("total_hip", -2.5)  # on the AI alone the T-score only falls
    assert np.max(np.abs(below - np.where(np.isfinite(cross), YEARS - cross, 0.0))) <= YEARS / cells
    assert (below > 0).sum() > N // 20


def test_years_below_counts_midpoints_and_a_shared_curve_agrees():
    mid = (np.arange(40) + 0.5) * (YEARS / 40)
    ages = np.array([61.0, 61.0, 61.0])
    patient = bmdsim.Patient(age=ages, t_score={"femoral_neck": np.array([-1.9, -2.3, -2.6])})
    shared = PatientSet(patient, years=YEARS, params="consensus")
    spread = PatientSet(
        bmdsim.Patient(
            age=np.array([61.0, 61.0, 61.0, 80.0]), t_score={"femoral_neck": np.array([-1.9, -2.3, -2.6, 0])}
        ),
        years=YEARS,
        params="consensus",
    )
    regimen = course(2.0)
    t = bmdsim.load_reference().t_score("femoral_neck", shared.bmd_at(regimen, "femoral_neck", mid))
    want = (t <= -2.5).sum(axis=1) * (YEARS / 40)
    assert np.array_equal(shared.years_below(regimen, "femoral_neck", -2.5, 40), want)
    assert np.array_equal(spread.years_below(regimen, "femoral_neck", -2.5, 40)[:3], want)
    assert want[0] < want[1] < want[2] and want[2] == YEARS


def test_event_starts_resolve_per_patient_and_scans_see_them(patients):
    event = bmdsim.Exposure(
        "zoledronic_acid", bmdsim.AtThreshold("femoral_neck", -2.0, scan_interval=1.0), duration=5.0
    )
    regimen = bmdsim.Regimen([*AI, event])
    start, stop = patients.exposure_times(regimen, event)
    assert start.shape == (N,) and np.all(stop[np.isfinite(start)] == start[np.isfinite(start)] + 5.0)
    scans = np.arange(11) * 1.0
    limit = {"femoral_neck": np.full(N, float(bmdsim.load_reference().bmd("femoral_neck", -2.0)))}
    index, false_positive = patients.first_scan_at_or_below(AI, ["femoral_neck"], scans, limit)
    seen = np.where(index >= 0, scans[index], np.inf)
    start[start > YEARS] = np.inf
    assert np.array_equal(seen, start) and not false_positive.any()
    assert 0 < np.isfinite(seen).sum() < N
    # Years below on the event regimen are those of each woman's fixed start.
    idx = np.flatnonzero(np.isfinite(start) & (start > 0))[:5]
    for i in idx:
        one = patients.take(np.array([i]))
        fixed = one.years_below(course(float(start[i])), "femoral_neck", -2.5, 520)
        assert fixed == pytest.approx(one.years_below(regimen, "femoral_neck", -2.5, 520), abs=1e-12)


def test_scan_errors_trigger_early_and_late(patients, cohort):
    scans = np.arange(11) * 1.0
    sites = ["lumbar_spine", "femoral_neck"]
    limit = {s: np.full(N, float(cohort.reference.bmd(s, -2.0))) for s in sites}
    exact, _ = patients.first_scan_at_or_below(AI, sites, scans, limit)
    noisy, false_positive = patients.first_scan_at_or_below(AI, sites, scans, limit, CV, seed=cohort.seed)
    assert false_positive.sum() > 5 and np.any(noisy > exact) and np.any((noisy >= 0) & (noisy < exact))
    # The scans show what the cohort's measured T-scores show.
    shown = np.min([cohort.t_scores(s, scans, measured=True) for s in sites], axis=0) <= -2.0
    first = np.where(shown.any(axis=1), np.argmax(shown, axis=1), -1)
    assert np.array_equal(first, noisy)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda p: PatientSet("x", years=YEARS), TypeError, "patient must be a bmdsim.Patient"),
        (lambda p: PatientSet(p.patient, {"wrist": 1.0}, years=YEARS), ValueError, "site"),
        (lambda p: PatientSet(p.patient, {"femoral_neck": np.ones(3)}, years=YEARS), ValueError, r"shape \(1500,\)"),
        (lambda p: PatientSet(p.patient, {"femoral_neck": -np.ones(N)}, years=YEARS), ValueError, "positive"),
        (lambda p: PatientSet(p.patient, years=0.0), ValueError, "years must be in"),
        (lambda p: PatientSet(p.patient, years=YEARS, first=-1), ValueError, "first"),
        (lambda p: PatientSet(p.patient, years=YEARS, first=1.5), TypeError, "first"),
        (lambda p: p.take(np.array([N])), ValueError, "positions"),
        (lambda p: p.take(np.array([0.5])), TypeError, "integer"),
        (lambda p: p.bmd_at(AI, "femoral_neck", [11.0]), ValueError, "times"),
        (lambda p: p.bmd_at(AI, "femoral_neck", [1.0], 5, 5), ValueError, "start < stop"),
        (lambda p: p.bmd_at("AI", "femoral_neck", [1.0]), TypeError, "regimen"),
        (lambda p: p.take(np.array([1, 2])).measured_bmd_at(AI, "femoral_neck", [1.0], 0.01, 1), ValueError, "first"),
        (lambda p: p.first_scan_at_or_below(AI, ["femoral_neck"], [0.0], {}), ValueError, "bmd_limit"),
        (lambda p: p.first_scan_at_or_below(AI, [], [0.0], {}), ValueError, "sites must not be empty"),
        (
            lambda p: p.first_scan_at_or_below(AI, ["total_hip"], [0.0], {}, {"femoral_neck": 0.01}, 1),
            ValueError,
            "no coefficient for the watched site 'total_hip'",
        ),
        (lambda p: p.first_scan_at_or_below(AI, ["femoral_neck"], [0.0], {}, CV), ValueError, "needs seed"),
        (lambda p: p.years_below(AI, "femoral_neck", -2.5, 0), ValueError, "cells"),
    ],
)
def test_bad_input_names_the_field(patients, call, error, match):
    with pytest.raises(error, match=match):
        call(patients)


def test_a_range_of_the_cohort_sees_the_cohorts_scan_errors_across_error_blocks():
    """A set drawn from patients 3,000..9,000 (two error-block boundaries) decides as the whole cohort does."""
    whole = simulate_cohort(9000, AI, YEARS, 21, chunk_size=4000, population=default_population())
    scans = np.arange(6) * 2.0
    limit = float(whole.reference.bmd("femoral_neck", -2.0))
    everyone = PatientSet.from_cohort(whole)
    part = PatientSet.from_cohort(whole, 3000, 9000)
    a = everyone.first_scan_at_or_below(AI, ["femoral_neck"], scans, {"femoral_neck": np.full(9000, limit)}, CV, 4)
    b = part.first_scan_at_or_below(AI, ["femoral_neck"], scans, {"femoral_neck": np.full(6000, limit)}, CV, 4)
    assert np.array_equal(a[0][3000:], b[0]) and np.array_equal(a[1][3000:], b[1])
    assert b[1].sum() > 10
