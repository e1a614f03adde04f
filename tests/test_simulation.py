"""Tests of bmdsim.simulate and Trajectory: the public surface, shapes, exact values and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bmdsim
from bmdsim.simulation import output_times


def test_public_surface_as_documented():
    """The README example runs and returns the documented types and shapes."""
    p = bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    traj = bmdsim.simulate(p, r, years=15, step=1 / 12)
    assert isinstance(traj, bmdsim.Trajectory)
    assert traj.time.shape == (181,)
    assert traj.time[0] == 0.0 and traj.time[-1] == 15.0
    assert traj.bmd("femoral_neck").shape == (181,)
    assert traj.t_score("femoral_neck").shape == (181,)
    assert traj.t_score("femoral_neck")[0] == pytest.approx(-1.5, abs=1e-12)
    change = traj.percent_change("lumbar_spine", start=5, stop=10)
    assert isinstance(change, float)
    crossing = traj.crossing_time("femoral_neck", -2.5)
    assert isinstance(crossing, float)
    assert crossing > 0.0  # inf on the default set: -1.5 does not reach -2.5 within 15 years
    assert 0.0 < traj.crossing_time("femoral_neck", -2.0) < 15.0
    assert traj.sites == ("lumbar_spine", "femoral_neck")

    ages = np.array([55.0, 63.0, 71.0])
    t_scores = np.array([-0.5, -1.5, -2.2])
    many = bmdsim.Patient(age=ages, t_score={"femoral_neck": t_scores})
    many_traj = bmdsim.simulate(many, r, years=15)
    times = many_traj.crossing_time("femoral_neck", -2.5)
    assert isinstance(times, np.ndarray) and times.shape == (3,)
    assert times[1] == pytest.approx(crossing, abs=1e-9)
    assert many_traj.bmd("femoral_neck").shape == (3, many_traj.time.size)
    assert many_traj.percent_change("femoral_neck", 0, 5).shape == (3,)
    assert many_traj.bmd_at("femoral_neck", 2.0).shape == (3,)
    assert many_traj.bmd_at("femoral_neck", [1.0, 2.0]).shape == (3, 2)


def test_default_step_and_params():
    """Defaults: 10 years, monthly output, the trials parameters, natural loss only without a regimen."""
    traj = bmdsim.simulate(bmdsim.Patient(age=60, t_score={"femoral_neck": -1.0}))
    assert traj.years == 10.0
    assert traj.time.size == 121
    assert traj.params.name == "trials"
    assert len(traj.regimen) == 0
    assert traj.reference.name == "default"


@pytest.mark.parametrize(
    ("years", "step", "expected"),
    [
        (2.0, 0.5, [0, 0.5, 1.0, 1.5, 2.0]),
        (2.0, 0.7, [0, 0.7, 1.4, 2.0]),
        (1.0, 1.0, [0, 1.0]),
        (1.0, 0.1, np.linspace(0, 1, 11)),
    ],
)
def test_output_times(years, step, expected):
    """Output times are 0, step, 2 step, ... and always end exactly at the horizon."""
    times = output_times(years, step)
    np.testing.assert_allclose(times, expected, rtol=0, atol=1e-12)
    assert times[-1] == years
    assert np.all(np.diff(times) > 0)


def test_natural_loss_only_is_exponential():
    """Without exposures, BMD(t) = BMD(0) exp(-0.015 t) under consensus rates."""
    traj = bmdsim.simulate(bmdsim.Patient(age=60, bmd={"total_hip": 0.9}), years=12, step=0.25, params="consensus")
    np.testing.assert_allclose(traj.bmd("total_hip"), 0.9 * np.exp(-0.015 * traj.time), rtol=1e-13)
    assert traj.baseline_bmd("total_hip") == 0.9
    assert traj.percent_change("total_hip", 2, 7) == pytest.approx(100 * math.expm1(-0.075), rel=1e-12)


def test_ai_course_loses_two_and_a_half_percent_per_year():
    """On an AI the consensus total loss rate is 2.5 %/yr; after the stop part of the excess returns."""
    p = bmdsim.Patient(age=60, bmd={"lumbar_spine": 1.0})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    traj = bmdsim.simulate(p, r, years=10, params="consensus")
    assert traj.percent_change("lumbar_spine", 0, 5) == pytest.approx(100 * math.expm1(-0.125), rel=1e-12)
    params = traj.params
    f = params["aromatase_inhibitor.lumbar_spine.recovery_fraction"]
    T = params["aromatase_inhibitor.recovery_time_constant_years"]
    expected = -0.015 * 5 + f * 0.05 * (1 - math.exp(-5 / T))
    assert traj.percent_change("lumbar_spine", 5, 10) == pytest.approx(100 * math.expm1(expected), rel=1e-12)


def test_percent_change_agrees_with_bmd_at():
    """percent_change(a, b) = 100 (BMD(b) / BMD(a) - 1); zero when a == b."""
    p = bmdsim.Patient(age=[55, 70], t_score={"femoral_neck": [-1.0, -2.0]})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5), bmdsim.Exposure("tamoxifen", 5, 8)])
    traj = bmdsim.simulate(p, r, years=12)
    for a, b in [(0, 12), (3, 6.5), (5, 10)]:
        ratio = traj.bmd_at("femoral_neck", b) / traj.bmd_at("femoral_neck", a)
        np.testing.assert_allclose(traj.percent_change("femoral_neck", a, b), 100 * (ratio - 1), rtol=1e-10)
    np.testing.assert_array_equal(traj.percent_change("femoral_neck", 4, 4), [0.0, 0.0])


def test_bmd_at_agrees_with_output_grid():
    """bmd_at on traj.time equals traj.bmd."""
    p = bmdsim.Patient(age=[55, 70], t_score={"femoral_neck": [-1.0, -2.0]})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    traj = bmdsim.simulate(p, r, years=12, step=0.5)
    np.testing.assert_allclose(traj.bmd_at("femoral_neck", traj.time), traj.bmd("femoral_neck"), rtol=1e-14)


def test_crossing_table():
    """crossing_table gives every simulated site and each default threshold."""
    p = bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5})
    traj = bmdsim.simulate(p, years=15)
    table = traj.crossing_table()
    assert set(table) == {"lumbar_spine", "femoral_neck"}
    assert tuple(table["femoral_neck"]) == bmdsim.DEFAULT_THRESHOLDS == (-1.0, -2.0, -2.5)
    assert table["femoral_neck"][-1.0] == 0.0
    assert table["femoral_neck"][-2.5] == traj.crossing_time("femoral_neck", -2.5)


def test_repr_names_the_run():
    """repr shows the number of patients, the sites, the horizon and the parameter set."""
    traj = bmdsim.simulate(bmdsim.Patient(age=60, t_score={"femoral_neck": -1.0}), years=7, params="brex")
    assert repr(traj) == "<Trajectory: 1 patient(s), sites femoral_neck, 7 years, params 'brex', 0 exposure(s)>"


def test_tamoxifen_is_bone_sparing_in_every_set():
    """Powles 1996 validation: tamoxifen gives a net gain at spine and hip, where natural loss alone loses."""
    import bmdsim._data as data

    powles = data.read_json("targets/powles_1996_validation.json")
    p = bmdsim.Patient(age=60, bmd={"lumbar_spine": 1.0, "total_hip": 0.9})
    tam = bmdsim.Regimen([bmdsim.Exposure("tamoxifen", 0, 3)])
    for name in bmdsim.available_parameter_sets():
        on = bmdsim.simulate(p, tam, years=3, params=name)
        off = bmdsim.simulate(p, years=3, params=name)
        for site, observed in powles["annual_pct_change"].items():
            assert observed > 0
            assert on.percent_change(site, 0, 3) > 0, (name, site)
            assert off.percent_change(site, 0, 3) < 0, (name, site)


@pytest.fixture
def traj():
    """A simple 15-year trajectory with the femoral neck only."""
    return bmdsim.simulate(bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5}), years=15)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda t: t.bmd("hip"), ValueError, r"unknown site 'hip'; valid values are: lumbar_spine, femoral_neck"),
        (lambda t: t.t_score("spine"), ValueError, r"unknown site 'spine'"),
        (lambda t: t.crossing_time("neck", -2.5), ValueError, r"unknown site 'neck'"),
        (lambda t: t.bmd("lumbar_spine"), ValueError, r"site 'lumbar_spine' was not simulated.*femoral_neck"),
        (lambda t: t.bmd(None), TypeError, r"site must be a string"),
        (lambda t: t.crossing_time("femoral_neck", math.nan), ValueError, r"threshold must be a finite.*got nan"),
        (lambda t: t.crossing_time("femoral_neck", math.inf), ValueError, r"threshold must be a finite.*got inf"),
        (lambda t: t.crossing_time("femoral_neck", -math.inf), ValueError, r"threshold must be a finite.*-inf"),
        (lambda t: t.crossing_time("femoral_neck", "a"), TypeError, r"threshold must be a real number, got 'a'"),
        (lambda t: t.crossing_time("femoral_neck", None), TypeError, r"threshold must be a real number, got None"),
        (lambda t: t.crossing_time("femoral_neck", [-2.5]), TypeError, r"threshold must be a real number"),
        (lambda t: t.percent_change("femoral_neck", 5, 16), ValueError, r"stop must lie in \[0, 15\] years, got 16"),
        (lambda t: t.percent_change("femoral_neck", -1, 5), ValueError, r"start must lie in \[0, 15\] years, got -1"),
        (lambda t: t.percent_change("femoral_neck", math.nan, 5), ValueError, r"start must be a finite.*got nan"),
        (lambda t: t.percent_change("femoral_neck", 0, math.inf), ValueError, r"stop must be a finite number, got inf"),
        (lambda t: t.percent_change("femoral_neck", 6, 5), ValueError, r"stop \(5 years\) must not come before start"),
        (lambda t: t.bmd_at("femoral_neck", 15.5), ValueError, r"t must lie in \[0, 15\] years, got 15\.5"),
        (lambda t: t.bmd_at("femoral_neck", [1, math.nan]), ValueError, r"t must be finite"),
        (lambda t: t.bmd_at("femoral_neck", "1"), TypeError, r"t must be a real number or a 1-D array.*'1'"),
    ],
)
def test_bad_trajectory_queries_are_refused(traj, call, exc, match):
    """Unknown sites, non-finite thresholds and times outside [0, years] raise with the field and value."""
    with pytest.raises(exc, match=match):
        call(traj)


PATIENT = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5})


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"years": 0}, ValueError, r"years must be in \(0, 60\], got 0"),
        ({"years": -1}, ValueError, r"years must be in \(0, 60\], got -1"),
        ({"years": 61}, ValueError, r"years must be in \(0, 60\], got 61"),
        ({"years": math.nan}, ValueError, r"years must be a finite number, got nan"),
        ({"years": math.inf}, ValueError, r"years must be a finite number, got inf"),
        ({"years": "10"}, TypeError, r"years must be a real number, got '10'"),
        ({"years": 5, "step": 0}, ValueError, r"step must be in \(0, years\] = \(0, 5\] years, got 0"),
        ({"years": 5, "step": -0.1}, ValueError, r"step must be in \(0, years\].*got -0\.1"),
        ({"years": 5, "step": 5.5}, ValueError, r"step must be in \(0, years\] = \(0, 5\] years, got 5\.5"),
        ({"years": 5, "step": math.nan}, ValueError, r"step must be a finite number, got nan"),
        ({"years": 5, "step": math.inf}, ValueError, r"step must be a finite number, got inf"),
        ({"params": "nope"}, ValueError, r"unknown params 'nope'; valid values are: brex, consensus"),
        ({"params": 1}, TypeError, r"params must be a parameter set name or a ParameterSet, got int"),
        ({"regimen": [bmdsim.Exposure("tamoxifen", 0, 1)]}, TypeError, r"regimen must be a bmdsim.Regimen, got list"),
        ({"reference": "default"}, TypeError, r"reference must be a bmdsim.YoungAdultReference, got str"),
    ],
)
def test_bad_simulate_arguments_are_refused(kwargs, exc, match):
    """Non-positive or non-finite horizon and step, and wrong argument types, raise with the field and value."""
    with pytest.raises(exc, match=match):
        bmdsim.simulate(PATIENT, **kwargs)


def test_patient_must_be_a_patient():
    """simulate refuses anything but a Patient."""
    with pytest.raises(TypeError, match=r"patient must be a bmdsim.Patient, got dict"):
        bmdsim.simulate({"age": 60})


def test_step_equal_to_years_is_allowed():
    """step == years gives the two output times 0 and years."""
    traj = bmdsim.simulate(PATIENT, years=5, step=5)
    np.testing.assert_array_equal(traj.time, [0.0, 5.0])
