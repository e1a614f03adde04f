"""Tests of the young-adult reference and the BMD <-> T-score conversion."""

from __future__ import annotations

import numpy as np
import pytest

import bmdsim
from bmdsim import _data


def test_default_reference_matches_data_file():
    """The default reference holds the mean and SD of data/reference_young_adult.json for every site."""
    doc = _data.read_json("reference_young_adult.json")["references"]["default"]["sites"]
    ref = bmdsim.load_reference()
    assert ref.name == "default"
    assert set(ref.mean) == set(bmdsim.SITES)
    for site in bmdsim.SITES:
        assert ref.mean[site] == doc[site]["mean_g_cm2"]
        assert ref.sd[site] == doc[site]["sd_g_cm2"]
        assert doc[site]["citation"] in ref.sources[site]


def test_published_reference_values():
    """The hip reference is NHANES III (femoral neck 0.858/0.120, total hip 0.942/0.122 g/cm2)."""
    ref = bmdsim.load_reference()
    assert (ref.mean["femoral_neck"], ref.sd["femoral_neck"]) == (0.858, 0.120)
    assert (ref.mean["total_hip"], ref.sd["total_hip"]) == (0.942, 0.122)


def test_t_score_formula_and_round_trip():
    """T = (BMD - mean) / SD, and bmd() inverts t_score()."""
    ref = bmdsim.load_reference()
    bmd = np.linspace(0.3, 1.5, 25)
    for site in bmdsim.SITES:
        t = ref.t_score(site, bmd)
        np.testing.assert_allclose(t, (bmd - ref.mean[site]) / ref.sd[site], rtol=1e-14)
        np.testing.assert_allclose(ref.bmd(site, t), bmd, rtol=1e-13)
    assert ref.t_score("femoral_neck", 0.858) == 0.0
    assert ref.bmd("femoral_neck", -2.5) == pytest.approx(0.858 - 2.5 * 0.120, rel=1e-14)


def test_available_references_and_partial_reference():
    """The shipped references load; one without total-hip values refuses that site."""
    assert set(bmdsim.available_references()) == {"default", "nhanes_2005_2014"}
    ref = bmdsim.load_reference("nhanes_2005_2014")
    assert ref.mean["femoral_neck"] == 0.888
    with pytest.raises(ValueError, match=r"reference 'nhanes_2005_2014' has no values for site 'total_hip'"):
        ref.t_score("total_hip", 0.9)
    p = bmdsim.Patient(age=60, t_score={"total_hip": -1.0})
    with pytest.raises(ValueError, match=r"no values for site 'total_hip'"):
        bmdsim.simulate(p, years=5, reference=ref)


def test_from_values_replaces_only_given_sites():
    """from_values replaces the spine and keeps the default hip sites."""
    default = bmdsim.load_reference()
    ref = bmdsim.YoungAdultReference.from_values({"lumbar_spine": (1.047, 0.110)}, name="maker")
    assert ref.name == "maker"
    assert (ref.mean["lumbar_spine"], ref.sd["lumbar_spine"]) == (1.047, 0.110)
    assert ref.mean["femoral_neck"] == default.mean["femoral_neck"]
    assert ref.sources["lumbar_spine"] == "user supplied"


def test_reference_changes_t_scores_not_bmd():
    """A different reference gives different T-scores of the same BMD trajectory."""
    p = bmdsim.Patient(age=60, bmd={"lumbar_spine": 0.95})
    ref = bmdsim.YoungAdultReference.from_values({"lumbar_spine": (1.0, 0.1)})
    a = bmdsim.simulate(p, years=5)
    b = bmdsim.simulate(p, years=5, reference=ref)
    np.testing.assert_array_equal(a.bmd("lumbar_spine"), b.bmd("lumbar_spine"))
    np.testing.assert_allclose(b.t_score("lumbar_spine"), (b.bmd("lumbar_spine") - 1.0) / 0.1, rtol=1e-12)
    assert b.crossing_time("lumbar_spine", -1.0) != a.crossing_time("lumbar_spine", -1.0)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: bmdsim.load_reference("who"), ValueError, r"unknown reference 'who'.*default"),
        (lambda: bmdsim.YoungAdultReference.from_values({"hip": (1, 0.1)}), ValueError, r"reference site 'hip'"),
        (
            lambda: bmdsim.YoungAdultReference.from_values({"lumbar_spine": 1.0}),
            TypeError,
            r"reference value for lumbar_spine must be a \(mean, sd\) pair.*1\.0",
        ),
        (
            lambda: bmdsim.YoungAdultReference.from_values({"lumbar_spine": (1000.0, 0.1)}),
            ValueError,
            r"reference mean for lumbar_spine must lie in \[0\.1, 2\.5\].*1000",
        ),
        (
            lambda: bmdsim.YoungAdultReference.from_values({"lumbar_spine": (1.0, 0.0)}),
            ValueError,
            r"reference sd for lumbar_spine must lie in \[0\.01, 0\.5\].*got 0",
        ),
        (
            lambda: bmdsim.YoungAdultReference.from_values({"lumbar_spine": (np.nan, 0.1)}),
            ValueError,
            r"reference mean for lumbar_spine must be a finite number, got nan",
        ),
        (
            lambda: bmdsim.YoungAdultReference(mean={"femoral_neck": 0.8}, sd={}),
            ValueError,
            r"mean and sd must cover the same sites",
        ),
    ],
)
def test_bad_reference_is_refused(call, exc, match):
    """Bad reference names and values raise with the field and value."""
    with pytest.raises(exc, match=match):
        call()
