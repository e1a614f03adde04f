"""Hostile input to the single-patient API: a clear error naming the argument, or a finite, in-range result.

Covers :func:`bmdsim.simulate` and :class:`bmdsim.Trajectory`, :class:`bmdsim.Patient`, regimens, agents,
the young-adult reference, :mod:`bmdsim.summary` and the numeric API of :mod:`bmdsim.fracture`. No input may
make a call hang, allocate without bound, or return NaN or infinity as if it were a result.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bmdsim
from bmdsim import _validation, fracture, summary
from bmdsim.agents import AGENTS, AgentModel, NaturalLoss, ParameterSpec, register_agent
from bmdsim.regimen import MAX_EXPOSURES
from bmdsim.simulation import MAX_LOSS_MULTIPLIER, output_times

PATIENT = bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5})
AI = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
ZOL = bmdsim.Regimen([bmdsim.Exposure("zoledronic_acid", start=0, stop=5)])

#: A small memory limit [bytes] for tests that must not allocate much even where the real limit would allow it.
SMALL_LIMIT = 1 << 23


@pytest.fixture(scope="module")
def traj() -> bmdsim.Trajectory:
    return bmdsim.simulate(PATIENT, AI, years=10)


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lower the per-array memory limit to 8 MiB for one test."""
    monkeypatch.setattr(_validation, "MAX_ARRAY_BYTES", SMALL_LIMIT)


# -- 1. work without bound from small inputs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "match"),
    [
        (1e-9, r"output grid of 1 patient\(s\) x 6e\+10 times \(years=60, step=1e-09\) would need 447 GiB"),
        (5e-324, r"\(years=60, step=4\.94066e-324\) would need more memory than any machine has"),
    ],
)
def test_a_tiny_step_is_refused_before_allocating(step, match):
    """A step that would make an enormous output grid raises naming years and step, instead of allocating."""
    with pytest.raises(ValueError, match=match):
        bmdsim.simulate(PATIENT, AI, years=60, step=step)
    with pytest.raises(ValueError, match=r"years=60, step="):
        output_times(60, step)


def test_many_patients_times_a_long_grid_is_refused():
    """200,000 patients over 60 years at monthly output would need 1.08 GiB: refused, not allocated."""
    many = bmdsim.Patient(age=np.full(200_000, 60.0), t_score={"lumbar_spine": -1.0})
    with pytest.raises(ValueError, match=r"200000 patient\(s\) x 722 times \(years=60, step=0\.0833333\).*1\.08 GiB"):
        bmdsim.simulate(many, AI, years=60)
    assert bmdsim.simulate(many, AI, years=60, step=1.0).time.size == 61  # a coarser grid fits


@pytest.mark.usefixtures("small_limit")
def test_per_call_arrays_are_bounded():
    """Arrays sized by a query (times, thresholds, table rows) are checked before they are made."""
    group = bmdsim.simulate(bmdsim.Patient(age=np.full(1000, 60.0), t_score={"lumbar_spine": -1.0}), AI, years=10)
    with pytest.raises(ValueError, match=r"bmd_at: 1000 patient\(s\) x 2000 times t would need"):
        group.bmd_at("lumbar_spine", np.linspace(0, 10, 2000))
    with pytest.raises(ValueError, match=r"crossing_table: 1000 patient\(s\) x 1 site\(s\) x 2000 thresholds"):
        group.crossing_table(np.linspace(-3, -1, 2000))
    with pytest.raises(ValueError, match=r"crossing_records: 1000 patient\(s\) x 1 site\(s\) x 30 thresholds"):
        summary.crossing_records(group, np.linspace(-3, -1, 30))
    fine = bmdsim.simulate(bmdsim.Patient(age=np.full(1000, 60.0), t_score={"lumbar_spine": -1.0}), years=10, step=0.01)
    with pytest.raises(ValueError, match=r"trajectory_columns: a table of 1000 patient\(s\) x 1001 times x 4 columns"):
        summary.trajectory_columns(fine)


def test_cohort_relative_risk_bounds_its_histograms():
    """Each time asked for costs a 40,000-bin histogram; too many times are refused before allocating."""
    result = bmdsim.simulate_cohort(50, AI, years=5, seed=1)
    with pytest.raises(ValueError, match=r"histograms of 40000 bins for each of 4000 times would need 1\.19 GiB"):
        fracture.cohort_relative_risk(result, "total_hip", np.linspace(0, 5, 4000))


