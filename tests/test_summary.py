"""Tests of bmdsim.summary: the numbers behind the group and crossing figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bmdsim
from bmdsim.summary import (
    citation_keys,
    crossing_records,
    format_sources,
    fraction_crossed,
    trajectory_columns,
    wilson_interval,
)


@pytest.fixture
def group(ai_then_stop):
    t = np.array([-0.5, -1.0, -1.4, -1.9, -2.6])
    patient = bmdsim.Patient(age=np.full(5, 63.0), t_score={"femoral_neck": t})
    return bmdsim.simulate(patient, ai_then_stop, years=15, params="consensus")


def test_fraction_crossed_counts_patients_crossed_by_each_time(group):
    times = np.array([0.0, 2.0, 7.0, 15.0])
    crossing = group.crossing_time("femoral_neck", -2.0)
    expected = [(crossing <= t).mean() for t in times]
    assert np.array_equal(fraction_crossed(group, "femoral_neck", -2.0, times), expected)
    # the patient at -2.6 is at or below -2.0 at baseline: counted from time 0
    assert fraction_crossed(group, "femoral_neck", -2.0, 0.0)[0] == pytest.approx(0.2)


def test_fraction_crossed_steps_exactly_at_each_crossing_time(group):
    tc = float(np.sort(group.crossing_time("femoral_neck", -2.5))[1])
    assert 0 < tc < np.inf
    before, at = fraction_crossed(group, "femoral_neck", -2.5, [tc - 1e-9, tc])
    assert at - before == pytest.approx(0.2)


def test_fraction_crossed_defaults_to_output_times_and_is_non_decreasing(group):
    frac = fraction_crossed(group, "femoral_neck", -1.0)
    assert frac.shape == group.time.shape
    assert np.all(np.diff(frac) >= 0) and 0 <= frac.min() and frac.max() <= 1


def test_fraction_crossed_refuses_times_outside_the_horizon(group):
    with pytest.raises(ValueError, match="times"):
        fraction_crossed(group, "femoral_neck", -2.0, [16.0])


def test_wilson_interval_contains_the_fraction_and_narrows_with_n():
    p = np.array([0.0, 0.3, 1.0])
    lo, hi = wilson_interval(p, 50)
    assert np.all(lo <= p) and np.all(p <= hi)
    lo2, hi2 = wilson_interval(p, 5000)
    assert np.all(hi2 - lo2 < hi - lo)
    # a textbook value: 3 of 10, 95 % Wilson interval 0.108 to 0.603
    lo, hi = wilson_interval(np.array([0.3]), 10)
    assert (lo[0], hi[0]) == pytest.approx((0.1078, 0.6032), abs=1e-4)


def test_crossing_records_are_json_with_none_for_not_reached(group):
    records = crossing_records(group, thresholds=(-2.5,))
    assert len(records) == 5
    json.dumps(records)
    for rec, exact in zip(records, group.crossing_time("femoral_neck", -2.5), strict=True):
        assert rec["site"] == "femoral_neck" and rec["threshold"] == -2.5
        assert rec["years"] == (float(exact) if np.isfinite(exact) else None)


def test_trajectory_columns_long_format(group):
    header, rows = trajectory_columns(group)
    assert header == ["patient", "time_years", "bmd_femoral_neck_g_cm2", "t_score_femoral_neck"]
    m = group.time.size
    assert rows.shape == (5 * m, 4)
    assert np.array_equal(rows[m : 2 * m, 1], group.time)
    assert np.all(rows[m : 2 * m, 0] == 1)
    assert np.array_equal(rows[m : 2 * m, 3], group.t_score("femoral_neck")[1])


def test_sources_come_from_the_parameter_set_and_reference(ai_then_stop):
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5})
    keys = citation_keys(bmdsim.simulate(p, ai_then_stop, years=10))
    assert "blomqvist_2024" in keys and "looker_1998" in keys
    assert "eastell_2008" not in keys  # tamoxifen's source: not in this regimen
    text = format_sources(keys)
    assert "doi:10.1007/s10549-024-07252-7" in text
    tam = bmdsim.Regimen([bmdsim.Exposure("tamoxifen", 0, 5)])
    assert "eastell_2008" in citation_keys(bmdsim.simulate(p, tam, years=10))
