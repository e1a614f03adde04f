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

from . import _data, limits
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


_FILE = _data.label(SPREAD_FILE)
#: Rules that turn a published spread into an SD (``sd_rules`` in the data file).
RULES: tuple[str, ...] = ("sd", "annual_rate_sd", "share_gaining_more_than", "range")
#: Largest coefficient of variation the data file's ``plausible_range`` may allow: a design limit that keeps
#: the lognormal multipliers finite (CV 10 is a log-SD of 2.15); the file's own range is far narrower.
MAX_PLAUSIBLE_CV = 10.0
#: Bounds [per cent] of a percent change or its SD read from a row (a loss of 100 % or more is no bone left).
_PCT = (-99.0, 100.0)


def _measured(row: Mapping[str, Any], k: int) -> tuple[float, float]:
    """Mean percent change and measured SD of row ``k``, by its rule (see ``sd_rules`` in the data file)."""
    rule = _data.entry(row, ("rule",), _FILE)
    if rule not in RULES:
        raise _data.DataFileError(
            _FILE, f"rows[{k}] ({row.get('id')!r}) has an unknown rule {rule!r}; known rules: {', '.join(RULES)}"
        )

    def num(key: str, low: float = _PCT[0], high: float = _PCT[1]) -> float:
        return _data.as_number(_data.entry(row, (key,), _FILE), f"rows[{k}].{key}", _FILE, low, high)

    if rule == "sd":
        return num("mean_pct"), num("sd_pct", 0.0)
    if rule == "annual_rate_sd":
        years = num("years", 0.0, limits.HORIZON_YEARS[1])
        return num("annual_rate_pct_per_year") * years, num("annual_rate_sd", 0.0) * years
    if rule == "share_gaining_more_than":
        mean = num("mean_pct")
        share = num("share", 0.0, 1.0)
        if not 0.0 < share < 0.5:
            raise _data.DataFileError(_FILE, f"rows[{k}].share must lie in (0, 0.5) for an SD, got {share:g}")
        return mean, (num("above_pct") - mean) / float(ndtri(1.0 - share))
    low, high = _data.numbers(row, ("range_pct",), _FILE, *_PCT, length=2)
    if not low < high:
        raise _data.DataFileError(_FILE, f"rows[{k}].range_pct must have low < high, got [{low:g}, {high:g}]")
    return num("mean_pct"), (high - low) / 4.0


