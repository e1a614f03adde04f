"""Fit the default cohort's age distribution and its correlation with T-score to MA.27B.

Women with low bone density at the start of an aromatase inhibitor (AI) are
older: in MA.27B (Goss et al., Lancet Oncol 2014, Table 1) the stratum with at
least one T-score (hip or spine) below -2.0 has a median age of 68-71 years,
against 62-63 years in the stratum with T-scores of -2.0 or more. The age
matters to bmdsim because ``age_over_65`` is a risk factor in the guideline
rule (:mod:`bmdsim.policy`), so women who cross the thresholds early should
also be the older ones.

The model is the default population's Gaussian copula with one more latent
normal for age: age ~ N(mu, sd^2) truncated to the data file's bounds, and the
latent normals of age and of every site's T-score correlated by ``rho`` (the
same value for every site). The T-score side (marginals and site-to-site
correlations) is held at the default population's values. Given those, the
probability of each MA.27B age band within each stratum is a two-dimensional
normal integral, computed by fixed Gauss-Legendre quadrature (deterministic).
``mu``, ``sd`` and ``rho`` maximise the multinomial likelihood of the 2 x 5
table of counts (:func:`scipy.optimize.minimize`). Conditioning on the
stratum makes the fit independent of how many women of each stratum MA.27B
recruited (a design choice of the trial, not a prevalence).

Run ``python -m bmdsim.population_fit`` to print the fit and
``python -m bmdsim.population_fit --write`` to store it in
``data/cohort_default_population.json``; the tests refit and compare.

References
----------
Goss PE, Hershman DL, Cheung AM, et al. Effects of adjuvant exemestane versus
anastrozole on bone mineral density for women with early breast cancer
(MA.27B). Lancet Oncol 2014;15(4):474-482. DOI 10.1016/S1470-2045(14)70035-X.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import ndtr, ndtri

from . import _data

_FILE = "cohort_default_population.json"
#: Gauss-Legendre nodes per integral (age band, and the T-score dimension).
_NODES = 96
#: Latent standard-normal values beyond this are treated as infinite in the quadrature.
_Z_MAX = 8.5
#: Significant digits of the fitted values written to JSON.
_DIGITS = 8


@dataclass(frozen=True)
class AgeFit:
    """Result of :func:`fit_age`.

    Attributes
    ----------
    mean, sd : float
        Mean and standard deviation [years] of the untruncated age normal.
    rho : float
        Correlation of the latent normals of age and of each site's T-score.
    observed, expected : (2, k) ndarray
        Counts per stratum (rows: T-scores >= cut, some T-score < cut) and age band.
    bands : list of (float, float)
        The age bands [years].
    log_likelihood : float
        Multinomial log-likelihood at the fit (constant terms dropped).
    """

    mean: float
    sd: float
    rho: float
    observed: np.ndarray
    expected: np.ndarray
    bands: list[tuple[float, float]]
    log_likelihood: float

    def median_age(self, stratum: int) -> float:
        """Median age [years] of a stratum (0: T-scores >= cut, 1: some T-score < cut), by the model."""
        doc = _data.read_json(_FILE)
        return _stratum_median(self.mean, self.sd, self.rho, doc, stratum)


def _gauss_legendre(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of Gauss-Legendre quadrature on [a, b] (broadcast over a, b)."""
    x, w = np.polynomial.legendre.leggauss(_NODES)
    a, b = np.asarray(a, dtype=float)[..., None], np.asarray(b, dtype=float)[..., None]
    half = (b - a) / 2.0
    return a + half * (x + 1.0), half * w


def _t_side(doc: dict[str, Any]) -> tuple[np.ndarray, float]:
    """Latent cuts of the stratum's sites and their latent correlation."""
    strat = doc["age_by_stratum"]["stratum"]
    cut = float(strat["t_score_below"])
    sites = strat["sites"]
    cuts = []
    for s in sites:
        d = doc["t_score"][s]
        lo = ndtr((d["low"] - d["mean"]) / d["sd"])
        hi = ndtr((d["high"] - d["mean"]) / d["sd"])
        cuts.append(float(ndtri((ndtr((cut - d["mean"]) / d["sd"]) - lo) / (hi - lo))))
    corr = {tuple(sorted(c["sites"])): float(c["value"]) for c in doc["correlation"]}
    return np.array(cuts), corr[tuple(sorted(sites))]


def _age_to_latent(age: np.ndarray, mean: float, sd: float, low: float, high: float) -> np.ndarray:
    """Latent standard normal of ages [years] under the truncated normal (clipped to +-_Z_MAX)."""
    a, b = ndtr((low - mean) / sd), ndtr((high - mean) / sd)
    u = (ndtr((np.clip(age, low, high) - mean) / sd) - a) / (b - a)
    return np.clip(ndtri(u), -_Z_MAX, _Z_MAX)


def _above_both(x: np.ndarray, rho: float, cuts: np.ndarray, r_sites: float) -> np.ndarray:
    """P(both sites' latent normals >= their cuts | latent age = x)."""
    s2 = 1.0 - rho * rho
    s = math.sqrt(s2)
    cov = (r_sites - rho * rho) / s2  # correlation of the two sites given age
    # Integrate over site 1: y = standardised conditional value, from its cut to +inf.
    lo = (cuts[0] - rho * x) / s
    y, w = _gauss_legendre(lo, np.full_like(lo, _Z_MAX))
    cond_mean2 = (rho * x)[..., None] + s * cov * y  # E[z2 | x, y] in latent units
    cond_sd2 = s * math.sqrt(max(1.0 - cov * cov, 0.0))
    inner = ndtr((cond_mean2 - cuts[1]) / cond_sd2) if cond_sd2 > 0 else (cond_mean2 >= cuts[1]).astype(float)
    dens = np.exp(-0.5 * y * y) / math.sqrt(2 * math.pi)
    return np.sum(w * dens * inner, axis=-1)


