"""Cohorts that mix patient profiles (bmdsim.mixture)."""

from __future__ import annotations

import numpy as np
import pytest

import bmdsim
from bmdsim import Exposure, Regimen
from bmdsim.mixture import MixedCohort, Subgroup, simulate_mixture, subgroup_sizes

YOUNG = bmdsim.Population(
    age=bmdsim.TruncatedNormal(43, 4, 30, 55), t_score={"lumbar_spine": bmdsim.TruncatedNormal(0, 1, -4, 4)}
)
OLD = bmdsim.Population(
    age=bmdsim.TruncatedNormal(64, 8, 50, 85), t_score={"lumbar_spine": bmdsim.TruncatedNormal(-1, 1, -4, 4)}
)
OFS_AI = Regimen([Exposure("ovarian_suppression", 0, 3), Exposure("aromatase_inhibitor", 0, 5)])
AI = Regimen([Exposure("aromatase_inhibitor", 0, 5)])
GROUPS = [Subgroup("premenopausal", 0.3, OFS_AI, YOUNG), Subgroup("postmenopausal", 0.7, AI, OLD)]


def test_sizes_add_up_and_follow_the_shares():
    assert subgroup_sizes([0.3, 0.7], 10) == [3, 7]
    assert subgroup_sizes([1 / 3, 1 / 3, 1 / 3], 10) == [4, 3, 3]  # ties go to the earlier subgroup
    assert sum(subgroup_sizes([0.123, 0.456, 0.421], 9_999)) == 9_999


def test_pooled_summaries_equal_the_pooled_women():
    """fraction_below and the percentiles of the mixture are those of all its women taken together."""
    mix = simulate_mixture(GROUPS, n=5000, years=10, seed=3)
    assert isinstance(mix, MixedCohort) and mix.sizes == {"premenopausal": 1500, "postmenopausal": 3500}
    ct = mix.crossing_time("lumbar_spine", -2.5)
    assert ct.shape == (5000,)
    times = [1.0, 3.0, 10.0]
    pooled = mix.fraction_below("lumbar_spine", -2.5, times)
    np.testing.assert_allclose(pooled["fraction"], [(ct <= t).mean() for t in times], rtol=0, atol=1e-15)
    q = mix.crossing_percentiles("lumbar_spine", -2.5, [10.0, 50.0])
    assert q[10.0] == np.percentile(ct, 10.0, method="inverted_cdf")
    # Each subgroup is its own cohort on the fast path: the same women as simulate_cohort with the derived seed.
    young = mix.groups["premenopausal"]
    assert young.n == 1500 and young.regimen == OFS_AI
    frame = mix.fraction_frame("lumbar_spine", -2.5, times)
    assert set(frame["group"]) == {"premenopausal", "postmenopausal", "all"}
    premenopausal = frame[frame["group"] == "premenopausal"]["fraction_below"].to_numpy()
    np.testing.assert_allclose(premenopausal, [(young.crossing_time("lumbar_spine", -2.5) <= t).mean() for t in times])
    # premenopausal women on goserelin + an AI cross -2.5 sooner than their T-scores alone would suggest
    assert premenopausal[1] > 0.05


def test_adding_a_subgroup_after_keeps_the_earlier_women():
    first = simulate_mixture([Subgroup("a", 1.0, AI, OLD)], n=2000, years=5, seed=11)
    both = simulate_mixture([Subgroup("a", 0.5, AI, OLD), Subgroup("b", 0.5, OFS_AI, YOUNG)], n=4000, years=5, seed=11)
    assert first.groups["a"].seed == both.groups["a"].seed


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"subgroups": []}, ValueError, "must not be empty"),
        ({"subgroups": [GROUPS[0]]}, ValueError, "shares must add up to 1, got 0.3"),
        ({"subgroups": [GROUPS[0], GROUPS[0]]}, ValueError, "need distinct names"),
        ({"subgroups": ["premenopausal"]}, TypeError, r"subgroups\[0\] must be a bmdsim.mixture.Subgroup"),
        ({"n": 1}, ValueError, "'premenopausal' .share 0.3. gets no woman of n = 1"),
        ({"parameter_draws": 5}, ValueError, "does not take parameter_draws"),
        ({"population": OLD}, ValueError, "does not take population"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_mixtures_are_refused_with_a_clear_error(kwargs, error, match):
    args = {"subgroups": GROUPS, "n": 1000, "years": 5.0, "seed": 1} | kwargs
    with pytest.raises(error, match=match):
        simulate_mixture(**args)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("", 0.5, AI), ValueError, "name must not be empty"),
        (("x", 0.0, AI), ValueError, r"share must be in \(0, 1\], got 0"),
        (("x", float("nan"), AI), ValueError, "share"),
        (("x", 0.5, "AI"), TypeError, "regimen must be a bmdsim.Regimen"),
        (("x", 0.5, AI, "old"), TypeError, "population must be a bmdsim.Population"),
    ],
)
def test_bad_subgroups_are_refused(args, error, match):
    with pytest.raises(error, match=match):
        Subgroup(*args)
