"""Tests of bmdsim.Patient: shapes, broadcasting, conversion and input checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import bmdsim


def test_scalar_patient_is_one_scalar_patient():
    """Scalars give n == 1 and is_scalar; sites follow bmdsim.SITES order, whatever the input order."""
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5, "lumbar_spine": -1.2})
    assert p.n == 1
    assert p.is_scalar
    assert p.sites == ("lumbar_spine", "femoral_neck")
    np.testing.assert_array_equal(p.age, [63.0])


def test_arrays_and_scalars_broadcast():
    """A scalar applies to every patient when another field is an array."""
    p = bmdsim.Patient(age=[55, 63, 71], t_score={"femoral_neck": -1.0}, bmd={"lumbar_spine": [0.9, 1.0, 1.1]})
    assert p.n == 3
    assert not p.is_scalar
    np.testing.assert_array_equal(p.t_score["femoral_neck"], [-1.0, -1.0, -1.0])
    np.testing.assert_array_equal(p.bmd["lumbar_spine"], [0.9, 1.0, 1.1])
    np.testing.assert_array_equal(p.age, [55.0, 63.0, 71.0])


def test_one_element_array_is_not_scalar():
    """A length-1 array gives array-shaped results (is_scalar False)."""
    p = bmdsim.Patient(age=np.array([60.0]), t_score={"femoral_neck": -1.0})
    assert p.n == 1
    assert not p.is_scalar
    traj = bmdsim.simulate(p, years=5)
    assert np.shape(traj.crossing_time("femoral_neck", -2.5)) == (1,)


def test_inputs_are_copied():
    """Changing the caller's arrays afterwards does not change the patient."""
    ages = np.array([60.0, 70.0])
    t = np.array([-1.0, -2.0])
    p = bmdsim.Patient(age=ages, t_score={"femoral_neck": t})
    ages[0] = 99.0
    t[0] = 3.0
    np.testing.assert_array_equal(p.age, [60.0, 70.0])
    np.testing.assert_array_equal(p.t_score["femoral_neck"], [-1.0, -2.0])


def test_patient_is_frozen():
    """Attributes cannot be reassigned."""
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5})
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.age = np.array([70.0])


def test_baseline_bmd_from_t_score_and_bmd():
    """A T-score converts with the reference (mean + T sd); a BMD is used as given."""
    ref = bmdsim.load_reference()
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5}, bmd={"lumbar_spine": 0.93})
    assert p.baseline_bmd("femoral_neck", ref)[0] == pytest.approx(0.858 - 1.5 * 0.120, rel=1e-12)
    assert p.baseline_bmd("lumbar_spine", ref)[0] == 0.93
    with pytest.raises(ValueError, match="'total_hip' has no baseline value"):
        p.baseline_bmd("total_hip", ref)


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"age": 18, "t_score": {"femoral_neck": -6.0}},
        {"age": 100, "t_score": {"femoral_neck": 4.0}},
        {"age": 50, "bmd": {"femoral_neck": 0.2}},
        {"age": 50, "bmd": {"femoral_neck": 2.0}},
    ],
)
def test_limits_are_inclusive(kwargs):
    """The ends of the plausibility ranges are accepted."""
    assert bmdsim.Patient(**kwargs).n == 1


def test_non_positive_bmd_from_reference_is_refused():
    """A T-score that a (custom) reference maps to BMD <= 0 is an error naming the site."""
    ref = bmdsim.YoungAdultReference.from_values({"femoral_neck": (0.5, 0.1)})
    p = bmdsim.Patient(age=60, t_score={"femoral_neck": -6.0})
    with pytest.raises(ValueError, match=r"t_score\['femoral_neck'\] converts to a non-positive BMD"):
        bmdsim.simulate(p, years=5, reference=ref)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"age": 63, "t_score": {"hip": -1.0}}, ValueError, r"unknown t_score site 'hip'.*femoral_neck"),
        ({"age": 63, "bmd": {"spine": 1.0}}, ValueError, r"unknown bmd site 'spine'.*lumbar_spine"),
        ({"age": 17.9, "t_score": {"femoral_neck": -1.0}}, ValueError, r"age must lie in \[18, 100\] years, got 17\.9"),
        ({"age": [50, 101], "t_score": {"femoral_neck": -1.0}}, ValueError, r"age must lie in \[18, 100\].*got 101"),
        ({"age": 60, "t_score": {"femoral_neck": -6.5}}, ValueError, r"t_score\['femoral_neck'\].*\[-6, 4\].*-6\.5"),
        ({"age": 60, "t_score": {"lumbar_spine": 4.1}}, ValueError, r"t_score\['lumbar_spine'\].*\[-6, 4\].*4\.1"),
        ({"age": 60, "bmd": {"femoral_neck": 0.19}}, ValueError, r"bmd\['femoral_neck'\].*\[0\.2, 2\].*0\.19"),
        ({"age": 60, "bmd": {"total_hip": 850.0}}, ValueError, r"bmd\['total_hip'\].*\[0\.2, 2\].*850"),
        ({"age": np.nan, "t_score": {"femoral_neck": -1.0}}, ValueError, r"age must be finite.*nan"),
        ({"age": [60, np.inf], "t_score": {"femoral_neck": -1.0}}, ValueError, r"age must be finite.*inf"),
        ({"age": 60, "t_score": {"femoral_neck": np.nan}}, ValueError, r"t_score\['femoral_neck'\] must be fin.*nan"),
        ({"age": 60, "t_score": {"femoral_neck": -np.inf}}, ValueError, r"t_score\['femoral_neck'\] must be fin.*inf"),
        ({"age": 60, "bmd": {"femoral_neck": np.inf}}, ValueError, r"bmd\['femoral_neck'\] must be finite.*inf"),
        ({"age": 60, "bmd": {"femoral_neck": [0.8, np.nan]}}, ValueError, r"bmd\['femoral_neck'\] must be finite.*nan"),
        (
            {"age": [60, 61, 62], "t_score": {"femoral_neck": [-1.0, -2.0]}},
            ValueError,
            r"same length.*age: 3.*t_score\['femoral_neck'\]: 2",
        ),
        (
            {"age": 60, "bmd": {"femoral_neck": 0.8}, "t_score": {"femoral_neck": -1.0}},
            ValueError,
            r"site 'femoral_neck' is given both as bmd and as t_score",
        ),
        ({"age": 60}, ValueError, r"needs a bmd or a t_score"),
        ({"age": "60", "t_score": {"femoral_neck": -1.0}}, TypeError, r"age must be a real number.*'60'"),
        ({"age": True, "t_score": {"femoral_neck": -1.0}}, TypeError, r"age must be a real number.*True"),
        ({"age": [[60, 61]], "t_score": {"femoral_neck": -1.0}}, ValueError, r"age must be a scalar or a 1-D array"),
        ({"age": [], "t_score": {"femoral_neck": -1.0}}, ValueError, r"age must not be empty"),
        ({"age": 60, "t_score": [-1.0]}, TypeError, r"t_score must be a mapping"),
    ],
)
def test_bad_input_is_refused(kwargs, exc, match):
    """Each bad input raises with a message naming the field and the value."""
    with pytest.raises(exc, match=match):
        bmdsim.Patient(**kwargs)