def test_regimens_and_format_sources_refuse_unbounded_iterables():
    """An endless iterable of courses or citation keys is refused, not consumed."""

    def endless_courses():
        k = 0
        while True:
            yield bmdsim.Exposure("aromatase_inhibitor", start=-30 + k, duration=0.5)
            k += 1

    with pytest.raises(ValueError, match=rf"exposures: a regimen takes at most {MAX_EXPOSURES} courses"):
        bmdsim.Regimen(endless_courses())
    with pytest.raises(ValueError, match=r"keys: at most 1000 citation keys"):
        summary.format_sources(iter(lambda: "who_1994", None))
    with pytest.raises(TypeError, match=r"exposures must be an iterable of bmdsim.Exposure"):
        bmdsim.Regimen(5)
    with pytest.raises(TypeError, match=r"keys must be an iterable of citation keys.*str"):
        summary.format_sources("who_1994")
    with pytest.raises(TypeError, match=r"keys\[0\] must be a string"):
        summary.format_sources([[1]])


def test_event_timing_is_bounded():
    """A scan interval near zero would overflow crossing / interval (the course would silently never start)."""
    with pytest.raises(ValueError, match=r"AtThreshold scan_interval must lie in \[0\.00273785, 60\] years.*5e-324"):
        bmdsim.AtThreshold("lumbar_spine", -1.5, scan_interval=5e-324)
    with pytest.raises(ValueError, match=r"AtThreshold delay must be at most 60 years.*1e\+308"):
        bmdsim.AtThreshold("lumbar_spine", -1.5, delay=1e308)
    with pytest.raises(ValueError, match=r"duration of aromatase_inhibitor \(1e-300 years\) is too short"):
        bmdsim.Exposure("aromatase_inhibitor", start=5, duration=1e-300)


# -- 2. no silent coercion ------------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [True, np.bool_(False), 1 + 2j, ["5", True], [1.0, "2"], {"t": 1}, np.zeros((2, 2))])
def test_trajectory_times_are_not_coerced(traj, t):
    """Booleans, complex numbers, strings and nested arrays are refused as times, naming the argument."""
    with pytest.raises((TypeError, ValueError), match=r"^t must be"):
        traj.bmd_at("lumbar_spine", t)
    with pytest.raises((TypeError, ValueError), match=r"^times must be"):
        summary.fraction_crossed(traj, "lumbar_spine", -2.0, t)


@pytest.mark.parametrize("bad", [True, "-2", 1j, [-2.0, "x"], np.zeros((2, 2)), None])
def test_threshold_lists_are_not_coerced(traj, bad):
    """crossing_table and crossing_records read thresholds as real numbers only."""
    with pytest.raises((TypeError, ValueError), match=r"^thresholds must be"):
        traj.crossing_table(bad)
    with pytest.raises((TypeError, ValueError), match=r"^thresholds must be"):
        summary.crossing_records(traj, bad)


def test_a_scalar_threshold_is_one_threshold(traj):
    assert list(traj.crossing_table(-2)["femoral_neck"]) == [-2.0]
    assert {r["threshold"] for r in summary.crossing_records(traj, np.float32(-2.0))} == {-2.0}


@pytest.mark.parametrize(
    ("value", "exc"), [(1 + 1j, TypeError), (True, TypeError), ("2", TypeError), ([[1.0]], ValueError)]
)
def test_loss_multiplier_is_not_coerced(value, exc):
    with pytest.raises(exc, match=r"loss_multiplier\['lumbar_spine'\] must"):
        bmdsim.simulate(PATIENT, AI, loss_multiplier={"lumbar_spine": value})


def test_numpy_real_scalars_are_accepted_everywhere(traj):
    """numpy integers and floats are real numbers; only numpy booleans are refused."""
    p = bmdsim.Patient(age=np.int64(63), t_score={"lumbar_spine": np.float32(-1.2)})
    t = bmdsim.simulate(p, AI, years=np.float64(10), step=np.float32(0.5), loss_multiplier={"lumbar_spine": np.int8(2)})
    assert np.isfinite(t.bmd_at("lumbar_spine", np.float32(2.5)))
    assert math.isfinite(t.percent_change("lumbar_spine", np.int64(0), np.float32(5)))
    lo, hi = summary.wilson_interval(np.float32(0.5), np.int64(10), np.float64(1.96))
    assert 0 < lo < 0.5 < hi < 1


class _Gain(AgentModel):
    name = "hostile_test_gain"

    def cumulative(self, t, exposure, p, ctx):
        return np.zeros(np.shape(t))

    def rate(self, t, exposure, p, ctx):
        return np.zeros(np.shape(t))


