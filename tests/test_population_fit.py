"""The default population's age and age-T-score correlation, fitted to MA.27B's age table."""

from __future__ import annotations

import numpy as np
import pytest

import bmdsim
from bmdsim import _data, population_fit
from bmdsim.cohort import TruncatedNormal, default_population

AI = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])


@pytest.fixture(scope="module")
def fit():
    return population_fit.fit_age()


def test_refit_matches_the_shipped_values(fit):
    doc = _data.read_json("cohort_default_population.json")
    assert fit.mean == pytest.approx(doc["age_years"]["mean"], rel=1e-5)
    assert fit.sd == pytest.approx(doc["age_years"]["sd"], rel=1e-5)
    assert fit.rho == pytest.approx(doc["age_t_score_correlation"]["value"], rel=1e-5)
    pop = default_population()
    assert pop.age.mean == doc["age_years"]["mean"]
    np.testing.assert_array_equal(pop._age_corr, doc["age_t_score_correlation"]["value"])


def test_fit_reproduces_the_published_medians(fit):
    # MA.27B Table 1: medians 63.2 and 62.0 years (T-scores >= -2.0), 68.3 and 71.0 (some T-score < -2.0).
    assert 62.0 - 1.0 <= fit.median_age(0) <= 63.2 + 1.0
    assert 68.3 - 1.0 <= fit.median_age(1) <= 71.0 + 1.0
    assert fit.median_age(1) - fit.median_age(0) > 4.0
    assert fit.rho < 0  # low T-scores go with older age
    assert fit.expected.sum(axis=1) == pytest.approx(fit.observed.sum(axis=1))


def test_quadrature_matches_the_sampler(fit):
    # The band probabilities of the fit (quadrature) against the copula the cohort draws from (sampling).
    doc = _data.read_json("cohort_default_population.json")
    p, _ = bmdsim.simulate_cohort(n=400_000, regimen=AI, years=5, seed=11).patients()
    low = np.minimum(p.t_score["lumbar_spine"], p.t_score["total_hip"]) < -2.0
    edges = np.array(doc["age_by_stratum"]["bands_years"], dtype=float)
    model = population_fit.band_probabilities(fit.mean, fit.sd, fit.rho)
    for row, mask in enumerate((~low, low)):
        counts = np.histogram(p.age[mask], bins=np.append(edges[:, 0], edges[-1, 1]))[0]
        np.testing.assert_allclose(counts / mask.sum(), model[row], atol=0.005)


def test_zero_age_correlation_draws_age_independently():
    t = {s: TruncatedNormal(-1.0, 1.0, -5.0, 4.0) for s in bmdsim.SITES}

    def draw(age, r):
        pop = bmdsim.Population(age=age, t_score=t, correlation=0.6, age_correlation=r)
        return bmdsim.simulate_cohort(n=50_000, regimen=AI, years=5, seed=4, population=pop).patients()[0]

    a = draw(TruncatedNormal(60, 8, 45, 90), 0.0)
    b = draw(TruncatedNormal(75, 3, 45, 90), 0.0)
    for s in bmdsim.SITES:  # the age distribution does not touch the T-scores
        np.testing.assert_array_equal(a.t_score[s], b.t_score[s])
    c = draw(TruncatedNormal(60, 8, 20, 100), -0.5)
    for s in bmdsim.SITES:
        np.testing.assert_allclose(c.t_score[s].std(), a.t_score[s].std(), rtol=0.02)  # marginals unchanged
        assert np.corrcoef(c.age, c.t_score[s])[0, 1] == pytest.approx(-0.5, abs=0.02)
    assert np.corrcoef(c.t_score["lumbar_spine"], c.t_score["total_hip"])[0, 1] == pytest.approx(0.6, abs=0.02)


def test_report_names_the_source_figures(fit):
    text = population_fit.format_fit(fit)
    assert "MA.27B 62.0-63.2" in text and "rho = -0.317" in text
