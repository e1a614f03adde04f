"""Between-patient spread of bone loss, estimated from published spreads of individual change.

Women on the same regimen do not lose the same percentage. Trials report
how widely individual percentage changes scatter (an SD, a range, the share
who gained); part of that scatter is the DXA precision error of the two scans
(:mod:`bmdsim.measurement`), the rest is true variation between women. This
module estimates the true part per site, its correlation between sites, and
how it grows with time, from ``data/between_patient_spread.json``, and makes
it the default :class:`bmdsim.Variability` of cohorts
(:func:`default_variability`).

Model
-----
Patient ``i``'s log-loss at a site is ``m_i L(t)`` with ``m_i`` lognormal,
mean 1 and coefficient of variation ``cv`` (see :class:`bmdsim.Variability`).
To first order in ``cv L`` the SD of her percent change is
``100 exp(-L) |L| cv``: the spread grows with the size of the mean change, not
with time as such. What DXA shows adds both scans' precision error,
``var = true^2 + 2 (100 cv_dxa)^2``.

Estimation (:func:`fit_spread`)
-------------------------------
1. Each row's measured SD of percent change from what the paper gives
   (``sd_rules`` in the data file: an SD, annual rates with their SD, the
   share gaining more than a given amount under normality, or a range /4 as
   recommended by Hozo et al. 2005 for 15 < n <= 70).
2. The true SD: the measured variance minus ``2 (100 cv_dxa)^2``.
3. Per site, ``cv`` by weighted least squares of the true SDs on
   ``100 exp(-L)|L|`` (weights ``n``), in closed form.
4. The correlation between spine and femoral sites from Pouilles 1993's
   measured correlation of rates, disattenuated with the same rows'
   reliabilities and converted to the correlation of ``log m``; the femoral
   neck-total hip correlation is an assumption (see the data file).

Validated range: spreads at 1 to 3 years, on an AI without bone-protective
therapy (ARIBON, B-ABLE) and in untreated early-postmenopausal women
(Pouilles 1993). Run ``python -m bmdsim.spread`` for the table of rows,
measured, true and model SDs.

References
----------
Pouilles JM et al. Calcif Tissue Int 1993;52:344-7 (PMID 8504370);
Rodriguez-Sanz M et al. Endocr Relat Cancer 2016;23:303-12 (B-ABLE);
Lester JE et al. Clin Cancer Res 2008 (ARIBON) and ASCO abstracts 2006, 2007;
Hozo SP et al. BMC Med Res Methodol 2005;5:13, DOI 10.1186/1471-2288-5-13.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scipy.optimize import brentq
from scipy.special import ndtri

from . import _data
from .measurement import dxa_precision
from .sites import SITES

SPREAD_FILE = "between_patient_spread.json"
#: Significant digits kept when fitted values are written to JSON.
_DIGITS = 10


@dataclass(frozen=True)
class SpreadRow:
    """One published spread, converted: what DXA showed and the true part.

    Attributes
    ----------
    id, site : str
    years : float
        Time between the two scans [years].
    mean_pct : float
        Mean percent change of the arm.
    measured_sd : float
        SD of individual percent change as published (converted by the row's rule) [percentage points].
    true_sd : float
        ``measured_sd`` without both scans' precision error [percentage points] (0 if that leaves nothing).
    n : float
        Women behind the row (weight of the fit).
    """

    id: str
    site: str
    years: float
    mean_pct: float
    measured_sd: float
    true_sd: float
    n: float

    @property
    def size(self) -> float:
        """``100 exp(-L) |L|`` with ``L = -ln(1 + mean/100)``: the true SD per unit of ``cv``."""
        loss = -math.log1p(self.mean_pct / 100.0)
        return 100.0 * math.exp(-loss) * abs(loss)


def _measured(row: Mapping[str, Any]) -> tuple[float, float]:
    """Mean percent change and measured SD of a row, by its rule (see ``sd_rules`` in the data file)."""
    rule = row["rule"]
    if rule == "sd":
        return float(row["mean_pct"]), float(row["sd_pct"])
    if rule == "annual_rate_sd":
        years = float(row["years"])
        return float(row["annual_rate_pct_per_year"]) * years, float(row["annual_rate_sd"]) * years
    if rule == "share_gaining_more_than":
        mean = float(row["mean_pct"])
        return mean, (float(row["above_pct"]) - mean) / float(ndtri(1.0 - float(row["share"])))
    if rule == "range":
        low, high = (float(v) for v in row["range_pct"])
        return float(row["mean_pct"]), (high - low) / 4.0
    raise ValueError(f"{SPREAD_FILE}: row {row.get('id')!r} has an unknown rule {rule!r}")


def spread_rows(doc: Mapping[str, Any] | None = None) -> list[SpreadRow]:
    """The rows of ``data/between_patient_spread.json`` with their measured and true SDs."""
    doc = _data.read_json(SPREAD_FILE) if doc is None else doc
    precision = dxa_precision()
    out = []
    for row in doc["rows"]:
        mean, measured = _measured(row)
        noise = 2.0 * (100.0 * precision[row["site"]]) ** 2
        true = math.sqrt(max(measured**2 - noise, 0.0))
        out.append(SpreadRow(row["id"], row["site"], float(row["years"]), mean, measured, true, float(row["n"])))
    return out


def _log_correlation(rho_m: float, sigma_a: float, sigma_b: float) -> float:
    """The correlation of ``log m`` that makes lognormal multipliers correlate ``rho_m`` (log-SDs ``sigma_a, sigma_b``).

    Uses ``corr(m_a, m_b) = expm1(r sigma_a sigma_b) / sqrt(expm1(sigma_a^2) expm1(sigma_b^2))``.
    """
    top = math.sqrt(math.expm1(sigma_a**2) * math.expm1(sigma_b**2))

    def gap(r: float) -> float:
        return math.expm1(r * sigma_a * sigma_b) / top - rho_m

    return float(brentq(gap, -1.0, 1.0, xtol=1e-14))


def fit_spread(doc: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Estimate the default between-patient variability from the published rows.

    Returns
    -------
    dict
        ``cv``: site -> coefficient of variation of the multiplier;
        ``correlation``: ``"site|site"`` -> correlation of ``log m``;
        ``measured_r``, ``true_r``: the spine-femoral correlation as published
        (midpoint) and disattenuated.
    """
    doc = _data.read_json(SPREAD_FILE) if doc is None else doc
    rows = spread_rows(doc)
    cv = {}
    for site in SITES:
        mine = [r for r in rows if r.site == site]
        if not mine:
            raise ValueError(f"{SPREAD_FILE}: no row for {site}; every site needs at least one")
        num = sum(r.n * r.true_sd * r.size for r in mine)
        den = sum(r.n * r.size**2 for r in mine)
        cv[site] = num / den
    sigma = {s: math.sqrt(math.log1p(c * c)) for s, c in cv.items()}
    spec = doc["correlation"]["lumbar_spine_femoral"]
    by_id = {r.id: r for r in rows}
    a, b = (by_id[i] for i in spec["rows"])
    reliability = (a.true_sd / a.measured_sd) ** 2 * (b.true_sd / b.measured_sd) ** 2
    measured_r = 0.5 * sum(spec["measured_r"])
    true_r = measured_r / math.sqrt(reliability)
    correlation = {}
    for s1, s2 in spec["applies_to"]:
        correlation[f"{s1}|{s2}"] = _log_correlation(true_r, sigma[s1], sigma[s2])
    correlation["femoral_neck|total_hip"] = float(doc["correlation"]["femoral_neck_total_hip"]["value"])
    return {"cv": cv, "correlation": correlation, "measured_r": measured_r, "true_r": true_r}


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {k: float(f"{v:.{_DIGITS}g}") for k, v in values.items()}


def fitted_document(doc: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The data file's document with its ``fitted`` section recomputed by :func:`fit_spread`."""
    doc = dict(_data.read_json(SPREAD_FILE) if doc is None else doc)
    fit = fit_spread(doc)
    doc["fitted"] = {
        "cv": _rounded(fit["cv"]),
        "correlation_of_log_multipliers": _rounded(fit["correlation"]),
        "spine_femoral_r": {"measured_midpoint": fit["measured_r"], "disattenuated": round(fit["true_r"], 10)},
        "written_by": "python -m bmdsim.spread --write",
    }
    return doc


def plausible_cv_range() -> tuple[float, float]:
    """The range of ``Variability(cv=...)`` accepted (``plausible_range`` in the data file)."""
    low, high = _data.read_json(SPREAD_FILE)["plausible_range"]["cv"]
    return float(low), float(high)


def default_variability(sites: Sequence[str] = SITES):  # -> Variability (imported lazily: cohort imports this)
    """The default between-patient variability of cohorts: the fitted values of the data file.

    Parameters
    ----------
    sites : sequence of str
        The simulated sites; correlations are given between these only.

    Returns
    -------
    bmdsim.Variability
    """
    from .cohort import Variability

    fitted = _data.read_json(SPREAD_FILE)["fitted"]
    cv = {s: float(fitted["cv"][s]) for s in sites}
    pairs = {}
    for key, value in fitted["correlation_of_log_multipliers"].items():
        a, b = key.split("|")
        if a in sites and b in sites:
            pairs[(a, b)] = float(value)
    return Variability(cv=cv, correlation=pairs)


def format_report(doc: Mapping[str, Any] | None = None) -> str:
    """Each row's measured, true and model SD, and the fitted values."""
    doc = _data.read_json(SPREAD_FILE) if doc is None else doc
    fit = fit_spread(doc)
    lines = [
        f"{'row':24s} {'site':13s} {'years':>5s} {'mean %':>7s} {'SD shown':>8s} {'SD true':>7s} "
        f"{'SD model':>8s} {'true/model':>10s}"
    ]
    for r in spread_rows(doc):
        model = fit["cv"][r.site] * r.size
        lines.append(
            f"{r.id:24s} {r.site:13s} {r.years:5.2f} {r.mean_pct:7.2f} {r.measured_sd:8.2f} {r.true_sd:7.2f} "
            f"{model:8.2f} {r.true_sd / model:10.2f}"
        )
    lines.append("")
    lines.append("cv of the loss multiplier: " + ", ".join(f"{s} {v:.3f}" for s, v in fit["cv"].items()))
    lines.append(
        f"spine-femoral correlation of rates: {fit['measured_r']:.2f} as measured, {fit['true_r']:.3f} true; "
        "of log multipliers: " + ", ".join(f"{k} {v:.3f}" for k, v in fit["correlation"].items())
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m bmdsim.spread [--write]``: print the estimate; with ``--write`` store it in ``data/``."""
    parser = argparse.ArgumentParser(prog="python -m bmdsim.spread", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write the fitted values into data/{SPREAD_FILE}")
    args = parser.parse_args(argv)
    print(format_report())
    if args.write:
        path = _data.data_dir() / SPREAD_FILE
        path.write_text(json.dumps(fitted_document(), indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = ["SpreadRow", "default_variability", "fit_spread", "plausible_cv_range", "spread_rows"]