def test_register_agent_checks_the_name_and_refuses_silent_replacement():
    """A non-string name is a TypeError; re-registering a name needs replace=True."""

    class Numbered(_Gain):
        name = 5

    with pytest.raises(TypeError, match=r"agent name \(model.name\) must be a string, got 5"):
        register_agent(Numbered())

    class Shadow(_Gain):
        name = "aromatase_inhibitor"

    shipped = AGENTS["aromatase_inhibitor"]
    with pytest.raises(ValueError, match=r"agent name 'aromatase_inhibitor' is already registered.*replace=True"):
        register_agent(Shadow())
    assert AGENTS["aromatase_inhibitor"] is shipped
    assert register_agent(shipped) is shipped  # the same object again: nothing changes
    with pytest.raises(TypeError, match=r"replace must be True or False, got 'yes'"):
        register_agent(_Gain(), replace="yes")
    try:
        shadow = Shadow()
        assert register_agent(shadow, replace=True) is shadow
        assert AGENTS["aromatase_inhibitor"] is shadow
    finally:
        AGENTS["aromatase_inhibitor"] = shipped


def test_register_agent_refuses_incomplete_models():
    class NoRate(AgentModel):
        name = "hostile_no_rate"

    with pytest.raises(TypeError, match=r"model 'hostile_no_rate' must implement AgentModel.cumulative"):
        register_agent(NoRate())

    class BadSpecs(_Gain):
        name = "hostile_bad_specs"
        SPECS = ("rate",)

    with pytest.raises(TypeError, match=r"model 'hostile_bad_specs': SPECS must be a tuple of"):
        register_agent(BadSpecs())

    class NanSpecs(_Gain):
        name = "hostile_nan_specs"
        SPECS = (ParameterSpec("x", "1", math.nan, 1.0),)

    with pytest.raises(ValueError, match=r"model 'hostile_nan_specs': SPECS x low must be a finite number"):
        register_agent(NanSpecs())
    assert not {"hostile_no_rate", "hostile_bad_specs", "hostile_nan_specs"} & set(AGENTS)


def test_reference_values_cannot_be_changed_after_the_checks():
    """The reference keeps read-only copies of its checked values."""
    mean = {"lumbar_spine": 1.0}
    ref = bmdsim.YoungAdultReference(mean=mean, sd={"lumbar_spine": 0.1})
    mean["lumbar_spine"] = math.nan
    assert ref.mean["lumbar_spine"] == 1.0
    with pytest.raises(TypeError):
        ref.mean["lumbar_spine"] = math.nan  # type: ignore[index]
    with pytest.raises(TypeError, match=r"reference values must be a mapping"):
        bmdsim.YoungAdultReference.from_values([("lumbar_spine", (1.0, 0.1))])
    with pytest.raises(TypeError, match=r"reference must be a bmdsim.YoungAdultReference, got str"):
        PATIENT.baseline_bmd("lumbar_spine", "default")


# -- 3. never NaN or infinity out of finite input ---------------------------------------------------------------


