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
    without = simulate(_patients(), Regimen([AI]), years=15, params="consensus")
    with_event = simulate(_patients(), Regimen([AI, tam]), years=15, params="consensus")
    start, stop = with_event.exposure_times(tam)
    expected = without.crossing_time("femoral_neck", -2.0)
    np.testing.assert_array_equal(start, expected)
    assert expected[2] == 0.0 and math.isinf(expected[3])  # already below; never reached
    np.testing.assert_array_equal(stop, expected + 5)


def test_bmd_unchanged_before_the_event_and_spared_after():
    """Before the event the trajectory equals the one without the course; tamoxifen then spares bone."""
    tam = Exposure("tamoxifen", start=TRIGGER, duration=5)
    without = simulate(_patients(), Regimen([AI]), years=15, params="consensus")
    with_event = simulate(_patients(), Regimen([AI, tam]), years=15, params="consensus")
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
    truth = simulate(_patients(), Regimen([AI]), years=15, params="consensus").crossing_time("femoral_neck", -2.0)
    start = simulate(_patients(), Regimen([AI, tam]), years=15, params="consensus").exposure_times(tam)[0]
    expected = np.ceil(truth / 2.0) * 2.0 + 0.25
    np.testing.assert_allclose(start, expected)
    assert start[2] == 0.25  # below at baseline: seen at the baseline scan


def test_vectorised_event_starts_match_one_patient_at_a_time():
    """Per-patient starts give the same crossings as simulating each patient alone."""
    tam = Exposure("tamoxifen", start=TRIGGER, duration=3)
    reg = Regimen([AI, tam])
    many = simulate(_patients(), reg, years=15, params="consensus")
    p = _patients()
    for i in range(p.n):
        one = Patient(age=p.age[i], t_score={s: v[i] for s, v in p.t_score.items()})
        single = simulate(one, reg, years=15, params="consensus")
        for thr in (-1.0, -2.0, -2.5):
            assert single.crossing_time("lumbar_spine", thr) == pytest.approx(
                many.crossing_time("lumbar_spine", thr)[i], abs=1e-9
            )
        np.testing.assert_allclose(single.bmd("femoral_neck"), many.bmd("femoral_neck")[i], rtol=1e-12)


def test_crossing_after_an_event_start_matches_a_dense_grid():
    """Crossings of a trajectory bent by an event-started course agree with a 1/2000-year grid."""
    tam = Exposure("tamoxifen", start=AtThreshold("lumbar_spine", -1.5), duration=2)
    traj = simulate(_patients(), Regimen([AI, tam]), years=12, step=1 / 2000, params="consensus")
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
        simulate(p, Regimen([AI, tam]), years=10, params="consensus")


def test_event_course_overlapping_a_fixed_course_of_the_same_agent_is_refused():
    fixed = Exposure("tamoxifen", start=8, stop=12)
    event = Exposure("tamoxifen", start=TRIGGER, duration=5)
    with pytest.raises(
        ValueError, match=r"event-started course of tamoxifen overlaps another course of tamoxifen for patient 0"
    ):
        simulate(_patients(), Regimen([AI, fixed, event]), years=15, params="consensus")


def test_exposure_times_of_a_foreign_exposure_is_refused():
    traj = simulate(_patients(), Regimen([AI]), years=5, params="consensus")
    with pytest.raises(ValueError, match=r"not part of this trajectory's regimen"):
        traj.exposure_times(Exposure("tamoxifen", start=0, stop=1))
    assert traj.exposure_times(AI) == (0.0, 5.0)


def test_public_names():
    assert bmdsim.AtThreshold is AtThreshold


def _scan_regimen(delay=0.0, second=False):
    at_scan = AtThreshold("femoral_neck", -2.0, scan_interval=1.0, delay=delay)
    courses = [AI, Exposure("zoledronic_acid", start=at_scan, duration=3)]
    if second:
        courses.append(Exposure("tamoxifen", start=AtThreshold("lumbar_spine", -1.5, scan_interval=0.5), duration=2))
    return Regimen(courses)


