"""Property-based invariants of the model (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from conftest import AGE_BANDS
from hypothesis import given, settings
from hypothesis import strategies as st

import bmdsim
from bmdsim.parameters import parameter_specs as _specs

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None)
SITES = st.sampled_from(bmdsim.SITES)
AGES = st.floats(45, 90)
T_SCORES = st.floats(-3.0, 1.0)


@st.composite
def ai_regimens(draw, tamoxifen: bool | None = None, earliest: float = -5.0) -> bmdsim.Regimen:
    """Zero to two non-overlapping AI courses from ``earliest`` on, plus optionally a tamoxifen course."""
    exposures = []
    t = draw(st.floats(earliest, 8))
    for _ in range(draw(st.integers(0, 2))):
        length = draw(st.floats(0.25, 8))
        open_ended = draw(st.booleans()) and draw(st.booleans())
        exposures.append(bmdsim.Exposure("aromatase_inhibitor", start=t, stop=None if open_ended else t + length))
        if open_ended:
            break
        t += length + draw(st.floats(0, 5))
    if tamoxifen if tamoxifen is not None else draw(st.booleans()):
        start = draw(st.floats(-3, 10))
        exposures.append(bmdsim.Exposure("tamoxifen", start=start, stop=start + draw(st.floats(0.5, 10))))
    return bmdsim.Regimen(exposures)


@st.composite
def parameter_sets(draw) -> bmdsim.ParameterSet:
    """A shipped set, optionally with age bands and a front-loaded AI effect at every site."""
    params = bmdsim.load_parameters(draw(st.sampled_from(bmdsim.available_parameter_sets())))
    if draw(st.booleans()):
        params = params.with_values(AGE_BANDS)
    if draw(st.booleans()):
        early = {f"aromatase_inhibitor.{s}.early_excess_pct_per_year": draw(st.floats(0, 10)) for s in bmdsim.SITES}
        params = params.with_values(early, **{"aromatase_inhibitor.early_time_constant_years": draw(st.floats(0.1, 2))})
    return params


def patient(age: float, site: str, t_score: float) -> bmdsim.Patient:
    return bmdsim.Patient(age=age, t_score={site: t_score})


@SETTINGS
@given(
    age=st.floats(18, 100),
    bmd=st.floats(0.2, 2.0),
    regimen=ai_regimens(),
    natural=st.floats(0, 20),
    late=st.floats(0, 20),
    years=st.floats(0.5, 60),
)
def test_bmd_stays_positive_and_finite(age, bmd, regimen, natural, late, years):
    """Even at the largest allowed loss rates over 60 years, BMD stays positive and finite."""
    params = bmdsim.load_parameters("consensus").with_values(
        {
            "natural.femoral_neck.rates_pct_per_year": [natural],
            "aromatase_inhibitor.femoral_neck.late_excess_pct_per_year": late,
            "aromatase_inhibitor.femoral_neck.early_excess_pct_per_year": 50.0,
            "aromatase_inhibitor.early_time_constant_years": 10.0,
        }
    )
    traj = bmdsim.simulate(bmdsim.Patient(age=age, bmd={"femoral_neck": bmd}), regimen, years=years, params=params)
    values = traj.bmd_at("femoral_neck", np.linspace(0, years, 301))
    assert np.all(np.isfinite(values)) and np.all(values > 0)
    assert np.all(traj.bmd("femoral_neck") > 0)


@SETTINGS
@given(
    age=AGES,
    site=SITES,
    t0=T_SCORES,
    drop=st.floats(0.05, 2.5),
    regimen=ai_regimens(earliest=0.0),
    extra_natural=st.floats(0, 3),
    extra_late=st.floats(0, 3),
    params=parameter_sets(),
)
def test_faster_loss_never_crosses_later(age, site, t0, drop, regimen, extra_natural, extra_late, params):
    """Raising the natural loss rate (every band) or the AI late excess never delays a crossing.

    Only for AI courses that start at or after baseline: BMD is anchored at baseline, so a larger excess in a
    course given before baseline only means a larger recovery after it (see test_pre_baseline_course_...).
    """
    nat_key = f"natural.{site}.rates_pct_per_year"
    late_key = f"aromatase_inhibitor.{site}.late_excess_pct_per_year"
    faster = params.with_values(
        {nat_key: [r + extra_natural for r in params[nat_key]], late_key: params[late_key] + extra_late}
    )
    p = patient(age, site, t0)
    base = bmdsim.simulate(p, regimen, years=30, params=params)
    fast = bmdsim.simulate(p, regimen, years=30, params=faster)
    t = np.linspace(0, 30, 241)
    assert np.all(fast.bmd_at(site, t) <= base.bmd_at(site, t) * (1 + 1e-12))
    threshold = t0 - drop
    assert fast.crossing_time(site, threshold) <= base.crossing_time(site, threshold) + 1e-9


def test_pre_baseline_course_recovers_more_when_its_excess_was_larger():
    """Documents the baseline anchor: for a course that ended at baseline, a larger excess gives a higher BMD later.

    The baseline BMD already contains the loss of a course given before it; only the recovery (a fraction of
    that course's excess) happens after baseline, so raising late_excess raises BMD after baseline.
    """
    regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=-1.0, stop=0.0)])
    base = bmdsim.load_parameters("brex")
    faster = base.with_values({"aromatase_inhibitor.lumbar_spine.late_excess_pct_per_year": 2.0})
    p = patient(45, "lumbar_spine", 0.0)
    slow_bmd = bmdsim.simulate(p, regimen, years=10, params=base).bmd_at("lumbar_spine", 3.0)
    fast_bmd = bmdsim.simulate(p, regimen, years=10, params=faster).bmd_at("lumbar_spine", 3.0)
    assert fast_bmd > slow_bmd


@SETTINGS
@given(age=AGES, site=SITES, t0=T_SCORES, regimen=ai_regimens(), params=parameter_sets(), drop=st.floats(0.05, 2))
def test_crossing_time_is_consistent_with_the_t_score(age, site, t0, regimen, params, drop):
    """Before the crossing the T-score stays above the threshold; at it the T-score equals the threshold."""
    traj = bmdsim.simulate(patient(age, site, t0), regimen, years=25, params=params)
    threshold = t0 - drop
    tc = traj.crossing_time(site, threshold)
    ref = traj.reference
    grid = np.linspace(0, 25, 2001)
    before = grid[grid < tc - 1e-9]
    assert np.all(ref.t_score(site, traj.bmd_at(site, before)) > threshold - 1e-12)
    if math.isfinite(tc):
        assert ref.t_score(site, traj.bmd_at(site, tc)) <= threshold + 1e-9
        assert traj.crossing_time(site, threshold - 0.1) >= tc  # a lower threshold is not crossed earlier
    else:
        assert np.all(ref.t_score(site, traj.bmd_at(site, grid)) > threshold)


@SETTINGS
@given(
    age=AGES,
    site=SITES,
    t0=T_SCORES,
    regimen=ai_regimens(),
    params=parameter_sets(),
    step=st.floats(0.01, 3),
    factor=st.integers(2, 7),
    threshold=st.floats(-4, 0),
)
def test_results_do_not_depend_on_output_step(age, site, t0, regimen, params, step, factor, threshold):
    """bmd_at, percent changes and crossing times are equal across steps; bmd agrees at common output times."""
    p = patient(age, site, t0)
    fine = bmdsim.simulate(p, regimen, years=20, step=step, params=params)
    coarse = bmdsim.simulate(p, regimen, years=20, step=min(step * factor, 20), params=params)
    t = np.linspace(0, 20, 97)
    np.testing.assert_array_equal(fine.bmd_at(site, t), coarse.bmd_at(site, t))
    assert fine.crossing_time(site, threshold) == coarse.crossing_time(site, threshold)
    assert fine.percent_change(site, 2, 11) == coarse.percent_change(site, 2, 11)
    j = np.searchsorted(fine.time, coarse.time - 1e-9)
    j = np.minimum(j, fine.time.size - 1)
    common = np.abs(fine.time[j] - coarse.time) < 1e-9
    assert common[0] and common[-1]
    np.testing.assert_allclose(fine.bmd(site)[j[common]], coarse.bmd(site)[common], rtol=1e-12)


SCALAR_KEYS = sorted(
    k for k, spec in _specs().items() if not spec.is_list and not spec.optional and "early_excess" not in k
)
SNAPSHOT = {name: dict(bmdsim.load_parameters(name).values) for name in bmdsim.available_parameter_sets()}


@SETTINGS
@given(name=st.sampled_from(sorted(SNAPSHOT)), key=st.sampled_from(SCALAR_KEYS), data=st.data())
def test_with_values_never_changes_shipped_defaults(name, key, data):
    """Overriding any parameter leaves the loaded object, a fresh load and the JSON file unchanged."""
    spec = _specs()[key]
    value = data.draw(st.floats(spec.low, spec.high))
    original = bmdsim.load_parameters(name)
    modified = original.with_values({key: value})
    assert modified[key] == value
    assert dict(original.values) == SNAPSHOT[name]
    assert dict(bmdsim.load_parameters(name).values) == SNAPSHOT[name]
    p = patient(60, "femoral_neck", -1.0)
    bmdsim.simulate(p, bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)]), years=10, params=modified)
    assert dict(bmdsim.load_parameters(name).values) == SNAPSHOT[name]


@SETTINGS
@given(
    age=AGES,
    site=SITES,
    t0=T_SCORES,
    regimen=ai_regimens(tamoxifen=False),
    start=st.floats(-3, 15),
    length=st.floats(0.25, 15),
    params=st.sampled_from(["consensus", "brex"]),
    age_bands=st.booleans(),
)
def test_tamoxifen_never_lowers_bmd(age, site, t0, regimen, start, length, params, age_bands):
    """Adding a tamoxifen course to any regimen never lowers BMD at any time (postmenopausal sets)."""
    params = bmdsim.load_parameters(params)
    if age_bands:
        params = params.with_values(AGE_BANDS)
    with_tam = bmdsim.Regimen([*regimen, bmdsim.Exposure("tamoxifen", start, start + length)])
    p = patient(age, site, t0)
    t = np.linspace(0, 20, 401)
    without = bmdsim.simulate(p, regimen, years=20, params=params).bmd_at(site, t)
    on = bmdsim.simulate(p, with_tam, years=20, params=params).bmd_at(site, t)
    assert np.all(on >= without * (1 - 1e-13))
    if start + length > 0.5:
        assert on[-1] > without[-1]  # strictly better once tamoxifen has been given for a while


@SETTINGS
@given(site=SITES, t0=st.floats(-6, 4), bmd=st.floats(0.2, 2.0), age=st.floats(18, 100))
def test_t_score_bmd_round_trip(site, t0, bmd, age):
    """T-score -> BMD -> T-score and BMD -> T-score -> BMD round trips are exact to rounding."""
    ref = bmdsim.load_reference()
    assert abs(ref.t_score(site, ref.bmd(site, t0)) - t0) < 1e-12
    assert abs(ref.bmd(site, ref.t_score(site, bmd)) - bmd) < 1e-12
    traj = bmdsim.simulate(bmdsim.Patient(age=age, t_score={site: t0}), years=1)
    assert abs(traj.t_score(site)[0] - t0) < 1e-12
    traj = bmdsim.simulate(bmdsim.Patient(age=age, bmd={site: bmd}), years=1)
    assert traj.bmd(site)[0] == bmd
    np.testing.assert_allclose(ref.bmd(site, traj.t_score(site)), traj.bmd(site), rtol=1e-12)