def test_a_huge_multiplier_on_a_gain_is_refused_not_overflowed():
    """1e4 times zoledronic acid's log-gain would overflow BMD: refused naming loss_multiplier."""
    t = bmdsim.simulate(PATIENT, ZOL, years=60, loss_multiplier={"lumbar_spine": MAX_LOSS_MULTIPLIER})
    with pytest.raises(ValueError, match=r"BMD at lumbar_spine would grow by a factor exp\(755\.3\).*loss_multiplier"):
        t.bmd("lumbar_spine")
    with pytest.raises(ValueError, match=r"loss_multiplier\['lumbar_spine'\] \(up to 10000\)"):
        t.percent_change("lumbar_spine", 0, 5)
    assert math.isfinite(t.crossing_time("lumbar_spine", -2.0))
    loss = bmdsim.simulate(PATIENT, AI, years=60, loss_multiplier={"lumbar_spine": MAX_LOSS_MULTIPLIER})
    assert np.all(np.isfinite(loss.t_score("lumbar_spine")))  # BMD may underflow towards 0, which is finite
    assert loss.percent_change("lumbar_spine", 0, 5) == -100.0
    assert np.all(np.isfinite(fracture.relative_risk(loss, "lumbar_spine")))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: summary.wilson_interval(2.0, 10), ValueError, r"fraction must lie in \[0, 1\], got 2"),
        (lambda: summary.wilson_interval(-0.1, 10), ValueError, r"fraction must lie in \[0, 1\]"),
        (lambda: summary.wilson_interval(math.nan, 10), ValueError, r"fraction must be finite"),
        (lambda: summary.wilson_interval(0.5, 10, 1e200), ValueError, r"z must lie in \(0, 10\].*got 1e\+200"),
        (lambda: summary.wilson_interval(0.5, 10, math.inf), ValueError, r"z must be a finite number"),
        (lambda: summary.wilson_interval(0.5, 10**400), ValueError, r"n must lie in \[1, 9007199254740992\]"),
        (lambda: summary.wilson_interval(0.5, True), TypeError, r"n must be an integer, got True"),
        (lambda: summary.wilson_interval(0.5, "5"), TypeError, r"n must be an integer, got '5'"),
        (lambda: bmdsim.load_reference().t_score("lumbar_spine", 1e308), ValueError, r"bmd at lumbar_spine is too"),
        (lambda: bmdsim.load_reference().t_score("lumbar_spine", -0.1), ValueError, r"bmd must lie in \[0, inf\]"),
        (lambda: bmdsim.load_reference().t_score("lumbar_spine", True), TypeError, r"bmd must be a real number"),
        (lambda: bmdsim.load_reference().bmd("lumbar_spine", 1j), TypeError, r"t_score must be a real number"),
    ],
)
def test_numeric_helpers_refuse_what_would_be_nan(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_relative_risk_checks_its_reference_and_switch(traj):
    with pytest.raises(ValueError, match=r"reference_t_score must lie in \[-6, 4\] SD, got 1e\+300"):
        fracture.relative_risk(traj, "lumbar_spine", reference_t_score=1e300)
    with pytest.raises(TypeError, match=r"ai_multiplier must be True or False, got 'no'"):
        fracture.relative_risk(traj, "lumbar_spine", ai_multiplier="no")
    with pytest.raises(TypeError, match=r"traj must be a bmdsim.Trajectory"):
        fracture.relative_risk(None, "lumbar_spine")
    with pytest.raises(TypeError, match=r"site must be a string"):
        fracture.relative_risk(traj, np.array([1.0, 2.0]))


def test_extreme_thresholds_give_exact_answers(traj):
    """A threshold far above is crossed at baseline, far below never: 0 and inf, the documented values."""
    assert traj.crossing_time("lumbar_spine", 1e300) == 0.0
    assert traj.crossing_time("lumbar_spine", -1e300) == math.inf
    assert np.array_equal(summary.fraction_crossed(traj, "lumbar_spine", 1e300, [0.0, 10.0]), [1.0, 1.0])


def test_natural_loss_checks_its_parameters():
    with pytest.raises(ValueError, match=r"natural loss rates_pct_per_year must be finite"):
        NaturalLoss((), (math.nan,))
    with pytest.raises(ValueError, match=r"natural loss age_edges_years must lie in \[0, 120\] years, got 1e\+300"):
        NaturalLoss((1e300,), (1.0, 2.0))
    with pytest.raises(TypeError, match=r"natural loss age_slope_per_year must be a real number"):
        NaturalLoss((), (1.0,), slope="0.1")


# -- 4. properties: any input gives a clear error or a finite, in-range result ------------------------------------

HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.booleans(),
    st.sampled_from([np.bool_(True), np.float32(1.5), np.int64(7), np.float64(-0.0), 5e-324, 1e-9, 1e300, -1e300]),
    st.text(max_size=3),
    st.complex_numbers(max_magnitude=10),
    st.none(),
    st.lists(st.one_of(st.floats(-100, 100), st.integers(-5, 100), st.booleans(), st.text(max_size=2)), max_size=4),
    st.sampled_from([np.zeros((2, 2)), np.array([]), [[1.0]], {}, {"lumbar_spine": 1.0}, object()]),
)

#: Plausible values of each argument, so that a case mixes hostile and valid arguments.
PLAUSIBLE = {
    "age": st.floats(18, 100),
    "t_score": st.floats(-6, 4),
    "bmd": st.floats(0.2, 2.0),
    "years": st.floats(1e-3, 60),
    "step": st.floats(1e-12, 60),
    "multiplier": st.floats(1e-6, MAX_LOSS_MULTIPLIER),
    "time": st.floats(0, 10),
    "threshold": st.floats(-1e3, 1e3),
    "fraction": st.floats(0, 1),
    "n": st.integers(1, 10**6),
    "z": st.floats(0.1, 10),
}

PROPERTY = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], database=None
)