@pytest.mark.parametrize(("delay", "second"), [(0.0, False), (0.25, False), (0.0, True)])
def test_scan_started_courses_grouped_by_start_match_the_per_patient_path(monkeypatch, delay, second):
    """Patients grouped by scan time take the shared-curve path; the answer equals the per-patient path."""
    from bmdsim import crossing

    rng = np.random.default_rng(5)
    n = 3000
    p = Patient(
        age=rng.uniform(50, 80, n),
        t_score={"femoral_neck": rng.normal(-1.2, 0.8, n), "lumbar_spine": rng.normal(-0.8, 1.0, n)},
    )
    reg = _scan_regimen(delay, second)
    grouped = simulate(p, reg, years=15, params="consensus")
    got = {(s, t): grouped.crossing_time(s, t) for s in p.sites for t in (-1.0, -2.0, -2.5)}
    calls = []
    real = crossing._first_crossing_per_patient
    monkeypatch.setattr(crossing, "_first_crossing_per_patient", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(crossing, "MAX_SCAN_GROUPS", 0)  # force the per-patient path
    monkeypatch.setattr(crossing, "SPLIT_AT_START", False)
    slow = simulate(p, reg, years=15, params="consensus")
    for (s, t), value in got.items():
        ref = slow.crossing_time(s, t)
        np.testing.assert_array_equal(np.isfinite(value), np.isfinite(ref))
        fin = np.isfinite(ref)
        np.testing.assert_allclose(value[fin], ref[fin], rtol=0, atol=1e-9)
    assert calls  # the reference really took the per-patient path


def test_grouping_by_scan_time_does_not_depend_on_how_patients_are_split():
    """The same patient gets bit-identical crossings alone, in a small call or in a large one."""
    rng = np.random.default_rng(6)
    n = 2000
    p = Patient(age=rng.uniform(50, 80, n), t_score={"femoral_neck": rng.normal(-1.2, 0.8, n)})
    reg = _scan_regimen(0.25)
    whole = simulate(p, reg, years=15, params="consensus").crossing_time("femoral_neck", -2.5)
    for idx in (np.arange(7), np.arange(500, 1300)):
        part = Patient(age=p.age[idx], t_score={"femoral_neck": p.t_score["femoral_neck"][idx]})
        np.testing.assert_array_equal(
            simulate(part, reg, years=15, params="consensus").crossing_time("femoral_neck", -2.5), whole[idx]
        )


def test_an_aromatase_inhibitor_that_never_starts_raises_no_floating_point_warning():
    """A course started on an event that never happens has start = stop = inf; no inf - inf warning leaks."""
    import warnings

    ai_on_event = Exposure("aromatase_inhibitor", start=AtThreshold("femoral_neck", -4.0), duration=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        traj = simulate(_patients(), Regimen([ai_on_event]), years=10, params="consensus")
        assert np.all(np.isinf(traj.exposure_times(ai_on_event)[0]))
        assert np.all(np.isfinite(traj.bmd("femoral_neck")))


def test_scan_after_the_horizon_gets_its_own_group(monkeypatch):
    """A crossing late in a 9.5-year horizon is seen at the scan at 10 years, after the horizon; still exact."""
    from bmdsim import crossing

    rng = np.random.default_rng(8)
    n = 1500
    p = Patient(age=rng.uniform(50, 80, n), t_score={"femoral_neck": rng.normal(-1.2, 0.8, n)})
    reg = _scan_regimen(0.0)
    traj = simulate(p, reg, years=9.5, params="consensus")
    start = traj.exposure_times(reg.exposures[1])[0]
    assert np.any(np.isfinite(start) & (start > 9.5))  # some start after the horizon
    calls = []
    real = crossing._first_crossing_per_patient
    monkeypatch.setattr(crossing, "_first_crossing_per_patient", lambda *a: calls.append(1) or real(*a))
    got = traj.crossing_time("femoral_neck", -2.5)
    assert not calls  # every group took the shared path
    monkeypatch.setattr(crossing, "MAX_SCAN_GROUPS", 0)
    monkeypatch.setattr(crossing, "SPLIT_AT_START", False)
    ref = simulate(p, reg, years=9.5, params="consensus").crossing_time("femoral_neck", -2.5)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(ref))
    np.testing.assert_allclose(got[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=0, atol=1e-9)


def _event_regimen(interval, delay=0.0, agent="zoledronic_acid"):
    trigger = AtThreshold("femoral_neck", -2.0, scan_interval=interval, delay=delay)
    if agent == "aromatase_inhibitor":  # a course that adds loss, started on the event after a fixed therapy
        return Regimen([Exposure("zoledronic_acid", start=0, stop=1), Exposure(agent, start=trigger, duration=5)])
    return Regimen([AI, Exposure(agent, start=trigger, duration=3)])


@pytest.mark.parametrize(
    ("interval", "delay", "agent"),
    [
        (None, 0.0, "zoledronic_acid"),  # started at the crossing itself
        (None, 0.3, "denosumab"),
        (None, 0.0, "aromatase_inhibitor"),
        (0.25, 0.0, "zoledronic_acid"),
        (2.0, 0.1, "zoledronic_acid"),
    ],
)
def test_event_starts_at_any_time_match_the_per_patient_search(monkeypatch, interval, delay, agent):
    """The bound search after a start gives the per-patient search's crossings to 1e-10 years, at every site."""
    from bmdsim import crossing

    thresholds = (-1.0, -2.0, -2.5)
    regimen = _event_regimen(interval, delay, agent)
    calls = []
    real = crossing._bound_search
    monkeypatch.setattr(crossing, "_bound_search", lambda *a: calls.append(1) or real(*a))
    fast = bmdsim.simulate_cohort(n=1500, regimen=regimen, years=20, seed=3).crossing_times(thresholds)
    assert calls  # the bound search answered the targets not reached before the start
    monkeypatch.setattr(crossing, "MAX_SCAN_GROUPS", 0)
    monkeypatch.setattr(crossing, "SPLIT_AT_START", False)
    slow = bmdsim.simulate_cohort(n=1500, regimen=regimen, years=20, seed=3).crossing_times(thresholds)
    after = 0
    for key, ref in slow.items():
        np.testing.assert_array_equal(np.isfinite(fast[key]), np.isfinite(ref))
        fin = np.isfinite(ref)
        np.testing.assert_allclose(fast[key][fin], ref[fin], rtol=0, atol=1e-10)
        after += int(np.sum(np.isfinite(ref) & (ref > 0)))
    assert after > 500  # many crossings compared, not only the trivial ones


@pytest.mark.parametrize("interval", [None, 0.25])
def test_event_starts_are_bit_identical_for_any_chunk_size(interval):
    """The bound search gives each patient the same crossings to the last bit however the cohort is chunked."""
    thresholds = (-1.0, -2.0, -2.5)
    regimen = _event_regimen(interval)
    runs = [
        bmdsim.simulate_cohort(n=1200, regimen=regimen, years=20, seed=4, chunk_size=size).crossing_times(thresholds)
        for size in (1200, 401, 37)
    ]
    for other in runs[1:]:
        for key, value in runs[0].items():
            assert np.array_equal(other[key], value), key


def test_without_courses_is_the_regimen_without_them_and_built_once():
    """crossing.without_courses gives the curve of the regimen without the courses, the same object each time."""
    from bmdsim.crossing import without_courses
    from bmdsim.model import SiteModel

    regimen = _event_regimen(None)
    course = regimen.exposures[-1]
    params = bmdsim.load_parameters()
    full = SiteModel(params, regimen, "lumbar_spine")
    base = without_courses(full, (course,))
    assert without_courses(full, (course,)) is base
    alone = SiteModel(params, Regimen([AI]), "lumbar_spine")
    t = np.linspace(0, 20, 401)
    np.testing.assert_array_equal(base.log_loss(t, 63.0), alone.log_loss(t, 63.0))


def test_shift_invariant_agents_are_those_read_from_the_time_since_their_start():
    """Every shipped agent but tamoxifen (which reads natural loss) is declared shift-invariant."""
    from bmdsim.agents import AGENTS

    assert {name for name, agent in AGENTS.items() if agent.shift_invariant} == {
        "aromatase_inhibitor",
        "zoledronic_acid",
        "oral_bisphosphonate",
        "ovarian_suppression",
        "glucocorticoid",
        "denosumab",
        "vibration",
    }