def spread_rows(doc: Mapping[str, Any] | None = None) -> list[SpreadRow]:
    """The rows of ``data/between_patient_spread.json`` with their measured and true SDs.

    Raises
    ------
    bmdsim._data.DataFileError
        Naming the file, the row and the key, for a missing or non-numeric
        value, an unknown rule or site, or a number outside its range.
    """
    doc = _data.read_json(SPREAD_FILE) if doc is None else doc
    precision = dxa_precision()
    out = []
    for k, row in enumerate(_data.entry(doc, ("rows",), _FILE, list)):
        if not isinstance(row, dict):
            raise _data.DataFileError(_FILE, f"rows[{k}] must be an object, got {type(row).__name__}")
        ident = _data.text(row, ("id",), _FILE)
        site = _data.text(row, ("site",), _FILE, SITES)
        years = _data.as_number(_data.entry(row, ("years",), _FILE), f"rows[{k}].years", _FILE, 0.0, 60.0, "years")
        n = _data.as_number(_data.entry(row, ("n",), _FILE), f"rows[{k}].n", _FILE, 1.0, 1e7)
        mean, measured = _measured(row, k)
        noise = 2.0 * (100.0 * precision[site]) ** 2
        true = math.sqrt(max(measured**2 - noise, 0.0))
        out.append(SpreadRow(ident, site, years, mean, measured, true, n))
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
            raise _data.DataFileError(_FILE, f"rows: no row for {site}; every site needs at least one")
        num = sum(r.n * r.true_sd * r.size for r in mine)
        den = sum(r.n * r.size**2 for r in mine)
        cv[site] = num / den
    sigma = {s: math.sqrt(math.log1p(c * c)) for s, c in cv.items()}
    path = ("correlation", "lumbar_spine_femoral")
    by_id = {r.id: r for r in rows}
    ids = _data.entry(doc, (*path, "rows"), _FILE, list)
    if len(ids) != 2 or any(i not in by_id for i in ids):
        raise _data.DataFileError(_FILE, f"correlation.lumbar_spine_femoral.rows must name two rows, got {ids!r}")
    a, b = (by_id[i] for i in ids)
    if min(a.true_sd, b.true_sd) <= 0:
        raise _data.DataFileError(_FILE, f"correlation.lumbar_spine_femoral.rows {ids!r} leave no true spread")
    reliability = (a.true_sd / a.measured_sd) ** 2 * (b.true_sd / b.measured_sd) ** 2
    measured_r = 0.5 * sum(_data.numbers(doc, (*path, "measured_r"), _FILE, -1.0, 1.0, length=2))
    true_r = measured_r / math.sqrt(reliability)
    if not -1.0 < true_r < 1.0:
        raise _data.DataFileError(
            _FILE, f"correlation.lumbar_spine_femoral: the disattenuated correlation {true_r:g} is not in (-1, 1)"
        )
    correlation = {}
    for k, pair in enumerate(_data.entry(doc, (*path, "applies_to"), _FILE, list)):
        if not isinstance(pair, list) or len(pair) != 2 or any(p not in SITES for p in pair):
            raise _data.DataFileError(_FILE, f"correlation.lumbar_spine_femoral.applies_to[{k}] must be two sites")
        s1, s2 = pair
        correlation[f"{s1}|{s2}"] = _log_correlation(true_r, sigma[s1], sigma[s2])
    correlation["femoral_neck|total_hip"] = _data.number(
        doc, ("correlation", "femoral_neck_total_hip", "value"), _FILE, -1.0, 1.0
    )
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
    """The range of ``Variability(cv=...)`` accepted (``plausible_range`` in the data file).

    Raises
    ------
    bmdsim._data.DataFileError
        If the file's range is not two finite numbers with ``0 <= low < high <= MAX_PLAUSIBLE_CV``.
    """
    doc = _data.read_json(SPREAD_FILE)
    low, high = _data.numbers(doc, ("plausible_range", "cv"), _FILE, 0.0, MAX_PLAUSIBLE_CV, length=2)
    if not low < high:
        raise _data.DataFileError(_FILE, f"plausible_range.cv must have low < high, got [{low:g}, {high:g}]")
    return low, high


def default_variability(sites: Sequence[str] = SITES):  # -> Variability (imported lazily: cohort imports this)
    """The default between-patient variability of cohorts: the fitted values of the data file.

    Parameters
    ----------
    sites : sequence of str
        The simulated sites; correlations are given between these only.

    Returns
    -------
    bmdsim.Variability

    Raises
    ------
    bmdsim._data.DataFileError
        Naming the file and the key, if a fitted CV is missing or outside
        :func:`plausible_cv_range`, a correlation is not in ``[-1, 1]`` or
        names an unknown site, or the correlations are not a correlation
        matrix.
    """
    from .cohort import Variability, correlation_matrix

    low, high = plausible_cv_range()
    doc = _data.read_json(SPREAD_FILE)
    sites = tuple(sites)
    cv = {s: _data.number(doc, ("fitted", "cv", s), _FILE, low, high) for s in sites}
    pairs = {}
    path = ("fitted", "correlation_of_log_multipliers")
    for key in _data.entry(doc, path, _FILE, dict):
        where = f"{'.'.join(path)}[{key!r}]"
        a, _, b = key.partition("|")
        if a not in SITES or b not in SITES or a == b:
            raise _data.DataFileError(
                _FILE, f"{where}: keys must be two different sites joined by '|' (sites: {', '.join(SITES)})"
            )
        value = _data.as_number(_data.entry(doc, (*path, key), _FILE), where, _FILE, -1.0, 1.0)
        if a in sites and b in sites:
            pairs[(a, b)] = value
    try:
        correlation_matrix("variability.correlation", [s for s in SITES if s in sites], pairs)
    except ValueError as exc:
        raise _data.DataFileError(_FILE, f"{'.'.join(path)}: {exc}") from None
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