def either(kind: str) -> st.SearchStrategy:
    """A plausible value of ``kind`` two times in three, else a hostile one."""
    return st.one_of(PLAUSIBLE[kind], PLAUSIBLE[kind], HOSTILE)


def _outcome(call, names: tuple[str, ...]):
    """Run ``call``: return its result, or None after a ValueError/TypeError whose message names an argument."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
            return call()
    except (ValueError, TypeError) as exc:
        assert any(name in str(exc) for name in names), f"{type(exc).__name__} names none of {names}: {exc}"
        return None


def _finite(value) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    assert np.all(np.isfinite(arr)), f"non-finite result {value!r}"
    return arr


def _check_trajectory(traj: bmdsim.Trajectory) -> None:
    """Every output of a trajectory is finite and in range."""
    assert traj.time[0] == 0.0 and traj.time[-1] == traj.years and np.all(np.diff(traj.time) > 0)
    for site in traj.sites:
        bmd = _outcome(lambda s=site: traj.bmd(s), ("loss_multiplier",))
        if bmd is None:  # a gain scaled beyond floating point, refused naming loss_multiplier
            continue
        assert np.all(_finite(bmd) >= 0)
        _finite(traj.t_score(site))
        _finite(fracture.relative_risk(traj, site))
        if site in ("lumbar_spine", "femoral_neck", "total_hip"):
            _finite(traj.percent_change(site, 0.0, traj.years))
    columns = _outcome(lambda: summary.trajectory_columns(traj), ("loss_multiplier", "trajectory_columns"))
    if columns is not None:
        assert np.all(_finite(columns[1])[:, 1] <= traj.years)


@PROPERTY
@given(age=either("age"), t_score=either("t_score"), bmd=either("bmd"))
def test_patient_gives_clear_errors_or_finite_trajectories(age, t_score, bmd):
    patient = _outcome(
        lambda: bmdsim.Patient(age=age, t_score={"lumbar_spine": t_score}, bmd={"total_hip": bmd}),
        ("age", "t_score", "bmd"),
    )
    if patient is not None:
        assert patient.n >= 1
        _check_trajectory(bmdsim.simulate(patient, AI, years=60))


@PROPERTY
@given(
    years=either("years"),
    step=either("step"),
    multiplier=either("multiplier"),
    agent=st.sampled_from(sorted(AGENTS)),
    age=st.sampled_from([18.0, 63.0, 100.0]),
)
def test_simulate_gives_clear_errors_or_finite_trajectories(years, step, multiplier, agent, age):
    patient = bmdsim.Patient(age=age, t_score={"lumbar_spine": -1.2, "total_hip": 4.0}, bmd={"femoral_neck": 0.2})
    regimen = bmdsim.Regimen([bmdsim.Exposure(agent, start=-1, stop=5)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_validation, "MAX_ARRAY_BYTES", SMALL_LIMIT)
        traj = _outcome(
            lambda: bmdsim.simulate(
                patient, regimen, years=years, step=step, loss_multiplier={"lumbar_spine": multiplier}
            ),
            ("years", "step", "loss_multiplier"),
        )
        if traj is not None:
            _check_trajectory(traj)


@PROPERTY
@given(
    multiplier=either("multiplier"),
    t=either("time"),
    start=either("time"),
    stop=either("time"),
    threshold=either("threshold"),
    agent=st.sampled_from(sorted(AGENTS)),
)
def test_trajectory_queries_give_clear_errors_or_finite_results(multiplier, t, start, stop, threshold, agent):
    regimen = bmdsim.Regimen([bmdsim.Exposure(agent, start=0, stop=5)])
    traj = _outcome(
        lambda: bmdsim.simulate(PATIENT, regimen, years=10, loss_multiplier={"lumbar_spine": multiplier}),
        ("loss_multiplier",),
    )
    if traj is None:
        return
    value = _outcome(lambda: traj.bmd_at("lumbar_spine", t), ("t", "loss_multiplier"))
    if value is not None:
        assert np.all(_finite(value) >= 0)
    change = _outcome(lambda: traj.percent_change("lumbar_spine", start, stop), ("start", "stop", "loss_multiplier"))
    if change is not None:
        assert _finite(change) >= -100
    crossing = _outcome(lambda: traj.crossing_time("lumbar_spine", threshold), ("threshold",))
    if crossing is not None:
        assert crossing == math.inf or 0 <= crossing <= traj.years
    fraction = _outcome(lambda: summary.fraction_crossed(traj, "femoral_neck", threshold, t), ("threshold", "times"))
    if fraction is not None:
        assert np.all((_finite(fraction) >= 0) & (fraction <= 1))
    records = _outcome(lambda: summary.crossing_records(traj, threshold), ("thresholds",))
    if records is not None:
        assert all(r["years"] is None or 0 <= r["years"] <= traj.years for r in records)
    rr = _outcome(lambda: fracture.relative_risk(traj, "femoral_neck", reference_t_score=threshold), ("reference",))
    if rr is not None:
        assert np.all(_finite(rr) > 0)


@PROPERTY
@given(fraction=either("fraction"), n=either("n"), z=either("z"), bmd=either("bmd"), t_score=either("t_score"))
def test_numeric_helpers_give_clear_errors_or_finite_results(fraction, n, z, bmd, t_score):
    interval = _outcome(lambda: summary.wilson_interval(fraction, n, z), ("fraction", "n", "z"))
    if interval is not None:
        low, high = (_finite(x) for x in interval)
        p = np.asarray(fraction, dtype=float)
        assert np.all((0 <= low) & (low <= p + 1e-12) & (p - 1e-12 <= high) & (high <= 1))
    ref = bmdsim.load_reference()
    score = _outcome(lambda: ref.t_score("femoral_neck", bmd), ("bmd",))
    if score is not None:
        _finite(score)
    value = _outcome(lambda: ref.bmd("femoral_neck", t_score), ("t_score",))
    if value is not None:
        _finite(value)


@PROPERTY
@given(
    start=either("time"),
    stop=either("time"),
    duration=either("time"),
    threshold=either("threshold"),
    scan_interval=either("time"),
    delay=either("time"),
)
def test_regimens_give_clear_errors_or_finite_event_times(start, stop, duration, threshold, scan_interval, delay):
    fixed = _outcome(lambda: bmdsim.Exposure("aromatase_inhibitor", start=start, stop=stop), ("start", "stop"))
    if fixed is not None:
        assert fixed.stop > fixed.start and fixed.duration > 0
    trigger = _outcome(
        lambda: bmdsim.AtThreshold("lumbar_spine", threshold, scan_interval=scan_interval, delay=delay),
        ("threshold", "scan_interval", "delay"),
    )
    if trigger is None:
        return
    course = _outcome(lambda: bmdsim.Exposure("denosumab", start=trigger, duration=duration), ("duration",))
    if course is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        traj = bmdsim.simulate(PATIENT, bmdsim.Regimen([*AI, course]), years=10)
    begin, end = traj.exposure_times(course)
    assert begin == math.inf or (0 <= begin and end == begin + course.duration)
    assert np.all(_finite(traj.bmd("lumbar_spine")) > 0)


@PROPERTY
@given(name=st.one_of(HOSTILE, st.text(max_size=12)), replace=st.one_of(st.booleans(), HOSTILE))
def test_register_agent_gives_clear_errors_or_registers(name, replace):
    model = type("Hostile", (_Gain,), {"name": name})()
    before = dict(AGENTS)
    try:
        out = _outcome(lambda: register_agent(model, replace=replace), ("name", "replace"))
        if out is None:
            assert AGENTS == before
        else:
            assert AGENTS[name] is model and (name not in before or replace)
    finally:
        AGENTS.clear()
        AGENTS.update(before)


@PROPERTY
@given(keys=st.one_of(HOSTILE, st.lists(st.one_of(st.text(max_size=8), HOSTILE), max_size=4)))
def test_format_sources_gives_clear_errors_or_text(keys):
    text = _outcome(lambda: summary.format_sources(keys), ("keys",))
    if text is not None:
        assert isinstance(text, str)


@pytest.fixture(scope="module")
def small_cohort() -> bmdsim.CohortResult:
    return bmdsim.simulate_cohort(50, AI, years=5, seed=1)


@PROPERTY
@given(times=either("time"), reference=either("t_score"), ai_multiplier=st.one_of(st.booleans(), HOSTILE))
def test_cohort_relative_risk_gives_clear_errors_or_finite_results(small_cohort, times, reference, ai_multiplier):
    risk = _outcome(
        lambda: fracture.cohort_relative_risk(
            small_cohort, "total_hip", times, reference=reference, ai_multiplier=ai_multiplier
        ),
        ("times", "reference", "ai_multiplier"),
    )
    if risk is not None:
        for key in ("mean", "mean_ci", "percentiles", "relative_incidence", "relative_incidence_ci"):
            assert np.all(_finite(risk[key]) > 0)