def _joint(mean: float, sd: float, rho: float, doc: dict[str, Any], bands: np.ndarray) -> np.ndarray:
    """Unnormalised P(age in band, stratum), shape (2, bands); bands [years] as (k, 2)."""
    age = doc["age_years"]
    cuts, r_sites = _t_side(doc)
    za = _age_to_latent(bands[:, 0], mean, sd, age["low"], age["high"])
    zb = _age_to_latent(bands[:, 1], mean, sd, age["low"], age["high"])
    x, w = _gauss_legendre(za, zb)
    dens = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    p_band = np.sum(w * dens, axis=-1)
    p_high = np.sum(w * dens * _above_both(x, rho, cuts, r_sites), axis=-1)
    return np.stack([p_high, p_band - p_high])


def band_probabilities(mean: float, sd: float, rho: float, doc: dict[str, Any] | None = None) -> np.ndarray:
    """Model probability of each MA.27B age band within each stratum, shape (2, bands).

    Row 0: every stratum site's T-score at or above the cut; row 1: at least
    one below. Each row sums to 1 (the bands cover the age range).
    """
    doc = _data.read_json(_FILE) if doc is None else doc
    joint = _joint(mean, sd, rho, doc, np.array(doc["age_by_stratum"]["bands_years"], dtype=float))
    return joint / joint.sum(axis=1, keepdims=True)


def _stratum_median(mean: float, sd: float, rho: float, doc: dict[str, Any], stratum: int) -> float:
    age = doc["age_years"]
    grid = np.linspace(age["low"], age["high"], 901)
    cum = _joint(mean, sd, rho, doc, np.column_stack([np.full(grid.size, age["low"]), grid]))[stratum]
    return float(np.interp(0.5, cum / cum[-1], grid))


def fit_age(doc: dict[str, Any] | None = None) -> AgeFit:
    """Maximum-likelihood fit of age mean, sd and age-T-score correlation to the MA.27B age table."""
    doc = _data.read_json(_FILE) if doc is None else doc
    table = doc["age_by_stratum"]
    observed = np.array([table["counts"]["t_score_at_or_above"], table["counts"]["t_score_below"]], dtype=float)
    start = table["fit_start"]

    def nll(theta: np.ndarray) -> float:
        p = band_probabilities(theta[0], theta[1], theta[2], doc)
        return -float(np.sum(observed * np.log(np.maximum(p, 1e-300))))

    res = minimize(
        nll,
        x0=[start["mean"], start["sd"], start["rho"]],
        method="L-BFGS-B",
        bounds=[(45.0, 85.0), (2.0, 25.0), (-0.95, 0.95)],
        options={"ftol": 1e-13, "gtol": 1e-9},
    )
    if not res.success:
        raise RuntimeError(f"age fit did not converge: {res.message}")
    mean, sd, rho = (float(v) for v in res.x)
    expected = band_probabilities(mean, sd, rho, doc) * observed.sum(axis=1, keepdims=True)
    return AgeFit(mean, sd, rho, observed, expected, [tuple(b) for b in table["bands_years"]], -float(res.fun))


def _round(v: float) -> float:
    return float(f"{v:.{_DIGITS}g}")


def write(fit: AgeFit) -> None:
    """Store the fitted values in ``data/cohort_default_population.json``."""
    path = _data.data_dir() / _FILE
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["age_years"]["mean"] = _round(fit.mean)
    doc["age_years"]["sd"] = _round(fit.sd)
    doc["age_t_score_correlation"]["value"] = _round(fit.rho)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def format_fit(fit: AgeFit) -> str:
    """A plain-text report: fitted values, observed v expected counts, stratum medians."""
    lines = [
        f"age ~ N({fit.mean:.2f}, {fit.sd:.2f}^2) truncated; latent age-T-score correlation rho = {fit.rho:.3f}",
        f"{'band':>9} {'obs >=':>7} {'exp >=':>7} {'obs <':>7} {'exp <':>7}",
    ]
    for j, (a, b) in enumerate(fit.bands):
        lines.append(
            f"{a:>4g}-{b:<4g} {fit.observed[0, j]:7.0f} {fit.expected[0, j]:7.1f} "
            f"{fit.observed[1, j]:7.0f} {fit.expected[1, j]:7.1f}"
        )
    lines.append(
        f"model median age: {fit.median_age(0):.1f} years (T-scores >= cut; MA.27B 62.0-63.2), "
        f"{fit.median_age(1):.1f} years (some T-score < cut; MA.27B 68.3-71.0)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bmdsim.population_fit",
        description="Fit the default cohort's age distribution and age-T-score correlation to MA.27B.",
    )
    parser.add_argument("--write", action="store_true", help="store the fit in data/cohort_default_population.json")
    args = parser.parse_args(argv)
    fit = fit_age()
    print(format_fit(fit))
    if args.write:
        write(fit)
        print(f"wrote {_FILE}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
