"""Tests of bmdsim.Exposure and bmdsim.Regimen."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bmdsim
from bmdsim import Exposure, Regimen


def test_exposure_defaults_and_duration():
    """start defaults to 0, stop None means a course that never stops (inf)."""
    e = Exposure("aromatase_inhibitor")
    assert e.start == 0.0
    assert e.stop == math.inf
    assert e.duration == math.inf
    assert Exposure("tamoxifen", start=1, stop=3.5).duration == 2.5
    assert Exposure("tamoxifen", start=1, stop=math.inf).stop == math.inf


def test_exposure_values_become_floats():
    """Integer and numpy inputs are stored as Python floats."""
    e = Exposure("aromatase_inhibitor", start=np.int64(1), stop=np.float32(4))
    assert type(e.start) is float and e.start == 1.0
    assert type(e.stop) is float and e.stop == 4.0


def test_negative_start_within_limit():
    """A course may have started before baseline, but not more than 30 years before."""
    assert Exposure("aromatase_inhibitor", start=-30, stop=2).start == -30.0
    with pytest.raises(ValueError, match=r"start of aromatase_inhibitor must lie in \[-30, 60\] years, got -31"):
        Exposure("aromatase_inhibitor", start=-31, stop=2)


def test_regimen_orders_by_start_and_lists_breakpoints():
    """Exposures are ordered by start; breakpoints are the finite starts and stops, sorted, unique."""
    r = Regimen(
        [
            Exposure("tamoxifen", start=5, stop=10),
            Exposure("aromatase_inhibitor", start=0, stop=5),
            Exposure("aromatase_inhibitor", start=12),
        ]
    )
    assert [e.start for e in r] == [0.0, 5.0, 12.0]
    assert len(r) == 3
    assert r.exposures == tuple(r)
    assert r.breakpoints() == (0.0, 5.0, 10.0, 12.0)


def test_regimen_equality_and_hash():
    """Regimens with the same exposures (any order) are equal and hash alike."""
    a = Regimen([Exposure("tamoxifen", 0, 2), Exposure("aromatase_inhibitor", 2, 5)])
    b = Regimen([Exposure("aromatase_inhibitor", 2, 5), Exposure("tamoxifen", 0, 2)])
    assert a == b
    assert hash(a) == hash(b)
    assert a != Regimen([Exposure("tamoxifen", 0, 2)])


def test_single_exposure_and_empty_regimen():
    """A bare Exposure is accepted as a one-course regimen; an empty regimen has no breakpoints."""
    assert len(Regimen(Exposure("tamoxifen", 0, 1))) == 1
    assert len(Regimen()) == 0
    assert Regimen().breakpoints() == ()


def test_courses_may_touch_and_different_agents_may_overlap():
    """Back-to-back courses of one agent and overlapping courses of different agents are allowed."""
    Regimen([Exposure("aromatase_inhibitor", 0, 5), Exposure("aromatase_inhibitor", 5, 7)])
    Regimen([Exposure("aromatase_inhibitor", 0, 5), Exposure("tamoxifen", 2, 7)])


@pytest.mark.parametrize(
    "courses",
    [
        [(0, 5), (4, 6)],
        [(0, None), (10, 12)],
        [(0, 10), (2, 3)],
        [(3, 4), (0, 10)],
        [(0, 2), (0, 1)],
    ],
)
def test_overlapping_courses_of_one_agent_are_refused(courses):
    """Courses of the same agent that overlap raise, naming the agent."""
    exposures = [Exposure("aromatase_inhibitor", a, b) for a, b in courses]
    with pytest.raises(ValueError, match=r"exposures of aromatase_inhibitor overlap"):
        Regimen(exposures)


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        (("bisphosphonate", 0, 5), ValueError, r"unknown agent 'bisphosphonate'.*aromatase_inhibitor, tamoxifen"),
        ((3, 0, 5), TypeError, r"agent must be a string.*aromatase_inhibitor"),
        (("aromatase_inhibitor", np.nan, 5), ValueError, r"start of aromatase_inhibitor must be a finite.*nan"),
        (("aromatase_inhibitor", np.inf, 5), ValueError, r"start of aromatase_inhibitor must be a finite.*inf"),
        (("aromatase_inhibitor", "0", 5), TypeError, r"start of aromatase_inhibitor must be a real number.*'0'"),
        (("aromatase_inhibitor", 0, np.nan), ValueError, r"stop of aromatase_inhibitor.*nan"),
        (("aromatase_inhibitor", 0, -np.inf), ValueError, r"stop of aromatase_inhibitor.*-inf"),
        (("aromatase_inhibitor", 0, "5"), TypeError, r"stop of aromatase_inhibitor.*'5'"),
        (("aromatase_inhibitor", 2, 2), ValueError, r"stop of aromatase_inhibitor \(2 years\) must come after"),
        (("tamoxifen", 3, 1), ValueError, r"stop of tamoxifen \(1 years\) must come after its start \(3 years\)"),
    ],
)
def test_bad_exposure_is_refused(args, exc, match):
    """Bad agent names, non-finite times and stop <= start raise with the field and value."""
    with pytest.raises(exc, match=match):
        Exposure(*args)


def test_non_exposure_in_regimen_is_refused():
    """Only Exposure objects make a regimen."""
    with pytest.raises(TypeError, match=r"exposures\[1\] must be a bmdsim.Exposure, got tuple"):
        Regimen([Exposure("tamoxifen", 0, 1), ("aromatase_inhibitor", 0, 5)])


def test_agents_registry_lists_shipped_agents():
    """The two shipped agents are registered under their exposure names."""
    assert set(bmdsim.AGENTS) >= {"aromatase_inhibitor", "tamoxifen"}
