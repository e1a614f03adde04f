"""Exposures that start on an event (a T-score threshold crossing), per patient."""

import math

import numpy as np
import pytest

import bmdsim
from bmdsim import AtThreshold, Exposure, Patient, Regimen, simulate

AI = Exposure("aromatase_inhibitor", start=0, stop=5)
TRIGGER = AtThreshold("femoral_neck", -2.0)


def _patients():
    return Patient(
        age=np.array([58.0, 63.0, 70.0, 66.0]),
        t_score={"femoral_neck": np.array([-1.2, -1.6, -2.2, 1.5]), "lumbar_spine": np.array([-0.5, -1.0, -1.5, 0.0])},
    )


def test_event_start_is_the_exact_crossing_without_it():
    """The course starts at the crossing time of the regimen without it (0 if already below, inf if never)."""
    tam = Exposure("tamoxifen", start=TRIGGER, duration=5)
    without = simulate(_patients(), Regimen([AI]), years=15)
    with_event = simulate(_patients(), Regimen([AI, tam]), years=15)
    start, stop = with_event.exposure_times(tam)
    expected = without.crossing_time("femoral_neck", -2.0)
    np.testing.assert_array_equal(start, expected)
    assert expected[2] == 0.0 and math.isinf(expected[3])  # already below; never reached
    np.testing.assert_array_equal(stop, expected + 5)


def test_bmd_unchanged_before_the_event_and_spared_after():
    """Before the event the trajectory equals the one without the course; tamoxifen then spares bone."""
    tam = Exposure("tamoxifen", start=TRIGGER, duration=5)
    without = simulate(_patients(), Regimen([AI]), years=15)
    with_event = simulate(_patients(), Regimen([AI, tam]), years=15)
    start = with_event.exposure_times(tam)[0]
    for i, s in enumerate(start):
        if not np.isfinite(s):
            np.testing.assert_allclose(with_event.bmd("femoral_neck")[i], without.bmd("femoral_neck")[i], rtol=1e-14)
            continue
        before = with_event.time <= s
        after = with_event.time > s + 0.1
        np.testing.assert_allclose(
            with_event.bmd("femoral_neck")[i][before], without.bmd("femoral_neck")[i][before], rtol=1e-13
        )
        assert np.all(with_event.bmd("femoral_neck")[i][after] > without.bmd("femoral_neck")[i][after])


def test_scan_interval_starts_at_the_first_scan_after_the_crossing():
    """Detected only at scans every 2 years: the start is the first scan at or after the true crossing."""
    tam = Exposure("tamoxifen", start=AtThreshold("femoral_neck", -2.0, scan_interval=2.0, delay=0.25), duration=5)
    truth = simulate(_patients(), Regimen([AI]), years=15).crossing_time("femoral_neck", -2.0)
    start = simulate(_patients(), Regimen([AI, tam]), years=15).exposure_times(tam)[0]
    expected = np.ceil(truth / 2.0) * 2.0 + 0.25
    np.testing.assert_allclose(start, expected)
    assert start[2] == 0.25  # below at baseline: seen at the baseline scan


def test_vectorised_event_starts_match_one_patient_at_a_time():
    """Per-patient starts give the same crossings as simulating each patient alone."""
    tam = Exposure("tamoxifen", start=TRIGGER, duration=3)
    reg = Regimen([AI, tam])
    many = simulate(_patients(), reg, years=15)
    p = _patients()
    for i in range(p.n):
        one = Patient(age=p.age[i], t_score={s: v[i] for s, v in p.t_score.items()})
        single = simulate(one, reg, years=15)
        for thr in (-1.0, -2.0, -2.5):
            assert single.crossing_time("lumbar_spine", thr) == pytest.approx(
                many.crossing_time("lumbar_spine", thr)[i], abs=1e-9
            )
        np.testing.assert_allclose(single.bmd("femoral_neck"), many.bmd("femoral_neck")[i], rtol=1e-12)


def test_crossing_after_an_event_start_matches_a_dense_grid():
    """Crossings of a trajectory bent by an event-started course agree with a 1/2000-year grid."""
    tam = Exposure("tamoxifen", start=AtThreshold("lumbar_spine", -1.5), duration=2)
    traj = simulate(_patients(), Regimen([AI, tam]), years=12, step=1 / 2000)
    t = traj.t_score("lumbar_spine")
    for i, tc in enumerate(traj.crossing_time("lumbar_spine", -2.0)):
        below = t[i] <= -2.0
        brute = traj.time[np.argmax(below)] if below.any() else np.inf
        assert (np.isinf(tc) and np.isinf(brute)) or abs(tc - brute) <= 1 / 2000 + 1e-9


def test_duration_sets_stop():
    """duration is an alternative to stop, and a fixed course reports its duration."""
    assert Exposure("aromatase_inhibitor", start=1, duration=5).stop == 6
    assert Exposure("aromatase_inhibitor", start=1, stop=4).duration == 3
    assert math.isinf(Exposure("aromatase_inhibitor", start=1).duration)


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda: AtThreshold("hip", -2.0), ValueError, r"unknown AtThreshold site 'hip'.*lumbar_spine"),
        (
            lambda: AtThreshold("femoral_neck", float("nan")),
            ValueError,
            r"AtThreshold threshold must be a finite number, got nan",
        ),
        (lambda: AtThreshold("femoral_neck", -2, scan_interval=0), ValueError, r"scan_interval must be a positive"),
        (lambda: AtThreshold("femoral_neck", -2, delay=-1), ValueError, r"delay must be >= 0 years, got -1"),
        (lambda: Exposure("tamoxifen", start=TRIGGER, stop=5), ValueError, r"starts on an event.*give duration"),
        (lambda: Exposure("tamoxifen", start=0, stop=5, duration=5), ValueError, r"stop or duration.*not both"),
        (lambda: Exposure("tamoxifen", start=0, duration=0), ValueError, r"duration of tamoxifen must be a positive"),
    ],
)
def test_bad_event_definitions_are_refused(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_event_on_a_site_without_baseline_is_refused():
    tam = Exposure("tamoxifen", start=AtThreshold("total_hip", -2.0), duration=5)
    p = Patient(age=60, t_score={"femoral_neck": -1.0})
    with pytest.raises(ValueError, match=r"total_hip T-score reaches -2.*given sites are femoral_neck"):
        simulate(p, Regimen([AI, tam]), years=10)


def test_event_course_overlapping_a_fixed_course_of_the_same_agent_is_refused():
    fixed = Exposure("tamoxifen", start=8, stop=12)
    event = Exposure("tamoxifen", start=TRIGGER, duration=5)
    with pytest.raises(
        ValueError, match=r"event-started course of tamoxifen overlaps another course of tamoxifen for patient 0"
    ):
        simulate(_patients(), Regimen([AI, fixed, event]), years=15)


def test_exposure_times_of_a_foreign_exposure_is_refused():
    traj = simulate(_patients(), Regimen([AI]), years=5)
    with pytest.raises(ValueError, match=r"not part of this trajectory's regimen"):
        traj.exposure_times(Exposure("tamoxifen", start=0, stop=1))
    assert traj.exposure_times(AI) == (0.0, 5.0)


def test_public_names():
    assert bmdsim.AtThreshold is AtThreshold
